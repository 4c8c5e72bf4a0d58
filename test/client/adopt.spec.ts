// Taking over a call another connection held (the platform's reaccept "hijack"): the adopter gets it as resumed, its
// first apply is never refused because of a component started before, and the old holder's requests are refused.
import assert from "node:assert/strict";
import type { IvrApiError } from "../../src/client";
import type { CallInfo, ResumeInfo } from "../../src/session";
import { type Harness, harness, once } from "../helpers/runtime";

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
