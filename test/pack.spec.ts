// The palette install, for real: `npm pack` (prepack builds), the tarball checked against an allow-list, installed
// into a fresh Node-RED user folder the way the palette manager installs (`npm install <tarball>` there, same
// flags), then a real Node-RED started on that folder with no nodesDir, so the package loads from its
// node_modules (4.1 from devDependencies; NODE_RED_PATH=…/node-red/lib/red.js picks another): the seven types
// load with help, labels and icons, the examples are listed, and one runs a call on the simulator.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Simulator } from "../src/simulator";
import { freePort, type RunningNodeRed, spawnNodeRed } from "./helpers/node-red";
import { until as poll } from "./helpers/wait";

const run = promisify(execFile);
const ROOT = path.join(__dirname, "..");
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  main: string;
  types: string;
  engines: { node: string };
  "node-red": { version: string; nodes: Record<string, string> };
};
const MODULE = PKG.name;
const TYPES = Object.keys(PKG["node-red"].nodes);
const LANGS = ["en-US", "ru"];
/** What Node-RED's palette manager passes to `npm install` (@node-red/registry/lib/installer.js, 4.1). */
const PALETTE_INSTALL_ARGS = [
  "--no-audit",
  "--no-update-notifier",
  "--no-fund",
  "--save",
  "--save-prefix=~",
  "--omit=dev",
  "--engine-strict",
];

/** Everything the tarball may hold (paths inside it, without the leading `package/`). */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^examples\/[\w-]+\.json$/,
  /^docs\/[\w-]+\.png$/,
  /^dist\/([\w-]+\/)*[\w-]+\.(js|d\.ts)$/,
  /^dist\/nodes\/ivrapi-[\w-]+\.html$/,
  /^dist\/nodes\/icons\/[\w-]+\.svg$/,
  /^dist\/nodes\/locales\/(en-US|ru)\/ivrapi-[\w-]+\.(json|html)$/,
  /^dist\/simulator\/softphone\/[\w-]+\.(html|js|css|svg)$/,
];

/** Polls `check` until it returns a value (not undefined), or fails with `what` after `ms`. */
async function until<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  let value: T | undefined;
  await poll(
    what,
    async () => {
      value = await check();
      return value !== undefined;
    },
    ms,
  );
  return value as T;
}

/** Files under `dir` (relative, `/`-separated). */
function walk(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join("/")];
  });
}

/** The icons the editor templates name (`icon: "x.svg"`). */
function editorIcons(): string[] {
  const icons = new Set<string>();
  for (const f of fs.readdirSync(path.join(ROOT, "nodes")).filter((n) => n.endsWith(".html"))) {
    const html = fs.readFileSync(path.join(ROOT, "nodes", f), "utf8");
    for (const m of html.matchAll(/\bicon:\s*["']([^"']+)["']/g)) icons.add(m[1] as string);
  }
  return [...icons].sort();
}

