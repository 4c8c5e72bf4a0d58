// The nodes' pure pieces: migrations of every node type, config parsing, the start-node rule, status, events.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { IvrApiError } from "../../src/client/errors";
import { msgId } from "../../src/nodes/common/call-msg";
import {
  ApplyConfig,
  ConnectionConfig,
  CURRENT_VERSIONS,
  DtmfConfig,
  FileConfig,
  MIGRATIONS,
  readConfig,
  StartConfig,
} from "../../src/nodes/common/configs";
import { FlowError, toFlowError } from "../../src/nodes/common/errors";
import { Events } from "../../src/nodes/common/events";
import { migrate } from "../../src/nodes/common/migrate";
import { FAILURE_KEY, LINK_KEY, StatusView } from "../../src/nodes/common/status";
import { pickStart, specificity } from "../../src/nodes/connection/dispatch";
import type { ApiStartData } from "../../src/protocol";
import { toCall } from "../../src/session/registry";
import { NODE_TYPES } from "./harness";

const TYPES = NODE_TYPES;

describe("nodes: msg ids", () => {
  it("msgId: 16 hex digits like RED.util.generateId, every digit used, no repeat in 100,000", () => {
    const seen = new Set<string>();
    const digits = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = msgId();
      assert.match(id, /^[0-9a-f]{16}$/);
      seen.add(id);
      if (i < 100) for (const d of id) digits.add(d);
    }
    assert.equal(seen.size, 100_000);
    assert.equal(digits.size, 16);
  });
});

