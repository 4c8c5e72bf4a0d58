// Fault 1: the platform restarts mid-component. Every socket closes, the port stays closed for 1.5 s, then the
// server listens again. What a Node-RED user sees: the status turns disconnected at once and connected again, every
// held call is taken back with exactly one ivrapi_reaccept, and the work interrupted by the drop ends plainly (the
// apply whose answer was lost reaches the Catch node with code connection_lost; the component that kept running
// reports its end on the apply node's output as usual).
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import { frames } from "../helpers/runtime";
import { until } from "../helpers/wait";
import {
  collect,
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  load,
  type Msg,
  nextMsg,
  node,
  placeAccepted,
  ready,
  startWired,
  statuses,
  waitStatus,
} from "../nodes/harness";
import { figure, watchCrashes } from "./support";

const play = (file: string) => JSON.stringify({ oType: 204, mode: 0, file });

function flow(sim: Simulator): FlowNode[] {
  const apply = (id: string, file: string, busy: string, out: string): FlowNode => ({
    id,
    type: "ivrapi-apply",
    connection: "conn",
    data: play(file),
    dataType: "json",
    transferKeys: ["transfer"],
    busy,
    timeout: 0,
    wires: [[out], [out]],
  });
  return [
    connectionDef(sim),
    ...startWired(),
    apply("apply", ":SYN_MEDIA/first.wav", "reject", "played"),
    // After the reconnect: queue, so it waits for whatever the drop left on the call instead of failing busy.
    apply("again", ":SYN_MEDIA/again.wav", "queue", "played-again"),
    { id: "played", type: "helper" },
    { id: "played-again", type: "helper" },
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
  ];
}

describe("faults: server restart mid-component (node level)", function () {
  this.timeout(20_000);
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it("reaccepts every held call once, ends interrupted work plainly, and the status follows the outage", async () => {
    const crashes = watchCrashes();
    try {
      await load(sim, flow(sim));
      await ready();
      const calls = collect("call");
      const stopped = collect("stopped");
      const caught = collect("caught");
      const played = collect("played");

      // A: a component runs (its apply was answered). B: an apply is in flight (its answer is held back).
      // C: held, idle.
      const a = await placeAccepted(sim, "call", { key: "a" });
      const b = await placeAccepted(sim, "call", { key: "b" });
      const c = await placeAccepted(sim, "call", { key: "c" });
      node("apply").receive({ ivr: a.msg.ivr });
      await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: (x) => x.result === "ok" });
      assert.ok(sim.getCall(a.ivrid)?.component);
      sim.faults.delayAnswers("ivrapi_component_apply", 60_000);
      node("apply").receive({ ivr: b.msg.ivr });
      await sim.waitForFrame({ dir: "in", name: "ivrapi_component_apply", where: (x) => x.ivrid === b.ivrid });
      sim.faults.clear();

      const lost = nextMsg("caught", 5000);
      const t0 = Date.now();
      const restarting = sim.restart({ downMs: 1500 });
      await waitStatus("start", (s) => s.fill === "red" && /disconnected/.test(s.text ?? ""), 5000);
      const downMs = Date.now() - t0;
      const err = (await lost).error as Msg;
      assert.equal(err.code, "connection_lost", JSON.stringify(err));
      assert.equal(err.source?.id, "apply");
      await restarting;
      const listening = Date.now();
      await waitStatus("start", (s) => s.fill === "green", 10_000);
      const backMs = Date.now() - listening;
      // The apply node, busy with A's component, shows that again (blue) once connected.
      await waitStatus("apply", (s) => s.fill === "blue" || s.fill === "green");

      // Exactly one reaccept per held call, each answered ok.
      for (const x of [a, b, c]) {
        await sim.waitForFrame({ dir: "in", name: "ivrapi_reaccept", where: (f) => f.ivrid === x.ivrid }, 5000);
      }
      await until(
        "every reaccept answered",
        () => frames(sim, "ivrapi_reaccept_result", "out").filter((f) => (f.body as Msg).result === "ok").length === 3,
        5000,
      );
      for (const x of [a, b, c]) assert.equal(sim.getCall(x.ivrid)?.phase, "controlled");

      // A's component kept running through the outage: its end reaches the flow as usual.
      const aDone = nextMsg("played");
      sim.finishComponent(a.ivrid);
      const aMsg = await aDone;
      assert.equal(aMsg.ivr.ivrid, a.ivrid);
      assert.equal(aMsg.payload.file, ":SYN_MEDIA/first.wav");

      // B and C take a new component after the reconnect (B's lost one is dealt with first: the queue waits).
      for (const x of [b, c]) {
        const done = nextMsg("played-again", 8000);
        node("again").receive({ ivr: x.msg.ivr });
        await until(
          `the new component on ${x.ivrid}`,
          () => sim.getCall(x.ivrid)?.component?.data.file === ":SYN_MEDIA/again.wav",
          8000,
          10,
        );
        sim.finishComponent(x.ivrid);
        assert.equal((await done).ivr.ivrid, x.ivrid);
      }

      // Nothing doubled: three accepted msgs, one error, no stop, one reaccept per call.
      for (const x of [a, b, c]) {
        const n = frames(sim, "ivrapi_reaccept", "in").filter((f) => (f.body as Msg).ivrid === x.ivrid).length;
        assert.equal(n, 1, `reaccepts of ${x.ivrid}`);
      }
      assert.equal(calls.length, 3);
      assert.equal(caught.length, 1);
      assert.equal(stopped.length, 0, JSON.stringify(stopped.map((m) => m.ivr)));
      assert.equal(played.length, 1);
      assert.ok(downMs <= 1000, `status showed disconnected after ${downMs} ms`);
      assert.ok(
        statuses("apply").some((s) => s.fill === "red"),
        "the apply node showed the outage too",
      );
      figure("restart", "status disconnected after the sockets closed", `${downMs} ms`);
      figure("restart", "status connected after the port reopened", `${backMs} ms`);
      crashes.assertNone();
    } finally {
      crashes.stop();
    }
  });
});
