// The simulator in a child process (test/fixtures/sim-process.ts), for tests that measure this process's heap:
// the runtime's memory, without the simulator's calls, frame log and socket buffers in it.
import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import type { SimulatorOptions } from "../../src/simulator";

const ROOT = path.join(__dirname, "..", "..");

export interface SimProcess {
  wsUrl: string;
  token: string;
  httpUrl: string;
  child: ChildProcess;
  /** Runs one of the child's ops (place, counts, fakeRequests, flood, phases, connections, heap). */
  call<T>(op: string, ...args: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

export async function forkSim(options: SimulatorOptions = {}): Promise<SimProcess> {
  const child = fork(path.join(ROOT, "test/fixtures/sim-process.ts"), [JSON.stringify({ manual: true, ...options })], {
    cwd: ROOT,
    execArgv: ["--require", "tsx/cjs", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  const hello = await new Promise<{ wsUrl: string; token: string; httpUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the simulator process did not start within 20 s")), 20_000);
    child.once("exit", (code) => reject(new Error(`the simulator process exited (${code}) before it was ready`)));
    child.once("message", (m: { wsUrl: string; token: string; httpUrl: string }) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
  child.on("message", (m: { id?: number; result?: unknown; error?: string }) => {
    const w = m.id === undefined ? undefined : waiting.get(m.id);
    if (!w || m.id === undefined) return;
    waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.result);
  });
  child.once("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`the simulator process exited (${code})`));
    waiting.clear();
  });
  return {
    ...hello,
    child,
    call<T>(op: string, ...args: unknown[]): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        seq += 1;
        waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id: seq, op, args });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.disconnect();
      await exited;
      clearTimeout(force);
    },
  };
}
