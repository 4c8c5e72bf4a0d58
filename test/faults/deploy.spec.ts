// Fault 7: redeploys and Node-RED stopping with 50 calls held. What README "Deploys" promises, exactly once per call:
// a deploy keeps the socket and the calls when the connection is unchanged (calls no msg drives any more come out of
// ivr start's resumed output once), moves them with one reaccept each when it changed, and Node-RED stopping (in
// the test helper, and a real Node-RED process on SIGINT) hands every held call back with one ivrapi_abort.
// Then the heap one held call costs, at runtime level (the simulator in a child process, out of this heap).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IvrApiClient } from "../../src/client";
import { SessionRegistry } from "../../src/session";
import type { Simulator } from "../../src/simulator";
import { build, freePort, type RunningNodeRed, spawnNodeRed } from "../helpers/node-red";
import { frames } from "../helpers/runtime";
import { forkSim, type SimProcess } from "../helpers/sim-process";
import { until } from "../helpers/wait";
import {
  collect,
  connectionDef,
  credentials,
  eachWithSimulator,
  type FlowNode,
  helper,
  hub,
  load,
  type Msg,
  nextMsg,
  node,
  onTab,
  ready,
  startSim,
  startWired,
} from "../nodes/harness";
import { figure, mib, settledHeap, watchCrashes } from "./support";

const HELD = 50;

function flow(sim: Simulator, file = ":SYN_MEDIA/hello.wav"): FlowNode[] {
  return [
    connectionDef(sim),
    ...startWired(),
    {
      id: "apply",
      type: "ivrapi-apply",
      connection: "conn",
      data: JSON.stringify({ oType: 204, mode: 0, file }),
      dataType: "json",
      transferKeys: ["transfer"],
      busy: "reject",
      timeout: 0,
      wires: [["played"], ["played"]],
    },
    { id: "played", type: "helper" },
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
  ];
}

/** Places `n` calls at once and waits until the ivr start node has accepted them all. */
async function holdCalls(sim: Simulator, n: number): Promise<{ ivrids: string[]; msgs: Msg[] }> {
  const msgs = collect("call");
  const ivrids = Array.from({ length: n }, (_, i) => sim.placeCall({ key: `k${i % 5}` }).ivrid);
  await until(`${n} calls accepted`, () => msgs.length === n, 10_000, 10);
  for (const id of ivrids) assert.equal(sim.getCall(id)?.phase, "controlled");
  return { ivrids, msgs };
}

/** Every held call got exactly one ivrapi_abort and is back with its script; nothing else was sent for them. */
function assertHandedBackOnce(sim: Simulator, ivrids: string[]): void {
  const aborts = frames(sim, "ivrapi_abort", "in").map((f) => (f.body as Msg).ivrid as string);
  for (const id of ivrids) {
    assert.equal(aborts.filter((a) => a === id).length, 1, `aborts of ${id}`);
    assert.equal(sim.getCall(id)?.phase, "released", id);
    assert.equal(sim.getCall(id)?.stopReason, "abort", id);
    assert.equal(frames(sim, "ivrapi_reaccept", "in").filter((f) => (f.body as Msg).ivrid === id).length, 0);
    assert.equal(frames(sim, "ivrapi_accept", "in").filter((f) => (f.body as Msg).ivrid === id).length, 1);
  }
  assert.equal(aborts.length, ivrids.length, "no abort for anything else");
}

