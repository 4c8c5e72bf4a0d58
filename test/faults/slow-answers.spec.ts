// Fault 3: slow and missing answers. A request the server never answers reaches the Catch node with code `timeout`
// within the answer timeout plus a little; an answer that comes after that changes nothing: no crash, no second
// msg, no second request.
import assert from "node:assert/strict";
import type { IvrApiClient } from "../../src/client";
import type { Simulator } from "../../src/simulator";
import { frames } from "../helpers/runtime";
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
  startWired,
} from "../nodes/harness";
import { figure, nextFrame, watchCrashes } from "./support";

const TIMEOUT_MS = 1000;
/** How late after the answer timeout the Catch node may hear of it (timers on a loaded 2-core machine). */
const SLACK_MS = 1500;

function flow(sim: Simulator): FlowNode[] {
  return [
    connectionDef(sim, { requestTimeout: TIMEOUT_MS }),
    ...startWired(),
    {
      id: "apply",
      type: "ivrapi-apply",
      connection: "conn",
      data: JSON.stringify({ oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" }),
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

/** A round trip on the node's own client: every frame the server sent before its answer has been handled. */
async function roundTrip(): Promise<void> {
  const client = hub().client as IvrApiClient;
  await client.request("connection_info", {});
}

const ofCall = (sim: Simulator, name: string, ivrid: string) =>
  frames(sim, name, "in").filter((f) => (f.body as Msg).ivrid === ivrid).length;

describe("faults: slow and missing answers (node level)", function () {
  this.timeout(20_000);
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

  it("an apply never answered: Catch gets code timeout within the answer timeout plus a little", async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const played = collect("played");
    sim.faults.dropAnswers("ivrapi_component_apply", 1);
    const caught = nextMsg("caught", TIMEOUT_MS + SLACK_MS + 2000);
    const t0 = Date.now();
    node("apply").receive({ ivr: msg.ivr });
    const err = (await caught).error as Msg;
    const ms = Date.now() - t0;
    assert.equal(err.code, "timeout", JSON.stringify(err));
    assert.equal(err.source?.id, "apply");
    assert.ok(ms >= TIMEOUT_MS - 50 && ms <= TIMEOUT_MS + SLACK_MS, `timeout reported after ${ms} ms`);
    await roundTrip();
    assert.equal(ofCall(sim, "ivrapi_component_apply", ivrid), 1, "the apply was sent once");
    assert.equal(played.length, 0);
    figure("slow-answers", `apply never answered → Catch timeout (answer timeout ${TIMEOUT_MS} ms)`, `${ms} ms`);
    crashes.assertNone();
  });

  it("an apply answered late: one timeout, then the late answer and the component's end change nothing", async () => {
    await load(sim, flow(sim));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const played = collect("played");
    const caughtAll = collect("caught");
    sim.faults.delayAnswers("ivrapi_component_apply", TIMEOUT_MS + 600);
    const caught = nextMsg("caught", TIMEOUT_MS + SLACK_MS + 2000);
    const t0 = Date.now();
    node("apply").receive({ ivr: msg.ivr });
    const err = (await caught).error as Msg;
    const ms = Date.now() - t0;
    assert.equal(err.code, "timeout");
    assert.ok(ms <= TIMEOUT_MS + SLACK_MS, `timeout reported after ${ms} ms`);
    // The late answer arrives and is handled (as a stray answer nobody waits for).
    const stray = new Promise<{ what: string }>((resolve) => hub().client?.once("stray", resolve));
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" }, 5000);
    assert.match((await stray).what, /ivrapi_component_apply_result/);
    sim.faults.clear();
    // The component the late apply started ends: its flow already had its error, so no msg leaves the node.
    sim.finishComponent(ivrid);
    await roundTrip();
    assert.equal(played.length, 0, "no msg for an apply that already failed");
    assert.equal(caughtAll.length, 1, "one error, not two");
    assert.equal(ofCall(sim, "ivrapi_component_apply", ivrid), 1, "no second apply request");
    // And the call is free again: the next apply runs normally.
    const next = nextMsg("played");
    const started = nextFrame(sim, {
      dir: "out",
      name: "ivrapi_component_apply_result",
      where: (b) => b.result === "ok",
    });
    node("apply").receive({ ivr: msg.ivr });
    await started;
    sim.finishComponent(ivrid);
    assert.equal((await next).ivr.ivrid, ivrid);
    assert.equal(caughtAll.length, 1);
    figure("slow-answers", "apply answered 600 ms after its timeout → Catch timeout", `${ms} ms`);
    crashes.assertNone();
  });

  it("an accept never answered: the start node's Catch gets code timeout, the call is handed back, no accepted msg", async () => {
    await load(sim, flow(sim));
    await ready();
    const calls = collect("call");
    sim.faults.dropAnswers("ivrapi_accept", 1);
    const caught = nextMsg("caught", TIMEOUT_MS + SLACK_MS + 2000);
    const t0 = Date.now();
    const call = sim.placeCall({ key: "lost-answer" });
    const got = await caught;
    const ms = Date.now() - t0;
    assert.equal(got.error.code, "timeout");
    assert.equal(got.error.source?.id, "start");
    assert.equal(got.ivr?.ivrid, call.ivrid);
    assert.ok(ms <= TIMEOUT_MS + SLACK_MS, `timeout reported after ${ms} ms`);
    // The server did give control (only its answer was lost): it is handed back so the caller is not stranded.
    await sim.waitForFrame({ dir: "in", name: "ivrapi_abort", where: (b) => b.ivrid === call.ivrid }, 5000);
    await roundTrip();
    assert.equal(ofCall(sim, "ivrapi_accept", call.ivrid), 1);
    assert.equal(calls.length, 0);
    figure("slow-answers", "accept never answered → Catch timeout", `${ms} ms`);
    crashes.assertNone();
  });
});
