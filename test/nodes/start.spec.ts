// ivr start: accept, filters, the most-specific rule, the stopped output, the lost accept race.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import {
  collect,
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  helper,
  hub,
  load,
  type Msg,
  nextMsg,
  node,
  placeAccepted,
  ready,
  waitStatus,
} from "./harness";

const start = (id: string, key = "", componentName = "", out = [[`${id}-ok`], [`${id}-stop`]]): FlowNode[] => [
  { id, type: "ivrapi-start", connection: "conn", key, componentName, version: 1, wires: out },
  { id: `${id}-ok`, type: "helper" },
  { id: `${id}-stop`, type: "helper" },
];

describe("nodes: ivr start", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it("accepts a call and sends msg.ivr with the call's fields and parsed params", async () => {
    await load(sim, [connectionDef(sim), ...start("s")]);
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "s-ok", { key: "demo", params: { lang: "ru" }, state: "early" });
    assert.equal(msg.ivr.ivrid, ivrid);
    assert.equal(msg.ivr.key, "demo");
    assert.equal(msg.ivr.state, "early");
    assert.equal(msg.ivr.connection, "conn");
    assert.deepEqual(msg.ivr.params, { lang: "ru" });
    assert.equal(msg.ivr.paramsRaw, '{"lang":"ru"}');
    assert.deepEqual(msg.payload, { lang: "ru" });
    for (const f of ["callid", "cid", "componentid", "componentname", "ivrts", "sm_id"]) assert.ok(f in msg.ivr, f);
    assert.equal(sim.getCall(ivrid)?.phase, "controlled");
    await waitStatus("s", (s) => s.fill === "green" && /☎/.test(s.text ?? ""));
  });

  it("sends msg and msg.ivr as plain objects, their fields in a fixed order (built without literals, see startMsg)", async () => {
    await load(sim, [connectionDef(sim), ...start("s")]);
    await ready();
    const { msg } = await placeAccepted(sim, "s-ok", { key: "demo", params: { lang: "ru" } });
    // What core nodes, cloneMessage and a context store take for granted of a msg.
    assert.equal(Object.getPrototypeOf(msg), Object.prototype);
    assert.equal(Object.getPrototypeOf(msg.ivr), Object.prototype);
    assert.deepEqual(Object.keys(msg).slice(0, 3), ["_msgid", "payload", "ivr"]);
    // A msg id as Node-RED makes them (RED.util.generateId): 16 hex digits.
    assert.match(String(msg._msgid), /^[0-9a-f]{16}$/);
    assert.deepEqual(Object.keys(msg.ivr).slice(0, 5), ["ivrid", "key", "params", "paramsRaw", "connection"]);
  });

  it("leaves calls alone that its key or componentName filter does not match", async () => {
    await load(sim, [connectionDef(sim), ...start("s", "sales", "Menu")]);
    await ready();
    const seen = collect("s-ok");
    const other = sim.placeCall({ key: "demo", componentName: "Menu" });
    const wrongName = sim.placeCall({ key: "sales", componentName: "Queue" });
    const { ivrid } = await placeAccepted(sim, "s-ok", { key: "sales", componentName: "Menu" });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.ivr.ivrid, ivrid);
    assert.equal(sim.getCall(other.ivrid)?.phase, "waiting");
    assert.equal(sim.getCall(wrongName.ivrid)?.phase, "waiting");
    assert.ok(!sim.log.some((e) => e.name === "ivrapi_accept" && e.body && (e.body as Msg).ivrid === other.ivrid));
  });

  it("gives a call matched by several start nodes to the most specific one only", async () => {
    await load(sim, [
      connectionDef(sim),
      ...start("any"),
      ...start("name", "", "Menu"),
      ...start("key", "sales"),
      ...start("both", "sales", "Menu"),
      ...start("both2", "sales", "Menu"),
    ]);
    await ready();
    const got: Record<string, Msg[]> = {};
    for (const id of ["any", "name", "key", "both", "both2"]) got[id] = collect(`${id}-ok`);
    await placeAccepted(sim, "both-ok", { key: "sales", componentName: "Menu" });
    await placeAccepted(sim, "key-ok", { key: "sales", componentName: "Queue" });
    await placeAccepted(sim, "name-ok", { key: "demo", componentName: "Menu" });
    await placeAccepted(sim, "any-ok", { key: "demo", componentName: "Queue" });
    // Exactly one each; the tie between "both" and "both2" goes to the first registered.
    assert.deepEqual(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.length])), {
      any: 1,
      name: 1,
      key: 1,
      both: 1,
      both2: 0,
    });
    assert.equal(sim.log.filter((e) => e.dir === "in" && e.name === "ivrapi_accept").length, 4);
  });

  it("sends the stopped output with msg.ivr.reason when the call ends", async () => {
    await load(sim, [connectionDef(sim), ...start("s")]);
    await ready();
    const { ivrid } = await placeAccepted(sim, "s-ok");
    const stopped = nextMsg("s-stop");
    sim.hangup(ivrid);
    const msg = await stopped;
    assert.equal(msg.ivr.ivrid, ivrid);
    assert.equal(msg.ivr.reason, "script");
    assert.equal(msg.payload.reason, "script");
    assert.equal(hub().heldBy("s"), 0);
    await waitStatus("s", (s) => s.fill === "green" && !/☎/.test(s.text ?? ""));
  });

  it("treats a lost accept race as normal: one connection gets the call, no error anywhere", async () => {
    const conn2 = { ...connectionDef(sim), id: "conn2" };
    await load(
      sim,
      [
        connectionDef(sim),
        conn2,
        ...start("a"),
        { id: "b", type: "ivrapi-start", connection: "conn2", key: "", componentName: "", wires: [["b-ok"], []] },
        { id: "b-ok", type: "helper" },
        { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
        { id: "caught", type: "helper" },
      ],
      { conn: { token: sim.token }, conn2: { token: sim.token } },
    );
    await ready("conn");
    await ready("conn2");
    const a = collect("a-ok");
    const b = collect("b-ok");
    const caught = collect("caught");
    const won = new Promise((resolve) => {
      for (const id of ["a-ok", "b-ok"]) (node(id) as unknown as NodeJS.EventEmitter).once("input", resolve);
    });
    // The loser says so at debug level only.
    const lost = new Promise((resolve) => {
      for (const id of ["a", "b"]) (node(id) as unknown as NodeJS.EventEmitter).once("call:debug", resolve);
    });
    const call = sim.placeCall();
    await won;
    await lost;
    assert.equal(a.length + b.length, 1);
    assert.equal(caught.length, 0);
    assert.equal(sim.getCall(call.ivrid)?.phase, "controlled");
    const errors = helper
      .log()
      .getCalls()
      .filter((c) => (c.args[0] as { level: number }).level <= 20);
    assert.deepEqual(
      errors.map((c) => c.args[0]),
      [],
    );
  });
});
