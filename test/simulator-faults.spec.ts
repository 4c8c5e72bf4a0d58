// Hostile input, injected faults, the frame log and the HTTP control API.
import assert from "node:assert/strict";
import { once } from "node:events";
import { Simulator } from "../src/simulator";
import { controlledCall, httpJson, RawClient, upgradeStatus } from "./fixtures/sim-client";

describe("simulator: bad input and faults", () => {
  let sim: Simulator;
  let c: RawClient;
  beforeEach(async () => {
    sim = await Simulator.start({ manual: true });
    c = await RawClient.open(sim);
  });
  afterEach(async () => {
    await c.close();
    await sim.stop();
  });

  it("logs malformed frames, answers those with a name and qid, and keeps the socket open", async () => {
    c.ws.send("{not json");
    c.ws.send("[1,2,3]");
    c.ws.send(JSON.stringify(["ivrapi_accept", { qid: 5 }]));
    c.ws.send(JSON.stringify(["bogus_request", { qid: "q6" }]));
    c.ws.send(JSON.stringify(["ivrapi_component_apply", { qid: 7, key: "k", ivrid: "i", data: {} }]));
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    c.ws.send(`["connection_info",{"qid":1,"pad":"${"x".repeat(1024 * 1024)}"}]`);
    const invalid = await c.next("ivrapi_accept_result");
    assert.deepEqual([invalid.qid, invalid.result, invalid.code], [5, "error", "invalid"]);
    assert.match(invalid.reason, /key/);
    const unknown = await c.next("bogus_request_result");
    assert.deepEqual([unknown.qid, unknown.code], ["q6", "unknown_request"]);
    assert.match((await c.next("ivrapi_component_apply_result")).reason, /oType/);
    assert.equal((await c.request("connection_info")).result, "ok");
    const malformed = sim.log.filter((e) => e.name === "(malformed)");
    assert.equal(malformed.length, 6);
    assert.equal(malformed[0]?.body, "{not json");
    assert.ok(sim.log.some((e) => e.name === "(binary)"));
    assert.equal(c.frames.filter((f) => f[0] === "connection_info_result").length, 1, "the huge frame got no answer");
  });

  it("delays answers to one request name", async () => {
    sim.faults.delayAnswers("connection_info", 150);
    const started = Date.now();
    const slow = c.request("connection_info");
    const fast = await c.request("subscribe", { id: 1, objects: "any", events: ["ivrevents.*"], expires: 60 });
    assert.equal(fast.result, "ok");
    assert.equal((await slow).result, "ok");
    assert.ok(Date.now() - started >= 140);
    const names = c.names();
    assert.ok(names.indexOf("subscribe_result") < names.indexOf("connection_info_result"));
  });

  it("drops a number of answers while still processing the requests", async () => {
    sim.faults.dropAnswers("subscribe", 1);
    c.send("subscribe", { qid: 1, id: "a", objects: "any", events: ["ivrevents.*"], expires: 60 });
    await c.request("connection_info");
    assert.equal(
      c.frames.some((f) => f[0] === "subscribe_result"),
      false,
    );
    assert.equal(sim.connections()[0]?.subscriptions[0]?.id, "a");
    assert.equal((await c.subscribe(["ivrevents.*"], "b")).result, "ok");
  });

  it("pushes raw text to one connection or all", async () => {
    const other = await RawClient.open(sim);
    sim.faults.sendRaw("{garbage", "c1");
    sim.faults.sendRaw('["notify",{"weird":true}]');
    await other.next("notify");
    await c.next("notify");
    assert.deepEqual(c.raw.slice(0, 1), ["{garbage"]);
    assert.equal(other.raw.length, 1);
    assert.throws(() => sim.faults.sendRaw("x", "c99"), /no open connection/);
    await other.close();
  });

  it("freezes a connection: no answers, no pongs, until cleared", async () => {
    sim.faults.freeze("c1");
    let pongs = 0;
    c.ws.on("pong", () => {
      pongs += 1;
    });
    c.ws.ping();
    const answer = c.request("connection_info", {}, 3000);
    // The absence of a reply can only be observed by waiting a little.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pongs, 0);
    assert.equal(c.frames.length, 0);
    sim.faults.clear();
    assert.equal((await answer).result, "ok");
    assert.equal(pongs, 1);
  });

  it("answers a request instead of carrying it out, as many times as asked", async () => {
    const call = sim.placeCall({ key: "k" });
    sim.faults.answerInstead("ivrapi_accept", { result: "maybe", extra: 1 }, 1);
    const odd = await c.request("ivrapi_accept", { key: "k", ivrid: call.ivrid });
    assert.deepEqual([odd.result, odd.extra], ["maybe", 1]);
    assert.equal(sim.getCall(call.ivrid)?.phase, "waiting", "the accept was not carried out");
    assert.equal((await c.request("ivrapi_accept", { key: "k", ivrid: call.ivrid })).result, "ok");
    assert.equal(sim.getCall(call.ivrid)?.phase, "controlled");
  });

  it("sends bytes as a text frame as they are, and binary frames", async () => {
    const got: Array<[string, boolean]> = [];
    c.ws.on("message", (data, isBinary) => got.push([Buffer.from(data as Buffer).toString("hex"), isBinary]));
    sim.faults.sendRaw(Buffer.from("[1]"));
    sim.faults.sendBinary(Buffer.from([0, 1, 2]));
    await c.request("connection_info");
    assert.deepEqual(got.slice(0, 2), [
      [Buffer.from("[1]").toString("hex"), false],
      ["000102", true],
    ]);
    assert.deepEqual(
      sim.log.filter((e) => e.dir === "out" && e.name.startsWith("(")).map((e) => [e.name, e.body]),
      [
        ["(raw)", { bytes: 3 }],
        ["(binary)", { bytes: 3 }],
      ],
    );
  });

  it("bursts many frames over a time, logged as one entry", async () => {
    const other = await RawClient.open(sim);
    const sent = await sim.faults.burst(500, (i) => JSON.stringify(["notify", { n: i }]), {
      overMs: 100,
      connId: "c1",
    });
    assert.equal(sent, 500);
    await c.request("connection_info");
    const notes = c.frames.filter((f) => f[0] === "notify").map((f) => f[1].n);
    assert.deepEqual(
      notes,
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.equal(other.frames.length, 0, "only the connection named");
    const logged = sim.log.filter((e) => e.dir === "out" && e.name !== "connection_info_result");
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.name, "(burst)");
    assert.deepEqual((logged[0]?.body as { frames?: number } | undefined)?.frames, 500);
    await other.close();
  });

  it("refuses upgrades with a chosen status until reset", async () => {
    sim.faults.rejectUpgrades(503);
    assert.equal(await upgradeStatus(`${sim.wsUrl}/${sim.token}`), 503);
    sim.faults.rejectUpgrades(null);
    assert.equal(await upgradeStatus(`${sim.wsUrl}/${sim.token}`), 101);
  });

  it("waitForFrame finds past and future frames and names what it missed", async () => {
    await c.request("connection_info");
    const past = await sim.waitForFrame({ dir: "in", name: "connection_info" });
    assert.equal(past.conn, "c1");
    const future = sim.waitForFrame({ dir: "out", name: "subscribe_result", where: (b) => b.qid === 42 });
    c.send("subscribe", { qid: 42, id: 1, objects: "any", events: [], expires: 5 });
    assert.equal((await future).dir, "out");
    sim.clearLog();
    assert.equal(sim.log.length, 0);
    await assert.rejects(sim.waitForFrame({ name: "connection_info" }, 30), /connection_info.*30 ms/);
  });

  it("emits connection, call and frame events", async () => {
    const seen: string[] = [];
    sim.on("connection", (e: { id: string }) => seen.push(`connection ${e.id}`));
    sim.on("disconnection", (e: { id: string }) => seen.push(`disconnection ${e.id}`));
    sim.on("call", (info: { phase: string }) => seen.push(`call ${info.phase}`));
    const other = await RawClient.open(sim);
    await controlledCall(sim, other);
    const gone = once(sim, "disconnection");
    await other.close();
    await gone;
    assert.deepEqual(seen, ["connection c2", "call waiting", "call controlled", "disconnection c2"]);
  });
});