describe("nodes: migrations", () => {
  it("every node type has a migration chain up to the version its editor saves", () => {
    for (const t of TYPES) {
      assert.ok((MIGRATIONS[t]?.length ?? 0) >= 1, t);
      const html = readFileSync(path.join(__dirname, "..", "..", "nodes", `${t}.html`), "utf8");
      const saved = /version:\s*\{\s*value:\s*(\d+)/.exec(html)?.[1];
      assert.equal(Number(saved), CURRENT_VERSIONS[t], t);
    }
  });

  it("brings a version-less config up to the current version, keeping what it had", () => {
    const out = migrate({ id: "a", key: "sales" }, MIGRATIONS["ivrapi-start"] ?? []);
    assert.deepEqual(out, { from: 0, to: 2, config: { id: "a", key: "sales", componentName: "", version: 2 } });
    // ivr start v1 (two outputs) → v2 (three): the saved shape is unchanged, the third output simply unwired.
    const v1 = migrate({ id: "b", key: "k", componentName: "", version: 1 }, MIGRATIONS["ivrapi-start"] ?? []);
    assert.deepEqual(v1, { from: 1, to: 2, config: { id: "b", key: "k", componentName: "", version: 2 } });
  });

  it("leaves a current or newer config alone", () => {
    const chain = MIGRATIONS["ivrapi-apply"] ?? [];
    assert.deepEqual(migrate({ version: 2, busy: "queue" }, chain).config, { version: 2, busy: "queue" });
    assert.equal(migrate({ version: 7 }, chain).to, 7);
  });

  it("apply v0: transferKeys as one comma-separated text or as {k} rows become a list; defaults filled", () => {
    const a = readConfig("ivrapi-apply", { transferKeys: "ok, error ,,busy" }, ApplyConfig);
    assert.deepEqual(a.transferKeys, ["ok", "error", "busy"]);
    assert.equal(a.dataType, "json");
    assert.equal(a.busy, "reject");
    assert.equal(a.timeout, 0);
    assert.deepEqual(a.data, '{"oType":201}');
    const b = readConfig("ivrapi-apply", { transferKeys: [{ k: "x" }, "y"] }, ApplyConfig);
    assert.deepEqual(b.transferKeys, ["x", "y"]);
  });

  it("connection v0: defaults filled; strings from the editor become numbers and booleans", () => {
    const c = readConfig("ivrapi-connection", { url: "wss://pbx/ws/token/v1" }, ConnectionConfig);
    assert.deepEqual(
      { ...c },
      {
        name: "",
        url: "wss://pbx/ws/token/v1",
        tokenMode: "path",
        requestTimeout: 10000,
        subscriptionTtl: 3600,
        reaccept: true,
        rejectUnauthorized: true,
        keepCallsOnDeploy: true,
        idleGuard: 10,
        redisUrl: "",
        leaseS: 10,
      },
    );
    const d = readConfig(
      "ivrapi-connection",
      {
        version: 1,
        url: "ws://x",
        tokenMode: "header",
        requestTimeout: "2500",
        subscriptionTtl: "60",
        reaccept: "false",
      },
      ConnectionConfig,
    );
    assert.equal(d.requestTimeout, 2500);
    assert.equal(d.subscriptionTtl, 60);
    assert.equal(d.reaccept, false);
  });

  it("dtmf, file and start v0 get their defaults", () => {
    assert.deepEqual(readConfig("ivrapi-dtmf", {}, DtmfConfig), { name: "", mode: "any", key: "" });
    const f = readConfig("ivrapi-file", {}, FileConfig);
    assert.deepEqual([f.action, f.urlType, f.destpathType, f.pathType], ["temp", "str", "str", "str"]);
    assert.deepEqual(readConfig("ivrapi-start", {}, StartConfig), { name: "", key: "", componentName: "" });
  });

  it("file timeout: seconds, 120 when an older flow lacks it, from 1 up to what a Node timer can wait", () => {
    assert.equal(readConfig("ivrapi-file", {}, FileConfig).timeout, 120);
    assert.equal(readConfig("ivrapi-file", { version: 1, action: "link" }, FileConfig).timeout, 120);
    assert.equal(readConfig("ivrapi-file", { version: 1, timeout: "" }, FileConfig).timeout, 120);
    assert.equal(readConfig("ivrapi-file", { version: 1, timeout: "300" }, FileConfig).timeout, 300);
    assert.equal(readConfig("ivrapi-file", { version: 1, timeout: 2147483 }, FileConfig).timeout, 2147483);
    for (const bad of ["0", "0.5", "-3", "abc", "2147484"]) {
      assert.throws(() => readConfig("ivrapi-file", { version: 1, timeout: bad }, FileConfig), /timeout/, bad);
    }
  });

  it("apply v1 → v2: a flow saved before the forms is custom JSON, its data unchanged", () => {
    const v1 = { version: 1, data: '{"oType":204,"file":"a.wav"}', dataType: "json", transferKeys: ["transfer"] };
    const out = migrate(v1, MIGRATIONS["ivrapi-apply"] ?? []);
    assert.deepEqual(out, { from: 1, to: 2, config: { ...v1, version: 2, component: "custom", fields: {} } });
    const c = readConfig("ivrapi-apply", v1, ApplyConfig);
    assert.equal(c.component, "custom");
    assert.equal(c.data, v1.data);
    // A form keeps its component and fields; a component that is not an oType is refused.
    const form = { version: 2, component: "206", fields: { maxSymbolCount: { value: "4", type: "num" } } };
    assert.deepEqual(readConfig("ivrapi-apply", { ...form, transferKeys: [] }, ApplyConfig).fields, form.fields);
    assert.throws(
      () => readConfig("ivrapi-apply", { version: 2, component: "play", transferKeys: [] }, ApplyConfig),
      /component/,
    );
  });

  it("a config it cannot use is a readable error, not a crash", () => {
    assert.throws(
      () => readConfig("ivrapi-apply", { version: 1, busy: "maybe", transferKeys: [] }, ApplyConfig),
      /busy/,
    );
    assert.throws(() => readConfig("ivrapi-dtmf", { mode: "sometimes" }, DtmfConfig), /mode/);
    assert.throws(
      () => readConfig("ivrapi-apply", { version: 1, timeout: "-1", transferKeys: [] }, ApplyConfig),
      /timeout/,
    );
  });
});

const call = (key: string, componentname?: string) =>
  toCall({ ivrid: "i1", key, ...(componentname ? { componentname } : {}) } as ApiStartData);

describe("nodes: which ivr start node gets a call", () => {
  const claims = [
    { id: "any", key: "", componentName: "" },
    { id: "name", key: "", componentName: "Menu" },
    { id: "key", key: "sales", componentName: "" },
    { id: "both", key: "sales", componentName: "Menu" },
    { id: "both-later", key: "sales", componentName: "Menu" },
  ];

  it("ranks key + componentName > key > componentName > none", () => {
    assert.deepEqual(
      claims.map((c) => specificity(c)),
      [0, 1, 2, 3, 3],
    );
    assert.equal(pickStart(claims, call("sales", "Menu"))?.id, "both");
    assert.equal(pickStart(claims, call("sales", "Queue"))?.id, "key");
    assert.equal(pickStart(claims, call("demo", "Menu"))?.id, "name");
    assert.equal(pickStart(claims, call("demo"))?.id, "any");
  });

  it("gives none when no filter matches", () => {
    assert.equal(pickStart(claims.slice(1), call("demo", "Queue")), undefined);
  });
});

describe("nodes: status, events, errors", () => {
  it("status shows the connection's state, or while connected the node's own; texts are catalog keys", () => {
    const shown: unknown[] = [];
    const v = new StatusView({ status: (s) => shown.push(s) }, { state: "connecting" });
    v.setOwn({ text: "▶ 204", fill: "blue", shape: "dot" });
    v.setLink({ state: "connected" });
    v.setLink({ state: "connected" });
    v.setLink({ state: "disconnected" });
    v.dispose();
    assert.deepEqual(shown, [
      { fill: "yellow", shape: "ring", text: `${LINK_KEY}connecting` },
      { fill: "blue", shape: "dot", text: "▶ 204" },
      { fill: "red", shape: "ring", text: `${LINK_KEY}disconnected` },
    ]);
  });

  it("status: a node's own changes are drawn a few times a second at most, the last one always", async () => {
    const shown: Array<{ text?: string }> = [];
    let drawn: () => void = () => {};
    const v = new StatusView(
      {
        status: (s) => {
          shown.push(s as { text?: string });
          drawn();
        },
      },
      { state: "connected" },
    );
    const last = new Promise<void>((resolve) => {
      drawn = () => {
        if (shown.at(-1)?.text === "☎ 50") resolve();
      };
    });
    for (let n = 1; n <= 50; n++) v.setOwn({ text: `☎ ${n}` });
    await last;
    v.dispose();
    // The connection's state at once, then (within the first quarter second) only the latest count.
    assert.deepEqual(
      shown.map((s) => s.text),
      [`${LINK_KEY}connected`, "☎ 50"],
    );
  });

  it("status: a failed msg shows red with its code for a while, then the normal status comes back", async () => {
    const shown: Array<{ fill?: string; text?: string }> = [];
    let drawn: () => void = () => {};
    const v = new StatusView(
      {
        status: (s) => {
          shown.push(s as { fill?: string; text?: string });
          drawn();
        },
      },
      { state: "connected" },
      300,
    );
    v.setOwn({ text: "☎ 1" });
    const back = new Promise<void>((resolve) => {
      drawn = () => {
        if (shown.length > 1 && shown.at(-1)?.text === "☎ 1") resolve();
      };
    });
    // A burst of failures (the own status still waiting for its redraw): one red status, the latest code, one
    // timer, then the normal status.
    v.showFailure("busy");
    v.showFailure("no_call");
    v.showFailure("weird_code");
    const failed = Date.now();
    await back;
    assert.ok(Date.now() - failed >= 290, "shown for the whole while");
    v.dispose();
    assert.deepEqual(
      shown.map((s) => [s.fill, s.text]),
      [
        ["green", `${LINK_KEY}connected`],
        ["red", "✖ weird_code"],
        ["green", "☎ 1"],
      ],
    );
    // While the connection is down, its state wins (it says why every message fails).
    const w: Array<{ text?: string }> = [];
    const down = new StatusView({ status: (s) => w.push(s as { text?: string }) }, { state: "disconnected" });
    down.showFailure("not_connected");
    down.dispose();
    assert.deepEqual(
      w.map((s) => s.text),
      [`${LINK_KEY}disconnected`],
    );
    assert.ok(FAILURE_KEY.endsWith("ivrapi-connection.failure."));
  });

  it("Events removes every listener it added", () => {
    const e = new EventEmitter<{ a: [number]; b: [] }>();
    const ev = new Events(e);
    ev.on("a", () => {}).on("b", () => {});
    e.on("a", () => {});
    assert.equal(ev.count, 2);
    ev.removeAll();
    assert.equal(e.listenerCount("a"), 1);
    assert.equal(e.listenerCount("b"), 0);
  });

  it("errors carry an own code (what Catch nodes copy) and masked texts", () => {
    const e = toFlowError(new IvrApiError("rejected", "refused for tok3n", { serverCode: "busy" }), (s) =>
      s.replace("tok3n", "***"),
    );
    assert.ok(e instanceof FlowError);
    assert.ok(Object.hasOwn(e, "code"));
    assert.equal(e.code, "rejected");
    assert.equal(e.message, "refused for ***");
    assert.deepEqual(e.cause, { serverCode: "busy" });
    assert.equal(toFlowError(new Error("x")).code, "internal");
    // What Node-RED puts in msg.error.message: the text alone, the code apart in msg.error.code.
    assert.equal(String(new FlowError("invalid", "url is empty")), "url is empty");
  });
});
