// A call's timeline kept flat (src/session/timeline.ts): entries of different sizes in one array, the oldest dropped
// to keep the bound, the running component found again after drops moved it, and entries served as they were made.
import assert from "node:assert/strict";
import { type ComponentEntry, Timeline } from "../../src/session/timeline";

const T0 = 1_700_000_000_000;
const shown = (kept: unknown) => (typeof kept === "number" ? { at: kept } : kept);

describe("call timeline (flat entries)", () => {
  it("serves each kind of entry with its fields, times since the accept made back into ms epoch", () => {
    const tl = new Timeline(T0, 100);
    tl.componentStarted(T0 + 5, 7, 204, ":GS_PUB/menu.wav", "node-1");
    tl.note("dtmf", T0 + 9, "1");
    tl.componentStopped(T0 + 20, "7", "transfer", 42, false);
    tl.error(T0 + 21, "rejected", "ivrapi_abort", "refused", "E1");
    tl.resumed(T0 + 22, "deploy", "transfer");
    tl.note("reaccept", T0 + 23, "reconnect");
    tl.note("stop", T0 + 30, "aborted");
    assert.deepEqual(tl.entries(undefined, shown), [
      {
        t: T0 + 5,
        kind: "component",
        oId: 7,
        oType: 204,
        summary: { what: "play", arg: ":GS_PUB/menu.wav" },
        source: "node-1",
        end: T0 + 20,
        transferKey: "transfer",
        durationMs: 15,
        results: { at: 42 },
      },
      { t: T0 + 9, kind: "dtmf", digit: "1" },
      { t: T0 + 21, kind: "error", code: "rejected", request: "ivrapi_abort", message: "refused", serverCode: "E1" },
      { t: T0 + 22, kind: "resumed", why: "deploy", lastTransferKey: "transfer" },
      { t: T0 + 23, kind: "reaccept", why: "reconnect" },
      { t: T0 + 30, kind: "stop", reason: "aborted" },
    ]);
    assert.equal(tl.running(), undefined);
  });

  it("drops the oldest entries of any size to keep its bound, and still ends the running component where it moved", () => {
    // Four entries with the accept: three here.
    const tl = new Timeline(T0, 4);
    tl.note("dtmf", T0 + 1, "1");
    tl.error(T0 + 2, "timeout", "ivrapi_accept", "no answer", undefined);
    tl.componentStarted(T0 + 3, 1, 208, "#");
    tl.note("dtmf", T0 + 4, "2");
    tl.note("dtmf", T0 + 5, "3");
    assert.equal(tl.dropped, 2);
    assert.deepEqual(tl.running(), { oType: 208, summary: { what: "record", arg: "#" }, since: T0 + 3 });
    assert.equal(tl.componentStopped(T0 + 8, 1, "timeout", undefined, true), true);
    const [component, ...keys] = tl.entries(undefined, shown);
    assert.deepEqual(component, {
      t: T0 + 3,
      kind: "component",
      oId: 1,
      oType: 208,
      summary: { what: "record", arg: "#" },
      end: T0 + 8,
      transferKey: "timeout",
      durationMs: 5,
      timedOut: true,
    } satisfies ComponentEntry);
    assert.deepEqual(
      keys.map((e) => (e.kind === "dtmf" ? e.digit : e.kind)),
      ["2", "3"],
    );
    assert.equal(tl.running(), undefined);
  });

  it("a component it has no entry for is not ended (the record starts one); a refused one ends with its code", () => {
    const tl = new Timeline(T0, 10);
    assert.equal(tl.componentStopped(T0 + 1, 9, "transfer", undefined, false), false);
    tl.componentStarted(T0 + 2, 3, 202, "486 Busy Here");
    tl.componentFailed(T0 + 4, "rejected");
    assert.equal(tl.running(), undefined);
    const [e] = tl.entries(undefined, shown) as ComponentEntry[];
    assert.equal(e?.error, "rejected");
    assert.equal(e?.durationMs, 2);
    // Ended by its failure: a late stop of the same oId finds no entry to end.
    assert.equal(tl.componentStopped(T0 + 6, 3, "transfer", undefined, false), false);
  });
});
