// The call record's admin endpoints in a real Node-RED 4 with adminAuth on (a child process, nodesDir = the repo root):
// /ivrapi/calls, /ivrapi/calls/:ivrid and /ivrapi/metrics refuse a request without a token and a user without read
// permission (401), answer a `read` user; a call through a deployed flow shows up live, then ended, with its timeline
// (the component names the apply node that applied it), the token never appears, and the metrics parse and move.
// The sidebar plugin (ivrapi-calls) loads, with its en-US and ru catalogs.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CallDetail, CallSummary, ComponentEntry } from "../../src/session/record";
import { Simulator } from "../../src/simulator";
import { parseMetrics } from "../helpers/metrics";
import { build, freePort, type RunningNodeRed, spawnNodeRed } from "../helpers/node-red";
import { until } from "../helpers/wait";

const ROOT = path.join(__dirname, "..", "..");
const MODULE = "node-red-contrib-ivrapi";
const TOKEN = "sim-secret-token-for-admin-test";

describe("call record admin endpoints and the sidebar plugin, in a real Node-RED with adminAuth", function () {
  this.timeout(90_000);
  let red: RunningNodeRed | undefined;
  let base = "";
  let userDir = "";
  let sim: Simulator;
  const tokens: Record<string, string> = {};

  before(async () => {
    build();
    sim = await Simulator.start({ token: TOKEN, durations: { 204: 300 } });
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-admin-"));
    const port = await freePort();
    const bcrypt = require("bcryptjs") as { hashSync(pw: string, rounds: number): string };
    const hash = bcrypt.hashSync("pw", 4);
    const settings = {
      uiHost: "127.0.0.1",
      uiPort: port,
      userDir,
      flowFile: "flows.json",
      credentialSecret: "test-only-secret",
      nodesDir: [ROOT],
      logging: { console: { level: "info" } },
      editorTheme: { tours: false, projects: { enabled: false }, palette: { editable: false } },
      diagnostics: { enabled: false },
      telemetry: { enabled: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
      adminAuth: {
        type: "credentials",
        users: [
          { username: "admin", password: hash, permissions: "*" },
          { username: "reader", password: hash, permissions: "read" },
          { username: "flows", password: hash, permissions: ["flows.read"] },
        ],
      },
    };
    fs.writeFileSync(path.join(userDir, "settings.js"), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    fs.writeFileSync(path.join(userDir, "flows.json"), "[]\n");
    red = await spawnNodeRed(["--settings", path.join(userDir, "settings.js")], { cwd: userDir });
    base = `http://127.0.0.1:${port}`;
    for (const [user, scope] of [
      ["admin", "*"],
      ["reader", "read"],
      ["flows", "flows.read"],
    ] as const) {
      const res = await fetch(`${base}/auth/token`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          client_id: "node-red-admin",
          grant_type: "password",
          scope,
          username: user,
          password: "pw",
        }),
      });
      assert.equal(res.status, 200, `token for ${user}`);
      tokens[user] = ((await res.json()) as { access_token: string }).access_token;
    }
  });

  after(async () => {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    await sim?.stop();
  });

  const get = (p: string, user?: string) =>
    fetch(`${base}${p}`, user ? { headers: { Authorization: `Bearer ${tokens[user]}` } } : {});

  it("refuses a request without a token, and a user without read permission (401)", async () => {
    for (const p of ["/ivrapi/calls", "/ivrapi/calls/x", "/ivrapi/metrics"]) {
      assert.equal((await get(p)).status, 401, `${p} without a token`);
      assert.equal((await get(p, "flows")).status, 401, `${p} for a user with flows.read only`);
    }
    assert.equal((await get("/ivrapi/calls", "reader")).status, 200);
    assert.equal((await get("/ivrapi/calls", "admin")).status, 200);
    assert.equal((await get("/ivrapi/calls/unknown", "reader")).status, 404);
  });

  it("loads the sidebar plugin with its catalogs in en-US and ru", async () => {
    const res = await fetch(`${base}/plugins`, {
      headers: { Accept: "application/json", Authorization: `Bearer ${tokens.reader}` },
    });
    const plugins = (await res.json()) as Array<{ id: string; err?: string }>;
    const ours = plugins.find((p) => p.id === `${MODULE}/ivrapi-calls`);
    assert.ok(ours, JSON.stringify(plugins));
    assert.equal(ours.err, undefined);
    const html = await (
      await fetch(`${base}/plugins`, { headers: { Accept: "text/html", Authorization: `Bearer ${tokens.reader}` } })
    ).text();
    assert.match(html, /registerPlugin\("ivrapi-calls"/);
    for (const [lng, label] of [
      ["en-US", "ivr calls"],
      ["ru", "звонки ivr"],
    ]) {
      const res = await get(`/plugins/messages?lng=${lng}`, "reader");
      const cat = (await res.json()) as Record<string, { "ivrapi-calls"?: { label?: string } }>;
      assert.equal(cat[`${MODULE}/ivrapi-calls`]?.["ivrapi-calls"]?.label, label, lng);
    }
  });

  it("shows a call through a deployed flow: live, then ended with its timeline; metrics move; no token", async () => {
    const flows = [
      { id: "t1", type: "tab", label: "ivr" },
      {
        id: "c1",
        type: "ivrapi-connection",
        name: "pbx",
        url: sim.wsUrl,
        tokenMode: "path",
        requestTimeout: 5000,
        subscriptionTtl: 3600,
        reaccept: true,
        rejectUnauthorized: true,
        version: 1,
        credentials: { token: TOKEN },
      },
      {
        id: "s1",
        type: "ivrapi-start",
        z: "t1",
        connection: "c1",
        key: "",
        componentName: "",
        wires: [["a1"], [], []],
      },
      {
        id: "a1",
        type: "ivrapi-apply",
        z: "t1",
        connection: "c1",
        data: '{"oType":204,"mode":0,"file":":GS_PUB/hello.wav"}',
        dataType: "json",
        busy: "reject",
        timeout: "0",
        transferKeys: ["transfer"],
        outputs: 2,
        wires: [["b1"], ["b1"]],
      },
      {
        id: "b1",
        type: "ivrapi-apply",
        z: "t1",
        connection: "c1",
        data: '{"oType":201}',
        dataType: "json",
        busy: "reject",
        timeout: "0",
        transferKeys: [],
        outputs: 1,
        wires: [[]],
      },
    ];
    const res = await fetch(`${base}/flows`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Node-RED-Deployment-Type": "full",
        Authorization: `Bearer ${tokens.admin}`,
      },
      body: JSON.stringify(flows),
    });
    assert.equal(res.status, 204);
    await until("the flow's connection to subscribe", () => sim.connections().some((c) => c.subscriptions.length > 0));
    const call = sim.placeCall({ key: "menu", state: "dialog" });
    const list = async () => ((await (await get("/ivrapi/calls", "reader")).json()) as { calls: CallSummary[] }).calls;
    await until("the call listed live", async () => (await list()).some((c) => c.ivrid === call.ivrid && c.live));
    await until("the call ended", async () => (await list()).some((c) => c.ivrid === call.ivrid && !c.live));
    const listed = (await list()).find((c) => c.ivrid === call.ivrid);
    assert.equal(listed?.connection, "c1");
    assert.equal(listed?.connectionName, "pbx");
    assert.equal(listed?.key, "menu");
    assert.equal(typeof listed?.startedAt, "number");

    const d = (await (await get(`/ivrapi/calls/${call.ivrid}`, "reader")).json()) as CallDetail;
    assert.deepEqual(
      d.timeline.map((e) => e.kind),
      ["accept", "component", "component", "stop"],
    );
    const [play, bye] = d.timeline.filter((e): e is ComponentEntry => e.kind === "component");
    assert.equal(play?.oType, 204);
    assert.equal(play?.transferKey, "transfer");
    assert.equal(play?.source, "a1");
    assert.equal(bye?.oType, 201);
    assert.equal(bye?.source, "b1");
    assert.equal(d.reason, "script");
    assert.ok(d.frames.length > 4);

    const text = await (await get("/ivrapi/metrics", "reader")).text();
    const m = parseMetrics(text);
    assert.equal(m.get("ivrapi_calls_active"), 0);
    assert.equal(m.get("ivrapi_calls_accepted_total"), 1);
    assert.equal(m.get('ivrapi_components_total{otype="204",exit="transfer"}'), 1);
    assert.ok((m.get('ivrapi_request_seconds_count{request="ivrapi_component_apply"}') ?? 0) >= 2);
    const ctype = (await get("/ivrapi/metrics", "reader")).headers.get("content-type") ?? "";
    assert.match(ctype, /^text\/plain;/);
    assert.match(ctype, /version=0\.0\.4/);

    const everything = JSON.stringify([await list(), d]) + text;
    assert.ok(!everything.includes(TOKEN), "the token appears in an endpoint");
    assert.ok(!red?.output().includes(TOKEN), "the token reached Node-RED's log");
  });
});
