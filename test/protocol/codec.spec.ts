import assert from "node:assert/strict";
import fc from "fast-check";
import { checkRequest, classifyResult, decode, decodeRequest, encode, type ResultRules } from "../../src/protocol";

describe("codec", () => {
  it("encode gives one [name, body] JSON text that decodes back", () => {
    const text = encode("ivrapi_dtmf", { key: "k", ivrid: "i1", mode: "idle", dtmf: "5" });
    assert.deepEqual(JSON.parse(text), ["ivrapi_dtmf", { key: "k", ivrid: "i1", mode: "idle", dtmf: "5" }]);
    const f = decode(text);
    assert.equal(f.kind, "dtmf");
  });

  const hostile: Array<[string, string, string]> = [
    ["not JSON", "{nope", "not_json"],
    ["a bare number", "42", "not_frame"],
    ["a 3-array", '["a", {}, 1]', "not_frame"],
    ["a numeric name", "[1, {}]", "not_frame"],
    ["an empty name", '["", {}]', "not_frame"],
    ["an array body", '["notify", []]', "not_frame"],
    ["a null body", '["notify", null]', "not_frame"],
    ["notify without class", '["notify", {"type":"x","data":{}}]', "invalid_body"],
    [
      "api_start without ivrid",
      '["notify", {"class":"ivrevents","type":"api_start","data":{"key":"a"}}]',
      "invalid_body",
    ],
    ["a result without qid", '["ivrapi_accept_result", {"result":"ok"}]', "invalid_body"],
    ["dtmf without digit", '["ivrapi_dtmf", {"ivrid":"x","mode":"idle","dtmf":""}]', "invalid_body"],
  ];
  for (const [what, text, code] of hostile) {
    it(`returns a typed error for ${what}`, () => {
      const f = decode(text);
      assert.equal(f.kind, "error");
      if (f.kind === "error") assert.equal(f.code, code, f.message);
    });
  }

  it("reads informational fields of the wrong type as absent instead of dropping control frames", () => {
    const stopped = decode('["ivrapi_component_stopped", {"oId": 3, "transferKey": null, "results": []}]');
    assert.equal(stopped.kind, "component_stopped");
    if (stopped.kind === "component_stopped") {
      assert.equal(stopped.body.oId, 3);
      assert.equal(stopped.body.transferKey, undefined);
      assert.equal(stopped.body.results, undefined);
    }
    const stop = decode(
      '["notify", {"class":"ivrevents","type":"api_stop","eventts":"1","data":{"ivrid":"x","key":"k","callid":null,"ivrts":"123","reason":"script"}}]',
    );
    assert.equal(stop.kind, "api_stop");
    if (stop.kind === "api_stop") assert.equal(stop.data.reason, "script");
    const start = decode(
      '["notify", {"class":"ivrevents","type":"api_start","data":{"ivrid":"x","key":"k","params":{"a":1}}}]',
    );
    assert.equal(start.kind, "api_start");
    if (start.kind === "api_start") assert.equal(start.data.params, '{"a":1}');
    const dtmf = decode('["ivrapi_dtmf", {"ivrid":"x","mode":"idle","oId":null,"dtmf":"5"}]');
    assert.equal(dtmf.kind, "dtmf");
  });

  it("refuses a huge frame before parsing it", () => {
    const f = decode(`["notify", {"pad":"${"x".repeat(2048)}"}]`, { maxFrameBytes: 1024 });
    assert.equal(f.kind, "error");
    if (f.kind === "error") assert.equal(f.code, "too_large");
  });

  it("passes other notifications and unknown frames on, whole", () => {
    const n = decode('["notify", {"class":"callevents","type":"dtmf","data":{"x":1}}]');
    assert.equal(n.kind, "notify");
    const u = decode('["something_new", {"a":1}]');
    assert.deepEqual(u, { kind: "unknown", name: "something_new", body: { a: 1 }, text: '["something_new", {"a":1}]' });
  });

  it("never throws, whatever the text (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(["notify", v])),
        ),
        (text) => {
          const a = decode(text);
          const b = decodeRequest(text);
          assert.ok(typeof a.kind === "string" && typeof b.kind === "string");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reads the everyday answer exactly as JSON.parse reads it, from text or bytes, whatever the result rules (property)", () => {
    // The oracle: the same frame with a space after it, valid JSON that only the general way reads.
    const withoutText = (f: ReturnType<typeof decode>) => {
      const { text: _text, ...rest } = f as { text?: string };
      return rest;
    };
    const nameChar = fc.constantFrom(...'abcz_09AZ-.\\"é \u0001'.split(""));
    const qid = fc.oneof(
      fc.nat().map(String),
      fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
      fc.constantFrom("0", "00", "007", "-1", "1e3", "1.5", " 1", "", "9007199254740993", '"12"', "null"),
    );
    const result = fc.constantFrom('"ok"', '"error"', "true", '"ok" ', '"OK"');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom("ivrapi_accept", "ivrapi_component_apply", "subscribe", "x1_y"),
          fc.array(nameChar, { maxLength: 30 }).map((cs) => cs.join("")),
        ),
        qid,
        result,
        fc.constantFrom<Array<Partial<ResultRules> | undefined>>(
          undefined,
          { okValue: "success" },
          { errorFields: ["result"] },
        ),
        (name, q, r, rules) => {
          const text = `["${name}_result",{"qid":${q},"result":${r}}]`;
          const expected = withoutText(decode(`${text} `, { resultRules: rules }));
          for (const raw of [text, Buffer.from(text)]) {
            const got = decode(raw, { resultRules: rules });
            assert.deepEqual(withoutText(got), expected, text);
            if (got.kind !== "error") assert.equal(got.text, text);
          }
        },
      ),
      { numRuns: 2000 },
    );
    // The everyday case itself, and a frame over the size limit, which is refused however small.
    const answer = decode(Buffer.from('["ivrapi_accept_result",{"qid":12,"result":"ok"}]'));
    assert.deepEqual(withoutText(answer), {
      kind: "result",
      request: "ivrapi_accept",
      qid: 12,
      body: { qid: 12, result: "ok" },
      outcome: { status: "ok" },
    });
    assert.equal(decode('["ivrapi_accept_result",{"qid":12,"result":"ok"}]', { maxFrameBytes: 20 }).kind, "error");
  });

  it("decodeRequest validates each request and refuses unknown names", () => {
    assert.equal(decodeRequest('["ivrapi_accept", {"qid":1,"key":"k"}]').kind, "error");
    assert.equal(decodeRequest('["hack", {"qid":1}]').kind, "error");
    const ok = decodeRequest(
      '["subscribe", {"qid":"a","id":"s","objects":"any","events":["ivrevents.*"],"expires":60}]',
    );
    assert.equal(ok.kind, "request");
  });

  it("checkRequest refuses component data without a numeric oType and coerces digit strings", () => {
    const base = { qid: 1, key: "k", ivrid: "i" };
    assert.equal(checkRequest("ivrapi_component_apply", { ...base, data: { mode: 0 } }).ok, false);
    assert.equal(checkRequest("ivrapi_component_apply", { ...base, data: { oType: "play" } }).ok, false);
    const r = checkRequest("ivrapi_component_apply", { ...base, data: { oType: "204", file: "x" } });
    assert.ok(r.ok);
    if (r.ok) assert.equal(r.body.data.oType, 204);
  });
});

