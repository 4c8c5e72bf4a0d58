// Taking over a call another connection held (the platform's reaccept "hijack"): the adopter gets it as resumed, its
// first apply is never refused because of a component started before, and the old holder's requests are refused.
import assert from "node:assert/strict";
import type { IvrApiError } from "../../src/client";
import { type CallInfo, type ResumeInfo, SessionRegistry } from "../../src/session";
import { OID_BASE_MAX, OID_BASE_MIN } from "../../src/session/components";
import { frames, type Harness, harness, once } from "../helpers/runtime";

const play = (file = ":GS_PUB/a.wav") => ({ oType: 204, mode: 0, file });

describe("sessions: adopting a call held elsewhere", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it("moves control, emits resumed, terminates the old component before the first apply", async () => {
    h = await harness({ componentStoppedIvrid: true });
    const a = await h.ready();
    const b = await h.ready();
    const offered = once<[CallInfo]>(a.reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    assert.equal((await a.reg.accept(call)).accepted, true);
    const old = a.reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });

    const resumed = once<[CallInfo, ResumeInfo]>(b.reg, "resumed");
    assert.equal((await b.reg.adopt(call.start, "failover")).accepted, true);
    const [rc, info] = await resumed;
    assert.deepEqual([rc.ivrid, info.why], [ivrid, "failover"]);
    assert.equal(h.sim.getCall(ivrid)?.controller, h.sim.connections().at(-1)?.id);

    // The first apply: a terminate goes first (the old component still plays), then the apply; its own stop ends it.
    const next = b.reg.apply(ivrid, play(":GS_PUB/b.wav"));
    await h.sim.waitForFrame({
      dir: "in",
      name: "ivrapi_component_apply",
      where: (x) => x.data.file.endsWith("b.wav"),
    });
    const names = h.sim.log.filter((e) => e.dir === "in").map((e) => e.name);
    assert.deepEqual(names.slice(-2), ["ivrapi_component_terminate", "ivrapi_component_apply"]);
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: (x) => x.result === "ok" });
    assert.equal(b.reg.isBusy(ivrid), true, "the old component's stop did not end the new one");
    h.sim.finishComponent(ivrid);
    assert.equal((await next).data.file, ":GS_PUB/b.wav");

    // The old holder is refused from now on.
    await assert.rejects(
      a.reg.terminate(ivrid),
      (e: IvrApiError) => e.code === "rejected" || e.code === "no_component",
    );
    old.catch(() => {});
  });

  // Regression: every registry counted oIds from 1, so the oId a dead holder gave its component was also the oId of
  // the adopter's own component on another call, and the seed's stop event (oId only, no ivrid) ended that one.
  it("a stop event without ivrid for the previous holder's component does not end a component on another call", async () => {
    h = await harness({ componentStoppedIvrid: false });
    const a = await h.ready();
    const b = await h.ready();
    const offered = once<[CallInfo]>(a.reg, "api_start");
    const { ivrid: x } = h.sim.placeCall({ key: "kx" });
    const [callX] = await offered;
    assert.equal((await a.reg.accept(callX)).accepted, true);
    const onB = once<[CallInfo]>(b.reg, "api_start", (c) => c.key === "ky");
    const { ivrid: y } = h.sim.placeCall({ key: "ky" });
    assert.equal((await b.reg.accept((await onB)[0])).accepted, true);
    // Each holder starts a component on its own call, numbered by its own registry.
    const onX = a.reg.apply(x, play());
    const onY = b.reg.apply(y, play(":GS_PUB/y.wav"));
    onX.catch(() => {});
    await h.sim.waitForFrame({
      dir: "out",
      name: "ivrapi_component_apply_result",
      where: () => frames(h.sim, "ivrapi_component_apply_result", "out").length === 2,
    });

    // a dies with its component still playing on x; b takes x over (failover).
    a.reg.dispose();
    await a.client.close();
    assert.equal((await b.reg.adopt(callX.start, "failover")).accepted, true);

    // x's component ends: the platform reports it to x's controller now, b, in the seed's shape (the oId a gave).
    const unplaced = once<[string]>(b.reg, "warning", (w) => /matches no component/.test(w));
    h.sim.finishComponent(x, "x-done");
    const stop = frames(h.sim, "ivrapi_component_stopped", "out").at(-1)?.body as Record<string, unknown>;
    assert.deepEqual([stop.ivrid, typeof stop.oId], [undefined, "number"], "the event names only the oId");
    const first = await Promise.race([
      unplaced.then(() => "a warning"),
      onY.then((r) => `y's component ended with ${r.transferKey}`),
    ]);
    assert.equal(first, "a warning", "x's stop event must not end y's component (it did before the fix)");
    assert.equal(b.reg.isBusy(y), true, "y's component still runs");
    h.sim.finishComponent(y, "y-done");
    const result = await onY;
    assert.deepEqual([result.transferKey, result.data.file], ["y-done", ":GS_PUB/y.wav"]);
  });

  it("starts each registry's oIds at its own random base; an explicit firstOId is kept", async () => {
    h = await harness();
    const client = h.client();
    const starts = [new SessionRegistry(client), new SessionRegistry(client)].map((r) => r.nextOId);
    for (const n of starts) assert.ok(Number.isSafeInteger(n) && n >= OID_BASE_MIN && n < OID_BASE_MAX, `${n}`);
    assert.notEqual(starts[0], starts[1]);
    assert.equal(new SessionRegistry(client, { firstOId: starts[0] as number }).nextOId, starts[0]);
    assert.throws(
      () => new SessionRegistry(client, { firstOId: 2 ** 53 }),
      (e: IvrApiError) => e.code === "invalid",
    );
  });

  it("a first apply on an idle adopted call: the refused terminate is harmless", async () => {
    h = await harness();
    const a = await h.ready();
    const b = await h.ready();
    const offered = once<[CallInfo]>(a.reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    await a.reg.accept(call);
    assert.equal((await b.reg.adopt(call, "failover")).accepted, true);
    const p = b.reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: (x) => x.result === "ok" });
    h.sim.finishComponent(ivrid);
    assert.equal((await p).transferKey, "transfer");
  });
});
