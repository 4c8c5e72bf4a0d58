// Components applied through the simulator: each type's outcome, the busy filter, terminate ordering, DTMF.
import assert from "node:assert/strict";
import { Simulator } from "../src/simulator";
import { type Body, controlledCall, RawClient } from "./fixtures/sim-client";

describe("simulator: components", () => {
  let sim: Simulator;
  let c: RawClient;
  let ivrid: string;
  let key: string;
  const apply = (data: Record<string, unknown>): Promise<Body> =>
    c.request("ivrapi_component_apply", { key, ivrid, data });
  const stopped = (oId: unknown): Promise<Body> => c.next("ivrapi_component_stopped", (b) => b.oId === oId);

  const setup = async (opts: Parameters<typeof Simulator.start>[0] = {}, state = "dialog") => {
    sim = await Simulator.start({ manual: true, ...opts });
    c = await RawClient.open(sim);
    await c.subscribe();
    ({ ivrid, key } = await controlledCall(sim, c, { state }));
  };
  afterEach(async () => {
    await c.close();
    await sim.stop();
  });

  it("answers apply with the oId (counter or given) and refuses a second one while busy", async () => {
    await setup();
    const r = await apply({ oType: 500 });
    assert.deepEqual([r.result, r.oId], ["ok", 0]);
    const busy = await apply({ oType: 500 });
    assert.deepEqual([busy.result, busy.code], ["error", "busy"]);
    assert.equal(sim.getCall(ivrid)?.component?.oId, 0, "the running component stays");
    sim.finishComponent(ivrid);
    const s = await stopped(0);
    assert.deepEqual([s.transferKey, s.results], ["transfer", {}]);
    assert.equal(s.ivrid, undefined, "the seed's stopped event carries no ivrid");
    const mine = await apply({ oType: "500", oId: "x-1" });
    assert.equal(mine.oId, "x-1");
    assert.equal(sim.getCall(ivrid)?.component?.oType, 500);
  });

  it("adds ivrid and key to component_stopped when asked to", async () => {
    await setup({ componentStoppedIvrid: true });
    await apply({ oType: 500 });
    sim.finishComponent(ivrid, "custom", { a: 1 });
    const s = await stopped(0);
    assert.deepEqual(s, { oId: 0, transferKey: "custom", results: { a: 1 }, ivrid, key });
  });

  it("terminate: no_component when idle; otherwise the _result first, then stopped 'terminated'", async () => {
    await setup();
    assert.equal((await c.request("ivrapi_component_terminate", { key, ivrid })).code, "no_component");
    await apply({ oType: 204, mode: 0, file: ":GS_PUB/x/y/14.mp3" });
    sim.pressKeys(ivrid, "7");
    assert.equal((await c.request("ivrapi_component_terminate", { key, ivrid })).result, "ok");
    const s = await stopped(0);
    assert.equal(s.transferKey, "terminated");
    assert.equal(s.results.dtmfBuffer, "7");
    const names = c.names();
    assert.ok(names.indexOf("ivrapi_component_terminate_result") < names.indexOf("ivrapi_component_stopped"));
  });

  it("201 bye ends the call with api_stop script", async () => {
    await setup();
    await apply({ oType: 201 });
    sim.finishComponent(ivrid);
    assert.equal((await stopped(0)).transferKey, "transfer");
    const stop = await c.next("notify", (b) => b.type === "api_stop");
    assert.equal(stop.data.reason, "script");
    const names = c.names();
    assert.ok(names.indexOf("ivrapi_component_stopped") < names.lastIndexOf("notify"));
    assert.equal(sim.getCall(ivrid)?.phase, "ended");
  });

  it("203 transfer: needs a number; then reports transferTo and the call leaves", async () => {
    await setup();
    await apply({ oType: 203, number: "" });
    assert.equal((await stopped(0)).transferKey, "error");
    await apply({ oType: 203, number: "13", reinviteMode: 2 });
    sim.finishComponent(ivrid);
    const s = await stopped(1);
    assert.deepEqual([s.transferKey, s.results], ["transfer", { transferTo: "13" }]);
    assert.equal((await c.next("notify", (b) => b.type === "api_stop")).data.reason, "script");
  });

  it("202 SIP response answers an incoming call; media before that is an error", async () => {
    await setup({}, "incoming");
    await apply({ oType: 204, mode: 0, file: ":GS_PUB/a.wav" });
    const early = await stopped(0);
    assert.equal(early.transferKey, "error");
    assert.equal(early.results.error, "call not answered: send a 202 SIP answer first");
    await apply({ oType: 201 });
    assert.equal((await stopped(1)).transferKey, "error", "bye is not for unanswered calls: SIP rules");
    await apply({ oType: 202, code: 180, phrase: "Ringing" });
    sim.finishComponent(ivrid);
    await stopped(2);
    assert.equal(sim.getCall(ivrid)?.state, "ringing");
    await apply({ oType: 202, code: "200", phrase: "OK" });
    sim.finishComponent(ivrid);
    assert.equal((await stopped(3)).transferKey, "transfer");
    assert.equal(sim.getCall(ivrid)?.state, "dialog");
    await apply({ oType: 202, code: 200 });
    const late = await stopped(4);
    assert.equal(late.transferKey, "error");
    assert.match(late.results.error, /already answered/);
  });

  it("202 with a code ≥ 300 rejects the call (api_stop script); 183 makes it early, where media may play", async () => {
    await setup({}, "incoming");
    await apply({ oType: 202, code: 183 });
    sim.finishComponent(ivrid);
    await stopped(0);
    assert.equal(sim.getCall(ivrid)?.state, "early");
    await apply({ oType: 204, file: ":GS_PUB/ring.wav" });
    sim.finishComponent(ivrid);
    assert.equal((await stopped(1)).transferKey, "transfer");
    await apply({ oType: 202, code: 486, phrase: "Busy Here" });
    sim.finishComponent(ivrid);
    assert.equal((await stopped(2)).transferKey, "transfer");
    assert.equal((await c.next("notify", (b) => b.type === "api_stop")).data.reason, "script");
  });

  it("204 playback: checks its file, ends on an interrupt symbol with the buffer, else with the file", async () => {
    await setup();
    await apply({ oType: 204, mode: 0 });
    assert.match((await stopped(0)).results.error, /needs file/);
    await apply({ oType: 204, mode: 0, file: ":TEMP/missing.mp3" });
    assert.match((await stopped(1)).results.error, /does not exist/);
    await apply({ oType: 204, mode: 0, file: ":NOWHERE/x.mp3" });
    assert.match((await stopped(2)).results.error, /unknown storage root/);
    await apply({ oType: 204, mode: 0, file: ":GS_PUB/x/y/14.mp3", interruptSymbols: "4, 5, 6" });
    sim.pressKeys(ivrid, "15");
    const s = await stopped(3);
    assert.deepEqual([s.transferKey, s.results], ["transfer", { file: ":GS_PUB/x/y/14.mp3", dtmfBuffer: "15" }]);
    await apply({ oType: 204, mode: 7, files: [":SS_PUB/a.wav", ":SS_PUB/b.wav"] });
    sim.finishComponent(ivrid);
    assert.deepEqual((await stopped(4)).results, { files: [":SS_PUB/a.wav", ":SS_PUB/b.wav"] });
  });

  it("208 record ends on maxSymbolCount with a real WAV in the temp area", async () => {
    await setup();
    await apply({ oType: 208, recTimeSec: "10", maxSymbolCount: "3", interruptSymbols: "", abortOnSilence: 0 });
    sim.pressKeys(ivrid, "78");
    assert.equal(sim.getCall(ivrid)?.component?.dtmfBuffer, "78");
    sim.pressKeys(ivrid, "9");
    const s = await stopped(0);
    assert.equal(s.transferKey, "transfer");
    assert.equal(s.results.dtmfBuffer, "789");
    assert.match(s.results.recordFile, /^:TEMP\/ivr_records\/ivr_\d{6}_\d{13}\.wav$/);
    assert.deepEqual(sim.getCall(ivrid)?.tempFiles, [s.results.recordFile]);
    const link = await c.request("ivrapi_file_get_path", { key, ivrid, path: s.results.recordFile });
    const wav = Buffer.from(await (await fetch(link.result)).arrayBuffer());
    assert.equal(wav.subarray(0, 4).toString(), "RIFF");
    assert.equal(wav.subarray(8, 12).toString(), "WAVE");
  });

  it("208 record ends on an interrupt symbol; terminate reports what was recorded so far", async () => {
    await setup();
    await apply({ oType: 208, recTimeSec: 10, maxSymbolCount: 0, interruptSymbols: "#" });
    sim.pressKeys(ivrid, "1#2");
    const s = await stopped(0);
    assert.equal(s.results.dtmfBuffer, "1#");
    assert.equal(sim.getCall(ivrid)?.component, null, "the '2' after the interrupt reaches no component");
    await apply({ oType: 208, recTimeSec: "abc" });
    assert.match((await stopped(1)).results.error, /recTimeSec/);
    await apply({ oType: 208, recTimeSec: 10 });
    await c.request("ivrapi_component_terminate", { key, ivrid });
    const t = await stopped(2);
    assert.equal(t.transferKey, "terminated");
    assert.match(t.results.recordFile, /^:TEMP\/ivr_records\//);
  });

  it("sends ivrapi_dtmf in idle and component mode to the controller only", async () => {
    await setup();
    const other = await RawClient.open(sim);
    sim.pressKeys(ivrid, "5");
    await apply({ oType: 500 });
    sim.pressKeys(ivrid, "*");
    const idle = await c.next("ivrapi_dtmf", (b) => b.dtmf === "5");
    assert.deepEqual(idle, { key, ivrid, mode: "idle", dtmf: "5" });
    const comp = await c.next("ivrapi_dtmf", (b) => b.dtmf === "*");
    assert.deepEqual(comp, { key, ivrid, mode: "component", oId: 0, dtmf: "*" });
    assert.equal(other.frames.length, 0);
    assert.throws(() => sim.pressKeys(ivrid, "x"), /DTMF/);
    assert.throws(() => sim.pressKeys("rDlg-006-none00", "1"), /no call/);
    await other.close();
  });

  it("finishes components on its own after the configured durations", async () => {
    await setup({ manual: false, durations: { 204: 20, 208: 30, default: 10 } });
    await apply({ oType: 204, file: ":GS_PUB/a.wav" });
    assert.deepEqual((await stopped(0)).results, { file: ":GS_PUB/a.wav" });
    await apply({ oType: 208, recTimeSec: 60 });
    assert.equal((await stopped(1)).transferKey, "transfer");
    await apply({ oType: 999 });
    assert.equal((await stopped(2)).transferKey, "transfer");
    await apply({ oType: 204, file: ":GS_PUB/a.wav" });
    sim.hangup(ivrid);
    await c.next("notify", (b) => b.type === "api_stop");
    assert.equal(
      c.frames.filter((f) => f[0] === "ivrapi_component_stopped").length,
      3,
      "a hangup stops the running component silently",
    );
  });
});