describe("result rules", () => {
  it("reads ok, data results of file requests, and errors", () => {
    assert.deepEqual(classifyResult({ qid: 1, result: "ok" }), { status: "ok" });
    assert.deepEqual(classifyResult({ qid: 1, result: ":GS_PUB/a.wav" }, {}, "ivrapi_file_upload_static"), {
      status: "ok",
    });
    assert.deepEqual(classifyResult({ qid: 1 }), { status: "ok" });
    assert.deepEqual(classifyResult({ qid: 1, error: "nope" }), { status: "error", reason: "nope" });
    assert.deepEqual(classifyResult({ qid: 1, error: { code: "busy", message: "a component runs" } }), {
      status: "error",
      reason: "a component runs",
      code: "busy",
    });
    assert.deepEqual(classifyResult({ qid: 1, result: "error", code: "x", reason: "why" }), {
      status: "error",
      reason: "why",
      code: "x",
    });
  });

  // Regression (hardening issue, defect 2): these passed as success, so a lost accept race read as "accepted".
  it("reads anything but the ok marker as a failure for control requests", () => {
    for (const request of ["ivrapi_accept", "ivrapi_reaccept", "ivrapi_component_apply", "ivrapi_abort"]) {
      assert.deepEqual(classifyResult({ qid: 1, result: "error", code: "taken" }, {}, request), {
        status: "error",
        reason: "result error",
        code: "taken",
      });
      assert.equal(classifyResult({ qid: 1, result: false }, {}, request).status, "error");
      assert.equal(classifyResult({ qid: 1, result: { odd: true } }, {}, request).status, "error");
      assert.equal(classifyResult({ qid: 1, result: "accepted?" }, {}, request).status, "error");
    }
    // A file request's string result is its data, unless the answer names an error code.
    assert.equal(classifyResult({ qid: 1, result: "error", code: "x" }, {}, "ivrapi_file_upload_temp").status, "error");
    assert.equal(classifyResult({ qid: 1, result: false }, {}, "ivrapi_file_upload_temp").status, "error");
    // No result at all is success by default (ASSUMED), a setting away from failure.
    assert.equal(classifyResult({ qid: 1 }, { okWithoutResult: false }, "ivrapi_accept").status, "error");
  });

  it("follows configured markers", () => {
    const rules = { okValue: "success", reasonFields: ["why"], errorFields: ["fault"] };
    assert.deepEqual(classifyResult({ result: "success" }, rules), { status: "ok" });
    assert.deepEqual(classifyResult({ result: "failed", why: "x" }, rules), { status: "error", reason: "x" });
    assert.deepEqual(classifyResult({ fault: "f" }, rules), { status: "error", reason: "f" });
  });
});
