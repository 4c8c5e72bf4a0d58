// The ivr menu example (08), as shipped, driven from the simulator: a choice typed during the prompt, two digits
// with the terminator, and no match after the retries.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import { startSim } from "../nodes/harness";
import { ended, loadExample, ranComponents, running, serverPerTest } from "./harness";

describe("examples: ivr menu", function () {
  this.timeout(20_000);
  let sim: Simulator;

  serverPerTest(() => sim);

  it("1 during the prompt: sales, then hang up", async () => {
    sim = await startSim();
    await loadExample(sim, "08-ivr-menu.json");
    const { ivrid } = sim.placeCall({ key: "ivrmenu" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/menu.wav" });
    sim.pressKeys(ivrid, "1");
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/sales.wav" });
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 201);
    sim.finishComponent(ivrid);
    await ended(sim, ivrid);
    assert.deepEqual(ranComponents(sim, ivrid), [204, 204, 201]);
  });

  it("42 during the 206: the secret choice; a wrong answer three times ends on goodbye", async () => {
    sim = await startSim();
    await loadExample(sim, "08-ivr-menu.json");
    const { ivrid } = sim.placeCall({ key: "ivrmenu" });
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/menu.wav" });
    sim.finishComponent(ivrid);
    await running(sim, ivrid, 206);
    sim.pressKeys(ivrid, "42");
    await running(sim, ivrid, 204, { file: ":GS_PUB/demo/secret.wav" });

    const other = sim.placeCall({ key: "ivrmenu" });
    for (let attempt = 0; attempt < 3; attempt++) {
      await running(sim, other.ivrid, 204, { file: ":GS_PUB/demo/menu.wav" });
      sim.pressKeys(other.ivrid, "9#");
      if (attempt < 2) await running(sim, other.ivrid, 204, { file: ":GS_PUB/demo/no-match.wav" });
      if (attempt < 2) sim.finishComponent(other.ivrid);
    }
    await running(sim, other.ivrid, 204, { file: ":GS_PUB/demo/goodbye.wav" });
  });
});
