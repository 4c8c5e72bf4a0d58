import assert from "node:assert/strict";
import { type ConnectionState, IvrApiClient, type IvrApiError, type StateChange } from "../../src/client";
import { type CallInfo, SessionRegistry } from "../../src/session";
import { frames, type Harness, harness, once, recordingLogger } from "../helpers/runtime";

describe("client connection", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  for (const tokenMode of ["path", "header"] as const) {
    it(`connects with the token in the ${tokenMode}, says hello and subscribes`, async () => {
      h = await harness();
      const states: ConnectionState[] = [];
      const c = h.client({ tokenMode });
      c.on("state", (s) => states.push(s.state));
      c.start();
      const [info] = await once(c, "ready");
      assert.deepEqual(states, ["connecting", "ready"]);
      assert.ok((info as { capabilities: string[] }).capabilities.includes("ivrapi"));
      assert.equal(h.sim.connections()[0]?.authorizedBy, tokenMode);
      const sub = frames(h.sim, "subscribe", "in")[0]?.body as Record<string, unknown>;
      assert.deepEqual(sub.events, ["ivrevents.api_start", "ivrevents.api_stop"]);
      assert.equal(sub.objects, "any");
      assert.equal(sub.expires, 3600);
      assert.ok(!c.maskedUrl.includes(h.sim.token));
    });
  }

  it("reports a wrong token as unauthorized, retries slowly, and never shows the token", async () => {
    h = await harness();
    const log = recordingLogger();
    const c = h.client({ token: "wrong-secret-token", unauthorizedRetryMs: 45_000 }, log);
    c.start();
    const [change] = await once<[StateChange]>(c, "state", (s) => s.state === "unauthorized");
    assert.match(change.error ?? "", /401/);
    assert.ok((change.retryAt ?? 0) - Date.now() > 40_000, "the retry is far away, not a tight loop");
    for (const line of [...log.lines, change.error ?? "", c.maskedUrl]) {
      assert.ok(!line.includes("wrong-secret-token"), line);
    }
  });

  it("treats 403 at upgrade as unauthorized and 503 as a plain disconnect", async () => {
    h = await harness();
    h.sim.faults.rejectUpgrades(403);
    const c = h.client();
    c.start();
    await once<[StateChange]>(c, "state", (s) => s.state === "unauthorized");
    await c.close();
    h.sim.faults.rejectUpgrades(503);
    const d = h.client();
    d.start();
    const [change] = await once<[StateChange]>(d, "state", (s) => s.state === "disconnected");
    assert.match(change.error ?? "", /503/);
    h.sim.faults.clear();
    await once(d, "ready");
  });

  it("says plainly which capability the token lacks", async () => {
    h = await harness({ capabilities: ["subscr"] });
    const c = h.client();
    c.start();
    const [change] = await once<[StateChange]>(c, "state", (s) => s.state === "unauthorized");
    assert.match(change.error ?? "", /lacks the capability ivrapi/);
    assert.equal(frames(h.sim, "subscribe", "in").length, 0, "no subscribe without the capability");
  });

  it("renews the subscription before it expires, so events keep coming", async () => {
    h = await harness();
    const { client, reg } = await h.ready({ subscriptionTtlS: 1, renewAt: 0.4 });
    await h.sim.waitForFrame(
      { dir: "in", name: "subscribe", where: () => frames(h.sim, "subscribe", "in").length >= 3 },
      3000,
    );
    const subs = h.sim.connections()[0]?.subscriptions ?? [];
    assert.equal(subs.length, 1, "renewal reuses the same subscription id");
    const offered = once(reg, "api_start");
    const call = h.sim.placeCall({ key: "k" });
    const [got] = await offered;
    assert.equal((got as { ivrid: string }).ivrid, call.ivrid);
    assert.equal(client.state, "ready");
  });

  it("fails a request with no answer with a timeout error", async () => {
    h = await harness();
    const { reg } = await h.ready({ requestTimeoutMs: 150 });
    h.sim.faults.dropAnswers("ivrapi_accept");
    const call = h.sim.placeCall({ key: "k" });
    await assert.rejects(reg.accept({ ivrid: call.ivrid, key: "k" }), (e: IvrApiError) => e.code === "timeout");
  });

  it("fails in-flight requests with 'connection lost' when the socket drops, then reconnects", async () => {
    h = await harness();
    const { client, reg } = await h.ready();
    h.sim.faults.delayAnswers("ivrapi_accept", 10_000);
    const call = h.sim.placeCall({ key: "k" });
    const pending = reg.accept({ ivrid: call.ivrid, key: "k" });
    await h.sim.waitForFrame({ dir: "in", name: "ivrapi_accept" });
    h.sim.dropConnections();
    await assert.rejects(
      pending,
      (e: IvrApiError) => e.code === "connection_lost" && /connection lost/.test(e.message),
    );
    await once<[StateChange]>(client, "state", (s) => s.state === "ready");
  });

  it("takes a call offered in the same breath as the subscribe answer (one TCP read, before ready)", async () => {
    h = await harness();
    const c = h.client();
    const reg = new SessionRegistry(c);
    let ivrid: string | undefined;
    // Sent in the same tick as subscribe_result: ws on the client side delivers both from one read.
    h.sim.on("frame", (e: { dir: string; name: string }) => {
      if (e.dir === "out" && e.name === "subscribe_result" && !ivrid) ivrid = h.sim.placeCall({ key: "k" }).ivrid;
    });
    const offered = once<[CallInfo]>(reg, "api_start");
    c.start();
    const [call] = await offered;
    assert.equal(call.ivrid, ivrid);
    assert.equal(c.state, "ready", "events reach listeners only once requests can be sent");
    assert.equal((await reg.accept(call)).accepted, true);
  });

  it("refuses requests while not ready with a clear error instead of 'WebSocket is not open'", async () => {
    h = await harness();
    const c = h.client();
    await assert.rejects(
      c.request("connection_info", {}),
      (e: IvrApiError) => e.code === "not_connected" && /idle/.test(e.message),
    );
  });

  it("survives malformed and unknown frames from the server", async () => {
    h = await harness();
    const { client } = await h.ready();
    const strays: string[] = [];
    client.on("stray", (s) => strays.push(s.what));
    h.sim.faults.sendRaw("this is not json");
    h.sim.faults.sendRaw('["notify", 5]');
    h.sim.faults.sendRaw('["ivrapi_accept_result", {"qid": 999999, "result": "ok"}]');
    h.sim.faults.sendRaw('["brand_new_event", {"x": 1}]');
    await once(client, "stray", () => strays.length >= 4);
    assert.equal(client.state, "ready");
    const info = await client.request("connection_info", {});
    assert.equal(info.outcome.status, "ok");
  });

  it("detects a half-dead peer with pings and reopens", async () => {
    h = await harness();
    const { client } = await h.ready({ pingIntervalMs: 50 });
    h.sim.faults.freeze();
    const [down] = await once<[StateChange]>(client, "state", (s) => s.state === "disconnected");
    assert.match(down.error ?? "", /.+/);
    h.sim.faults.clear();
    await once<[StateChange]>(client, "state", (s) => s.state === "ready");
  });

  it("comes back after the server is away for a while", async () => {
    h = await harness();
    const { client } = await h.ready();
    const seen: ConnectionState[] = [];
    client.on("state", (s) => seen.push(s.state));
    await h.sim.restart({ downMs: 100 });
    await once<[StateChange]>(client, "state", (s) => s.state === "ready");
    assert.ok(seen.includes("disconnected"));
  });

  it("close() releases the socket and every timer, and fails nothing silently", async () => {
    h = await harness();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const { client } = await h.ready({ pingIntervalMs: 1000 });
    assert.ok(timers() > before, "ping and renewal timers run while connected");
    await client.close();
    assert.equal(timers(), before, "close() cleared the client's timers");
    assert.equal(client.state, "closed");
    if (h.sim.connections().length > 0) await once(h.sim, "disconnection");
    assert.equal(h.sim.connections().length, 0);
    await assert.rejects(client.request("connection_info", {}), (e: IvrApiError) => e.code === "not_connected");
  });

  it("rejects bad options with a message that does not echo the token", () => {
    assert.throws(
      () => new IvrApiClient({ url: "http://x", token: "s3cret-token-value" }),
      (e: IvrApiError) => e.code === "invalid" && /url/.test(e.message) && !e.message.includes("s3cret"),
    );
  });
});
