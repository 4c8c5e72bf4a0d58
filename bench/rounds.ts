// The benchmark's machinery (bench/run.ts and its diagnostic modes, bench/diagnose.ts): the lean server process, the
// setups started against it, one measured round, and the heap per held call.
import os from "node:os";
import path from "node:path";
import {
  type ProbeAnswer,
  percentile,
  RAMP_CONCURRENCY,
  REQUESTS,
  type RequestKind,
  type ServerCommand,
  type ServerReport,
  type SetupId,
} from "./common";
import { writeUserDir } from "./nodered";
import { BENCH, type Child, clientArgs, freePort, nodeRedArgs, scratchDir, spawnNode } from "./proc";
import type { HeapResult, LatencySummary, RoundResult } from "./results";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const MiB = 1024 * 1024;
/** A machine is quiet enough for a round when other load stays under this share of all cores (%). */
export const QUIET_PCT = 15;

/** Busy CPU of the whole machine so far, µs (from /proc/stat; USER_HZ = 100). */
export function machineBusyUs(): number {
  try {
    const line = require("node:fs").readFileSync("/proc/stat", "utf8").split("\n")[0] as string;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) * 10_000;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits (at most maxWaitMs) for a quarter second in which the machine is quiet: between rounds the benchmark's own
 * processes idle, so what is busy then is someone else (tests of other people on a shared machine).
 */
export async function waitQuiet(maxWaitMs: number): Promise<number> {
  const t0 = Date.now();
  const cores = os.cpus().length;
  while (Date.now() - t0 < maxWaitMs) {
    const b0 = machineBusyUs();
    await sleep(250);
    const busyPct = (100 * (machineBusyUs() - b0)) / (250_000 * cores);
    if (!(busyPct >= QUIET_PCT)) break;
  }
  return Date.now() - t0;
}

// The server process

export interface Server {
  child: Child;
  base: string;
  run(cmd: ServerCommand): Promise<ServerReport>;
  ready(setup: string, timeoutMs: number, child: Child): Promise<void>;
}

/** Starts the lean server (`jsDir`: the compiled server and clients, see buildBenchProcesses). */
export async function startServer(jsDir: string): Promise<Server> {
  const child = spawnNode("server", [path.join(jsDir, "bench", "server.js")]);
  const readySetups = new Set<string>();
  const readyWaiters = new Map<string, () => void>();
  let answer: ((r: ServerReport) => void) | undefined;
  let port = 0;
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bench server did not start:\n${child.output()}`)), 30_000);
    child.proc.on("message", (m: ServerReport) => {
      switch (m.type) {
        case "listening":
          port = m.port;
          clearTimeout(timer);
          resolve();
          return;
        case "ready":
          readySetups.add(m.setup);
          readyWaiters.get(m.setup)?.();
          return;
        case "closed":
          readySetups.delete(m.setup);
          return;
        default:
          answer?.(m);
      }
    });
  });
  await listening;
  return {
    child,
    base: `ws://127.0.0.1:${port}/ws/token/v1`,
    run: (cmd) =>
      new Promise<ServerReport>((resolve, reject) => {
        answer = (r) => {
          answer = undefined;
          resolve(r);
        };
        void child.exited.then(() => reject(new Error(`the bench server exited:\n${child.output()}`)));
        child.proc.send(cmd);
      }),
    ready: (setup, timeoutMs, client) =>
      new Promise<void>((resolve, reject) => {
        readySetups.delete(setup);
        const timer = setTimeout(
          () => reject(new Error(`${setup} did not connect within ${timeoutMs} ms:\n${client.output()}`)),
          timeoutMs,
        );
        readyWaiters.set(setup, () => {
          clearTimeout(timer);
          readyWaiters.delete(setup);
          resolve();
        });
        void client.exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${setup} exited (${code}) before connecting:\n${client.output()}`));
        });
      }),
  };
}

// The setups

let userDirs = 0;

/** Where a setup's code is: the compiled clients, the package build, and (BENCH_ALT_PKG) another build for setup 4. */
export interface SetupSources {
  jsDir: string;
  pkgDir: string;
  altPackage?: string | undefined;
}

/**
 * How a setup's process starts: `wrap`, a command it runs under (valgrind, for `--count`); `readyMs`, how long it may
 * take to connect (a process under valgrind starts far slower).
 */
export interface Launch {
  wrap?: string[];
  readyMs?: number;
}

export async function startSetup(
  setup: SetupId,
  server: Server,
  src: SetupSources,
  launch: Launch = {},
): Promise<Child> {
  const { jsDir, pkgDir, altPackage } = src;
  const wrap = launch.wrap ?? [];
  const dist = path.join(pkgDir, "dist");
  const env = { BENCH_BASE: server.base, BENCH_TOKEN: setup, IVRAPI_DIST: dist };
  let child: Child;
  if (setup === "bare" || setup === "runtime") {
    child = spawnNode(setup, clientArgs(path.join(jsDir, "bench", "clients", `${setup}.js`)), env, undefined, wrap);
  } else {
    const userDir = scratchDir(`${setup}-${++userDirs}`);
    writeUserDir(
      {
        userDir,
        port: await freePort(),
        base: server.base,
        ...(setup === "package"
          ? { packageDir: pkgDir }
          : setup === "floor"
            ? { packageDir: path.join(BENCH, "floor") }
            : {}),
        ...(setup === "handrolled" && altPackage
          ? { packageDir: altPackage, token: setup, extraSettings: process.env.BENCH_ALT_NR_SETTINGS }
          : {}),
      },
      setup === "handrolled" && altPackage ? "package" : setup,
    );
    child = spawnNode(setup, nodeRedArgs(userDir), {}, userDir, wrap);
  }
  await server.ready(setup, launch.readyMs ?? 90_000, child);
  return child;
}

/** How a round runs: calls in flight, how long components last (0: they stop at once), how long to wait for quiet. */
export interface RoundOptions {
  concurrency: number;
  componentMs?: number;
  maxWaitMs: number;
}

/**
 * Brings a just-started process to the state of one in service: `ramp` calls RAMP_CONCURRENCY at a time, then `calls`
 * at the round's concurrency. A process in service met its first calls as they came, not 200 at once, and that
 * matters for the rest of its life: V8 decides once per object literal in the code (Node-RED's own per-msg objects
 * included), from the first few hundred objects made there, whether to make its next ones straight in the old
 * generation. If nearly all are still alive at that first young collection, as when 200 calls start at once in a
 * fresh process, it says yes for good, and the dead ones then keep each msg they point to alive until a full
 * collection. Measured (bench/analysis.md): the package's Node-RED then cost 30-40 µs more per call, for the whole run,
 * in about two runs of three. `--ramp 0` starts with the burst.
 */
export async function warmUp(
  server: Server,
  child: Child,
  setup: SetupId,
  ramp: number,
  calls: number,
  o: RoundOptions,
): ReturnType<typeof runRound> {
  const slow = { ...o, componentMs: 0, concurrency: Math.min(RAMP_CONCURRENCY, o.concurrency) };
  // A warm-up all ramp (the quick run's first 1,000 calls of the memory section) is one round.
  if (calls <= 0) return runRound(server, child, setup, ramp, slow);
  if (ramp > 0) await runRound(server, child, setup, ramp, slow);
  return runRound(server, child, setup, calls, o);
}

export async function runRound(
  server: Server,
  child: Child,
  setup: SetupId,
  calls: number,
  o: RoundOptions,
): Promise<RoundResult & { lat: Record<RequestKind, number[]>; pauses: ProbeAnswer["pauses"] }> {
  const { concurrency, componentMs = 0 } = o;
  await sleep(200); // let the previous round's last frames drain everywhere
  const waitedMs = await waitQuiet(o.maxWaitMs);
  // No forced collection before a timed round: two full GCs shrink V8's young generation, and the round then pays for
  // growing it again (it doubled the CPU per call of the Node-RED setups in 2,000-call rounds, and did little to the
  // plain clients). A process in service never sees one; heap readings (heldHeap, growth) still force them.
  const before = await child.probe(false);
  const busy0 = machineBusyUs();
  const r = await server.run({ type: "round", setup, calls, concurrency, componentMs });
  const busy1 = machineBusyUs();
  const after = await child.probe(false);
  if (r.type !== "roundDone") throw new Error(`unexpected answer from the server: ${r.type}`);
  const clientUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
  const wallUs = r.ms * 1000;
  const foreign = busy1 - busy0 - clientUs - r.serverCpuUs;
  const errors = [...r.errors];
  if (r.completed < calls) errors.unshift(`only ${r.completed} of ${calls} calls completed`);
  return {
    setup,
    calls: r.completed,
    ms: r.ms,
    callsPerSec: r.stalled ? Number.NaN : r.completed / (r.ms / 1000),
    cpuUsPerCall: clientUs / Math.max(1, r.completed),
    serverCpuUsPerCall: r.serverCpuUs / Math.max(1, r.completed),
    serverLoadPct: (100 * r.serverCpuUs) / wallUs,
    foreignCpuPct: Math.max(0, (100 * foreign) / (wallUs * os.cpus().length)),
    errors,
    waitedMs,
    gcCount: after.pauses.gcCount,
    gcMs: after.pauses.gcMs,
    gcMaxMs: after.pauses.gcMaxMs,
    lat: r.lat,
    pauses: after.pauses,
  };
}

export function summariseKinds(lat: Record<RequestKind, number[]>): Record<RequestKind | "all", LatencySummary> {
  return {
    accept: latencySummary(lat.accept),
    apply204: latencySummary(lat.apply204),
    apply208: latencySummary(lat.apply208),
    abort: latencySummary(lat.abort),
    all: latencySummary(REQUESTS.flatMap((k) => lat[k])),
  };
}

export function latencySummary(samples: number[]): LatencySummary {
  const s = Float64Array.from(samples).sort();
  return {
    n: s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s.length ? (s[s.length - 1] as number) : Number.NaN,
  };
}

/** Heap per held call: `n` calls accepted and left waiting (`concurrency` offered at a time), then released. */
export async function heldHeap(
  server: Server,
  child: Child,
  setup: SetupId,
  n: number,
  concurrency: number,
): Promise<HeapResult> {
  await sleep(300);
  const base = await child.probe(true);
  const r = await server.run({ type: "hold", setup, calls: n, concurrency });
  if (r.type !== "held" || r.stalled)
    throw new Error(`${setup}: holding ${n} calls failed: ${JSON.stringify(r).slice(0, 500)}`);
  await sleep(500); // the last accept answers reach the client
  const held = await child.probe(true);
  const rel = await server.run({ type: "release", setup });
  if (rel.type !== "released") throw new Error(`${setup}: release failed`);
  await sleep(1000);
  const after = await child.probe(true);
  return {
    setup,
    held: r.held,
    baseMiB: base.mem.heapUsed / MiB,
    heldMiB: held.mem.heapUsed / MiB,
    afterReleaseMiB: after.mem.heapUsed / MiB,
    bytesPerHeldCall: (held.mem.heapUsed - base.mem.heapUsed) / r.held,
  };
}
