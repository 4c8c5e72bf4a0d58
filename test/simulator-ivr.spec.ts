// The catalog's IVR components in the simulator: 206 with its timeouts, maximum and terminators, 207, 217, TTS
// (play and save), speech recognition (said text, digits, silence), and 202 with sipCode.
import assert from "node:assert/strict";
import { Simulator } from "../src/simulator";
import { type Body, controlledCall, RawClient } from "./fixtures/sim-client";

describe("simulator: IVR components (206, 207, 217, TTS, ASR)", () => {
  let sim: Simulator;
  let c: RawClient;
  let ivrid: string;
  let key: string;
  const apply = (data: Record<string, unknown>): Promise<Body> =>
    c.request("ivrapi_component_apply", { key, ivrid, data });
  const stopped = (oId: unknown): Promise<Body> => c.next("ivrapi_component_stopped", (b) => b.oId === oId);
  const run = async (data: Record<string, unknown>, act?: () => void): Promise<Body> => {
    const r = await apply(data);
    assert.equal(r.result, "ok");
    const s = stopped(r.oId);
    act?.();
    return s;
  };

  const setup = async (opts: Parameters<typeof Simulator.start>[0] = {}, state = "dialog") => {
    sim = await Simulator.start({ manual: false, ...opts });
    c = await RawClient.open(sim);
    await c.subscribe();
    ({ ivrid, key } = await controlledCall(sim, c, { state }));
  };
  afterEach(async () => {
    await c.close();
    await sim.stop();
  });

  it("206 ends on its terminator (not part of the digits), on its maximum, and between digits", async () => {
    await setup();
    const base = { oType: 206, timeoutSec: 5, symbolTimeoutSec: 5, interruptSymbols: "#" };
    let s = await run({ ...base, maxSymbolCount: 10 }, () => sim.pressKeys(ivrid, "12#"));
    assert.deepEqual([s.transferKey, s.results], ["transfer", { dtmfBuffer: "12", interruptedBy: "#" }]);
    s = await run({ ...base, maxSymbolCount: 3 }, () => sim.pressKeys(ivrid, "987"));
    assert.deepEqual([s.transferKey, s.results], ["transfer", { dtmfBuffer: "987" }]);
    const t0 = Date.now();
    s = await run({ ...base, maxSymbolCount: 0, symbolTimeoutSec: 0.2 }, () => sim.pressKeys(ivrid, "4"));
    assert.deepEqual([s.transferKey, s.results], ["transfer", { dtmfBuffer: "4" }]);
    assert.ok(Date.now() - t0 < 2000, "the gap after a digit ends it, not the first-digit wait");
    s = await run({ ...base, interruptSymbols: "*0,##", maxSymbolCount: 0 }, () => sim.pressKeys(ivrid, "5##"));
    assert.deepEqual(s.results, { dtmfBuffer: "5", interruptedBy: "##" });
  });

  it("206 with no digit at all ends on transferTimeout after timeoutSec", async () => {
    await setup();
    const t0 = Date.now();
    const s = await run({ oType: 206, timeoutSec: 0.3, symbolTimeoutSec: 5, maxSymbolCount: 4 });
    assert.deepEqual([s.transferKey, s.results], ["transferTimeout", { dtmfBuffer: "" }]);
    assert.ok(Date.now() - t0 >= 250);
  });

  it("207 sends the digits and says so; bad digits end on error", async () => {
    await setup({ durations: { 207: 20 } });
    const s = await run({ oType: 207, dtmf: "12,#", proto: 2 });
    assert.deepEqual([s.transferKey, s.results], ["transfer", { dtmf: "12,#" }]);
    const sent = sim.getCall(ivrid)?.history.find((h) => h.what === "digits sent");
    assert.deepEqual(sent?.detail, { dtmf: "12,#", proto: "SIP INFO" });
    const bad = await run({ oType: 207, dtmf: "12x" });
    assert.equal(bad.transferKey, "error");
  });

  it("217 joins both legs and the call leaves the IVR", async () => {
    await setup({ durations: { 217: 20 } });
    const s = await run({ oType: 217, number: "200" });
    assert.deepEqual([s.transferKey, s.results], ["transfer", { transferTo: "200" }]);
    await c.next("notify", (b) => b.type === "api_stop");
    const joined = sim.getCall(ivrid)?.history.find((h) => h.what === "legs joined");
    assert.deepEqual(joined?.detail, { a: "sim-caller", b: "200" });
  });

  it("TTS speaks (a key interrupts it) or saves to a :TEMP file", async () => {
    await setup({ durations: { 222: 5000 } });
    let s = await run({ oType: 222, text: "Hello there", interruptSymbols: "1,2" }, () => sim.pressKeys(ivrid, "2"));
    assert.deepEqual([s.transferKey, s.results], ["transfer", { dtmfBuffer: "2" }]);
    s = await run({ oType: 226, mode: 1, contentType: "SSML", text: "<speak>Hi</speak>" });
    assert.match(s.results.file, /^:TEMP\/tts\/tts_\d+\.wav$/);
    assert.ok(sim.getCall(ivrid)?.tempFiles.includes(s.results.file));
    const none = await run({ oType: 222, text: "" });
    assert.equal(none.transferKey, "error");
  });

  it("ASR returns what the caller said, the digits pressed, or nothing after its time", async () => {
    await setup();
    let s = await run({ oType: 227, lang: "en", maxRecTimeSec: 5 }, () => sim.say(ivrid, "sales please"));
    assert.deepEqual([s.transferKey, s.results], ["transfer", { text: "sales please", lang: "en", confidence: 0.93 }]);
    s = await run({ oType: 223, maxRecTimeSec: 5, maxSymbolCount: 2 }, () => sim.pressKeys(ivrid, "42"));
    assert.deepEqual([s.transferKey, s.results], ["transfer", { text: "", lang: "ru-RU", dtmfBuffer: "42" }]);
    s = await run({ oType: 223, maxRecTimeSec: 0.2 });
    assert.deepEqual([s.transferKey, s.results], ["transferTimeout", { text: "", lang: "ru-RU" }]);
  });

  it("202 takes the docs' sipCode (200 moves the call to dialog)", async () => {
    await setup({}, "incoming");
    const s = await run({ oType: 202, sipCode: 200 });
    assert.equal(s.transferKey, "transfer");
    assert.equal(sim.getCall(ivrid)?.state, "dialog");
  });
});
