// The decoder's fast paths must agree with zod, which stays the source of truth: whenever a fast check accepts a
// body, zod accepts it too and outputs exactly that body.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { z } from "zod";
import {
  ApiStartData,
  ApiStopData,
  ComponentData,
  ComponentStoppedBody,
  DtmfBody,
  NotifyBody,
  ResultBody,
} from "../../src/protocol";
import {
  copyBody,
  fastApiStart,
  fastApiStop,
  fastComponentData,
  fastComponentStopped,
  fastDtmf,
  fastNotify,
  fastResult,
} from "../../src/protocol/fast";

// Values of every JSON kind (and the shapes the fields expect), so both well-formed and odd bodies come up.
const value = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 4 }),
  fc.constantFrom("", "rDlg-1", "ok", "transfer"),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
const fields = [
  "qid",
  "class",
  "type",
  "eventts",
  "id",
  "data",
  "ivrid",
  "key",
  "callid",
  "cid",
  "componentid",
  "componentname",
  "ivrts",
  "params",
  "sm_id",
  "state",
  "reason",
  "oId",
  "transferKey",
  "results",
  "mode",
  "dtmf",
  "__proto__",
  "extra",
];
const body = fc
  .dictionary(fc.constantFrom(...fields), value, { maxKeys: 14 })
  .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);

function agree(schema: z.ZodType, fast: (b: never) => boolean): void {
  fc.assert(
    fc.property(body, (b) => {
      if (!fast(b as never)) return;
      const r = schema.safeParse(b);
      assert.ok(r.success, `zod refused a body the fast path took: ${JSON.stringify(b)}`);
      // zod drops an own "__proto__" key; the fast path keeps it as a plain own field (never as a prototype).
      const { ["__proto__"]: _ignored, ...rest } = b;
      assert.deepStrictEqual({ ...(r.data as object) }, rest);
    }),
    { numRuns: 20_000 },
  );
}

describe("protocol: fast paths agree with the schemas", () => {
  it("results", () => agree(ResultBody, fastResult));
  it("notify", () => agree(NotifyBody, fastNotify));
  it("api_start data", () => agree(ApiStartData, fastApiStart));
  it("api_stop data", () => agree(ApiStopData, fastApiStop));
  it("component_stopped", () => agree(ComponentStoppedBody, fastComponentStopped));
  it("dtmf", () => agree(DtmfBody, fastDtmf));
  it("component data", () => {
    const data = fc
      .record(
        {
          oType: fc.oneof(fc.integer({ min: -2, max: 300 }), fc.constantFrom("204", 1.5, "x")),
          oId: value,
          name: value,
        },
        { requiredKeys: [] },
      )
      .chain((r) => fc.tuple(fc.constant(r), body))
      .map(([r, b]) => ({ ...b, ...r }));
    fc.assert(
      fc.property(data, (b) => {
        if (!fastComponentData(b)) return;
        const r = ComponentData.safeParse(b);
        assert.ok(r.success, `zod refused data the fast path took: ${JSON.stringify(b)}`);
        const { ["__proto__"]: _ignored, ...rest } = b as Record<string, unknown>;
        assert.deepStrictEqual({ ...(r.data as object) }, rest);
      }),
      { numRuns: 20_000 },
    );
    assert.ok(fastComponentData({ oType: 204, mode: 0, file: ":GS_PUB/a.wav" }));
    assert.ok(!fastComponentData({ oType: "204" }));
  });

  it("copies a body field for field, an own __proto__ key as a field, never as the copy's prototype", () => {
    const plain = { oType: 204, mode: 0, file: ":GS_PUB/a.wav" };
    const copy = copyBody(plain);
    assert.notEqual(copy, plain);
    assert.deepStrictEqual(copy, plain);
    const odd = JSON.parse('{"oType":204,"__proto__":{"file":"x.wav"}}') as Record<string, unknown>;
    const oddCopy = copyBody(odd);
    assert.equal(Object.getPrototypeOf(oddCopy), Object.prototype);
    assert.equal(oddCopy.file, undefined, "nothing inherited from it");
    assert.equal(JSON.stringify(oddCopy), JSON.stringify(odd), "sent as it came");
  });

  it("takes the hot frames of a call", () => {
    assert.ok(fastResult({ qid: 3, result: "ok" }));
    assert.ok(fastApiStart({ ivrid: "i", key: "k", params: "{}", callid: "c", ivrts: 1, state: "dialog" }));
    assert.ok(fastComponentStopped({ oId: 3, transferKey: "transfer", results: {} }));
    assert.ok(fastDtmf({ ivrid: "i", key: "k", mode: "idle", dtmf: "5" }));
  });
});
