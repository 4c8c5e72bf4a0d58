// ivr menu over the real simulator: prompt then 206, barge-in (a key during the prompt is kept), several digits,
// terminator, retries with their prompts, and every output (each choice, no input, no match).
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import {
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  helper,
  load,
  type Msg,
  nextMsg,
  placeAccepted,
  ready,
} from "./harness";

const PROMPT = { oType: 204, mode: 0, file: ":SYN_MEDIA/menu.wav" };

function flow(sim: Simulator, menu: Record<string, unknown> = {}): FlowNode[] {
  const choices = (menu.choices as string[] | undefined) ?? ["1", "2", "33"];
  const outs = [...choices.map((_c, i) => `c${i}`), "noInput", "noMatch"];
  return [
    connectionDef(sim),
    { id: "start", type: "ivrapi-start", connection: "conn", key: "", componentName: "", wires: [["call"], []] },
    { id: "call", type: "helper" },
    {
      id: "menu",
      type: "ivrapi-menu",
      connection: "conn",
      prompt: JSON.stringify(PROMPT),
      promptType: "json",
      choices,
      maxDigits: 2,
      timeout: 0.4,
      interDigitTimeout: 0.3,
      terminator: "#",
      retries: 1,
      retryPrompt: "",
      retryPromptType: "json",
      noMatchPrompt: "",
      noMatchPromptType: "json",
      bargeIn: true,
      busy: "reject",
      version: 1,
      outputs: outs.length,
      wires: outs.map((o) => [o]),
      ...menu,
    },
    ...outs.map((id) => ({ id, type: "helper" })),
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
  ];
}

