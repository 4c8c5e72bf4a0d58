// Every example flow, as shipped, deployed and driven through a call on the simulator.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { readFlowFile } from "../../scripts/userdir";
import type { Simulator } from "../../src/simulator";
import { startSim } from "../nodes/harness";
import { ended, loadExample, type Msg, nextMsg, ranComponents, running, serverPerTest } from "./harness";

describe("examples", function () {
  this.timeout(20_000);
  let sim: Simulator;

  serverPerTest(() => sim);

  it("ship at least ten flows, each with a comment saying how to try it, ids unique across files, every node type used", async () => {
    const files = readdirSync(`${__dirname}/../../examples`).filter((f) => f.endsWith(".json"));
    assert.ok(files.length >= 10, `${files.length} examples`);
    const ids = new Map<string, string>();
    const used = new Set<string>();
    const pkg = JSON.parse(readFileSync(`${__dirname}/../../package.json`, "utf8")) as {
      "node-red": { nodes: Record<string, string> };
    };
    for (const f of files) {
      const nodes = readFlowFile(`${__dirname}/../../examples/${f}`);
      const comment = nodes.find((n) => n.type === "comment");
      assert.match(String(comment?.info ?? ""), /softphone/i, `${f} explains how to try it`);
      assert.equal(nodes.find((n) => n.type !== "tab")?.type, "comment", `${f}: the comment comes first`);
      for (const n of nodes) {
        used.add(n.type);
        if (n.type === "ivrapi-connection") continue;
        assert.ok(!ids.has(n.id), `${n.id} of ${f} is also in ${ids.get(n.id)}`);
        ids.set(n.id, f);
      }
    }
    for (const type of Object.keys(pkg["node-red"].nodes).filter((t) => t !== "ivrapi-connection")) {
      assert.ok(used.has(type), `no example uses ${type}`);
    }
  });

  it("greeting: plays, then hangs up", async () => {
    sim = await startSim();
    await loadExample(sim, "01-greeting.json");
    const { ivrid } = sim.placeCall({ key: "greeting" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/greeting.wav" });
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 201);
    const stop = nextMsg("ex1-ended");
    sim.finishComponent(ivrid);
    await ended(sim, ivrid);
    assert.equal((await stop).ivr.reason, "script");
    assert.deepEqual(ranComponents(sim, ivrid), [204, 201]);
  });

  it("keypad menu: a key during the prompt replaces it with the choice, then hangs up", async () => {
    sim = await startSim();
    await loadExample(sim, "02-keypad-menu.json");
    const { ivrid } = sim.placeCall({ key: "menu" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/menu.wav" });
    sim.pressKeys(ivrid, "2");
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/support.wav" });
    assert.ok(
      sim.log.some((e) => e.name === "ivrapi_component_terminate"),
      "the prompt was terminated",
    );
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 201);
    sim.finishComponent(ivrid);
    await ended(sim, ivrid);
  });

  it("keypad menu: an unknown key plays the menu again; digits of other calls are ignored", async () => {
    sim = await startSim();
    await loadExample(sim, "02-keypad-menu.json");
    const other = sim.placeCall({ key: "not-the-menu" });
    const { ivrid } = sim.placeCall({ key: "menu" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/menu.wav" });
    sim.finishComponent(ivrid);
    sim.pressKeys(ivrid, "7");
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/menu.wav" });
    assert.equal(sim.getCall(other.ivrid)?.phase, "waiting", "the menu flow does not take other keys' calls");
  });

  it("voicemail: records until #, gives a public link to the recording, hangs up", async () => {
    sim = await startSim();
    await loadExample(sim, "03-voicemail.json");
    const { ivrid } = sim.placeCall({ key: "voicemail" });
    await running(sim, ivrid, 204);
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 208);
    const shown = nextMsg("ex3-show");
    sim.pressKeys(ivrid, "12#");
    const msg: Msg = await shown;
    assert.match(msg.payload, /^http:\/\/127\.0\.0\.1:\d+\/files\//);
    const res = await fetch(msg.payload);
    assert.equal(
      Buffer.from(await res.arrayBuffer())
        .subarray(0, 4)
        .toString(),
      "RIFF",
    );
    await running(sim, ivrid, 201);
    sim.finishComponent(ivrid);
    await ended(sim, ivrid);
  });

  it("dynamic prompt: downloads the URL from params into :TEMP and plays it", async () => {
    sim = await startSim();
    await loadExample(sim, "04-dynamic-prompt.json");
    const { ivrid } = sim.placeCall({ key: "prompt", params: { promptUrl: `${sim.httpUrl}/media/tone.wav?sec=1` } });
    const comp = await running(sim, ivrid, 204);
    assert.match(String(comp?.data.file), /^:TEMP\//);
    assert.ok(sim.getCall(ivrid)?.tempFiles.includes(String(comp?.data.file)));
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 201);
    sim.finishComponent(ivrid);
    await ended(sim, ivrid);
  });

  it("dynamic prompt: without params it downloads from IVRAPI_MEDIA_URL (set by npm start)", async () => {
    sim = await startSim();
    process.env.IVRAPI_MEDIA_URL = `${sim.httpUrl}/media/tone.wav?sec=1`;
    try {
      await loadExample(sim, "04-dynamic-prompt.json");
      const { ivrid } = sim.placeCall({ key: "prompt" });
      const comp = await running(sim, ivrid, 204);
      assert.match(String(comp?.data.file), /^:TEMP\/tone/);
      const upload = sim.getCall(ivrid)?.history.find((h) => h.what === "file uploaded");
      assert.equal((upload?.detail as { url?: string })?.url, process.env.IVRAPI_MEDIA_URL);
    } finally {
      delete process.env.IVRAPI_MEDIA_URL;
    }
  });

  it("transfer to agent: digit 2 transfers to 102", async () => {
    sim = await startSim();
    await loadExample(sim, "05-transfer-agent.json");
    const { ivrid } = sim.placeCall({ key: "agent" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/agents.wav" });
    sim.pressKeys(ivrid, "2");
    await running(sim, ivrid, 203, { number: "102" });
    sim.finishComponent(ivrid);
    await ended(sim, ivrid);
  });

  it("transfer to agent: no key chosen → sorry, then hang up", async () => {
    sim = await startSim();
    await loadExample(sim, "05-transfer-agent.json");
    const { ivrid } = sim.placeCall({ key: "agent" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/agents.wav" });
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/sorry.wav" });
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 201);
  });

  it("answer first: an incoming call gets a SIP 200 before any media; a call in dialog does not", async () => {
    sim = await startSim();
    await loadExample(sim, "06-answer-first.json");
    const incoming = sim.placeCall({ key: "answer", state: "incoming" });
    await running(sim, incoming.ivrid, 202);
    sim.finishComponent(incoming.ivrid);
    await running(sim, incoming.ivrid, 204);
    assert.equal(sim.getCall(incoming.ivrid)?.state, "dialog");
    const answered = sim.placeCall({ key: "answer", state: "dialog" });
    await running(sim, answered.ivrid, 204);
    assert.deepEqual(ranComponents(sim, answered.ivrid), [204]);
  });

  it("hang-ups and errors: a failed upload reaches the catch, plays a fallback and hands the call back", async () => {
    sim = await startSim();
    await loadExample(sim, "07-stop-and-errors.json");
    const errors = nextMsg("ex7-errlog");
    const { ivrid } = sim.placeCall({ key: "errors" });
    const err: Msg = await errors;
    assert.equal(err.error.code, "rejected");
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/fallback.wav" });
    const back = nextMsg("ex7-back");
    sim.finishComponent(ivrid);
    await back;
    await ended(sim, ivrid, "released");
    assert.equal(sim.getCall(ivrid)?.stopReason, "abort");
  });

  it("hang-ups and errors: a caller hanging up comes out of the stop output with its reason", async () => {
    sim = await startSim();
    await loadExample(sim, "07-stop-and-errors.json");
    const { ivrid } = sim.placeCall({ key: "errors" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/fallback.wav" });
    const stop = nextMsg("ex7-ended");
    sim.hangup(ivrid);
    const msg: Msg = await stop;
    assert.equal(msg.ivr.reason, "script");
    assert.equal(msg.ivr.ivrid, ivrid);
  });
});
