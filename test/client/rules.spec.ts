// The protocol rules under the orders and losses a real server and network produce: stop events before
// terminate answers, lost answers, requests racing an abort or a reaccept, bodies that cannot be encoded.
import assert from "node:assert/strict";
import type { IvrApiError } from "../../src/client";
import { type CallInfo, type SessionEnd, SessionRegistry } from "../../src/session";
import { frames, type Harness, harness, once } from "../helpers/runtime";

const play = (file = ":GS_PUB/a.wav") => ({ oType: 204, mode: 0, file });

describe("protocol rules under hostile timing", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  async function held(overrides: Parameters<Harness["ready"]>[0] = {}) {
    const { client, reg } = await h.ready(overrides);
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    assert.equal((await reg.accept((await offered)[0])).accepted, true);
    return { client, reg, ivrid };
  }

  /**
   * A held call on a registry whose take-back after a reconnect waits for the test: `wasAsked` resolves when the
   * registry asks whether it may reaccept (connected again, nothing sent for the call yet), `answer` lets it go on.
   */
  async function gatedReaccept() {
    h = await harness();
    const client = h.client();
    let asked: () => void = () => {};
    const wasAsked = new Promise<void>((r) => {
      asked = r;
    });
    const gate: { answer: (may: boolean) => void } = { answer: () => {} };
    const reg = new SessionRegistry(client, {
      mayReaccept: () => {
        asked();
        return new Promise<boolean>((r) => {
          gate.answer = r;
        });
      },
    });
    const ready = once(client, "ready");
    client.start();
    await ready;
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    assert.equal((await reg.accept((await offered)[0])).accepted, true);
    return { client, reg, ivrid, wasAsked, answer: (may: boolean) => gate.answer(may) };
  }

  /** Positions in the log of frames matching, in order. */
  const at = (dir: "in" | "out", name: string) =>
    h.sim.log.map((e, i) => (e.dir === dir && e.name === name ? i : -1)).filter((i) => i >= 0);

  it("refuses data that cannot be encoded, without an unhandled rejection, and leaves the call free", async () => {
    h = await harness();
    const { reg, ivrid } = await held({ requestTimeoutMs: 100 });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      await assert.rejects(reg.apply(ivrid, { ...play(), big: 10n }), (e: IvrApiError) => e.code === "invalid");
      assert.equal(reg.isBusy(ivrid), false);
      const next = reg.apply(ivrid, play());
      await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
      h.sim.finishComponent(ivrid);
      await next;
      await new Promise((r) => setTimeout(r, 150)); // past the request timeout: a leaked timer would fire now
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("replace waits for the terminate answer even when the stop event comes first (rule 3)", async () => {
    h = await harness({ stoppedBeforeAnswer: true });
    const { reg, ivrid } = await held();
    h.sim.faults.delayAnswers("ivrapi_component_terminate", 100);
    const first = reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    const second = reg.apply(ivrid, play(":GS_PUB/b.wav"), { busy: "replace" });
    const third = reg.apply(ivrid, play(":GS_PUB/c.wav"), { busy: "replace" });
    assert.equal((await first).transferKey, "terminated");
    await h.sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (b) => b.data.file !== ":GS_PUB/a.wav",
    });
    const [answered] = at("out", "ivrapi_component_terminate_result");
    const applies = at("in", "ivrapi_component_apply");
    assert.ok(answered !== undefined && (applies[1] ?? -1) > answered, "the next apply left after the answer");
    assert.equal(at("in", "ivrapi_component_terminate").length, 1, "two replaces share one terminate");
    // The newest replace wins; the one it overtook is never sent (a caller who pressed 1 then 2 hears menu 2 only).
    await assert.rejects(second, (e: IvrApiError) => e.code === "superseded");
    h.sim.finishComponent(ivrid);
    assert.equal((await third).data.file, ":GS_PUB/c.wav");
    assert.equal(at("in", "ivrapi_component_apply").length, 2, "only the first and the newest replace were sent");
    assert.equal(
      frames(h.sim, "ivrapi_component_apply_result", "out").filter(
        (f) => (f.body as { result: string }).result !== "ok",
      ).length,
      0,
      "the server never had to filter a concurrent apply",
    );
  });

  it("a lost apply answer keeps the call busy until the component stops (rule 2)", async () => {
    h = await harness();
    const { reg, ivrid } = await held({ requestTimeoutMs: 100 });
    h.sim.faults.dropAnswers("ivrapi_component_apply", 1);
    const first = reg.apply(ivrid, play());
    const queued = reg.apply(ivrid, play(":GS_PUB/next.wav"), { busy: "queue" });
    await assert.rejects(first, (e: IvrApiError) => e.code === "timeout");
    await assert.rejects(
      reg.apply(ivrid, play()),
      (e: IvrApiError) => e.code === "busy" && /may still run/.test(e.message),
    );
    assert.equal(at("in", "ivrapi_component_apply").length, 1, "nothing else was sent while it may run");
    h.sim.finishComponent(ivrid);
    await h.sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (b) => b.data.file === ":GS_PUB/next.wav",
    });
    h.sim.finishComponent(ivrid);
    assert.equal((await queued).transferKey, "transfer");
  });

  it("sends nothing more for a call once its abort is on the way (rules 4, 5)", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    h.sim.faults.delayAnswers("ivrapi_abort", 100);
    const running = reg.apply(ivrid, play());
    const queued = reg.apply(ivrid, play(":GS_PUB/next.wav"), { busy: "queue" });
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    const aborted = reg.abort(ivrid);
    await assert.rejects(queued, (e: IvrApiError) => e.code === "session_ended");
    await assert.rejects(reg.apply(ivrid, play()), (e: IvrApiError) => e.code === "session_ended");
    await assert.rejects(reg.terminate(ivrid), (e: IvrApiError) => e.code === "session_ended");
    await aborted;
    await assert.rejects(running, (e: IvrApiError) => e.code === "session_ended");
    const abortAt = at("in", "ivrapi_abort")[0] ?? -1;
    const after = h.sim.log.slice(abortAt + 1).filter((e) => e.dir === "in" && e.name.startsWith("ivrapi_"));
    assert.deepEqual(after, []);
  });

  it("hands back a call whose accept answer was lost, so it is not left controlled by nobody", async () => {
    h = await harness();
    const { reg } = await h.ready({ requestTimeoutMs: 100 });
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    h.sim.faults.dropAnswers("ivrapi_accept", 1);
    await assert.rejects(reg.accept((await offered)[0]), (e: IvrApiError) => e.code === "timeout");
    await h.sim.waitForFrame({ dir: "in", name: "ivrapi_abort" });
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_abort_result" });
    assert.equal(h.sim.getCall(ivrid)?.phase, "released");
  });

  it("sends nothing for a call until its reaccept is answered", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    h.sim.faults.delayAnswers("ivrapi_reaccept", 150);
    const back = once(reg, "reaccepted");
    h.sim.dropConnections();
    await h.sim.waitForFrame({ dir: "in", name: "ivrapi_reaccept" });
    await assert.rejects(reg.apply(ivrid, play()), (e: IvrApiError) => e.code === "not_connected");
    await back;
    assert.equal(at("in", "ivrapi_component_apply").length, 0);
    const now = reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.finishComponent(ivrid);
    await now;
  });

  it("ends a call whose reaccept is never answered instead of waiting forever", async () => {
    h = await harness();
    const { reg } = await held({ requestTimeoutMs: 80 });
    h.sim.faults.dropAnswers("ivrapi_reaccept");
    const ended = once<[CallInfo, { reason: string }]>(reg, "session_end");
    h.sim.dropConnections();
    assert.equal((await ended)[1].reason, "lost");
    assert.equal(at("in", "ivrapi_reaccept").length, 3);
  });

  /** The frames the client sent for the call from log position `from` on. */
  const sentFor = (ivrid: string, from = 0) =>
    h.sim.log
      .slice(from)
      .filter((e) => e.dir === "in" && (e.body as { ivrid?: unknown }).ivrid === ivrid)
      .map((e) => e.name);

  // Regression: the abort failed with connection_lost, abort() put the old status back, the drop made it
  // "reaccepting", and the reconnect took the call back and kept it: the flow's hand-back was lost.
  it("hands back a call whose abort was cut off by a lost connection, once it is taken back (rules 5, 7)", async () => {
    h = await harness();
    const { client, reg, ivrid } = await held();
    const running = reg.apply(ivrid, play()).then(
      () => "stopped",
      (e: IvrApiError) => e.code,
    );
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    const dropAt = h.sim.log.length;
    const outcome = Promise.race([
      once<[CallInfo, SessionEnd]>(reg, "session_end").then(([, end]) => `ended: ${end.reason}`),
      once(reg, "reaccepted").then(() => "taken back and kept"),
    ]);
    // The platform stops reading, so the abort never reaches it; then the socket goes with the abort in flight.
    h.sim.faults.freeze();
    const aborting = reg.abort(ivrid);
    h.sim.dropConnections();
    const cutOff = await aborting.then(
      () => undefined,
      (e: IvrApiError) => e,
    );
    assert.equal(cutOff?.code, "connection_lost", "the flow learns its abort was cut off");
    // Until the hand-back is done the call is on its way back: nothing else may be asked for it.
    const meanwhile = await Promise.all(
      [reg.apply(ivrid, play()), reg.abort(ivrid)].map((p) =>
        p.then(
          () => "done",
          (e: IvrApiError) => e.code,
        ),
      ),
    );
    assert.equal(await outcome, "ended: aborted", "before the fix: taken back and kept");
    assert.match(cutOff?.message ?? "", /handed back once the connection is ready again/);
    assert.deepEqual(meanwhile, ["session_ended", "session_ended"]);
    assert.equal(await running, "session_ended");
    await client.request("connection_info", {}); // a round trip: whatever was sent before it has arrived
    assert.deepEqual(sentFor(ivrid, dropAt), ["ivrapi_reaccept", "ivrapi_abort"], "taken back, then handed back");
    const answers = frames(h.sim, "ivrapi_abort_result", "out").map((e) => (e.body as { result?: unknown }).result);
    assert.deepEqual(answers, ["ok"], "exactly one hand-back, answered");
    assert.equal(h.sim.getCall(ivrid)?.phase, "released", "the script has the call again");
  });

  it("sends nothing for a call whose cut-off hand-back is overtaken by api_stop (rule 4)", async () => {
    // The reaccept waits for the test (as a failover store would be asked) so that api_stop comes first.
    const { client, reg, ivrid, wasAsked, answer } = await gatedReaccept();
    const dropAt = h.sim.log.length;
    h.sim.faults.freeze();
    const aborting = reg.abort(ivrid);
    h.sim.dropConnections();
    await assert.rejects(aborting, (e: IvrApiError) => e.code === "connection_lost");
    await wasAsked;
    const ended = once<[CallInfo, SessionEnd]>(reg, "session_end");
    h.sim.hangup(ivrid);
    assert.equal((await ended)[1].reason, "script");
    answer(true);
    await new Promise((r) => setImmediate(r));
    await client.request("connection_info", {});
    assert.deepEqual(sentFor(ivrid, dropAt), [], "neither a reaccept nor an abort after the api_stop");
  });

  it("an abort asked while the call is being taken back waits for the reaccept, then hands it back (rules 5, 7)", async () => {
    // The reaccept waits for the test (as a failover store would be asked): the abort comes while it is pending.
    const { client, reg, ivrid, wasAsked, answer } = await gatedReaccept();
    const dropAt = h.sim.log.length;
    h.sim.dropConnections();
    await wasAsked; // connected again; the call is not controlled by this connection until its reaccept is answered
    const outcome = Promise.race([
      once<[CallInfo, SessionEnd]>(reg, "session_end").then(([, end]) => `ended: ${end.reason}`),
      once(reg, "reaccepted").then(() => "taken back and kept"),
    ]);
    const asking = await reg.abort(ivrid).then(
      () => undefined,
      (e: IvrApiError) => e,
    );
    assert.equal(asking?.code, "not_connected");
    assert.match(asking?.message ?? "", /handed back once that is done/);
    answer(true);
    assert.equal(await outcome, "ended: aborted", "before the fix: the early abort was refused, the call kept");
    await client.request("connection_info", {});
    assert.deepEqual(sentFor(ivrid, dropAt), ["ivrapi_reaccept", "ivrapi_abort"], "taken back, then handed back");
    assert.equal(h.sim.getCall(ivrid)?.phase, "released");
  });

  it("releaseAll hands every held call back to its script", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    await reg.releaseAll(1000);
    assert.equal(reg.list().length, 0);
    assert.equal(h.sim.getCall(ivrid)?.phase, "released");
  });
});
