// apply component's forms (config version 2): a catalog component built from its fields (plain values once at
// deploy, msg / JSONata per msg), checked with the catalog (code invalid naming the field), run on the real
// simulator; a version 1 flow (raw JSON) behaves as before; the editor's catalog route.
import assert from "node:assert/strict";
import { CATALOG } from "../../src/protocol/catalog";
import type { Simulator } from "../../src/simulator";
import {
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  helper,
  load,
  type Msg,
  nextMsg,
  node,
  placeAccepted,
  ready,
  statuses,
} from "./harness";

const KEYS = ["transfer", "transferTimeout", "error"];

function flow(sim: Simulator, apply: Record<string, unknown>): FlowNode[] {
  return [
    connectionDef(sim),
    { id: "start", type: "ivrapi-start", connection: "conn", key: "", componentName: "", wires: [["call"], []] },
    { id: "call", type: "helper" },
    {
      id: "apply",
      type: "ivrapi-apply",
      connection: "conn",
      transferKeys: KEYS,
      busy: "reject",
      timeout: 0,
      outputs: KEYS.length + 1,
      wires: [["k0"], ["k1"], ["k2"], ["other"]],
      ...apply,
    },
    { id: "k0", type: "helper" },
    { id: "k1", type: "helper" },
    { id: "k2", type: "helper" },
    { id: "other", type: "helper" },
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
  ];
}

/** A 206 collect digits form as the editor saves it. */
const collect206 = (fields: Record<string, { value: string; type: string }> = {}) => ({
  version: 2,
  component: "206",
  data: '{"oType":206}',
  dataType: "json",
  fields: {
    timeoutSec: { value: "10", type: "num" },
    symbolTimeoutSec: { value: "5", type: "num" },
    maxSymbolCount: { value: "4", type: "num" },
    interruptSymbols: { value: "#", type: "str" },
    clearDtmfBuffer: { value: "true", type: "bool" },
    ...fields,
  },
});

describe("nodes: apply component forms (catalog components)", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  const applied = (ivrid: string) =>
    sim.waitForFrame({ dir: "in", name: "ivrapi_component_apply", where: (b) => b.ivrid === ivrid });

  it("a form of plain values: builds the data (numbers, booleans), runs 206, digits come back in payload", async () => {
    await load(sim, flow(sim, collect206()));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const out = nextMsg("k0");
    node("apply").receive({ ivr: msg.ivr });
    const f = await applied(ivrid);
    const { oId: _oId, ...data } = (f.body as Msg).data;
    assert.deepEqual(data, {
      oType: 206,
      timeoutSec: 10,
      symbolTimeoutSec: 5,
      maxSymbolCount: 4,
      interruptSymbols: "#",
      clearDtmfBuffer: true,
    });
    sim.pressKeys(ivrid, "12#");
    const got = await out;
    assert.equal(got.ivr.transferKey, "transfer");
    assert.equal(got.payload.dtmfBuffer, "12");
  });

  it("msg and JSONata fields are read per msg; an empty result leaves the field out", async () => {
    await load(
      sim,
      flow(
        sim,
        collect206({
          maxSymbolCount: { value: "payload.digits", type: "msg" },
          interruptSymbols: { value: "terminator", type: "msg" },
          timeoutSec: { value: "payload.digits * 2", type: "jsonata" },
        }),
      ),
    );
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const out = nextMsg("k0");
    node("apply").receive({ ivr: msg.ivr, payload: { digits: 3 } });
    const data = ((await applied(ivrid)).body as Msg).data;
    assert.equal(data.maxSymbolCount, 3);
    assert.equal(data.timeoutSec, 6);
    assert.equal("interruptSymbols" in data, false);
    sim.pressKeys(ivrid, "123");
    assert.equal((await out).payload.dtmfBuffer, "123");
  });

  it("a msg value the catalog refuses: Catch gets code invalid naming the field; nothing is sent", async () => {
    await load(sim, flow(sim, collect206({ maxSymbolCount: { value: "payload", type: "msg" } })));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: msg.ivr, payload: 500 });
    const err = await caught;
    assert.equal(err.error.code, "invalid");
    assert.match(err.error.message, /^maxSymbolCount: must be at most 100/);
    assert.equal(
      sim.log.filter((e) => e.dir === "in" && e.name === "ivrapi_component_apply" && (e.body as Msg).ivrid === ivrid)
        .length,
      0,
    );
  });

  it("a plain value the catalog refuses is reported at deploy (red status) and fails each msg naming the field", async () => {
    await load(sim, flow(sim, collect206({ interruptSymbols: { value: "x!", type: "str" } })));
    const caught = nextMsg("caught");
    node("apply").receive({ ivr: { ivrid: "x" } });
    const err = await caught;
    assert.equal(err.error.code, "invalid");
    assert.match(err.error.message, /interruptSymbols: only 0-9/);
    assert.ok(statuses("apply").some((s) => s.fill === "red"));
  });

  it("a version 1 flow (raw JSON, no component) loads unchanged and runs its data as before", async () => {
    const data = '{"oType":204,"mode":0,"file":":SYN_MEDIA/hello.wav","custom":{"argType":1}}';
    await load(sim, flow(sim, { version: 1, data, dataType: "json", transferKeys: ["transfer", "error"] }));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const out = nextMsg("k0");
    node("apply").receive({ ivr: msg.ivr });
    const { oId: _oId, ...sent } = ((await applied(ivrid)).body as Msg).data;
    assert.deepEqual(sent, JSON.parse(data));
    sim.finishComponent(ivrid);
    assert.equal((await out).ivr.transferKey, "transfer");
  });

  it("serves the catalog to the editor", async () => {
    await load(sim, flow(sim, collect206()));
    const res = await helper.request().get("/ivrapi-apply/catalog");
    assert.equal(res.status, 200);
    const body = res.body as unknown as { components: Array<{ oType: number; fields: unknown[]; exits: string[] }> };
    assert.deepEqual(
      body.components.map((c) => c.oType),
      CATALOG.map((c) => c.oType),
    );
    assert.deepEqual(body.components.find((c) => c.oType === 206)?.exits, ["transfer", "transferTimeout", "error"]);
  });
});
