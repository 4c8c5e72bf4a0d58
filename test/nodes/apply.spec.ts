// apply component and terminate: each transferKey port and "other", busy policies, timeout, errors to Catch.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import {
  collect,
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  hub,
  load,
  type Msg,
  nextMsg,
  node,
  placeAccepted,
  ready,
  statuses,
  waitStatus,
} from "./harness";

const PLAY = JSON.stringify({ oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" });
const KEYS = ["transfer", "error", "terminated"];

function flow(sim: Simulator, apply: Record<string, unknown> = {}): FlowNode[] {
  return [
    connectionDef(sim),
    { id: "start", type: "ivrapi-start", connection: "conn", key: "", componentName: "", wires: [["call"], []] },
    { id: "call", type: "helper" },
    {
      id: "apply",
      type: "ivrapi-apply",
      connection: "conn",
      data: PLAY,
      dataType: "json",
      transferKeys: KEYS,
      busy: "reject",
      timeout: 0,
      version: 1,
      outputs: KEYS.length + 1,
      wires: [["k0"], ["k1"], ["k2"], ["other"]],
      ...apply,
    },
    { id: "term", type: "ivrapi-terminate", connection: "conn", wires: [["termed"]] },
    { id: "termed", type: "helper" },
    { id: "k0", type: "helper" },
    { id: "k1", type: "helper" },
    { id: "k2", type: "helper" },
    { id: "other", type: "helper" },
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
  ];
}

const applies = (sim: Simulator, ivrid: string) =>
  sim.log.filter((e) => e.dir === "in" && e.name === "ivrapi_component_apply" && (e.body as Msg).ivrid === ivrid);

describe("nodes: apply component and terminate", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  async function call(opts: Parameters<Simulator["placeCall"]>[0] = {}) {
    await ready();
    return placeAccepted(sim, "call", opts);
  }

  /** Resolves once the n-th component was started by the simulator (it answers the apply after starting it). */
  async function running(n = 1): Promise<void> {
    const answered = () => sim.log.filter((e) => e.dir === "out" && e.name === "ivrapi_component_apply_result").length;
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: () => answered() >= n });
  }

  /** Resolves when the apply node handed its next msg to the registry (queued or replacing by then). */
  function handedOver(): Promise<void> {
    const reg = hub().registry;
    if (!reg) throw new Error("no registry");
    // The node hands a msg over with applyThen (callbacks, no promise: see SessionRegistry.applyThen).
    const orig = reg.applyThen;
    return new Promise((resolve) => {
      reg.applyThen = function (this: typeof reg, ...args: Parameters<typeof orig>) {
        orig.apply(this, args);
        reg.applyThen = orig;
        resolve();
      };
    });
  }

  /** Sends a msg into apply and resolves once its component runs. */
  async function applyRunning(ivr: Msg, n = 1, extra: Msg = {}): Promise<void> {
    node("apply").receive({ ivr, ...extra });
    await running(n);
  }

  it("sends the msg out of the transferKey's port, payload = results, msg.ivr.transferKey set", async () => {
    await load(sim, flow(sim));
    const { ivrid, msg } = await call();
    const out = nextMsg("k0");
    await applyRunning(msg.ivr);
    await waitStatus("apply", (s) => s.fill === "blue" && /▶/.test(s.text ?? ""));
    sim.finishComponent(ivrid);
    const got = await out;
    assert.equal(got.ivr.ivrid, ivrid);
    assert.equal(got.ivr.transferKey, "transfer");
    assert.equal(typeof got.ivr.oId, "number");
    assert.deepEqual(got.payload, { file: ":SYN_MEDIA/hello.wav" });
    await waitStatus("apply", (s) => s.fill === "green");
  });

  it("routes the error exit to its own port (media before the call is answered)", async () => {
    await load(sim, flow(sim));
    const { msg } = await call({ state: "incoming" });
    const out = nextMsg("k1");
    node("apply").receive({ ivr: msg.ivr });
    const got = await out;
    assert.equal(got.ivr.transferKey, "error");
  });

  it("sends keys not in the list to the last, 'other' port", async () => {
    await load(sim, flow(sim));
    const { ivrid, msg } = await call();
    const out = nextMsg("other");
    await applyRunning(msg.ivr);
    sim.finishComponent(ivrid, "digit", { dtmfBuffer: "5" });
    const got = await out;
    assert.equal(got.ivr.transferKey, "digit");
    assert.deepEqual(got.payload, { dtmfBuffer: "5" });
  });

  it("terminate stops the running component: the terminate node passes its msg on, apply exits 'terminated'", async () => {
    await load(sim, flow(sim));
    const { msg } = await call();
    const exit = nextMsg("k2");
    const passed = nextMsg("termed");
    await applyRunning(msg.ivr);
    node("term").receive({ ivr: msg.ivr, topic: "stop it" });
    assert.equal((await passed).topic, "stop it");
    assert.equal((await exit).ivr.transferKey, "terminated");
  });

  it("terminate with nothing running reaches the Catch node with code no_component", async () => {
    await load(sim, flow(sim));
    const { msg } = await call();
    const caught = nextMsg("caught");
    node("term").receive({ ivr: msg.ivr });
    const err = await caught;
    assert.equal(err.error.code, "no_component");
    assert.equal(err.error.source.id, "term");
  });

  it("busy reject: a second apply while one runs fails with code busy; nothing is sent", async () => {
    await load(sim, flow(sim));
    const { ivrid, msg } = await call();
    await applyRunning(msg.ivr);
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: msg.ivr, n: 2 });
    const err = await caught;
    assert.equal(err.error.code, "busy");
    assert.equal(err.n, 2);
    // A round trip on the same socket: anything sent before it has reached the simulator by now.
    await hub().client?.request("connection_info", {});
    assert.equal(applies(sim, ivrid).length, 1);
  });

  it("busy queue: the second apply is sent when the first stopped", async () => {
    await load(sim, flow(sim, { busy: "queue" }));
    const { ivrid, msg } = await call();
    const outs = collect("k0");
    await applyRunning(msg.ivr);
    const queued = handedOver();
    node("apply").receive({ ivr: msg.ivr, n: 2 });
    await queued;
    assert.equal(applies(sim, ivrid).length, 1, "the second waits");
    sim.finishComponent(ivrid);
    await running(2);
    const second = nextMsg("k0");
    sim.finishComponent(ivrid);
    assert.equal((await second).n, 2);
    assert.equal(outs.length, 2);
    assert.equal(outs[0]?.n, undefined);
  });

  it("busy replace: the running one is terminated, then the new one applied", async () => {
    await load(sim, flow(sim, { busy: "replace" }));
    const { ivrid, msg } = await call();
    const first = nextMsg("k2");
    await applyRunning(msg.ivr);
    node("apply").receive({ ivr: msg.ivr, n: 2 });
    assert.equal((await first).ivr.transferKey, "terminated");
    await running(2);
    const second = nextMsg("k0");
    sim.finishComponent(ivrid);
    assert.equal((await second).n, 2);
    assert.ok(sim.log.some((e) => e.dir === "in" && e.name === "ivrapi_component_terminate"));
  });

  it("timeout: terminates the component and marks msg.ivr.timedOut", async () => {
    await load(sim, flow(sim, { timeout: "0.05" }));
    const { msg } = await call();
    const exit = nextMsg("k2");
    node("apply").receive({ ivr: msg.ivr });
    const got = await exit;
    assert.equal(got.ivr.transferKey, "terminated");
    assert.equal(got.ivr.timedOut, true);
  });

  it("takes data from a msg property or a JSONata expression", async () => {
    await load(sim, flow(sim, { data: "payload.component", dataType: "msg" }));
    const { ivrid, msg } = await call();
    const out = nextMsg("k0");
    node("apply").receive({
      ivr: msg.ivr,
      payload: { component: { oType: "204", mode: 0, file: ":SYN_MEDIA/a.wav" } },
    });
    await running(1);
    sim.finishComponent(ivrid);
    assert.equal((await out).ivr.transferKey, "transfer");
    const frame = applies(sim, ivrid)[0]?.body as Msg;
    assert.equal(frame.data.oType, 204, "a string of digits is sent as a number");
  });

  it("evaluates a JSONata data expression against the msg", async () => {
    await load(sim, flow(sim, { data: '{"oType": 203, "number": payload}', dataType: "jsonata" }));
    const { ivrid, msg } = await call();
    node("apply").receive({ ivr: msg.ivr, payload: "102" });
    const f = await sim.waitForFrame({ dir: "in", name: "ivrapi_component_apply", where: (b) => b.ivrid === ivrid });
    assert.deepEqual(
      { oType: (f.body as Msg).data.oType, number: (f.body as Msg).data.number },
      { oType: 203, number: "102" },
    );
  });

  it("refuses data without a numeric oType before sending anything (code invalid)", async () => {
    await load(sim, flow(sim, { data: "payload", dataType: "msg" }));
    const { ivrid, msg } = await call();
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: msg.ivr, payload: { oType: "play", file: "x" } });
    const err = await caught;
    assert.equal(err.error.code, "invalid");
    assert.match(err.error.message, /oType/);
    assert.equal(applies(sim, ivrid).length, 0);
  });

  it("reports a msg without a call, or with a call it does not hold, to the Catch node", async () => {
    await load(sim, flow(sim));
    await ready();
    let caught = nextMsg("caught");
    node("apply").receive({ payload: "no call" });
    let err = await caught;
    assert.equal(err.error.code, "no_call");
    assert.equal(err.payload, "no call");
    caught = nextMsg("caught");
    node("apply").receive({ ivr: { ivrid: "rDlg-nope" } });
    err = await caught;
    assert.equal(err.error.code, "no_session");
  });

  it("shows an invalid fixed JSON on the node and fails its messages", async () => {
    await load(sim, flow(sim, { data: "{oType:", dataType: "json" }));
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: { ivrid: "x" } });
    assert.equal((await caught).error.code, "invalid");
    assert.ok(statuses("apply").some((s) => s.fill === "red"));
  });
});
