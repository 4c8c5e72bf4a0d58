// The message catalogs: en-US and ru hold the same keys with the same __placeholders__, every ru text is Russian,
// and every key the editor templates or the runtime name exists (statuses, failures, Test connection codes,
// validation messages, labels built from a value), so no user ever reads a raw key.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { FAILURE_CODES } from "../../src/client/failure";
import { FAILURE_KEY, LINK_KEY, LINK_STATES, SHOWN_ERROR_CODES } from "../../src/nodes/common/status";
import { TEST_CODES } from "../../src/nodes/connection/test-route";

const ROOT = path.join(__dirname, "..", "..");
const MODULE = "node-red-contrib-ivrapi";
const TYPES = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { "node-red": { nodes: object } })[
    "node-red"
  ].nodes,
);

/** Plugins (the "ivr calls" sidebar): catalogs and an editor template like a node's, no palette entry or help. */
const PLUGINS = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { "node-red": { plugins?: object } })[
    "node-red"
  ].plugins ?? {},
);

type Tree = { [k: string]: string | Tree };

function flat(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.set(key, v);
    else for (const [kk, vv] of flat(v, key)) out.set(kk, vv);
  }
  return out;
}

/** Every message of every node type in one language, by full key (`ivrapi-apply.label.data`). */
function messages(lang: string): Map<string, string> {
  const all = new Map<string, string>();
  for (const t of [...TYPES, ...PLUGINS]) {
    const tree = JSON.parse(fs.readFileSync(path.join(ROOT, "locales", lang, `${t}.json`), "utf8")) as Tree;
    assert.deepEqual(Object.keys(tree), [t], `${lang}/${t}.json holds one namespace, named after the type`);
    for (const [k, v] of flat(tree)) all.set(k, v);
  }
  return all;
}

const en = messages("en-US");
const ru = messages("ru");
const placeholders = (s: string) => [...s.matchAll(/__(\w+)__/g)].map((m) => m[1]).sort();

/** A key as the runtime sends it: a full key of the connection's namespace, or a flow node's own. */
function local(key: string): string {
  const full = `${MODULE}/ivrapi-connection:`;
  return key.startsWith(full) ? key.slice(full.length) : key;
}