describe("simulator: HTTP control API", () => {
  let sim: Simulator;
  let c: RawClient;
  beforeEach(async () => {
    sim = await Simulator.start({ manual: true, token: "secret-token-123" });
    c = await RawClient.open(sim);
    await c.subscribe();
  });
  afterEach(async () => {
    await c.close();
    await sim.stop();
  });

  it("places calls, presses keys and hangs up", async () => {
    const placed = await httpJson("POST", `${sim.httpUrl}/sim/calls`, { key: "demo", params: { lang: "en" } });
    assert.equal(placed.status, 201);
    const { ivrid } = placed.body;
    const start = await c.next("notify");
    assert.deepEqual([start.data.ivrid, start.data.params], [ivrid, '{"lang":"en"}']);
    await c.request("ivrapi_accept", { key: "demo", ivrid });
    const keys = await httpJson("POST", `${sim.httpUrl}/sim/calls/${ivrid}/dtmf`, { digits: "1#" });
    assert.equal(keys.status, 200);
    assert.equal((await c.next("ivrapi_dtmf", (b) => b.dtmf === "#")).mode, "idle");
    assert.equal((await httpJson("GET", `${sim.httpUrl}/sim/calls`)).body.length, 1);
    assert.equal((await httpJson("GET", `${sim.httpUrl}/sim/calls/${ivrid}`)).body.phase, "controlled");
    const hung = await httpJson("POST", `${sim.httpUrl}/sim/calls/${ivrid}/hangup`);
    assert.deepEqual([hung.status, hung.body.phase, hung.body.stopReason], [200, "ended", "script"]);
    assert.equal((await httpJson("POST", `${sim.httpUrl}/sim/calls/${ivrid}/hangup`)).status, 409);
  });

  it("finishes a running component over HTTP", async () => {
    const { ivrid, key } = await controlledCall(sim, c);
    await c.request("ivrapi_component_apply", { key, ivrid, data: { oType: 500 } });
    const r = await httpJson("POST", `${sim.httpUrl}/sim/calls/${ivrid}/finish`, { transferKey: "x" });
    assert.equal(r.status, 200);
    assert.equal((await c.next("ivrapi_component_stopped")).transferKey, "x");
    assert.equal((await httpJson("POST", `${sim.httpUrl}/sim/calls/${ivrid}/finish`, {})).status, 409);
  });

  it("answers bad requests with clear 400s and unknown things with 404/405", async () => {
    const typo = await httpJson("POST", `${sim.httpUrl}/sim/calls`, { kye: "demo" });
    assert.equal(typo.status, 400);
    assert.match(typo.body.error, /kye/);
    assert.equal((await httpJson("POST", `${sim.httpUrl}/sim/calls`, "{nope")).status, 400);
    const call = sim.placeCall();
    const bad = await httpJson("POST", `${sim.httpUrl}/sim/calls/${call.ivrid}/dtmf`, { digits: "12x" });
    assert.equal(bad.status, 400);
    assert.equal((await httpJson("POST", `${sim.httpUrl}/sim/calls/nope/dtmf`, { digits: "1" })).status, 404);
    assert.equal((await httpJson("GET", `${sim.httpUrl}/nothing`)).status, 404);
    assert.equal((await httpJson("DELETE", `${sim.httpUrl}/sim/calls`)).status, 405);
  });

  it("tells where it is without giving the token away, and takes extra routes", async () => {
    const info = await httpJson("GET", `${sim.httpUrl}/sim/info`);
    assert.equal(info.body.wsUrl, sim.wsUrl);
    assert.equal(info.body.tokenHint, "se***");
    assert.equal(info.bytes.toString().includes("secret-token-123"), false);
    sim.addRoute("GET", /^\/phone$/, (_req, res) => {
      res.end("softphone");
    });
    assert.equal((await httpJson("GET", `${sim.httpUrl}/phone`)).bytes.toString(), "softphone");
  });
});
