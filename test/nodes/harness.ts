// Shared set-up of the node tests: node-red-node-test-helper over the TS node modules (through tsx), the
// simulator on loopback, and small waits on node events (never sleeps as assertions).
import type { Node } from "node-red";
import helper from "node-red-node-test-helper";
import type { ConnectionHub } from "../../src/nodes/connection/hub";
import abortNode from "../../src/nodes/ivrapi-abort";
import applyNode from "../../src/nodes/ivrapi-apply";
import connectionNode from "../../src/nodes/ivrapi-connection";
import dtmfNode from "../../src/nodes/ivrapi-dtmf";
import fileNode from "../../src/nodes/ivrapi-file";
import menuNode from "../../src/nodes/ivrapi-menu";
import startNode from "../../src/nodes/ivrapi-start";
import terminateNode from "../../src/nodes/ivrapi-terminate";
import { Simulator } from "../../src/simulator";

helper.init(require.resolve("node-red"));

export { helper };
export const ALL_NODES = [connectionNode, startNode, applyNode, terminateNode, dtmfNode, fileNode, abortNode, menuNode];

/** Fast reconnects and no keep-alive timers: the tests wait on events, and a reconnect should not take a second. */
export const CLIENT_SETTINGS = {
  ivrapiClient: { reconnectMinMs: 30, reconnectMaxMs: 120, unauthorizedRetryMs: 60, pingIntervalMs: 0 },
};

export type FlowNode = Record<string, unknown> & { id: string; type: string };
// biome-ignore lint/suspicious/noExplicitAny: messages are whatever the flow carries; tests poke at them freely.
export type Msg = Record<string, any>;
export type TestNode = Node & { hub?: ConnectionHub };

export async function startSim(opts: Parameters<typeof Simulator.start>[0] = {}): Promise<Simulator> {
  return Simulator.start({ port: 0, manual: true, acceptTimeoutMs: 20_000, ...opts });
}

/** A fresh simulator for every test, and the unload and stop that must follow each one. */
export function eachWithSimulator(set: (sim: Simulator) => void, opts: Parameters<typeof startSim>[0] = {}): void {
  let current: Simulator | undefined;
  beforeEach(async () => {
    current = await startSim(opts);
    set(current);
  });
  afterEach(async () => {
    await helper.unload();
    await current?.stop();
  });
}

/** The seven node types, as package.json registers them with Node-RED. */
export const NODE_TYPES: string[] = Object.keys(
  (require("../../package.json") as { "node-red": { nodes: Record<string, string> } })["node-red"].nodes,
);

/** An ivr start node on "conn" taking every call, wired to helpers "call" (accepted), "stopped" and "resumed". */
export function startWired(): FlowNode[] {
  return [
    {
      id: "start",
      type: "ivrapi-start",
      connection: "conn",
      key: "",
      componentName: "",
      wires: [["call"], ["stopped"], ["resumed"]],
    },
    { id: "call", type: "helper" },
    { id: "stopped", type: "helper" },
    { id: "resumed", type: "helper" },
  ];
}

export function connectionDef(sim: Simulator, extra: Record<string, unknown> = {}): FlowNode {
  return {
    id: "conn",
    type: "ivrapi-connection",
    url: sim.wsUrl,
    tokenMode: "path",
    requestTimeout: 3000,
    subscriptionTtl: 3600,
    reaccept: true,
    rejectUnauthorized: true,
    version: 1,
    ...extra,
  };
}

export function credentials(sim: Simulator, id = "conn"): Record<string, { token: string }> {
  return { [id]: { token: sim.token } };
}

/** Flow nodes go on one tab (catch nodes need one); config nodes stay global. */
export function onTab(flow: FlowNode[]): FlowNode[] {
  return [
    { id: "tab", type: "tab", label: "test" },
    // x/y make Node-RED treat them as flow nodes (catch nodes only see those).
    ...flow.map((n) => (n.type === "ivrapi-connection" || n.z ? n : { x: 0, y: 0, ...n, z: "tab" })),
  ];
}

export async function load(sim: Simulator, flow: FlowNode[], creds = credentials(sim)): Promise<void> {
  helper.settings(CLIENT_SETTINGS);
  await helper.load(ALL_NODES as never, onTab(flow) as never, creds as never);
}

export function node(id: string): TestNode {
  const n = helper.getNode(id) as TestNode | null;
  if (!n) throw new Error(`node ${id} is not in the flow`);
  return n;
}

export function hub(id = "conn"): ConnectionHub {
  const h = node(id).hub;
  if (!h) throw new Error(`${id} has no hub`);
  return h;
}

/** Resolves with the next message a helper node receives. */
export function nextMsg(id: string, timeoutMs = 4000): Promise<Msg> {
  const n = node(id);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      n.removeListener("input", on);
      reject(new Error(`no message reached ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (msg: Msg) => {
      clearTimeout(timer);
      n.removeListener("input", on);
      resolve(msg);
    };
    n.on("input", on);
  });
}

/** Collects every message a helper node receives (for "nothing else arrived" checks). */
export function collect(id: string): Msg[] {
  const seen: Msg[] = [];
  node(id).on("input", (m: Msg) => seen.push(m));
  return seen;
}

type Status = { fill?: string; shape?: string; text?: string };

/** Every status the node has shown so far (the helper spies on Node.prototype.status). */
export function statuses(id: string): Status[] {
  const n = node(id);
  const spy = n.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> };
  return spy
    .getCalls()
    .filter((c) => c.thisValue === n)
    .map((c) => c.args[0] as Status);
}

/** Resolves when the node's status satisfies the predicate: its current one, or a later one. */
export function waitStatus(id: string, pred: (s: Status) => boolean, timeoutMs = 4000): Promise<Status> {
  const current = statuses(id).at(-1);
  if (current && pred(current)) return Promise.resolve(current);
  const n = node(id) as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      n.removeListener("call:status", on);
      reject(
        new Error(`status of ${id} never matched within ${timeoutMs} ms; last: ${JSON.stringify(statuses(id).at(-1))}`),
      );
    }, timeoutMs);
    const on = (call: { args: Status[] }) => {
      const s = call.args[0];
      if (s && typeof s === "object" && pred(s)) {
        clearTimeout(timer);
        n.removeListener("call:status", on);
        resolve(s);
      }
    };
    n.on("call:status", on);
  });
}

/** Resolves once the connection is ready (subscribed), so that a call placed now reaches the nodes. */
export async function ready(id = "conn", timeoutMs = 4000): Promise<void> {
  const h = hub(id);
  if (h.client?.state === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection ${id} not ready within ${timeoutMs} ms`)), timeoutMs);
    const on = () => {
      if (h.client?.state !== "ready") return;
      clearTimeout(timer);
      h.off("link", on);
      resolve();
    };
    h.on("link", on);
  });
}

/** Resolves when the hub emits the event (for session_end, reaccepted…). */
export function hubEvent(name: string, timeoutMs = 4000, id = "conn"): Promise<unknown[]> {
  const h = hub(id) as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub event ${name} not seen within ${timeoutMs} ms`)), timeoutMs);
    h.once(name, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** Places a call and waits until the start node's accepted output reached `outId`. */
export async function placeAccepted(
  sim: Simulator,
  outId: string,
  opts: Parameters<Simulator["placeCall"]>[0] = {},
): Promise<{ ivrid: string; msg: Msg }> {
  const got = nextMsg(outId);
  const call = sim.placeCall(opts);
  const msg = await got;
  return { ivrid: call.ivrid, msg };
}
