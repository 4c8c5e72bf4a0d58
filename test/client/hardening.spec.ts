// Regressions of the hardening issue: what a hostile or merely unusual server does must never crash the host,
// wedge a call, or pass a failure as success. Each test failed on the code before the fix.
import assert from "node:assert/strict";
import { WebSocketServer } from "ws";
import { IvrApiClient, type IvrApiError } from "../../src/client";
import { type CallInfo, SessionRegistry } from "../../src/session";
import { frames, type Harness, harness, once, recordingLogger } from "../helpers/runtime";
import { until } from "../helpers/wait";

const play = (file = ":GS_PUB/a.wav") => ({ oType: 204, mode: 0, file });
const notify = (type: string, data: Record<string, unknown>) =>
  JSON.stringify(["notify", { class: "ivrevents", type, eventts: Date.now(), data }]);

describe("hardening: hostile and unusual servers", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  async function held(overrides: Parameters<Harness["ready"]>[0] = {}, logger = recordingLogger()) {
    const { client, reg } = await h.ready(overrides, logger);
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    assert.equal((await reg.accept((await offered)[0])).accepted, true);
    return { client, reg, ivrid, logger };
  }

  /** Fails the test on anything thrown or rejected that nobody handled while `body` runs. */
  async function noUncaught(body: () => Promise<void>): Promise<void> {
    const seen: unknown[] = [];
    const on = (e: unknown) => seen.push(e);
    // mocha installs its own uncaughtException handler; ours records alongside it.
    process.on("uncaughtException", on);
    process.on("unhandledRejection", on);
    try {
      await body();
    } finally {
      process.off("uncaughtException", on);
      process.off("unhandledRejection", on);
    }
    assert.deepEqual(seen, []);
  }

  it("defect 1: a deeply nested frame is refused without throwing out of the socket handler", async () => {
    h = await harness();
    const { client, reg, ivrid, logger } = await held();
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    await noUncaught(async () => {
      const strays: string[] = [];
      client.on("stray", (s) => strays.push((s.detail as { code?: string }).code ?? s.what));
      // Deep params (JSON.stringify in the params transform) and a deep stop event nobody can place (the warning).
      h.sim.faults.sendRaw(
        notify("api_start", { ivrid: "x1", key: "k", params: "PARAMS" }).replace('"PARAMS"', deep(5000)),
      );
      h.sim.faults.sendRaw(`["ivrapi_component_stopped",{"oId":999,"results":{"a":${deep(5000)}}}]`);
      h.sim.faults.sendRaw(`["notify",{"class":"x","type":"y","data":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}]`);
      const p = reg.apply(ivrid, play());
      await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
      h.sim.finishComponent(ivrid);
      assert.equal((await p).transferKey, "transfer");
      assert.deepEqual(strays, ["too_deep", "too_deep", "too_deep"]);
      assert.equal(client.state, "ready");
      assert.ok(logger.lines.some((l) => l.startsWith("warn: refused a frame") && l.includes("too_deep")));
    });
  });

  it("defect 2: an accept answered with a non-ok result (no reason) is a lost race, not control", async () => {
    h = await harness();
    const { reg } = await h.ready();
    const offered = once<[CallInfo]>(reg, "api_start");
    h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    h.sim.faults.answerInstead("ivrapi_accept", { result: "error", code: "already_controlled" });
    const out = await reg.accept(call);
    assert.equal(out.accepted, false);
    assert.equal(out.accepted === false && out.serverCode, "already_controlled");
    assert.equal(reg.get(call.ivrid), undefined);
    // `result: false` on any control request is a refusal too.
    const again = once<[CallInfo]>(reg, "api_start");
    h.sim.placeCall({ key: "k" });
    const [second] = await again;
    h.sim.faults.answerInstead("ivrapi_accept", { result: false });
    assert.equal((await reg.accept(second)).accepted, false);
  });

  it("defect 4: a stop event with the server's own oId ends the call's one outstanding component", async () => {
    h = await harness({ componentStoppedIvrid: true });
    const { reg, ivrid, logger } = await held();
    const p = reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    // The seed's example numbers components itself ("oId": 0), with the ivrid present.
    h.sim.faults.sendRaw(
      JSON.stringify(["ivrapi_component_stopped", { ivrid, key: "k", oId: 0, transferKey: "transfer", results: {} }]),
    );
    assert.equal((await p).transferKey, "transfer");
    assert.equal(reg.isBusy(ivrid), false);
    // An unmatched stop is a warning the user sees (the registry's warning event; the connection logs it at warn).
    const warned = once<[string]>(reg, "warning");
    h.sim.faults.sendRaw(JSON.stringify(["ivrapi_component_stopped", { oId: "nobody", transferKey: "transfer" }]));
    assert.match((await warned)[0], /matches no component/);
    assert.ok(!logger.lines.some((l) => l.startsWith("error")));
  });

  it("defect 4: an oId returned by the apply answer correlates a stop event without ivrid", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    h.sim.faults.answerInstead("ivrapi_component_apply", { result: "ok", oId: 77 });
    const p = reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.faults.sendRaw(JSON.stringify(["ivrapi_component_stopped", { oId: 77, transferKey: "transferTimeout" }]));
    assert.equal((await p).transferKey, "transferTimeout");
    assert.equal(reg.isBusy(ivrid), false);
  });

  it("defect 4: the Timeout also covers a component whose apply answer was lost", async () => {
    h = await harness();
    const { reg, ivrid } = await held({ requestTimeoutMs: 100 });
    h.sim.faults.dropAnswers("ivrapi_component_apply", 1);
    const p = reg.apply(ivrid, play(), { timeoutMs: 300 });
    await assert.rejects(p, (e: IvrApiError) => e.code === "timeout");
    assert.equal(reg.isBusy(ivrid), true, "a lost answer keeps the call busy (rule 2)");
    await h.sim.waitForFrame({ dir: "in", name: "ivrapi_component_terminate" }, 3000);
    await until("the terminate answer frees the call", () => !reg.isBusy(ivrid), 3000);
    const next = reg.apply(ivrid, play(":GS_PUB/b.wav"));
    await h.sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (b) => b.data.file.endsWith("b.wav"),
    });
    h.sim.finishComponent(ivrid);
    assert.equal((await next).transferKey, "transfer");
  });

  it("defect 4: a late stop event of a component that already ended here does not end the next one", async () => {
    h = await harness({ componentStoppedIvrid: true });
    const { reg, ivrid } = await held({ requestTimeoutMs: 300 });
    h.sim.faults.dropAnswers("ivrapi_component_apply", 1);
    await assert.rejects(reg.apply(ivrid, play()), (e: IvrApiError) => e.code === "timeout"); // an orphan
    // The registry numbers from a random start: the orphan's oId is read from what went out.
    const sent = frames(h.sim, "ivrapi_component_apply", "in").map((e) => (e.body as { data: { oId: number } }).data);
    const orphanOId = sent[0]?.oId as number;
    const next = reg.apply(ivrid, play(":GS_PUB/b.wav"), { busy: "queue" });
    // The terminate answer frees the call and b goes out.
    await reg.terminate(ivrid);
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: (b) => b.result === "ok" });
    // The orphan's stop event once more, late (a server may send it after the answer, or twice).
    const late = once<[string]>(reg, "warning", (w) => /already ended here/.test(w));
    h.sim.faults.sendRaw(
      JSON.stringify([
        "ivrapi_component_stopped",
        { ivrid, key: "k", oId: orphanOId, transferKey: "late", results: {} },
      ]),
    );
    await late;
    assert.equal(reg.isBusy(ivrid), true, "b still runs");
    h.sim.finishComponent(ivrid);
    const result = await next;
    assert.deepEqual([result.oId, result.transferKey, result.data.file], [orphanOId + 1, "transfer", ":GS_PUB/b.wav"]);
  });

  it("defect 5: durations a Node timer cannot wait are refused", async () => {
    h = await harness();
    assert.throws(
      () => new IvrApiClient({ url: h.sim.wsUrl, token: "secret-token", subscriptionTtlS: 2_600_000 }),
      (e: IvrApiError) => e.code === "invalid" && /subscriptionTtlS/.test(e.message),
    );
    assert.throws(
      () => new IvrApiClient({ url: h.sim.wsUrl, token: "secret-token", requestTimeoutMs: 2 ** 31 }),
      (e: IvrApiError) => e.code === "invalid" && /requestTimeoutMs/.test(e.message),
    );
    const { reg, ivrid } = await held();
    const days25 = 25 * 24 * 3600 * 1000;
    await assert.rejects(reg.apply(ivrid, play(), { timeoutMs: days25 }), (e: IvrApiError) => e.code === "invalid");
    assert.equal(frames(h.sim, "ivrapi_component_apply", "in").length, 0);
    assert.equal(frames(h.sim, "ivrapi_component_terminate", "in").length, 0);
  });

  it("defect 6: api_stop without key (or with key null) ends the call", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const ended = once(reg, "session_end");
    h.sim.faults.sendRaw(notify("api_stop", { ivrid, key: null, reason: "script" }));
    const [call, end] = (await ended) as [CallInfo, { reason: string }];
    assert.equal(call.ivrid, ivrid);
    assert.equal(end.reason, "script");
    await assert.rejects(reg.apply(ivrid, play()), (e: IvrApiError) => e.code === "no_session");
  });

  it("defect 7: busy queue is bounded; beyond the limit apply answers busy", async () => {
    h = await harness();
    const { client } = await h.ready();
    const reg = new SessionRegistry(client, { maxQueue: 3 });
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    await reg.accept((await offered)[0]);
    const first = reg.apply(ivrid, play());
    const queued = [1, 2, 3].map((i) => reg.apply(ivrid, play(`:GS_PUB/${i}.wav`), { busy: "queue" }));
    await assert.rejects(reg.apply(ivrid, play(), { busy: "queue" }), (e: IvrApiError) => e.code === "busy");
    for (const [i, p] of [first, ...queued].entries()) {
      const answers = () => frames(h.sim, "ivrapi_component_apply_result", "out").length;
      await until(`apply answer ${i + 1}`, () => answers() > i, 3000);
      h.sim.finishComponent(ivrid);
      assert.equal((await p).transferKey, "transfer");
    }
    // The default limit exists too.
    const { reg: reg2 } = await h.ready();
    const offered2 = once<[CallInfo]>(reg2, "api_start");
    const call2 = h.sim.placeCall({ key: "k" });
    await reg2.accept((await offered2)[0]);
    const waiting = [reg2.apply(call2.ivrid, play())];
    for (let i = 0; i < 20; i++) waiting.push(reg2.apply(call2.ivrid, play(), { busy: "queue" }));
    await assert.rejects(reg2.apply(call2.ivrid, play(), { busy: "queue" }), (e: IvrApiError) => e.code === "busy");
    for (const p of waiting) p.catch(() => {});
    h.sim.hangup(call2.ivrid);

    // The limit counts busy queue only: with none allowed, a replace still replaces.
    const { client: c3 } = await h.ready();
    const reg3 = new SessionRegistry(c3, { maxQueue: 0 });
    const offered3 = once<[CallInfo]>(reg3, "api_start");
    const call3 = h.sim.placeCall({ key: "k" });
    await reg3.accept((await offered3)[0]);
    const playing = reg3.apply(call3.ivrid, play());
    await h.sim.waitForFrame({ dir: "in", name: "ivrapi_component_apply", where: (b) => b.ivrid === call3.ivrid });
    await assert.rejects(reg3.apply(call3.ivrid, play(), { busy: "queue" }), (e: IvrApiError) => e.code === "busy");
    const replaced = reg3.apply(call3.ivrid, play(":GS_PUB/r.wav"), { busy: "replace" });
    assert.equal((await playing).transferKey, "terminated");
    await h.sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (b) => b.data.file.endsWith("r.wav"),
    });
    h.sim.finishComponent(call3.ivrid);
    assert.equal((await replaced).data.file, ":GS_PUB/r.wav");
  });

  it("defect 8: a repeated api_start for a call already held, or being accepted, offers it no second time", async () => {
    h = await harness();
    const { reg } = await h.ready();
    const offers: string[] = [];
    reg.on("api_start", (c) => offers.push(c.ivrid));
    const offered = once<[CallInfo]>(reg, "api_start");
    const sim = h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    h.sim.faults.delayAnswers("ivrapi_accept", 100);
    const accepting = reg.accept(call);
    const repeat = notify("api_start", { ivrid: call.ivrid, key: "k", params: "{}" });
    h.sim.faults.sendRaw(repeat); // while the accept is in flight
    assert.equal((await accepting).accepted, true);
    h.sim.faults.sendRaw(repeat); // while held
    await h.sim.waitForFrame({ dir: "out", name: "(raw)" });
    const warned = once<[string]>(reg, "warning");
    h.sim.faults.sendRaw(repeat);
    assert.match((await warned)[0], /api_start repeated/);
    assert.deepEqual(offers, [sim.ivrid]);
  });

  it("defect 9: a refused terminate (any code) for a component that ended unseen frees the call", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const first = reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.faults.answerInstead("ivrapi_component_terminate", {
      result: "error",
      code: "nothing_to_stop",
      reason: "no component is running",
    });
    await assert.rejects(reg.terminate(ivrid), (e: IvrApiError) => e.code === "rejected");
    await assert.rejects(first, (e: IvrApiError) => e.code === "component_lost");
    assert.equal(reg.isBusy(ivrid), false);
    h.sim.finishComponent(ivrid); // the component the simulator still runs: its stop matches nothing now
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_stopped" });
    const next = reg.apply(ivrid, play(":GS_PUB/b.wav"));
    await h.sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (b) => b.data.file.endsWith("b.wav"),
    });
    h.sim.finishComponent(ivrid);
    assert.equal((await next).transferKey, "transfer");
  });

  it("defect 10: a frame over maxFrameBytes is refused alone; the socket and requests in flight survive", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    const states: string[] = [];
    client.on("state", (c) => states.push(c.state));
    const strays: string[] = [];
    client.on("stray", (s) => strays.push((s.detail as { code?: string }).code ?? s.what));
    h.sim.faults.delayAnswers("ivrapi_component_apply", 50);
    const p = reg.apply(ivrid, play());
    h.sim.faults.sendRaw(`["x",{"pad":"${"x".repeat(2 * 1024 * 1024)}"}]`);
    h.sim.faults.sendRaw(Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x2c, 0x7b, 0x7d, 0x5d])); // ["\xff\xfe",{}]
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.finishComponent(ivrid);
    assert.equal((await p).transferKey, "transfer");
    assert.deepEqual(strays, ["too_large", "not_utf8"]);
    assert.deepEqual(states, []);
  });

  it("defect 11: no ivrapi_abort after an accept timeout when api_stop already arrived", async () => {
    h = await harness();
    const { reg } = await h.ready({ requestTimeoutMs: 150 });
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    h.sim.faults.dropAnswers("ivrapi_accept", 1);
    const accepting = reg.accept(call);
    await h.sim.waitForFrame({ dir: "in", name: "ivrapi_accept" });
    h.sim.hangup(ivrid);
    await h.sim.waitForFrame({ dir: "out", name: "notify", where: (b) => b.type === "api_stop" });
    await assert.rejects(accepting, (e: IvrApiError) => e.code === "timeout");
    // Round trip on the same socket: anything sent after the timeout would be logged before this answer.
    await reg.client.request("connection_info", {});
    assert.equal(frames(h.sim, "ivrapi_abort", "in").length, 0);
  });
});

