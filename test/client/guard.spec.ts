// The idle guard: a controlled call with nothing running and nothing asked is handed back to its script, and a
// component that ran across an outage is checked on instead of waited for forever.
import assert from "node:assert/strict";
import type { IvrApiError } from "../../src/client";
import { type CallInfo, type SessionEnd, SessionRegistry } from "../../src/session";
import { frames, type Harness, harness, once } from "../helpers/runtime";

const play = (file = ":GS_PUB/a.wav") => ({ oType: 204, mode: 0, file });

describe("sessions: the idle guard", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  async function guarded(idleGuardMs: number) {
    const { client } = await h.ready();
    const reg = new SessionRegistry(client, { idleGuardMs });
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    assert.equal((await reg.accept((await offered)[0])).accepted, true);
    return { client, reg, ivrid };
  }

  it("hands an idle call back after the guard time (reason idle), and not before", async () => {
    h = await harness();
    const { reg, ivrid } = await guarded(300);
    const started = Date.now();
    const [, end] = await once<[CallInfo, SessionEnd]>(reg, "session_end", () => true, 3000);
    const took = Date.now() - started;
    assert.equal(end.reason, "idle");
    assert.ok(took >= 290, `handed back after ${took} ms`);
    assert.equal(frames(h.sim, "ivrapi_abort", "in").length, 1);
    assert.equal(h.sim.getCall(ivrid)?.phase, "released");
    reg.dispose();
  });

  it("a running component, a request in flight or recent activity keep the call", async () => {
    h = await harness();
    const { reg, ivrid } = await guarded(200);
    const p = reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    await new Promise((r) => setTimeout(r, 500)); // the component runs: far past the guard time
    assert.equal(reg.isBusy(ivrid), true);
    assert.equal(frames(h.sim, "ivrapi_abort", "in").length, 0);
    h.sim.finishComponent(ivrid);
    await p;
    // Now idle: the clock started when the component ended.
    const [, end] = await once<[CallInfo, SessionEnd]>(reg, "session_end", () => true, 3000);
    assert.equal(end.reason, "idle");
    reg.dispose();
  });

  it("checks on a component that ran across an outage: refused terminate frees it, then the call is handed back", async () => {
    h = await harness();
    const { client, reg, ivrid } = await guarded(300);
    const p = reg.apply(ivrid, play());
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    // The component ends while the socket is down: its stop event goes to nobody.
    const down = once(client, "state", (c: { state: string }) => c.state === "disconnected");
    h.sim.dropConnections();
    await down;
    h.sim.finishComponent(ivrid);
    await once(reg, "reaccepted", () => true, 3000);
    await assert.rejects(p, (e: IvrApiError) => e.code === "component_lost");
    const [, end] = await once<[CallInfo, SessionEnd]>(reg, "session_end", () => true, 3000);
    assert.equal(end.reason, "idle");
    reg.dispose();
  });
});