describe("package: npm pack, installed into a fresh user folder like the palette does, in a real Node-RED", function () {
  this.timeout(120_000);
  let tmp = "";
  let tarball = "";
  let entries: string[] = [];
  let userDir = "";
  let installed = "";
  let red: RunningNodeRed | undefined;
  const output = () => red?.output() ?? "";
  let base = "";
  let sim: Simulator | undefined;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-pack-"));
    // prepack runs the build: the tarball is always made from a fresh dist/.
    const packed = await run("npm", ["pack", "--json", "--pack-destination", tmp], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{ filename: string }>;
    tarball = path.join(tmp, (info[0] as { filename: string }).filename);
    assert.ok(fs.existsSync(tarball), `no tarball at ${tarball}`);
    // What really is in the archive (not what npm says it meant to put there).
    const listed = await run("tar", ["-tzf", tarball], { maxBuffer: 16 * 1024 * 1024 });
    entries = listed.stdout
      .split("\n")
      .filter((l) => l && !l.endsWith("/"))
      .map((l) => l.replace(/^package\//, ""))
      .sort();

    // A fresh user folder, as Node-RED creates it on first start, then the palette manager's install.
    userDir = path.join(tmp, "userdir");
    fs.mkdirSync(userDir);
    const project = { name: "node-red-project", description: "A Node-RED Project", version: "0.0.1", private: true };
    fs.writeFileSync(path.join(userDir, "package.json"), `${JSON.stringify(project, null, 4)}\n`);
    await run("npm", ["install", ...PALETTE_INSTALL_ARGS, "--", tarball], {
      cwd: userDir,
      maxBuffer: 16 * 1024 * 1024,
    });
    installed = path.join(userDir, "node_modules", MODULE);

    const port = await freePort();
    const settings = {
      uiHost: "127.0.0.1",
      flowFile: "flows.json",
      credentialSecret: "test-only-secret",
      logging: { console: { level: "info", metrics: false, audit: false } },
      editorTheme: { tours: false, projects: { enabled: false } },
      diagnostics: { enabled: false },
      telemetry: { enabled: false },
      externalModules: { autoInstall: false },
    };
    fs.writeFileSync(path.join(userDir, "settings.js"), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    red = await spawnNodeRed(["--userDir", userDir, "--port", String(port)], { cwd: userDir });
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await red?.stop();
    await sim?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") process.stderr.write(`--- Node-RED output ---\n${output()}\n`);
  });

  const get = async (p: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${p}`, { headers });
    assert.equal(res.status, 200, `${p}: HTTP ${res.status}`);
    return res;
  };

  it("the tarball holds only allowed files", () => {
    const stray = entries.filter((e) => !ALLOWED.some((re) => re.test(e)));
    assert.deepEqual(stray, [], `files that should not ship: ${stray.join(", ")}`);
  });

  it("the tarball holds what Node-RED and the public API need", () => {
    const has = new Set(entries);
    const need = ["package.json", "README.md", "LICENSE", PKG.main, PKG.types];
    for (const [type, js] of Object.entries(PKG["node-red"].nodes)) {
      const dir = path.posix.dirname(js);
      need.push(js, `${dir}/${type}.html`);
      for (const lng of LANGS) need.push(`${dir}/locales/${lng}/${type}.json`, `${dir}/locales/${lng}/${type}.html`);
    }
    // Node-RED looks for a module's icons in icons/ next to the node files only, not at the package root.
    for (const icon of editorIcons()) need.push(`dist/nodes/icons/${icon}`);
    for (const ex of walk(path.join(ROOT, "examples"))) need.push(`examples/${ex}`);
    // The whole compiled runtime and simulator (public API), and the softphone page the simulator serves.
    for (const ts of walk(path.join(ROOT, "src")).filter((f) => f.endsWith(".ts") && !f.endsWith(".spec.ts"))) {
      need.push(`dist/${ts.replace(/\.ts$/, ".js")}`);
    }
    for (const f of walk(path.join(ROOT, "src", "simulator", "softphone"))) need.push(`dist/simulator/softphone/${f}`);
    const missing = need.filter((f) => !has.has(f));
    assert.deepEqual(missing, [], `missing from the tarball: ${missing.join(", ")}`);
  });

  it("the README's pictures ship with it (relative links resolve inside the package), and only those", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const pictures = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
    assert.ok(pictures.length > 0);
    for (const src of pictures) {
      assert.doesNotMatch(src, /^(\/|\.\.\/)/, `${src}: a link outside the package`);
      if (/^https?:/.test(src)) continue;
      assert.ok(entries.includes(path.posix.normalize(src)), `${src} is not in the tarball`);
    }
    const shipped = entries.filter((e) => e.startsWith("docs/"));
    const extra = shipped.filter((e) => !pictures.map((p) => path.posix.normalize(p)).includes(e));
    assert.deepEqual(extra, [], "pictures the README does not show");
  });

  it("installs like a palette install: only runtime dependencies, saved in the user folder's package.json", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as { version: string };
    assert.equal(manifest.version, PKG.version);
    const project = JSON.parse(fs.readFileSync(path.join(userDir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    assert.ok(project.dependencies?.[MODULE], "the user folder's package.json lists the module");
    for (const dep of ["ws", "zod"]) assert.ok(fs.existsSync(path.join(userDir, "node_modules", dep)), dep);
    for (const dev of ["node-red", "typescript", "mocha"]) {
      assert.ok(!fs.existsSync(path.join(userDir, "node_modules", dev)), `devDependency ${dev} was installed`);
    }
  });

  it("loads the seven types from the user folder, enabled and without load errors", async () => {
    const sets = (await (await get("/nodes", { Accept: "application/json" })).json()) as Array<{
      module: string;
      version: string;
      types: string[];
      enabled: boolean;
      err?: string;
    }>;
    // The Node-RED under test is one the package claims to support (package.json node-red.version, ">=x.y.z").
    const settings = (await (await get("/settings", { Accept: "application/json" })).json()) as { version: string };
    const running = settings.version.split(/[.-]/).map(Number);
    const min = (PKG["node-red"].version.match(/^>=(\d+)\.(\d+)\.(\d+)$/) ?? []).slice(1).map(Number);
    assert.equal(min.length, 3, `node-red.version ${PKG["node-red"].version}: expected ">=x.y.z"`);
    const cmp = running.slice(0, 3).findIndex((v, i) => v !== min[i]);
    assert.ok(cmp === -1 || (running[cmp] as number) > (min[cmp] as number), `Node-RED ${settings.version}`);
    const ours = sets.filter((s) => s.module === MODULE);
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...TYPES].sort());
    for (const s of ours) {
      assert.equal(s.err, undefined, `${s.types}: ${s.err}`);
      assert.equal(s.enabled, true);
      assert.equal(s.version, PKG.version);
    }
    // Found in <userDir>/node_modules and listed in its package.json: the palette manager can update and remove it.
    const mod = (await (await get(`/nodes/${MODULE}`, { Accept: "application/json" })).json()) as {
      version: string;
      local: boolean;
      user: boolean;
      path: string;
    };
    assert.equal(mod.version, PKG.version);
    assert.equal(mod.user, true, "not loaded as a user-installed module");
    assert.equal(fs.realpathSync(mod.path), fs.realpathSync(installed));
    const complaints = output()
      .split("\n")
      .filter((l) => /\[(error|warn)\]/.test(l) && /ivrapi/i.test(l));
    assert.deepEqual(complaints, [], "load warnings or errors in Node-RED's log");
  });

  for (const lng of LANGS) {
    it(`serves the editor templates, help and message catalogs in ${lng}`, async () => {
      const html = await (await get("/nodes", { Accept: "text/html", "Accept-Language": lng })).text();
      const catalogs = (await (
        await get(`/nodes/messages?lng=${lng}`, { Accept: "application/json" })
      ).json()) as Record<string, unknown>;
      for (const t of TYPES) {
        assert.ok(html.includes(`data-template-name="${t}"`), `${t} editor template`);
        assert.ok(html.includes(`data-help-name="${t}"`), `${t} help`);
        const help = fs.readFileSync(path.join(ROOT, "locales", lng, `${t}.html`), "utf8");
        const first = help.match(/<p>([\s\S]*?)<\/p>/)?.[1];
        assert.ok(first, `${lng}/${t}.html has a first paragraph`);
        assert.ok(html.includes(first), `${t} help text in ${lng}: ${first}`);
        const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, "locales", lng, `${t}.json`), "utf8"));
        assert.deepEqual(catalogs[`${MODULE}/${t}`], catalog, `${t} message catalog in ${lng}`);
      }
    });
  }

  it("serves every icon the editor templates name", async () => {
    const icons = editorIcons();
    assert.ok(icons.length >= 6, `icons: ${icons}`);
    const listed = (await (await get("/icons", { Accept: "application/json" })).json()) as Record<string, string[]>;
    assert.deepEqual([...(listed[MODULE] ?? [])].sort(), icons, JSON.stringify(listed).slice(0, 300));
    for (const icon of icons) {
      const res = await get(`/icons/${MODULE}/${icon}`);
      assert.equal(await res.text(), fs.readFileSync(path.join(ROOT, "icons", icon), "utf8"), icon);
    }
  });

  it("lists the examples under Import ▸ Examples and serves them as shipped", async () => {
    const names = walk(path.join(ROOT, "examples"))
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.replace(/\.json$/, ""))
      .sort();
    const listing = (await (await get(`/library/examples/flows/${MODULE}`)).json()) as unknown;
    const text = JSON.stringify(listing);
    for (const n of names) assert.ok(text.includes(n), `example ${n} in ${text}`);
    const flow = await (await get(`/library/examples/flows/${MODULE}/${names[0]}`)).json();
    assert.deepEqual(flow, JSON.parse(fs.readFileSync(path.join(ROOT, "examples", `${names[0]}.json`), "utf8")));
  });

  it("runs an example: 01-greeting, as installed, takes a call on the simulator, plays and hangs up", async () => {
    const s = await Simulator.start({ port: await freePort(), durations: { 204: 200, 201: 50 } });
    sim = s;
    const flow = JSON.parse(fs.readFileSync(path.join(installed, "examples", "01-greeting.json"), "utf8")) as Array<
      Record<string, unknown>
    >;
    const conns = flow.filter((n) => n.type === "ivrapi-connection");
    assert.equal(conns.length, 1);
    const bound = flow.map((n) =>
      n.type === "ivrapi-connection" ? { ...n, url: s.wsUrl, credentials: { token: s.token } } : n,
    );
    const res = await fetch(`${base}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(bound),
    });
    assert.equal(res.status, 204, await res.text());
    // A call placed before the subscription is in place would reach nobody.
    await until("a subscribed connection", 20_000, async () => {
      const info = (await (await fetch(`${s.httpUrl}/sim/info`)).json()) as { subscribed: number };
      return info.subscribed > 0 ? true : undefined;
    });
    const { ivrid } = s.placeCall({ key: "greeting" });
    const done = await until("the call to end", 20_000, () => {
      const c = s.getCall(ivrid);
      return c?.phase === "ended" ? c : undefined;
    });
    const ran = done.history
      .filter((h) => h.what === "component started")
      .map((h) => Number((h.detail as { oType?: unknown })?.oType));
    assert.deepEqual(ran, [204, 201]);
    assert.ok(
      s.log.some((e) => e.dir === "in" && e.name === "ivrapi_accept"),
      "Node-RED accepted the call",
    );
    assert.ok(!output().includes(s.token), "the token reached Node-RED's log");
  });
});