describe("hardening: a server that floods the handshake", () => {
  it("defect 11: holds at most 1000 early events and says how many it dropped", async () => {
    // A platform stand-in that sends 3000 api_start before it confirms the subscription, in one burst.
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(wss, "listening");
    const port = (wss.address() as { port: number }).port;
    wss.on("connection", (ws) => {
      ws.on("message", (data) => {
        const [name, body] = JSON.parse(String(data)) as [string, { qid: number }];
        if (name === "connection_info") {
          ws.send(
            JSON.stringify([
              "connection_info_result",
              { qid: body.qid, result: "ok", capabilities: ["ivrapi", "subscr"] },
            ]),
          );
        } else if (name === "subscribe") {
          const burst: string[] = [];
          for (let i = 0; i < 3000; i++) burst.push(notify("api_start", { ivrid: `c${i}`, key: "k" }));
          burst.push(JSON.stringify(["subscribe_result", { qid: body.qid, result: "ok" }]));
          for (const f of burst) ws.send(f);
        }
      });
    });
    const logger = recordingLogger();
    const client = new IvrApiClient(
      { url: `ws://127.0.0.1:${port}/ws/token/v1`, token: "secret-token", pingIntervalMs: 0 },
      logger,
    );
    let starts = 0;
    client.on("api_start", () => starts++);
    try {
      const ready = once(client, "ready");
      client.start();
      await ready;
      await new Promise((r) => setImmediate(r));
      assert.equal(starts, 1000);
      assert.ok(
        logger.lines.some((l) => l.includes("2000 early events were dropped")),
        logger.lines.join("\n"),
      );
    } finally {
      await client.close();
      await new Promise((r) => wss.close(r));
    }
  });
});
