// The simulator's endpoint, subscriptions and control rules, over real loopback sockets with a raw ws client.
import assert from "node:assert/strict";
import { Simulator } from "../src/simulator";
import { RawClient, upgradeStatus } from "./fixtures/sim-client";

/** A manual simulator per test, and raw clients opened on it that are all closed after the test. */
function simulatorWithClients(set: (sim: Simulator) => void): (form?: "path" | "header") => Promise<RawClient> {
  let sim: Simulator;
  const clients: RawClient[] = [];
  beforeEach(async () => {
    sim = await Simulator.start({ manual: true });
    set(sim);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await sim.stop();
  });
  return async (form = "path") => {
    const c = await RawClient.open(sim, form);
    clients.push(c);
    return c;
  };
}

describe("simulator: endpoint and token", () => {
  let sim: Simulator;
  const open = simulatorWithClients((s) => {
    sim = s;
  });

  it("exposes its urls and a random token", () => {
    assert.match(sim.wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/ws\/token\/v1$/);
    assert.equal(sim.httpUrl, `http://127.0.0.1:${sim.port}`);
    assert.match(sim.token, /^[0-9a-f]{32}$/);
  });

  it("accepts the token in the path and in the Authorization header", async () => {
    await open("path");
    await open("header");
    const conns = sim.connections();
    assert.deepEqual(
      conns.map((c) => c.authorizedBy),
      ["path", "header"],
    );
  });

  it("refuses a wrong or missing token with 401 and other paths with 404", async () => {
    assert.equal(await upgradeStatus(`${sim.wsUrl}/nope`), 401);
    assert.equal(await upgradeStatus(sim.wsUrl), 401);
    assert.equal(await upgradeStatus(sim.wsUrl, { Authorization: "Bearer nope" }), 401);
    assert.equal(await upgradeStatus(`${sim.httpUrl.replace("http", "ws")}/ws/other/${sim.token}`), 404);
    assert.equal(sim.connections().length, 0);
  });

  it("answers connection_info with capabilities and roles", async () => {
    const c = await open();
    const r = await c.request("connection_info");
    assert.equal(r.result, "ok");
    assert.equal(r.site, "sim");
    assert.equal(r.domain, "sim.local");
    assert.deepEqual(r.capabilities, ["ivrapi", "subscr"]);
    assert.deepEqual(r.roles, ["integration"]);
    assert.equal(r.connectionid, sim.connections()[0]?.id);
    assert.equal(typeof r.sessionid, "string");
  });
});

describe("simulator: capabilities", () => {
  it("forbids ivrapi requests without ivrapi and subscribe without subscr", async () => {
    const sim = await Simulator.start({ capabilities: ["subscr"] });
    const c = await RawClient.open(sim);
    const info = await c.request("connection_info");
    assert.deepEqual(info.capabilities, ["subscr"]);
    const call = sim.placeCall();
    const r = await c.request("ivrapi_accept", { key: call.key, ivrid: call.ivrid });
    assert.deepEqual([r.result, r.code], ["error", "forbidden"]);
    const s = await c.request("file_upload_static", { url: "http://x/y.wav", destpath: ":GS_PUB/a" });
    assert.equal(s.code, "forbidden");
    assert.equal((await c.subscribe()).result, "ok");
    await c.close();
    await sim.stop();

    const sim2 = await Simulator.start({ capabilities: ["ivrapi"] });
    const c2 = await RawClient.open(sim2);
    const r2 = await c2.subscribe();
    assert.deepEqual([r2.result, r2.code], ["error", "forbidden"]);
    assert.equal(typeof r2.reason, "string");
    await c2.close();
    await sim2.stop();
  });
});

