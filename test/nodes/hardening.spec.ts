// Regressions of the hardening issue as a flow sees them: one msg per call, msgs that do not share state, settings a
// timer cannot honour refused on the node, superseded replaces reaching Catch. Each failed before the fix.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import {
  collect,
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  load,
  nextMsg,
  node,
  placeAccepted,
  ready,
  startWired,
  waitStatus,
} from "./harness";

const play = (file: string) => JSON.stringify({ oType: 204, mode: 0, file });

function flow(sim: Simulator, extra: FlowNode[] = []): FlowNode[] {
  return [
    connectionDef(sim),
    ...startWired(),
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
    ...extra,
  ];
}

const apply = (id: string, props: Record<string, unknown> = {}): FlowNode[] => [
  {
    id,
    type: "ivrapi-apply",
    connection: "conn",
    data: play(":SYN_MEDIA/a.wav"),
    dataType: "json",
    transferKeys: ["transfer"],
    busy: "reject",
    timeout: 0,
    version: 1,
    wires: [[`${id}-out`], [`${id}-other`]],
    ...props,
  },
  { id: `${id}-out`, type: "helper" },
  { id: `${id}-other`, type: "helper" },
];

describe("nodes: hardening", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it("a repeated api_start for a call already controlled emits no second accepted msg (defect 8)", async () => {
    await load(sim, flow(sim));
    await ready();
    const accepted = collect("call");
    const { ivrid } = await placeAccepted(sim, "call", { key: "k", params: { n: 1 } });
    const repeat = JSON.stringify([
      "notify",
      { class: "ivrevents", type: "api_start", data: { ivrid, key: "k", params: '{"n":1}' } },
    ]);
    sim.faults.sendRaw(repeat);
    sim.faults.sendRaw(repeat);
    // Round trip over the same socket: the repeats were read before this answer.
    await node("conn").hub?.client?.request("connection_info", {});
    assert.equal(accepted.length, 1);
  });

  it("msgs of one call do not share params: a flow that changes one cannot change the next (defect 11)", async () => {
    await load(
      sim,
      flow(sim, [
        { id: "dtmf", type: "ivrapi-dtmf", connection: "conn", mode: "any", key: "", wires: [["digit"]] },
        { id: "digit", type: "helper" },
      ]),
    );
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call", { params: { lang: "en", list: [1] } });
    msg.payload.lang = "changed";
    msg.payload.list.push(2);
    msg.ivr.params.lang = "changed too";
    const got = nextMsg("digit");
    sim.pressKeys(ivrid, "5");
    const d = await got;
    assert.deepEqual(d.ivr.params, { lang: "en", list: [1] });
  });

  it("an apply Timeout beyond what a Node timer can wait is refused on the node, never sent (defect 5)", async () => {
    await load(sim, flow(sim, apply("apply", { timeout: 25 * 24 * 3600 })));
    await ready();
    await waitStatus("apply", (s) => s.fill === "red" && /invalid/.test(s.text ?? ""));
    const { msg } = await placeAccepted(sim, "call");
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: msg.ivr });
    const err = (await caught).error;
    assert.equal(err.code, "invalid");
    assert.match(err.message, /timeout/);
    assert.equal(sim.log.filter((e) => e.name === "ivrapi_component_apply").length, 0);
  });

  it("with busy replace, pressing 1 then 2 plays menu 2 only; the overtaken msg reaches Catch (defect 3)", async () => {
    await load(
      sim,
      flow(sim, [...apply("prompt"), ...apply("menu", { dataType: "msg", data: "payload", busy: "replace" })]),
    );
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    node("prompt").receive({ ivr: msg.ivr });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    sim.faults.delayAnswers("ivrapi_component_terminate", 100);
    const caught = nextMsg("caught");
    node("menu").receive({ ivr: msg.ivr, payload: { oType: 204, mode: 0, file: ":SYN_MEDIA/menu1.wav" } });
    node("menu").receive({ ivr: msg.ivr, payload: { oType: 204, mode: 0, file: ":SYN_MEDIA/menu2.wav" } });
    const c = await caught;
    assert.equal(c.error.code, "superseded");
    assert.equal(c.payload.file, ":SYN_MEDIA/menu1.wav");
    await sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (b) => b.data.file.endsWith("menu2.wav"),
    });
    const done = nextMsg("menu-out");
    sim.finishComponent(ivrid);
    assert.equal((await done).ivr.transferKey, "transfer");
    const files = sim.log.filter((e) => e.dir === "in" && e.name === "ivrapi_component_apply");
    assert.deepEqual(
      files.map((e) => (e.body as { data: { file: string } }).data.file),
      [":SYN_MEDIA/a.wav", ":SYN_MEDIA/menu2.wav"],
    );
  });
});