describe(`faults: redeploy and stop with ${HELD} calls held (node level)`, function () {
  this.timeout(30_000);
  let sim: Simulator;
  let crashes: ReturnType<typeof watchCrashes>;
  eachWithSimulator((s) => {
    sim = s;
  });
  beforeEach(() => {
    crashes = watchCrashes();
  });
  afterEach(() => {
    crashes.stop();
  });

  it("a partial deploy that keeps some of the connection's nodes keeps the socket and every call; nothing is sent", async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrids, msgs } = await holdCalls(sim, HELD);
    const client = hub().client;
    const conns = sim.connections().map((c) => c.id);
    const logged = sim.log.length;
    await helper.setFlows(onTab(flow(sim, ":SYN_MEDIA/other.wav")), "nodes", credentials(sim));
    assert.equal(hub().client, client, "same client");
    assert.equal(client?.state, "ready");
    assert.deepEqual(
      sim.connections().map((c) => c.id),
      conns,
    );
    assert.deepEqual(
      sim.log.slice(logged).map((e) => e.name),
      [],
      "no frame either way",
    );
    for (const id of ivrids) assert.equal(sim.getCall(id)?.phase, "controlled");
    // The replaced apply node drives a call accepted before the deploy.
    const played = nextMsg("played");
    node("apply").receive({ ivr: msgs[7]?.ivr });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    sim.finishComponent(ivrids[7] as string);
    assert.equal((await played).payload.file, ":SYN_MEDIA/other.wav");
    assert.equal(frames(sim, "ivrapi_abort", "in").length, 0);
    crashes.assertNone();
  });

  it(`a full deploy keeps all ${HELD} calls (no abort, no reconnect); each comes out of resumed exactly once`, async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrids, msgs } = await holdCalls(sim, HELD);
    // Half of them mid-component (their apply msgs die with the deploy), half idle.
    const busy = ivrids.slice(0, HELD / 2);
    for (const m of msgs.filter((m) => busy.includes(m.ivr.ivrid))) node("apply").receive({ ivr: m.ivr });
    await until("components running", () => busy.every((id) => sim.getCall(id)?.component), 5000, 10);
    const stopped = collect("stopped");
    const conns = sim.connections().map((c) => c.id);
    const t0 = Date.now();
    await helper.setFlows(onTab(flow(sim)), "full", credentials(sim));
    const ms = Date.now() - t0;
    const resumed = collect("resumed");
    const idle = ivrids.slice(HELD / 2);
    await until("idle calls resumed", () => resumed.length === idle.length, 5000, 10);
    assert.deepEqual(resumed.map((m) => m.ivr.ivrid).sort(), [...idle].sort());
    for (const m of resumed) assert.deepEqual(m.ivr.resumed, { why: "deploy" });
    // The running ones come out when their component ends, with its exit.
    for (const id of busy) sim.finishComponent(id);
    await until("every call resumed", () => resumed.length === HELD, 5000, 10);
    for (const m of resumed.slice(idle.length))
      assert.deepEqual(m.ivr.resumed, { why: "deploy", lastTransferKey: "transfer" });
    assert.equal(new Set(resumed.map((m) => m.ivr.ivrid)).size, HELD, "each exactly once");
    assert.deepEqual(
      sim.connections().map((c) => c.id),
      conns,
      "no reconnect",
    );
    assert.equal(frames(sim, "ivrapi_abort", "in").length, 0);
    assert.equal(frames(sim, "ivrapi_reaccept", "in").length, 0);
    for (const id of ivrids) assert.equal(sim.getCall(id)?.phase, "controlled");
    assert.equal(stopped.length, 0);
    crashes.assertNone();
    figure("deploy", `full deploy with ${HELD} calls held, connection unchanged`, `${ms} ms`);
  });

  it(`a deploy that changes the connection's URL moves every call with one reaccept; each resumed once`, async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrids, msgs } = await holdCalls(sim, HELD);
    const busy = ivrids.slice(0, HELD / 2);
    for (const m of msgs.filter((m) => busy.includes(m.ivr.ivrid))) node("apply").receive({ ivr: m.ivr });
    await until("components running", () => busy.every((id) => sim.getCall(id)?.component), 5000, 10);
    const first = sim.connections()[0]?.id;
    const changed = flow(sim).map((n) => (n.type === "ivrapi-connection" ? { ...n, url: `${sim.wsUrl}/` } : n));
    await helper.setFlows(onTab(changed), "full", credentials(sim));
    const resumed = collect("resumed");
    await until("idle calls resumed", () => resumed.length === HELD / 2, 5000, 10);
    for (const id of busy) sim.finishComponent(id);
    await until("every call resumed", () => resumed.length === HELD, 5000, 10);
    assert.equal(new Set(resumed.map((m) => m.ivr.ivrid)).size, HELD, "each exactly once");
    const reaccepts = frames(sim, "ivrapi_reaccept", "in").map((f) => (f.body as Msg).ivrid as string);
    for (const id of ivrids) assert.equal(reaccepts.filter((r) => r === id).length, 1, `reaccepts of ${id}`);
    assert.equal(frames(sim, "ivrapi_abort", "in").length, 0);
    await until("the old socket closed", () => !sim.connections().some((c) => c.id === first), 5000, 10);
    for (const id of ivrids) assert.equal(sim.getCall(id)?.controller, sim.connections()[0]?.id);
    const lastKeys = resumed.filter((m) => busy.includes(m.ivr.ivrid)).map((m) => m.ivr.resumed.lastTransferKey);
    assert.deepEqual([...new Set(lastKeys)], ["transfer"]);
    crashes.assertNone();
  });

  it("a flows deploy that replaces every node using the connection keeps the calls; each resumed once", async () => {
    const only = (key: string): FlowNode[] => [
      connectionDef(sim),
      { ...startWired()[0], key } as FlowNode,
      ...startWired().slice(1),
    ];
    await load(sim, only(""));
    await ready();
    const { ivrids } = await holdCalls(sim, HELD);
    await helper.setFlows(onTab(only("sales")), "flows", credentials(sim));
    const resumed = collect("resumed");
    await until("every call resumed", () => resumed.length === HELD, 5000, 10);
    assert.equal(new Set(resumed.map((m) => m.ivr.ivrid)).size, HELD);
    assert.equal(frames(sim, "ivrapi_abort", "in").length, 0);
    for (const id of ivrids) assert.equal(sim.getCall(id)?.phase, "controlled");
    crashes.assertNone();
  });

  it("a modified-nodes deploy of the ivr start node keeps the calls but does not resume them", async () => {
    // Only the changed node restarts: msgs elsewhere in the flow may still drive the calls, so nothing comes out
    // of resumed (a call nobody drives is handed back by the idle guard).
    const only = (key: string): FlowNode[] => [
      connectionDef(sim),
      { ...startWired()[0], key } as FlowNode,
      ...startWired().slice(1),
    ];
    await load(sim, only(""));
    await ready();
    const { ivrids } = await holdCalls(sim, 5);
    await helper.setFlows(onTab(only("sales")), "nodes", credentials(sim));
    const resumed = collect("resumed");
    await hub().client?.request("connection_info", {}); // a round trip: anything due has happened
    await new Promise((r) => setTimeout(r, 300)); // past the hub's resume checks (every 100 ms)
    assert.equal(resumed.length, 0);
    assert.equal(frames(sim, "ivrapi_abort", "in").length, 0);
    for (const id of ivrids) assert.equal(sim.getCall(id)?.phase, "controlled");
    crashes.assertNone();
  });

  it(`Node-RED stopping its flows hands each of the ${HELD} calls back once and closes the socket`, async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrids } = await holdCalls(sim, HELD);
    const t0 = Date.now();
    await helper.unload(); // what Node-RED's stop does: stopFlows, every node closed
    const ms = Date.now() - t0;
    await until("the socket closed", () => sim.connections().length === 0, 5000, 10);
    assertHandedBackOnce(sim, ivrids);
    crashes.assertNone();
    figure("deploy", `flows stopped with ${HELD} calls held (aborts answered)`, `${ms} ms`);
  });
});

