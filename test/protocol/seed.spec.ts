import assert from "node:assert/strict";
import { DtmfBody, decode, decodeRequest, parseParams, REQUEST_SCHEMAS } from "../../src/protocol";
import { ComponentData } from "../../src/protocol/frames";
import { frameName, SEED_BLOCKS, SEED_COMPONENT_DATA, SEED_INLINE } from "../fixtures/seed";

// The seed's documented slip: the component_apply_result example elides its fields with "...".
const ELIDED = "ivrapi_component_apply_result";

describe("seed fixtures", () => {
  it("finds every example of the capability text", () => {
    assert.equal(SEED_BLOCKS.length, 15);
    assert.equal(SEED_INLINE.length, 2);
    assert.equal(SEED_COMPONENT_DATA.length, 3);
  });

  for (const block of [...SEED_BLOCKS, ...SEED_INLINE]) {
    const name = frameName(block);
    if (name === ELIDED) continue;
    it(`decodes the seed's ${name} example verbatim`, () => {
      if (name in REQUEST_SCHEMAS) {
        const f = decodeRequest(block);
        assert.equal(f.kind, "request", JSON.stringify(f));
        if (f.kind === "request") assert.equal(f.name, name);
      } else {
        const f = decode(block);
        assert.notEqual(f.kind, "error", JSON.stringify(f));
        assert.notEqual(f.kind, "unknown");
      }
    });
  }

  it("reads the elided apply_result as a typed error, and its repaired form as an ok result", () => {
    const block = SEED_BLOCKS.find((b) => frameName(b) === ELIDED);
    assert.ok(block);
    const bad = decode(block);
    assert.equal(bad.kind, "error");
    if (bad.kind === "error") assert.equal(bad.code, "not_json");
    const fixed = decode(block.replace(/,\s*\.\.\./, ""));
    assert.equal(fixed.kind, "result");
    if (fixed.kind === "result") {
      assert.equal(fixed.request, "ivrapi_component_apply");
      assert.equal(fixed.qid, 0.1234);
      assert.deepEqual(fixed.outcome, { status: "ok" });
    }
  });

  it("reads api_start with params kept raw and parseable", () => {
    const f = decode(SEED_BLOCKS[0] as string);
    assert.equal(f.kind, "api_start");
    if (f.kind !== "api_start") return;
    assert.equal(f.data.ivrid, "rDlg-006-ZevQbP");
    assert.equal(f.data.key, "abc");
    assert.equal(f.data.params, '{"asdf":"zxcv"}');
    assert.deepEqual(parseParams(f.data.params), { ok: true, value: { asdf: "zxcv" } });
  });

  it("knows the upload_static example is headed upload_temp (slip) and still carries destpath", () => {
    const slip = SEED_BLOCKS.filter((b) => frameName(b) === "ivrapi_file_upload_temp").find((b) =>
      b.includes("destpath"),
    );
    assert.ok(slip, "the slip is in the seed");
    const corrected = decodeRequest(slip.replace('"ivrapi_file_upload_temp"', '"ivrapi_file_upload_static"'));
    assert.equal(corrected.kind, "request");
    if (corrected.kind === "request" && corrected.name === "ivrapi_file_upload_static") {
      assert.equal(corrected.body.destpath, ":GS_PUB/x/y/");
    }
  });

  it("reads the ivrid-less component_stopped and both dtmf modes", () => {
    const stopped = decode(SEED_BLOCKS.find((b) => frameName(b) === "ivrapi_component_stopped") as string);
    assert.equal(stopped.kind, "component_stopped");
    if (stopped.kind === "component_stopped") {
      assert.equal(stopped.body.ivrid, undefined);
      assert.equal(stopped.body.transferKey, "transfer");
      assert.deepEqual(stopped.body.results, { dtmfBuffer: "78" });
    }
    const modes = SEED_BLOCKS.filter((b) => frameName(b) === "ivrapi_dtmf").map((b) => {
      const f = decode(b);
      assert.equal(f.kind, "dtmf");
      return f.kind === "dtmf" ? DtmfBody.parse(f.body).mode : "";
    });
    assert.deepEqual(modes, ["idle", "component"]);
  });

  it("accepts every component data example (numeric oType, string fields kept)", () => {
    for (const text of SEED_COMPONENT_DATA) {
      const parsed = ComponentData.safeParse(JSON.parse(text));
      assert.ok(parsed.success, text);
    }
    const record = decodeRequest(SEED_BLOCKS[5] as string);
    assert.equal(record.kind, "request");
    if (record.kind === "request" && record.name === "ivrapi_component_apply") {
      assert.equal(record.body.data.oType, 208);
      assert.equal(record.body.data.interruptSymbols, "4, 5, 6");
    }
  });
});
