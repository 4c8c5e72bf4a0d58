// The component catalog: every component the issue names, defaults that pass their own checks, errors that name
// the field, and data copied from a saved script (objects, unknown fields, numbers as text) passing untouched.
import assert from "node:assert/strict";
import { CATALOG, checkComponent, componentSpec, defaultData } from "../../src/protocol/catalog";

describe("protocol: component catalog", () => {
  it("covers the IVR components, each with en/ru labels, exits and results", () => {
    const types = CATALOG.map((c) => c.oType);
    for (const t of [201, 202, 203, 204, 206, 207, 208, 217, 222, 223, 226, 227]) assert.ok(types.includes(t), `${t}`);
    for (const c of CATALOG) {
      assert.ok(c.label.en && /[а-яё]/i.test(c.label.ru), `${c.oType} label`);
      assert.ok(c.exits.includes("transfer"), `${c.oType} exits`);
      for (const f of c.fields) assert.ok(f.label.en && f.label.ru, `${c.oType}.${f.name} label`);
    }
    assert.deepEqual(componentSpec(206)?.exits, ["transfer", "transferTimeout", "error"]);
    assert.deepEqual(
      componentSpec("207")?.fields.map((f) => f.name),
      ["dtmf", "proto"],
    );
  });

  it("defaults pass their own checks", () => {
    for (const c of CATALOG) assert.deepEqual(checkComponent(defaultData(c.oType)), [], `${c.oType}`);
    assert.deepEqual(defaultData(206), {
      oType: 206,
      timeoutSec: 10,
      symbolTimeoutSec: 5,
      maxSymbolCount: 4,
      interruptSymbols: "#",
    });
  });

  it("errors name the field: ranges, whole numbers, enums, DTMF symbols, required fields", () => {
    const fields = (d: Record<string, unknown>) => checkComponent(d).map((e) => e.message);
    assert.deepEqual(fields({ oType: 206, timeoutSec: "soon", maxSymbolCount: 1.5 }), [
      "timeoutSec: must be a number",
      "maxSymbolCount: must be a whole number",
    ]);
    assert.deepEqual(fields({ oType: 202, sipCode: 99 }), ["sipCode: must be at least 100"]);
    assert.deepEqual(fields({ oType: 207, dtmf: "12x", proto: 4 }), [
      "dtmf: only 0-9 * # A-D and commas",
      "proto: must be one of 1, 2, 3",
    ]);
    assert.deepEqual(fields({ oType: 222 }), ["text: is required"]);
    assert.deepEqual(fields({ oType: 227, text: "x", lang: "de" }), ["lang: must be one of ru, en, kk"]);
  });

  it("JSON copied from a saved script passes: value objects, unknown fields, numbers and flags as text", () => {
    const saved = {
      oType: "204",
      mode: "0",
      file: { selectMode: 1, localFile: ":SYN_MEDIA/hello.wav" },
      interruptSymbols: { argType: "const", varType: "string", value: "#" },
      clearDtmfBuffer: 1,
      name: "Play",
      oId: 17,
      somethingNew: [1, 2],
    };
    assert.deepEqual(checkComponent(saved), []);
    assert.deepEqual(checkComponent({ oType: 999, anything: true }), [], "an oType outside the catalog");
  });
});
