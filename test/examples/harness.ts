// Example flows under test: each examples/*.json file loaded as it ships (bound to a test simulator the way
// `npm start` binds it), with the core nodes it uses, driven by calls placed on the simulator.
import helper from "node-red-node-test-helper";
import { bindToSimulator, readFlowFile, SIM_CONNECTION_ID } from "../../scripts/userdir";
import type { SimCallInfo, Simulator } from "../../src/simulator";
import { ALL_NODES, CLIENT_SETTINGS, type FlowNode, type Msg, nextMsg, ready } from "../nodes/harness";

const core = (file: string) => require(require.resolve(`@node-red/nodes/core/${file}`));
const CORE_NODES = [
  core("common/21-debug.js"),
  core("common/25-catch.js"),
  core("common/90-comment.js"),
  core("function/10-switch.js"),
  core("function/15-change.js"),
];

/**
 * The test helper's server around every test of a suite, then the flows unloaded and the test's simulator stopped
 * (`current` reads the suite's simulator variable).
 */
export function serverPerTest(current: () => Simulator | undefined): void {
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => helper.stopServer(() => r()));
    await current()?.stop();
  });
}

export async function loadExample(sim: Simulator, file: string): Promise<FlowNode[]> {
  const flow = bindToSimulator(readFlowFile(`${__dirname}/../../examples/${file}`), sim.wsUrl) as FlowNode[];
  helper.settings(CLIENT_SETTINGS);
  await helper.load(
    [...ALL_NODES, ...CORE_NODES] as never,
    flow as never,
    {
      [SIM_CONNECTION_ID]: { token: sim.token },
    } as never,
  );
  // Calls placed before the subscription is in place would reach nobody.
  await ready(SIM_CONNECTION_ID);
  return flow;
}

/** Resolves when the call's live view satisfies `pred` (now or at a later change). */
export function waitCall(sim: Simulator, ivrid: string, pred: (c: SimCallInfo) => boolean, what: string, ms = 5000) {
  return new Promise<SimCallInfo>((resolve, reject) => {
    const now = sim.getCall(ivrid);
    if (now && pred(now)) return resolve(now);
    const timer = setTimeout(() => {
      sim.off("call", on);
      reject(new Error(`call ${ivrid}: timed out waiting for ${what}; it is ${JSON.stringify(sim.getCall(ivrid))}`));
    }, ms);
    const on = (c: SimCallInfo) => {
      if (c.ivrid !== ivrid || !pred(c)) return;
      clearTimeout(timer);
      sim.off("call", on);
      resolve(c);
    };
    sim.on("call", on);
  });
}

/** Waits until the component with `oType` (and, when given, this file or number) runs, then returns it. */
export async function running(sim: Simulator, ivrid: string, oType: number, match: Record<string, unknown> = {}) {
  const c = await waitCall(
    sim,
    ivrid,
    (c) => c.component?.oType === oType && Object.entries(match).every(([k, v]) => c.component?.data[k] === v),
    `component ${oType} ${JSON.stringify(match)}`,
  );
  return c.component;
}

/** The oTypes the call ran, in order (from its history). */
export function ranComponents(sim: Simulator, ivrid: string): number[] {
  return (sim.getCall(ivrid)?.history ?? [])
    .filter((h) => h.what === "component started")
    .map((h) => Number((h.detail as { oType?: unknown })?.oType));
}

export function ended(sim: Simulator, ivrid: string, phase: "ended" | "released" = "ended") {
  return waitCall(sim, ivrid, (c) => c.phase === phase, `phase ${phase}`);
}

export { helper, type Msg, nextMsg };