describe("nodes: ivr menu", function () {
  this.timeout(15_000);
  let sim: Simulator;
  // Real timers: 206 waits for its timeoutSec; a prompt plays 300 ms unless a key interrupts it.
  eachWithSimulator(
    (s) => {
      sim = s;
    },
    { manual: false, durations: { 204: 300 } },
  );

  const applied = (ivrid: string): Msg[] =>
    sim.log
      .filter((e) => e.dir === "in" && e.name === "ivrapi_component_apply" && (e.body as Msg).ivrid === ivrid)
      .map((e) => (e.body as Msg).data);

  /** Starts the menu on a new call; resolves once the n-th component of the call runs. */
  async function menuCall(): Promise<{ ivrid: string }> {
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    (helper.getNode("menu") as unknown as { receive(m: Msg): void }).receive(msg);
    return { ivrid };
  }
  const running = async (ivrid: string, oType: number, nth = 1): Promise<void> => {
    await sim.waitForFrame({
      dir: "out",
      name: "ivrapi_component_apply_result",
      where: () => applied(ivrid).filter((d) => d.oType === oType).length >= nth,
    });
  };

  it("plays the prompt (barge-in on), collects with 206 and sends the choice out of its port", async () => {
    await load(sim, flow(sim));
    const out = nextMsg("c1");
    const { ivrid } = await menuCall();
    await running(ivrid, 206);
    sim.pressKeys(ivrid, "2");
    const msg = await out;
    assert.equal(msg.payload, "2");
    assert.deepEqual(msg.ivr.menu, { digits: "2", attempts: 1 });
    const [prompt, collect] = applied(ivrid);
    assert.equal(prompt?.interruptSymbols, "0,1,2,3,4,5,6,7,8,9,*,#");
    assert.equal(prompt?.file, PROMPT.file);
    assert.deepEqual(
      [
        collect?.oType,
        collect?.timeoutSec,
        collect?.symbolTimeoutSec,
        collect?.maxSymbolCount,
        collect?.interruptSymbols,
      ],
      [206, 0.4, 0.3, 2, "#"],
    );
  });

  it("keeps a key pressed during the prompt: it interrupts it and counts as the first digit", async () => {
    await load(sim, flow(sim));
    const out = nextMsg("c2");
    const { ivrid } = await menuCall();
    await running(ivrid, 204);
    sim.pressKeys(ivrid, "3");
    await running(ivrid, 206);
    sim.pressKeys(ivrid, "3");
    const msg = await out;
    assert.equal(msg.payload, "33");
    const collect = applied(ivrid)[1];
    assert.equal(collect?.maxSymbolCount, 1, "only the missing digit is collected");
    assert.equal(collect?.timeoutSec, 0.3, "once typing started, only the gap between digits is waited for");
  });

  it("a whole answer typed during the prompt needs no 206", async () => {
    await load(sim, flow(sim));
    const out = nextMsg("c0");
    const { ivrid } = await menuCall();
    await running(ivrid, 204);
    sim.pressKeys(ivrid, "1");
    assert.equal((await out).payload, "1");
    assert.deepEqual(
      applied(ivrid).map((d) => d.oType),
      [204],
    );
  });

  it("no input twice: the retry prompt then the prompt again, then the no input output", async () => {
    const retry = { oType: 204, mode: 0, file: ":SYN_MEDIA/sorry.wav" };
    await load(sim, flow(sim, { retryPrompt: JSON.stringify(retry) }));
    const out = nextMsg("noInput", 8000);
    const { ivrid } = await menuCall();
    const msg = await out;
    assert.equal(msg.payload, "");
    assert.deepEqual(msg.ivr.menu, { digits: "", attempts: 2 });
    assert.deepEqual(
      applied(ivrid).map((d) => d.file ?? d.oType),
      [PROMPT.file, 206, retry.file, PROMPT.file, 206],
    );
    const stops = sim.log.filter((e) => e.name === "ivrapi_component_stopped").map((e) => (e.body as Msg).transferKey);
    assert.ok(stops.includes("transferTimeout"), "206 ended on its timeout");
  });

  it("no match after the retries goes out of the no match output; a match on the retry wins", async () => {
    const sorry = { oType: 204, mode: 0, file: ":SYN_MEDIA/nomatch.wav" };
    await load(sim, flow(sim, { noMatchPrompt: JSON.stringify(sorry) }));
    let out = nextMsg("noMatch", 8000);
    let { ivrid } = await menuCall();
    await running(ivrid, 206);
    sim.pressKeys(ivrid, "9#");
    await running(ivrid, 206, 2);
    sim.pressKeys(ivrid, "4#");
    let msg = await out;
    assert.deepEqual([msg.payload, msg.ivr.menu.attempts], ["4", 2]);
    assert.equal(applied(ivrid)[2]?.file, sorry.file, "the no-match prompt comes first on the retry");

    out = nextMsg("c0", 8000);
    ({ ivrid } = await menuCall());
    await running(ivrid, 206);
    sim.pressKeys(ivrid, "7#");
    await running(ivrid, 206, 2);
    sim.pressKeys(ivrid, "1");
    msg = await out;
    assert.deepEqual(msg.ivr.menu, { digits: "1", attempts: 2 });
  });

  it("barge-in off: the prompt plays to its end, yet a key pressed during it still counts", async () => {
    await load(sim, flow(sim, { bargeIn: false }));
    const out = nextMsg("c0");
    const { ivrid } = await menuCall();
    await running(ivrid, 204);
    sim.pressKeys(ivrid, "1");
    const msg = await out;
    assert.equal(msg.payload, "1");
    assert.equal(applied(ivrid)[0]?.interruptSymbols, "");
    const stop = sim.log.find((e) => e.name === "ivrapi_component_stopped")?.body as Msg | undefined;
    assert.equal(stop?.transferKey, "transfer", "the prompt played to its end");
  });

  it("prompt from a msg property; a prompt that cannot run reaches Catch; busy is the registry's", async () => {
    await load(sim, flow(sim, { prompt: "prompt", promptType: "msg" }));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const menu = helper.getNode("menu") as unknown as { receive(m: Msg): void };
    const caught = nextMsg("caught");
    menu.receive({ ...msg, prompt: { oType: 204, mode: 0, file: ":TEMP/missing.wav" } });
    const err = await caught;
    assert.equal(err.error.code, "rejected");
    assert.match(err.error.message, /could not run/);
    const out = nextMsg("c0");
    menu.receive({ ...msg, prompt: PROMPT });
    await running(ivrid, 204, 2);
    const busy = nextMsg("caught");
    menu.receive({ ...msg, prompt: PROMPT });
    assert.equal((await busy).error.code, "busy");
    sim.pressKeys(ivrid, "1");
    assert.equal((await out).payload, "1");
  });
});