describe("simulator: subscriptions and api_start / api_stop", () => {
  let sim: Simulator;
  let c: RawClient;
  beforeEach(async () => {
    sim = await Simulator.start({ manual: true, acceptTimeoutMs: 150 });
    c = await RawClient.open(sim);
  });
  afterEach(async () => {
    await c.close();
    await sim.stop();
  });

  it("delivers api_start with every seed field and the subscription id", async () => {
    assert.equal((await c.subscribe(["ivrevents.api_start"], "my-sub")).result, "ok");
    const call = sim.placeCall({ key: "abc", params: { asdf: "zxcv" }, state: "ringing", componentName: "Ext 3" });
    const n = await c.next("notify");
    assert.equal(n.class, "ivrevents");
    assert.equal(n.type, "api_start");
    assert.equal(n.id, "my-sub");
    assert.equal(typeof n.eventts, "number");
    assert.deepEqual(Object.keys(n.data).sort(), [
      "callid",
      "cid",
      "componentid",
      "componentname",
      "ivrid",
      "ivrts",
      "key",
      "params",
      "sm_id",
      "state",
    ]);
    assert.equal(n.data.params, '{"asdf":"zxcv"}');
    assert.equal(n.data.state, "ringing");
    assert.equal(n.data.componentname, "Ext 3");
    assert.match(n.data.ivrid, /^rDlg-006-[A-Za-z0-9]{6}$/);
    assert.equal(n.data.ivrid, call.ivrid);
    assert.equal(call.phase, "waiting");
  });

  it("sends one notify per connection, matching patterns, with the first matching subscription id", async () => {
    await c.subscribe(["ivrevents.*"], "wide");
    await c.subscribe(["ivrevents.api_start"], "narrow");
    sim.placeCall();
    await sim.waitForFrame({ dir: "out", name: "notify" });
    const call2 = sim.placeCall();
    const n = await c.next("notify", (b) => b.data.ivrid === call2.ivrid);
    assert.equal(n.id, "wide");
    assert.equal(sim.log.filter((e) => e.name === "notify").length, 2);
  });

  it("renews a subscription with the same id and deletes it with expires 0", async () => {
    await c.subscribe(["ivrevents.api_start"], 7, 60);
    await c.subscribe(["ivrevents.api_stop"], 7, 120);
    const subs = sim.connections()[0]?.subscriptions ?? [];
    assert.equal(subs.length, 1);
    assert.deepEqual(subs[0]?.events, ["ivrevents.api_stop"]);
    assert.ok((subs[0]?.expiresAt ?? 0) > Date.now() + 100_000);
    const call = sim.placeCall();
    sim.hangup(call.ivrid);
    const stop = await c.next("notify");
    assert.equal(stop.type, "api_stop");
    assert.equal(stop.id, 7);
    assert.equal(
      c.frames.filter((f) => f[0] === "notify").length,
      1,
      "api_start went out although the renewal dropped it",
    );
    assert.equal((await c.subscribe([], 7, 0)).result, "ok");
    assert.equal(sim.connections()[0]?.subscriptions.length, 0);
  });

  it("delivers nothing through an expired subscription", async function () {
    this.timeout(5000);
    await c.subscribe(["ivrevents.api_start"], "short", 1);
    await c.subscribe(["ivrevents.api_stop"], "long", 3600);
    // One second is the smallest lifetime the wire allows (expires is whole seconds).
    await new Promise((r) => setTimeout(r, 1050));
    const call = sim.placeCall();
    sim.hangup(call.ivrid);
    // Frames on one socket keep their order: the api_stop arriving proves no api_start preceded it.
    const stop = await c.next("notify");
    assert.equal(stop.type, "api_stop");
    assert.deepEqual(
      sim.connections()[0]?.subscriptions.map((s) => s.id),
      ["long"],
    );
  });

  it("stops with reason timeout when nobody accepts in time", async () => {
    await c.subscribe();
    const call = sim.placeCall();
    const stop = await c.next("notify", (b) => b.type === "api_stop");
    assert.equal(stop.data.reason, "timeout");
    assert.equal(stop.data.ivrid, call.ivrid);
    assert.equal(stop.data.key, call.key);
    assert.equal(sim.getCall(call.ivrid)?.phase, "released");
    const late = await c.request("ivrapi_accept", { key: call.key, ivrid: call.ivrid });
    assert.equal(late.code, "not_found");
  });

  it("stops with reason abort after ivrapi_abort is answered", async () => {
    await c.subscribe();
    const call = sim.placeCall();
    await c.request("ivrapi_accept", { key: call.key, ivrid: call.ivrid });
    const r = await c.request("ivrapi_abort", { key: call.key, ivrid: call.ivrid });
    assert.equal(r.result, "ok");
    const stop = await c.next("notify", (b) => b.type === "api_stop");
    assert.equal(stop.data.reason, "abort");
    const names = c.names();
    assert.ok(names.indexOf("ivrapi_abort_result") < names.lastIndexOf("notify"));
    assert.equal(sim.getCall(call.ivrid)?.phase, "released");
  });

  it("stops with reason script when the caller hangs up", async () => {
    await c.subscribe();
    const call = sim.placeCall();
    await c.request("ivrapi_accept", { key: call.key, ivrid: call.ivrid });
    sim.hangup(call.ivrid);
    const stop = await c.next("notify", (b) => b.type === "api_stop");
    assert.equal(stop.data.reason, "script");
    assert.equal(sim.getCall(call.ivrid)?.phase, "ended");
    const r = await c.request("ivrapi_component_apply", { key: call.key, ivrid: call.ivrid, data: { oType: 204 } });
    assert.equal(r.code, "not_found");
  });
});