describe("message catalogs (en-US and ru)", () => {
  it("hold the same keys, with the same placeholders", () => {
    assert.deepEqual([...ru.keys()].sort(), [...en.keys()].sort());
    for (const [k, v] of en) assert.deepEqual(placeholders(ru.get(k) ?? ""), placeholders(v), k);
  });

  it("ru: every text is Russian (protocol names and units aside), none is empty", () => {
    // Texts that are protocol or product names in both languages.
    const sameInBoth = new Set(["ivrapi-connection.label.url"]);
    for (const [k, v] of ru) {
      assert.notEqual(v.trim(), "", k);
      if (sameInBoth.has(k)) continue;
      assert.match(v, /[а-яё]/i, `${k} is not translated: ${v}`);
    }
  });

  it("have every status the runtime sends: connection states, invalid settings, missing connection, failures", () => {
    for (const state of LINK_STATES) assert.ok(en.has(local(LINK_KEY + state)), state);
    assert.ok(en.has("ivrapi-connection.status.missing"));
    for (const t of TYPES) assert.ok(en.has(`${t}.status.invalid`), `${t}.status.invalid`);
    for (const code of SHOWN_ERROR_CODES) {
      const key = local(FAILURE_KEY + code);
      assert.ok(en.has(key) && ru.has(key), key);
      // The code itself stays readable in both languages (it is what a Catch node's msg.error.code holds).
      if (code !== "internal") {
        assert.ok(en.get(key)?.includes(code) && ru.get(key)?.includes(code), key);
      }
    }
  });

  it("have a text for every Test connection code", () => {
    for (const code of [...TEST_CODES, ...FAILURE_CODES]) {
      assert.ok(en.has(`ivrapi-connection.test.${code}`), code);
    }
  });

  it("have every key the runtime names (status keys, log texts, errors)", () => {
    const dir = path.join(ROOT, "src", "nodes");
    const files = fs
      .readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".ts"));
    const named = new Set<string>();
    for (const f of files) {
      // Comments may quote a key as an example; only code counts.
      const text = fs
        .readFileSync(path.join(dir, f), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/^\s*\/\/.*$/gm, "");
      for (const m of text.matchAll(/["`](?:node-red-contrib-ivrapi\/[\w-]+:)?(ivrapi-[a-z]+\.[\w.]+[\w])["`]/g)) {
        named.add(m[1] as string);
      }
      // `${type}.status.invalid`: checked above for every type.
    }
    assert.ok(named.size >= 3, [...named].join(", "));
    for (const k of named) assert.ok(en.has(k), `${k} (named in src/nodes)`);
  });

  it("have every key the editor templates name, including those built from a value", () => {
    const named = new Set<string>();
    for (const t of [...TYPES, ...PLUGINS]) {
      const html = fs.readFileSync(path.join(ROOT, "nodes", `${t}.html`), "utf8");
      for (const m of html.matchAll(/data-i18n="(?:\[[a-z]+\])?([\w.-]+)"/g)) named.add(m[1] as string);
      for (const m of html.matchAll(/_\(\s*"([\w.-]+)"/g)) named.add(m[1] as string);
      for (const m of html.matchAll(/needed\("\w+", "([\w.-]+)"\)/g)) named.add(m[1] as string);
    }
    // Built at run time from a setting or a result.
    for (const o of ["201", "202", "203", "204", "208", "other"]) named.add(`ivrapi-apply.short.${o}`);
    for (const e of ["transfer", "error", "timeout", "terminated"]) named.add(`ivrapi-apply.exit.${e}`);
    for (const m of ["idle", "component"]) named.add(`ivrapi-dtmf.short.${m}`);
    for (const m of ["any", "idle", "component"]) named.add(`ivrapi-dtmf.mode.${m}`);
    for (const a of ["temp", "static", "link"]) named.add(`ivrapi-file.short.${a}`).add(`ivrapi-file.action.${a}`);
    for (const t of TYPES) named.add(`${t}.paletteLabel`);
    for (const w of ["hangup", "sip", "transfer", "play", "record", "other"]) named.add(`ivrapi-calls.what.${w}`);
    for (const c of ["connectionMissing", "connectionInvalid"]) named.add(`ivrapi-connection.errors.${c}`);
    for (const c of ["json", "jsonAt", "jsonata", "jsonataAt"]) named.add(`ivrapi-apply.errors.${c}`);
    assert.ok(named.size > 60, `${named.size} keys found`);
    for (const k of named) assert.ok(en.has(k), `${k} (named in nodes/*.html)`);
  });

  it("every validation message names its field, in both languages", () => {
    for (const [k, v] of en) {
      if (!/\.errors\./.test(k) || k === "ivrapi-connection.errors.noToken") continue;
      assert.match(v, /^[^:]+: /, `${k}: ${v}`);
      assert.match(ru.get(k) ?? "", /^[^:]+: /, `ru ${k}`);
    }
  });

  it("use one vocabulary, in the catalogs, the help and the README", () => {
    const read = (lang: string, ext: string) =>
      TYPES.map((t) => fs.readFileSync(path.join(ROOT, "locales", lang, `${t}.${ext}`), "utf8")).join("\n");
    const english = `${read("en-US", "json")}\n${read("en-US", "html")}\n${fs.readFileSync(path.join(ROOT, "README.md"), "utf8")}`;
    // "held" reads as "on hold" in telephony: a call this connection drives is "controlled".
    for (const bad of [/\bheld\b/i, /Call key/, /"Key"/, /"Component"/, /": "other transferKey"/]) {
      assert.doesNotMatch(english, bad);
    }
    const russian = `${read("ru", "json")}\n${read("ru", "html")}`;
    // «удерживается» is "on hold"; one word for deploy; the palette names; no English units.
    for (const bad of [/удерж/i, /деплой/i, /ivr старт/i, /по dtmf/i, /проиграть эту гонку/i, /\d ms\b/]) {
      assert.doesNotMatch(russian, bad);
    }
    assert.match(russian, /под управлением/);
    assert.deepEqual([ru.get("ivrapi-connection.unit.ms"), ru.get("ivrapi-connection.unit.s")], ["мс", "с"]);
    assert.equal((ru.get("ivrapi-start.paletteLabel") ?? "").toLowerCase(), "старт ivr");
    assert.equal(ru.get("ivrapi-dtmf.paletteLabel"), "нажатие DTMF");
    for (const t of ["ivrapi-start", "ivrapi-dtmf"]) {
      assert.equal(en.get(`${t}.label.key`), "API component key");
      assert.equal(ru.get(`${t}.label.key`), "Ключ API-компонента");
    }
    assert.equal(en.get("ivrapi-start.label.componentName"), "Component name");
    assert.equal(en.get("ivrapi-apply.label.data"), "Component data");
    // The help says what every exit and every reason means.
    for (const lang of ["en-US", "ru"]) {
      const help = (t: string) => fs.readFileSync(path.join(ROOT, "locales", lang, `${t}.html`), "utf8");
      for (const exit of ["transfer", "error", "timeout", "terminated"]) {
        assert.match(help("ivrapi-apply"), new RegExp(`<li><code>${exit}</code>`), `${lang}: exit ${exit}`);
      }
      for (const reason of ["script", "timeout", "abort", "aborted", "lost", "connection_lost"]) {
        assert.match(help("ivrapi-start"), new RegExp(`<li><code>${reason}</code>`), `${lang}: reason ${reason}`);
      }
    }
  });

  it("ru help: Russian throughout (protocol names, message properties and code aside)", () => {
    const allowed = new Set(
      [
        ...["URL", "JSON", "JSONata", "SIP", "DTMF", "IVR", "API", "TLS", "HTTP", "HTTPS", "WebSocket", "Token"],
        ...["Catch", "Node", "RED", "ws", "wss", "http", "https", "transferKey", "oType", "msg", "ivr", "reaccept"],
        ...["payload", "ivrFile", "busy", "true", "Redis"],
      ].map((w) => w.toLowerCase()),
    );
    for (const t of TYPES) {
      const text = fs
        .readFileSync(path.join(ROOT, "locales", "ru", `${t}.html`), "utf8")
        .replace(/<code>[\s\S]*?<\/code>/g, " ")
        .replace(/<[^>]+>/g, " ")
        .replace(/\b[a-z]+:\/\/\S*/gi, " ")
        .replace(/[\w-]+(?:[._][\w-]+)+/g, " ");
      const english = (text.match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !allowed.has(w.toLowerCase()));
      assert.deepEqual(english, [], t);
    }
  });
});
