import assert from "node:assert/strict";
import type { IvrApiError } from "../../src/client";
import { type CallInfo, type ComponentResult, type SessionEnd, SessionRegistry } from "../../src/session";
import { frames, type Harness, harness, once } from "../helpers/runtime";

const play = { oType: 204, mode: 0, file: ":GS_PUB/x/y/14.mp3" };

describe("session registry", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  async function held(key = "k", state = "dialog") {
    const { client, reg } = await h.ready();
    const offered = once<[CallInfo]>(reg, "api_start");
    const placed = h.sim.placeCall({ key, params: { lang: "en" }, state });
    const [call] = await offered;
    const outcome = await reg.accept(call);
    assert.equal(outcome.accepted, true);
    return { client, reg, call, ivrid: placed.ivrid };
  }

  it("offers a call with params parsed and raw, accepts it with the session key", async () => {
    h = await harness();
    const { reg, call, ivrid } = await held("sales");
    assert.equal(call.ivrid, ivrid);
    assert.deepEqual(call.params, { lang: "en" });
    assert.equal(call.paramsRaw, '{"lang":"en"}');
    assert.equal(call.state, "dialog");
    const accept = frames(h.sim, "ivrapi_accept", "in")[0]?.body as Record<string, unknown>;
    assert.equal(accept.key, "sales");
    assert.equal(reg.get(ivrid)?.key, "sales");
    assert.equal(h.sim.getCall(ivrid)?.phase, "controlled");
  });

  it("accepts a call once per connection, however many ask", async () => {
    h = await harness();
    const { reg } = await h.ready();
    const offered = once<[CallInfo]>(reg, "api_start");
    h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    const [a, b] = await Promise.all([reg.accept(call), reg.accept(call)]);
    assert.ok(a.accepted && b.accepted);
    assert.equal(frames(h.sim, "ivrapi_accept", "in").length, 1);
  });

  it("acceptThen tells every waiter once, never in the same turn; a waiter that throws costs a warning only", async () => {
    h = await harness();
    const { reg } = await h.ready();
    const offered = once<[CallInfo]>(reg, "api_start");
    h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    const warnings: string[] = [];
    reg.on("warning", (w) => warnings.push(w));
    const told: string[] = [];
    let sameTurn = true;
    reg.acceptThen(call, () => {
      told.push(`first ${sameTurn}`);
      throw new Error("a bug in the first waiter");
    });
    const second = new Promise<boolean>((resolve) =>
      reg.acceptThen(call, (err, out) => {
        told.push(`second ${sameTurn}`);
        resolve(err === undefined && out?.accepted === true);
      }),
    );
    sameTurn = false;
    assert.equal(await second, true);
    assert.deepEqual(told, ["first false", "second false"]);
    assert.equal(frames(h.sim, "ivrapi_accept", "in").length, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /a take of control could not be followed up: a bug in the first waiter/);
    // A call already held: told at once (a microtask later), with the call as held.
    let held: CallInfo | undefined;
    reg.acceptThen(call, (_err, out) => {
      held = out?.accepted ? out.call : undefined;
    });
    assert.equal(held, undefined);
    await Promise.resolve();
    assert.equal(held, call);
  });

  it("lets exactly one of two connections win the accept race; the loser gets a normal outcome", async () => {
    h = await harness();
    const one = await h.ready();
    const two = await h.ready();
    const offers = [once<[CallInfo]>(one.reg, "api_start"), once<[CallInfo]>(two.reg, "api_start")] as const;
    h.sim.placeCall({ key: "k" });
    const [[c1], [c2]] = await Promise.all(offers);
    const outcomes = await Promise.all([one.reg.accept(c1), two.reg.accept(c2)]);
    assert.deepEqual(outcomes.map((o) => o.accepted).sort(), [false, true]);
    const loser = outcomes.find((o) => !o.accepted);
    assert.ok(loser && !loser.accepted && loser.serverCode === "already_accepted");
    assert.equal(one.reg.list().length + two.reg.list().length, 1);
  });

  /** The play component runs (the call is busy), the simulator ends it, and its result comes: the call is free. */
  async function runsToItsEnd(reg: SessionRegistry, ivrid: string, result: Promise<ComponentResult>): Promise<void> {
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    assert.equal(reg.isBusy(ivrid), true);
    h.sim.finishComponent(ivrid);
    const r = await result;
    assert.equal(r.transferKey, "transfer");
    assert.equal(r.data.oType, 204);
    assert.equal(reg.isBusy(ivrid), false);
  }

  it("runs a component and resolves with its transferKey and results", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    await runsToItsEnd(reg, ivrid, reg.apply(ivrid, play));
  });

  it("applyThen: the same component through callbacks, told once, after the stop event, never in the same turn", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const order: string[] = [];
    reg.on("component_stopped", () => order.push("component_stopped event"));
    const told = new Promise<ComponentResult>((resolve, reject) => {
      let sync = true;
      reg.applyThen(
        ivrid,
        play,
        {},
        {
          result: (r) => {
            order.push(sync ? "result, same turn" : "result");
            resolve(r);
          },
          error: reject,
        },
      );
      sync = false;
    });
    await runsToItsEnd(reg, ivrid, told);
    assert.deepEqual(order, ["component_stopped event", "result"]);

    // Refused before anything is sent: error, a microtask later, never result.
    const refused = await new Promise<unknown>((resolve, reject) => {
      let sync = true;
      reg.applyThen(
        ivrid,
        { mode: 0 },
        {},
        { result: () => reject(new Error("told a result")), error: (e) => resolve(sync ? "same turn" : e) },
      );
      sync = false;
    });
    assert.equal((refused as IvrApiError).code, "invalid");

    // Busy (reject) goes through the promise path and ends in error too.
    const first = reg.apply(ivrid, play);
    const busy = await new Promise<unknown>((resolve, reject) =>
      reg.applyThen(
        ivrid,
        play,
        { busy: "reject" },
        { result: () => reject(new Error("told a result")), error: resolve },
      ),
    );
    assert.equal((busy as IvrApiError).code, "busy");
    const answered = () => frames(h.sim, "ivrapi_component_apply_result", "out").length;
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: () => answered() >= 2 });
    h.sim.finishComponent(ivrid);
    await first;
  });

  it("applyThen: a call that ends while its component runs tells its waiter's error (session_ended) once", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    let told = 0;
    const failed = new Promise<unknown>((resolve) =>
      reg.applyThen(
        ivrid,
        play,
        {},
        {
          result: () => {
            told++;
          },
          error: (e) => {
            told++;
            resolve(e);
          },
        },
      ),
    );
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.hangup(ivrid);
    const err = (await failed) as IvrApiError;
    assert.equal(err.code, "session_ended");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(told, 1);
  });

  it("refuses invalid component data before sending anything", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    await assert.rejects(
      reg.apply(ivrid, { mode: 0 }),
      (e: IvrApiError) => e.code === "invalid" && /oType/.test(e.message),
    );
    await client.request("connection_info", {}); // a round trip: anything sent before it has reached the server
    assert.equal(frames(h.sim, "ivrapi_component_apply", "in").length, 0);
  });

  it("busy policy reject: a clear error and nothing sent", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    const first = reg.apply(ivrid, play);
    await assert.rejects(reg.apply(ivrid, play, { busy: "reject" }), (e: IvrApiError) => e.code === "busy");
    await client.request("connection_info", {}); // a round trip: anything sent before it has reached the server
    assert.equal(frames(h.sim, "ivrapi_component_apply", "in").length, 1);
    h.sim.finishComponent(ivrid);
    await first;
  });

  it("busy policy queue: the next component is sent when the running one stops", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    const first = reg.apply(ivrid, play);
    const second = reg.apply(ivrid, { oType: 201 }, { busy: "queue" });
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    await client.request("connection_info", {});
    assert.equal(frames(h.sim, "ivrapi_component_apply", "in").length, 1, "the second waits locally");
    h.sim.finishComponent(ivrid, "transfer");
    assert.equal((await first).transferKey, "transfer");
    await h.sim.waitForFrame({ dir: "in", name: "ivrapi_component_apply", where: (b) => b.data.oType === 201 });
    assert.equal(frames(h.sim, "ivrapi_component_apply_result").filter((f) => f.dir === "out").length, 2);
    assert.equal(
      frames(h.sim, "ivrapi_component_apply_result", "out").some(
        (f) => (f.body as { result: string }).result === "error",
      ),
      false,
    );
    h.sim.finishComponent(ivrid);
    await second.catch((e: IvrApiError) => assert.equal(e.code, "session_ended"));
  });

  it("busy policy replace: terminate, wait for its answer, then apply", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const first = reg.apply(ivrid, play);
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    const second = reg.apply(ivrid, { ...play, file: ":GS_PUB/b.mp3" }, { busy: "replace" });
    const r1 = await first;
    assert.equal(r1.transferKey, "terminated");
    await h.sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (b) => b.data.file === ":GS_PUB/b.mp3",
    });
    const names = h.sim.log.filter((e) => e.name.startsWith("ivrapi_component")).map((e) => `${e.dir}:${e.name}`);
    const term = names.indexOf("out:ivrapi_component_terminate_result");
    const reapply = names.lastIndexOf("in:ivrapi_component_apply");
    assert.ok(term >= 0 && term < reapply, names.join(", "));
    h.sim.finishComponent(ivrid, "transfer");
    assert.equal((await second).transferKey, "transfer");
  });

  it("an apply timeout terminates the component and marks the result", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const r = await reg.apply(ivrid, play, { timeoutMs: 50 });
    assert.equal(r.timedOut, true);
    assert.equal(r.transferKey, "terminated");
    assert.equal(frames(h.sim, "ivrapi_component_terminate", "in").length, 1);
  });

  it("terminate with nothing running is a local error; with a component, the call is free after the answer", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    await assert.rejects(reg.terminate(ivrid), (e: IvrApiError) => e.code === "no_component");
    const running = reg.apply(ivrid, play);
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    await reg.terminate(ivrid);
    assert.equal(reg.isBusy(ivrid), false);
    assert.equal((await running).transferKey, "terminated");
  });

  it("matches ivrid-less component_stopped events by oId across concurrent calls", async () => {
    h = await harness({ componentStoppedIvrid: false });
    const { reg } = await h.ready();
    const ivrids: string[] = [];
    reg.on("api_start", (c) => void reg.accept(c));
    for (let i = 0; i < 2; i++) {
      const started = once<[CallInfo]>(reg, "session_start");
      h.sim.placeCall({ key: `k${i}` });
      ivrids.push((await started)[0].ivrid);
    }
    const [a, b] = ivrids as [string, string];
    const ra = reg.apply(a, play);
    const rb = reg.apply(b, play);
    await h.sim.waitForFrame({
      dir: "out",
      name: "ivrapi_component_apply_result",
      where: () => frames(h.sim, "ivrapi_component_apply_result", "out").length === 2,
    });
    h.sim.finishComponent(b, "b-done", { who: "b" });
    h.sim.finishComponent(a, "a-done", { who: "a" });
    const [resA, resB] = (await Promise.all([ra, rb])) as [ComponentResult, ComponentResult];
    assert.deepEqual([resA.transferKey, resB.transferKey], ["a-done", "b-done"]);
    const stopped = frames(h.sim, "ivrapi_component_stopped", "out").map((f) => f.body as Record<string, unknown>);
    assert.ok(
      stopped.every((s) => s.ivrid === undefined),
      "the events carried no ivrid",
    );
    assert.notEqual(resA.oId, resB.oId);
  });

  it("also matches component_stopped by ivrid when the server sends it", async () => {
    h = await harness({ componentStoppedIvrid: true });
    const { reg, ivrid } = await held();
    const r = reg.apply(ivrid, play);
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.finishComponent(ivrid);
    assert.equal((await r).transferKey, "transfer");
  });

  it("api_stop in the middle of a component settles everything and frees the record", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const running = reg.apply(ivrid, play);
    const queued = reg.apply(ivrid, play, { busy: "queue" });
    const ended = once<[CallInfo, SessionEnd]>(reg, "session_end");
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.hangup(ivrid);
    const [, end] = await ended;
    assert.equal(end.reason, "script");
    for (const p of [running, queued]) {
      await assert.rejects(p, (e: IvrApiError) => e.code === "session_ended" && e.details.reason === "script");
    }
    assert.equal(reg.get(ivrid), undefined);
    await assert.rejects(reg.apply(ivrid, play), (e: IvrApiError) => e.code === "no_session");
  });

  it("abort gives control back, ends the session, and the server reports api_stop abort", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    const stop = once<[{ ivrid: string; reason?: string }]>(client, "api_stop");
    await reg.abort(ivrid);
    assert.equal(reg.list().length, 0);
    const [data] = await stop;
    assert.equal(data.reason, "abort");
    assert.equal(h.sim.getCall(ivrid)?.phase, "released");
  });

  it("sees api_stop reason timeout for a call nobody accepts", async () => {
    h = await harness({ acceptTimeoutMs: 50 });
    const { client } = await h.ready();
    const stop = once<[{ ivrid: string; reason?: string }]>(client, "api_stop");
    const call = h.sim.placeCall({ key: "k" });
    const [data] = await stop;
    assert.equal(data.ivrid, call.ivrid);
    assert.equal(data.reason, "timeout");
  });

  it("delivers DTMF in idle and component mode for its calls", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const idle = once<[CallInfo, { mode: string; dtmf: string }]>(reg, "dtmf");
    h.sim.pressKeys(ivrid, "5");
    assert.deepEqual([(await idle)[1].mode, (await idle)[1].dtmf], ["idle", "5"]);
    const rec = reg.apply(ivrid, { oType: 208, recTimeSec: "10", maxSymbolCount: "2", interruptSymbols: "#" });
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    const inComp = once<[CallInfo, { mode: string; oId?: unknown }]>(reg, "dtmf");
    h.sim.pressKeys(ivrid, "78");
    const [, d] = await inComp;
    assert.equal(d.mode, "component");
    const r = await rec;
    assert.equal(r.results.dtmfBuffer, "78");
    assert.match(String(r.results.recordFile), /^:TEMP\/ivr_records\/.+\.wav$/);
  });

  it("takes held calls back with reaccept after a drop, and keeps working", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    const back = once<[CallInfo]>(reg, "reaccepted");
    h.sim.dropConnections();
    const [call] = await back;
    assert.equal(call.ivrid, ivrid);
    assert.equal(frames(h.sim, "ivrapi_reaccept", "in").length, 1);
    assert.equal(client.state, "ready");
    assert.equal(h.sim.getCall(ivrid)?.controller, h.sim.connections()[0]?.id);
    const dtmf = once<[CallInfo, { dtmf: string }]>(reg, "dtmf");
    h.sim.pressKeys(ivrid, "9");
    assert.equal((await dtmf)[1].dtmf, "9");
  });

  it("with reaccept off, a drop ends the held calls", async () => {
    h = await harness();
    const { client } = await h.ready();
    const reg = new SessionRegistry(client, { reaccept: false });
    const offered = once<[CallInfo]>(reg, "api_start");
    h.sim.placeCall({ key: "k" });
    await reg.accept((await offered)[0]);
    const ended = once<[CallInfo, SessionEnd]>(reg, "session_end");
    h.sim.dropConnections();
    assert.equal((await ended)[1].reason, "connection_lost");
    reg.dispose();
  });

  it("dispose detaches from the client and settles what waits", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    const running = reg.apply(ivrid, play);
    const before = client.listenerCount("api_start");
    reg.dispose();
    await assert.rejects(running, (e: IvrApiError) => e.code === "session_ended");
    assert.equal(client.listenerCount("api_start"), before - 1);
    assert.equal(client.listenerCount("state"), 0);
  });
});