describe(`faults: a real Node-RED process stopped (SIGINT) with ${HELD} calls held`, function () {
  this.timeout(120_000);
  let red: RunningNodeRed | undefined;
  let sim: Simulator;
  let userDir = "";

  before(async () => {
    build();
    sim = await startSim();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-faults-nr-"));
  });
  after(async () => {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    await sim?.stop();
  });

  it("hands each held call back with exactly one ivrapi_abort before the process exits", async () => {
    const port = await freePort();
    const settings = {
      uiHost: "127.0.0.1",
      uiPort: port,
      userDir,
      flowFile: "flows.json",
      credentialSecret: "test-only-secret",
      nodesDir: [path.join(__dirname, "..", "..")],
      logging: { console: { level: "info" } },
      editorTheme: { tours: false, projects: { enabled: false }, palette: { editable: false } },
      diagnostics: { enabled: false },
      telemetry: { enabled: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
    };
    fs.writeFileSync(path.join(userDir, "settings.js"), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    fs.writeFileSync(path.join(userDir, "flows.json"), "[]\n");
    red = await spawnNodeRed(["--settings", path.join(userDir, "settings.js")], { cwd: userDir });
    const flows = [
      { id: "t1", type: "tab", label: "ivr" },
      { ...connectionDef(sim, { requestTimeout: 5000 }), id: "c1", credentials: { token: sim.token } },
      {
        id: "s1",
        type: "ivrapi-start",
        z: "t1",
        x: 100,
        y: 100,
        connection: "c1",
        key: "",
        componentName: "",
        wires: [[], []],
      },
    ];
    const res = await fetch(`http://127.0.0.1:${port}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flows),
    });
    assert.equal(res.status, 204);
    await sim.waitForFrame({ dir: "out", name: "subscribe_result" }, 20_000);
    const ivrids = Array.from({ length: HELD }, () => sim.placeCall().ivrid);
    await until(
      `${HELD} calls controlled`,
      () => ivrids.every((id) => sim.getCall(id)?.phase === "controlled"),
      20_000,
      20,
    );
    const t0 = Date.now();
    await red.stop(20_000);
    const ms = Date.now() - t0;
    assert.equal(red.child.signalCode, null, `Node-RED had to be killed:\n${red.output().slice(-2000)}`);
    assertHandedBackOnce(sim, ivrids);
    assert.equal(sim.connections().length, 0);
    figure("deploy", `real Node-RED SIGINT to exit with ${HELD} calls held`, `${ms} ms`);
  });
});

describe("faults: heap per held call (runtime)", function () {
  this.timeout(60_000);
  let sp: SimProcess;
  afterEach(async () => {
    await sp?.stop();
  });

  it("measures the heap one held call costs (50 and 500 held)", async () => {
    sp = await forkSim({ acceptTimeoutMs: 600_000 });
    const client = new IvrApiClient({ url: sp.wsUrl, token: sp.token, requestTimeoutMs: 10_000, pingIntervalMs: 0 });
    const reg = new SessionRegistry(client);
    try {
      reg.on("api_start", (call) => void reg.accept(call));
      const up = new Promise((r) => client.once("ready", r));
      client.start();
      await up;
      // Warm the paths with a few calls, then hand them back: the baseline has the code loaded, no call held.
      await sp.call("place", 5, { key: "warm" });
      await until("warm-up held", () => reg.list().length === 5, 10_000, 10);
      await Promise.all(reg.list().map((c) => reg.abort(c.ivrid)));
      const base = await settledHeap();
      const perCall: string[] = [];
      let held = 0;
      for (const n of [50, 500]) {
        await sp.call("place", n - held, { key: "held" });
        held = n;
        await until(`${n} held`, () => reg.list().length === n, 20_000, 10);
        const heap = await settledHeap();
        perCall.push(`${n} held: +${mib(heap - base)}, ${((heap - base) / n / 1024).toFixed(1)} KiB per call`);
      }
      figure("deploy", "heap per held call (client + registry, after GC)", perCall.join("; "));
      assert.equal(reg.list().length, 500);
    } finally {
      reg.dispose();
      await client.close();
    }
  });
});
