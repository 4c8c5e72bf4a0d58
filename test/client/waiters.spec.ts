// Whoever waits on a request is told how it ended, whatever a callback beside it does: a `settled` callback or a
// failure listener that throws is reported, and neither keeps a promise pending nor leaves a call busy for good.
import assert from "node:assert/strict";
import { SessionRegistry } from "../../src/session";
import { type Harness, harness, once } from "../helpers/runtime";

const play = () => ({ oType: 204, mode: 0, file: ":GS_PUB/a.wav" });

describe("client and registry: waiters are told whatever the callbacks beside them do", function () {
  this.timeout(10_000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it("client.request: a `settled` callback that throws still lets the promise settle", async () => {
    h = await harness();
    const c = h.client();
    const ready = once(c, "ready");
    c.start();
    await ready;
    const answer = await c.request(
      "connection_info",
      {},
      {
        settled: () => {
          throw new Error("a bug in settled");
        },
      },
    );
    assert.equal(answer.request, "connection_info");
  });

  it("a refused apply frees the call even when the failure and warning listeners throw", async () => {
    h = await harness();
    const c = h.client();
    const reg = new SessionRegistry(c);
    const ready = once(c, "ready");
    c.start();
    await ready;
    const offered = once(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    assert.equal((await reg.accept((await offered)[0] as never)).accepted, true);
    reg.on("failed", () => {
      throw new Error("a bug in a failure listener");
    });
    reg.on("warning", () => {
      throw new Error("a bug in a warning listener");
    });
    h.sim.faults.answerInstead("ivrapi_component_apply", { result: "error", code: "bad", reason: "no" });
    await assert.rejects(reg.apply(ivrid, play()), { code: "rejected" });
    assert.equal(reg.isBusy(ivrid), false);
    reg.dispose();
  });
});
