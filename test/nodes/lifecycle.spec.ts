// The connection's life as the nodes see it: open with the first user, close with the last (full and partial
// deploys), no listeners/timers/sockets left behind, status that follows the socket, reconnect + reaccept,
// and the token kept out of every status and log line.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import {
  collect,
  connectionDef,
  credentials,
  eachWithSimulator,
  type FlowNode,
  helper,
  hub,
  load,
  nextMsg,
  node,
  onTab,
  placeAccepted,
  ready,
  startWired,
  statuses,
  waitStatus,
} from "./harness";

const PLAY = JSON.stringify({ oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" });

function flow(sim: Simulator, conn: Record<string, unknown> = {}, applyData = PLAY): FlowNode[] {
  return [
    connectionDef(sim, conn),
    ...startWired(),
    { id: "keys", type: "ivrapi-dtmf", connection: "conn", mode: "any", wires: [[]] },
    {
      id: "apply",
      type: "ivrapi-apply",
      connection: "conn",
      data: applyData,
      dataType: "json",
      transferKeys: ["transfer"],
      busy: "reject",
      timeout: 0,
      wires: [["played"], []],
    },
    { id: "played", type: "helper" },
  ];
}

/** Waits until the simulator holds exactly n client connections (closing ones disappear on their close event). */
async function simConnections(sim: Simulator, n: number): Promise<void> {
  while (sim.connections().length !== n) {
    await new Promise<void>((resolve) => {
      const done = () => {
        sim.off("connection", done);
        sim.off("disconnection", done);
        resolve();
      };
      sim.on("connection", done);
      sim.on("disconnection", done);
    });
  }
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
const EVENTS = ["state", "api_start", "api_stop", "component_stopped", "dtmf", "stray"] as const;

describe("nodes: connection lifecycle", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it("opens one socket for all its nodes and closes it on the last node's close, timers included", async () => {
    await new Promise((r) => setImmediate(r)); // mocha arms its own test timer after the test starts
    const before = timers();
    await load(sim, flow(sim));
    await ready();
    await simConnections(sim, 1);
    const h = hub();
    const client = h.client;
    assert.ok(client);
    assert.equal(h.listenerCount("link"), 3);
    await helper.unload();
    await simConnections(sim, 0);
    assert.equal(client.state, "closed");
    for (const e of EVENTS) assert.equal(client.listenerCount(e), 0, e);
    assert.equal(h.listenerCount("link"), 0);
    assert.equal(h.userCount, 0);
    assert.equal(timers(), before);
  });

  it("full redeploy with the connection unchanged keeps its client, socket and listener counts", async () => {
    await load(sim, flow(sim));
    await ready();
    const client = hub().client;
    assert.ok(client);
    const counts = EVENTS.map((e) => client.listenerCount(e));
    const links = hub().listenerCount("link");
    await helper.setFlows(onTab(flow(sim, { name: "renamed" })), "full", credentials(sim));
    await ready();
    assert.equal(hub().client, client, "same client: the name does not count");
    assert.equal(client.state, "ready");
    assert.equal(sim.connections().length, 1);
    assert.deepEqual(
      EVENTS.map((e) => client.listenerCount(e)),
      counts,
    );
    assert.equal(hub().listenerCount("link"), links);
  });

  it("full redeploy keeps a controlled call: no abort, and it comes out of the resumed output once", async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrid } = await placeAccepted(sim, "call", { key: "k" });
    const stopped = collect("stopped");
    await helper.setFlows(onTab(flow(sim)), "full", credentials(sim));
    const resumed = collect("resumed");
    const first = await nextMsg("resumed");
    assert.equal(first.ivr.ivrid, ivrid);
    assert.deepEqual(first.ivr.resumed, { why: "deploy" });
    assert.equal(sim.getCall(ivrid)?.phase, "controlled");
    assert.equal(sim.log.filter((e) => e.name === "ivrapi_abort").length, 0);
    // The new apply node drives it on.
    const played = nextMsg("played");
    node("apply").receive({ ivr: first.ivr });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    sim.finishComponent(ivrid);
    await played;
    assert.equal(resumed.length, 1, "resumed exactly once");
    assert.deepEqual(stopped, []);
  });

  it("with 'keep calls' off, a full redeploy hands the calls back (the old behaviour) and opens a fresh client", async () => {
    await load(sim, flow(sim, { keepCallsOnDeploy: false }));
    await ready();
    const old = hub().client;
    assert.ok(old);
    const { ivrid } = await placeAccepted(sim, "call", { key: "k" });
    const stopped = collect("stopped");
    await helper.setFlows(onTab(flow(sim, { keepCallsOnDeploy: false })), "full", credentials(sim));
    await ready();
    assert.notEqual(hub().client, old);
    assert.equal(old.state, "closed");
    for (const e of EVENTS) assert.equal(old.listenerCount(e), 0, e);
    assert.equal(sim.getCall(ivrid)?.phase, "released");
    assert.equal(sim.getCall(ivrid)?.stopReason, "abort");
    assert.deepEqual(stopped, [], "the closed start node sends nothing");
  });

  it("the idle guard hands a call nobody drives back to its script: the stopped output says idle", async () => {
    await load(sim, flow(sim, { idleGuard: 1 }));
    await ready();
    const stopped = nextMsg("stopped", 4000);
    const started = Date.now();
    const { ivrid } = await placeAccepted(sim, "call", { key: "k" });
    const msg = await stopped;
    assert.equal(msg.ivr.ivrid, ivrid);
    assert.equal(msg.ivr.reason, "idle");
    assert.ok(Date.now() - started >= 900, "not before its second");
    assert.equal(sim.getCall(ivrid)?.phase, "released");
  });

  it("partial redeploy of one node keeps the socket, the held calls and the listener counts", async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const client = hub().client;
    assert.ok(client);
    const counts = EVENTS.map((e) => client.listenerCount(e));
    const links = hub().listenerCount("link");
    const changed = flow(sim, {}, JSON.stringify({ oType: 204, mode: 0, file: ":SYN_MEDIA/other.wav" }));
    await helper.setFlows(onTab(changed), "nodes", credentials(sim));
    assert.equal(hub().client, client, "same client");
    assert.equal(client.state, "ready");
    assert.deepEqual(
      EVENTS.map((e) => client.listenerCount(e)),
      counts,
    );
    assert.equal(hub().listenerCount("link"), links);
    assert.equal(sim.connections().length, 1);
    // The new apply node works on the call accepted before the deploy.
    const played = nextMsg("played");
    node("apply").receive({ ivr: msg.ivr });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    sim.finishComponent(ivrid);
    assert.equal((await played).payload.file, ":SYN_MEDIA/other.wav");
  });

  it("partial redeploy that replaces every user keeps the socket (it belongs to the connection node)", async () => {
    const only = (sim: Simulator, key: string): FlowNode[] => [
      connectionDef(sim),
      { id: "start", type: "ivrapi-start", connection: "conn", key, componentName: "", wires: [["call"], []] },
      { id: "call", type: "helper" },
    ];
    await load(sim, only(sim, ""));
    await ready();
    const old = hub().client;
    await helper.setFlows(onTab(only(sim, "sales")), "nodes", credentials(sim));
    await ready();
    assert.equal(hub().client, old);
    assert.equal(sim.connections().length, 1);
    await placeAccepted(sim, "call", { key: "sales" });
  });

  it("status follows the socket with no lag: disconnected, then connecting, then connected", async () => {
    await load(sim, flow(sim));
    await ready();
    const client = hub().client;
    assert.ok(client);
    const seen: Array<[string, string | undefined]> = [];
    // Registered after the hub's own listener: by the time it runs, every node must already show the state.
    client.on("state", (c) => {
      for (const id of ["start", "apply", "keys"]) seen.push([c.state, statuses(id).at(-1)?.fill]);
    });
    sim.dropConnections();
    await waitStatus("apply", (s) => s.fill === "red");
    await ready();
    await waitStatus("apply", (s) => s.fill === "green");
    const fills: Record<string, string> = { disconnected: "red", connecting: "yellow", ready: "green" };
    for (const [state, fill] of seen) assert.equal(fill, fills[state], `${state} shown as ${fill}`);
    const states = [...new Set(seen.map(([s]) => s))];
    assert.deepEqual(states, ["disconnected", "connecting", "ready"]);
  });

  it("after a reconnect the held call is taken back (reaccept), the start node says so, apply still works", async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const logged = new Promise((resolve) =>
      (node("start") as unknown as NodeJS.EventEmitter).once("call:log", resolve),
    );
    sim.dropConnections();
    await sim.waitForFrame({ dir: "in", name: "ivrapi_reaccept", where: (b) => b.ivrid === ivrid });
    await logged;
    await waitStatus("start", (s) => s.fill === "green" && /☎/.test(s.text ?? ""));
    assert.equal(sim.getCall(ivrid)?.phase, "controlled");
    const played = nextMsg("played");
    node("apply").receive({ ivr: msg.ivr });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    sim.finishComponent(ivrid);
    assert.equal((await played).ivr.transferKey, "transfer");
  });

  it("with reaccept off, a reconnect ends the held call: the stopped output says connection_lost", async () => {
    await load(sim, flow(sim, { reaccept: false }));
    await ready();
    const { ivrid } = await placeAccepted(sim, "call");
    const stopped = nextMsg("stopped");
    sim.dropConnections();
    const m = await stopped;
    assert.equal(m.ivr.ivrid, ivrid);
    assert.equal(m.ivr.reason, "connection_lost");
  });

  it("shows unauthorized on a refused token and recovers when the server accepts again", async () => {
    await load(sim, flow(sim));
    await ready();
    sim.faults.rejectUpgrades(401);
    sim.dropConnections();
    await waitStatus("apply", (s) => s.fill === "red" && /unauthorized/.test(s.text ?? ""));
    sim.faults.clear();
    await ready();
    await waitStatus("apply", (s) => s.fill === "green");
  });

  it("survives a server restart: statuses go red, then green, and calls placed afterwards are accepted", async () => {
    await load(sim, flow(sim));
    await ready();
    await sim.restart({ downMs: 50 });
    // Only once the client is ready again does a green status mean recovered (before, it is the old green).
    await ready();
    await waitStatus("start", (s) => s.fill === "green");
    await placeAccepted(sim, "call");
    assert.ok(statuses("start").some((s) => s.fill === "red"));
  });

  it("never shows or logs the token (path mode, failing and reconnecting connections)", async () => {
    await load(sim, flow(sim));
    await ready();
    sim.faults.rejectUpgrades(401);
    sim.dropConnections();
    await waitStatus("apply", (s) => /unauthorized/.test(s.text ?? ""));
    sim.faults.clear();
    await ready();
    const all = JSON.stringify([
      ...["start", "apply", "keys"].flatMap((id) => statuses(id)),
      helper
        .log()
        .getCalls()
        .map((c) => c.args),
    ]);
    assert.ok(all.length > 100);
    assert.ok(!all.includes(sim.token), "token leaked");
  });

  it("a connection without a token shows invalid settings and fails messages with not_connected", async () => {
    await load(
      sim,
      [
        ...flow(sim),
        { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
        { id: "caught", type: "helper" },
      ],
      {},
    );
    await waitStatus("apply", (s) => s.fill === "red" && /invalid/.test(s.text ?? ""));
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: { ivrid: "x" } });
    assert.equal((await caught).error.code, "not_connected");
    assert.equal(sim.connections().length, 0);
  });

  it("a flow node without a connection shows it and fails its messages (no crash)", async () => {
    await load(sim, [
      { id: "apply", type: "ivrapi-apply", connection: "", data: PLAY, transferKeys: [], wires: [[]] },
      { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ]);
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: { ivrid: "x" } });
    assert.equal((await caught).error.code, "no_connection");
    assert.equal(statuses("apply").at(-1)?.fill, "red");
  });

  it("test connection route: connects with the stored token server-side and never returns it", async () => {
    await load(sim, flow(sim));
    await ready();
    const ok = await helper.request().post("/ivrapi-connection/test").send({ id: "conn", url: sim.wsUrl });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ok, true);
    assert.ok((ok.body.capabilities as string[]).includes("ivrapi"));
    const bad = await helper
      .request()
      .post("/ivrapi-connection/test")
      .send({ url: sim.wsUrl, token: "wrong-token-123" });
    assert.equal(bad.body.ok, false);
    assert.equal(bad.body.state, "unauthorized");
    assert.ok(!JSON.stringify([ok.body, bad.body]).includes(sim.token));
    assert.ok(!JSON.stringify(bad.body).includes("wrong-token-123"));
  });
});