describe("simulator: control", () => {
  let sim: Simulator;
  const open = simulatorWithClients((s) => {
    sim = s;
  });

  it("lets the first of two racing accepts win", async () => {
    const a = await open();
    const b = await open();
    const call = sim.placeCall({ key: "abc" });
    const [ra, rb] = await Promise.all([
      a.request("ivrapi_accept", { key: "abc", ivrid: call.ivrid }),
      b.request("ivrapi_accept", { key: "abc", ivrid: call.ivrid }),
    ]);
    const results = [ra, rb].map((r) => r.result);
    assert.deepEqual(results.sort(), ["error", "ok"]);
    const loser = ra.result === "error" ? ra : rb;
    assert.equal(loser.code, "already_accepted");
    const winner = ra.result === "ok" ? "c1" : "c2";
    assert.equal(sim.getCall(call.ivrid)?.controller, winner);
    assert.equal(sim.getCall(call.ivrid)?.phase, "controlled");
  });

  it("checks key, ivrid and who controls", async () => {
    const a = await open();
    const b = await open();
    const call = sim.placeCall({ key: "abc" });
    assert.equal((await a.request("ivrapi_accept", { key: "xyz", ivrid: call.ivrid })).code, "wrong_key");
    assert.equal((await a.request("ivrapi_accept", { key: "abc", ivrid: "rDlg-006-none00" })).code, "not_found");
    assert.equal((await a.request("ivrapi_abort", { key: "abc", ivrid: call.ivrid })).code, "not_controller");
    await a.request("ivrapi_accept", { key: "abc", ivrid: call.ivrid });
    const r = await b.request("ivrapi_component_apply", { key: "abc", ivrid: call.ivrid, data: { oType: 204 } });
    assert.deepEqual([r.result, r.code], ["error", "not_controller"]);
    assert.equal(typeof r.reason, "string");
  });

  it("moves control with reaccept after the connections dropped", async () => {
    const a = await open();
    const call = sim.placeCall({ key: "abc" });
    await a.request("ivrapi_accept", { key: "abc", ivrid: call.ivrid });
    sim.dropConnections();
    assert.equal(sim.connections().length, 0);
    assert.equal(sim.getCall(call.ivrid)?.controller, "c1");
    const b = await open();
    const before = await b.request("ivrapi_component_apply", { key: "abc", ivrid: call.ivrid, data: { oType: 500 } });
    assert.equal(before.code, "not_controller");
    assert.equal((await b.request("ivrapi_reaccept", { key: "abc", ivrid: call.ivrid })).result, "ok");
    assert.equal(sim.getCall(call.ivrid)?.controller, "c2");
    const r = await b.request("ivrapi_component_apply", { key: "abc", ivrid: call.ivrid, data: { oType: 500 } });
    assert.deepEqual([r.result, r.oId], ["ok", 0]);
    assert.ok(sim.getCall(call.ivrid)?.history.some((h) => h.what === "reaccepted"));
  });

  it("moves control with a reaccept from another live connection (the hijack); the old holder is refused, also when it comes back", async () => {
    const a = await open();
    const b = await open();
    const call = sim.placeCall({ key: "abc" });
    const ids = { key: "abc", ivrid: call.ivrid };
    await a.request("ivrapi_accept", ids);
    const applied = await a.request("ivrapi_component_apply", {
      ...ids,
      data: { oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" },
    });
    assert.equal(applied.result, "ok");
    // B takes it while A is still connected and its component still runs.
    assert.equal((await b.request("ivrapi_reaccept", ids)).result, "ok");
    assert.equal(sim.getCall(call.ivrid)?.controller, "c2");
    assert.ok(sim.getCall(call.ivrid)?.history.some((h) => h.what === "reaccepted"));
    // The running component's stop goes to the new holder only.
    sim.finishComponent(call.ivrid);
    assert.equal((await b.next("ivrapi_component_stopped")).oId, applied.oId);
    assert.equal(
      a.frames.some((f) => f[0] === "ivrapi_component_stopped"),
      false,
    );
    for (const [name, extra] of [
      ["ivrapi_component_apply", { data: { oType: 204 } }],
      ["ivrapi_component_terminate", {}],
      ["ivrapi_abort", {}],
    ] as const) {
      assert.equal((await a.request(name, { ...ids, ...extra })).code, "not_controller", name);
    }
    // The old holder on a new connection is refused as well: only a reaccept of its own would move control back.
    await a.close();
    const back = await open();
    assert.equal(
      (await back.request("ivrapi_component_apply", { ...ids, data: { oType: 204 } })).code,
      "not_controller",
    );
    assert.equal(sim.getCall(call.ivrid)?.controller, "c2");
    assert.equal((await b.request("ivrapi_component_apply", { ...ids, data: { oType: 500 } })).result, "ok");
  });

  it("lets reaccept take a call nobody accepted yet", async () => {
    const a = await open();
    const call = sim.placeCall({ key: "abc" });
    assert.equal((await a.request("ivrapi_reaccept", { key: "abc", ivrid: call.ivrid })).result, "ok");
    assert.equal(sim.getCall(call.ivrid)?.phase, "controlled");
  });

  it("survives a restart: calls and their control remain, reaccept on the same port works", async () => {
    const a = await open();
    const call = sim.placeCall({ key: "abc" });
    await a.request("ivrapi_accept", { key: "abc", ivrid: call.ivrid });
    const port = sim.port;
    await sim.restart({ downMs: 50 });
    assert.equal(sim.port, port);
    assert.equal(a.ws.readyState, a.ws.CLOSED);
    const b = await open();
    assert.equal((await b.request("ivrapi_reaccept", { key: "abc", ivrid: call.ivrid })).result, "ok");
    assert.equal(sim.getCall(call.ivrid)?.phase, "controlled");
  });
});
