// The IVR building-block examples (09–13), as shipped, driven from the simulator: PIN entry (206), speak and
// recognise (222 → 223 → 222), send digits (207), attended transfer (217), music stopped by a key (terminate).
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import { startSim } from "../nodes/harness";
import { ended, loadExample, type Msg, nextMsg, ranComponents, running, serverPerTest } from "./harness";

describe("examples: IVR building blocks", function () {
  this.timeout(20_000);
  let sim: Simulator;

  serverPerTest(() => sim);

  /** Component data as applied, without the oId the runtime adds. */
  const dataOf = (c: { data: Record<string, unknown> } | null | undefined) => {
    const { oId: _oId, ...rest } = c?.data ?? {};
    return rest;
  };

  /** The history entries of a call named `what`. */
  const history = (ivrid: string, what: string) =>
    (sim.getCall(ivrid)?.history ?? []).filter((h) => h.what === what).map((h) => h.detail as Record<string, unknown>);

  describe("PIN entry (09)", () => {
    it("1234: the 206 form's data is applied, four digits end it, the PIN is accepted, then hang up", async () => {
      sim = await startSim();
      await loadExample(sim, "09-pin-entry.json");
      const { ivrid } = sim.placeCall({ key: "pin" });
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/enter-pin.wav" });
      sim.finishComponent(ivrid);
      const collect = await running(sim, ivrid, 206);
      assert.deepEqual(dataOf(collect), {
        oType: 206,
        timeoutSec: 10,
        symbolTimeoutSec: 5,
        maxSymbolCount: 4,
        interruptSymbols: "#",
        clearDtmfBuffer: false,
      });
      sim.pressKeys(ivrid, "1234");
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/pin-ok.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 201);
      sim.finishComponent(ivrid);
      await ended(sim, ivrid);
      assert.deepEqual(ranComponents(sim, ivrid), [204, 206, 204, 201]);
    });

    it("12#: a wrong PIN (the terminator ends the input) plays pin-wrong", async () => {
      sim = await startSim();
      await loadExample(sim, "09-pin-entry.json");
      const { ivrid } = sim.placeCall({ key: "pin" });
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/enter-pin.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 206);
      sim.pressKeys(ivrid, "12#");
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/pin-wrong.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 201);
    });

    it("no digit (transferTimeout) plays pin-wrong too", async () => {
      sim = await startSim();
      await loadExample(sim, "09-pin-entry.json");
      const { ivrid } = sim.placeCall({ key: "pin" });
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/enter-pin.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 206);
      sim.finishComponent(ivrid); // manual mode: the wait for the first digit ends now, with no digit
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/pin-wrong.wav" });
    });
  });

  describe("speak and recognise (10)", () => {
    it("what the caller says is recognised (223) and spoken back by TTS (222, text from JSONata)", async () => {
      sim = await startSim();
      await loadExample(sim, "10-speak-recognise.json");
      const { ivrid } = sim.placeCall({ key: "speech" });
      await running(sim, ivrid, 222, { text: "Which city are you calling from?", mode: 0 });
      sim.finishComponent(ivrid);
      const asr = await running(sim, ivrid, 223);
      assert.equal(asr?.data.lang, "ru-RU");
      assert.equal(asr?.data.maxRecTimeSec, 10);
      const heard = nextMsg("ex10-heard");
      sim.say(ivrid, "Kazan");
      await running(sim, ivrid, 222, { text: "You said: Kazan" });
      assert.equal((await heard).payload.text, "Kazan");
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 201);
      sim.finishComponent(ivrid);
      await ended(sim, ivrid);
      assert.deepEqual(ranComponents(sim, ivrid), [222, 223, 222, 201]);
    });

    it("silence (transferTimeout): 'I did not hear you', then hang up", async () => {
      sim = await startSim();
      await loadExample(sim, "10-speak-recognise.json");
      const { ivrid } = sim.placeCall({ key: "speech" });
      await running(sim, ivrid, 222);
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 223);
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 222, { text: "I did not hear you. Goodbye." });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 201);
    });
  });

  describe("send digits (11)", () => {
    it("sends the account from params, a pause and # (207 over RFC 2833), then done and hang up", async () => {
      sim = await startSim();
      await loadExample(sim, "11-send-digits.json");
      const { ivrid } = sim.placeCall({ key: "digits", params: { account: 5678 } });
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/connecting.wav" });
      sim.finishComponent(ivrid);
      const sent = nextMsg("ex11-sent");
      await running(sim, ivrid, 207, { dtmf: "5678,#", proto: 1 });
      sim.finishComponent(ivrid);
      assert.equal(((await sent) as Msg).payload.dtmf, "5678,#");
      assert.deepEqual(history(ivrid, "digits sent"), [{ dtmf: "5678,#", proto: "RFC 2833" }]);
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/done.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 201);
      sim.finishComponent(ivrid);
      await ended(sim, ivrid);
    });

    it("without params it sends 1234,#", async () => {
      sim = await startSim();
      await loadExample(sim, "11-send-digits.json");
      const { ivrid } = sim.placeCall({ key: "digits" });
      await running(sim, ivrid, 204);
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 207, { dtmf: "1234,#" });
    });
  });

  describe("attended transfer (12)", () => {
    it("calls agent 101 with a whisper, joins both legs; the call leaves the IVR", async () => {
      sim = await startSim();
      await loadExample(sim, "12-attended-transfer.json");
      const { ivrid } = sim.placeCall({ key: "consult" });
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/hold.wav" });
      sim.finishComponent(ivrid);
      const t = await running(sim, ivrid, 217, { number: "101" });
      assert.deepEqual(dataOf(t), {
        oType: 217,
        number: "101",
        timeoutSec: 20,
        calleeFile: ":GS_PUB/demo/whisper.wav",
      });
      const joined = nextMsg("ex12-joined");
      sim.finishComponent(ivrid);
      assert.equal((await joined).payload.transferTo, "101");
      await ended(sim, ivrid);
      assert.equal(history(ivrid, "legs joined")[0]?.b, "101");
      assert.deepEqual(ranComponents(sim, ivrid), [204, 217]);
    });

    it("no answer (transferTimeout): sorry, then hang up", async () => {
      sim = await startSim();
      await loadExample(sim, "12-attended-transfer.json");
      const { ivrid } = sim.placeCall({ key: "consult" });
      await running(sim, ivrid, 204);
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 217);
      sim.finishComponent(ivrid, "transferTimeout");
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/sorry.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 201);
    });
  });

  describe("music until a key (13)", () => {
    it("the music replays when it ends; a key → on dtmf → terminate stops it; thanks, then hang up", async () => {
      sim = await startSim();
      await loadExample(sim, "13-music-until-key.json");
      const { ivrid } = sim.placeCall({ key: "music" });
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/music.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/music.wav" });
      const stopped = nextMsg("ex13-stopped");
      sim.pressKeys(ivrid, "5");
      const msg: Msg = await stopped;
      assert.equal(msg.payload, "5");
      assert.ok(sim.log.some((e) => e.name === "ivrapi_component_terminate" && e.dir === "in"));
      await running(sim, ivrid, 204, { file: ":GS_PUB/demo/thanks.wav" });
      sim.finishComponent(ivrid);
      await running(sim, ivrid, 201);
      sim.finishComponent(ivrid);
      await ended(sim, ivrid);
      assert.deepEqual(ranComponents(sim, ivrid), [204, 204, 204, 201]);
    });
  });
});
