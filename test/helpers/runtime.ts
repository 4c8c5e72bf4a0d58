// Shared test plumbing: a simulator on a free port, clients with fast settings, and waiting on events
// (tests wait for what happens; they never sleep and hope).
import type { EventEmitter } from "node:events";
import { IvrApiClient, type Logger } from "../../src/client";
import type { ClientOptionsInput } from "../../src/client/options";
import { SessionRegistry } from "../../src/session";
import { Simulator, type SimulatorOptions } from "../../src/simulator";

export interface Harness {
  sim: Simulator;
  clients: IvrApiClient[];
  client(overrides?: Partial<ClientOptionsInput>, logger?: Logger): IvrApiClient;
  /** A started client plus its registry, resolved once the client is ready. */
  ready(
    overrides?: Partial<ClientOptionsInput>,
    logger?: Logger,
  ): Promise<{ client: IvrApiClient; reg: SessionRegistry }>;
  close(): Promise<void>;
}

export async function harness(simOptions: SimulatorOptions = {}): Promise<Harness> {
  const sim = await Simulator.start({ manual: true, ...simOptions });
  const clients: IvrApiClient[] = [];
  const client = (overrides: Partial<ClientOptionsInput> = {}, logger?: Logger) => {
    const c = new IvrApiClient(
      {
        url: sim.wsUrl,
        token: sim.token,
        requestTimeoutMs: 2000,
        reconnectMinMs: 20,
        reconnectMaxMs: 200,
        unauthorizedRetryMs: 60_000,
        pingIntervalMs: 0,
        ...overrides,
      },
      logger,
    );
    clients.push(c);
    return c;
  };
  return {
    sim,
    clients,
    client,
    async ready(overrides, logger) {
      const c = client(overrides, logger);
      const reg = new SessionRegistry(c);
      const ready = once(c, "ready");
      c.start();
      await ready;
      return { client: c, reg };
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await sim.stop();
    },
  };
}

/** Resolves with the arguments of the next event (that passes `where`), rejects after `ms`. */
export function once<A extends unknown[]>(
  // biome-ignore lint/suspicious/noExplicitAny: any typed emitter (client, registry, simulator) will do here.
  emitter: EventEmitter<any>,
  event: string,
  where: (...args: A) => boolean = () => true,
  ms = 5000,
): Promise<A> {
  return new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    const on = (...args: unknown[]) => {
      if (!where(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args as A);
    };
    emitter.on(event, on);
  });
}

/** A logger that keeps every line, to check what a user would read (and that the token is never in it). */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (m: string) => {
    lines.push(`${level}: ${m}`);
  };
  return { lines, debug: add("debug"), info: add("info"), warn: add("warn"), error: add("error") };
}

/** The frames of one name in the simulator's log, in order. */
export function frames(sim: Simulator, name: string, dir?: "in" | "out") {
  return sim.log.filter((e) => e.name === name && (dir === undefined || e.dir === dir));
}
