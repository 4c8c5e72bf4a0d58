// The benchmark's diagnostic modes (`npm run bench -- --profile ...`): one setup alone, with a CPU profile, a sampling
// heap profile, or heap snapshots of the calls in flight; each prints where the time or memory went.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SetupId } from "./common";
import { summariseHeapProfile, summariseProfile, summariseSnapshots } from "./profile";
import { runRound, type SetupSources, sleep, startServer, startSetup, warmUp } from "./rounds";

/** What a diagnostic run needs: where the setups' code is, and how rounds run. */
export interface Diagnosis {
  src: SetupSources;
  warmupCalls: number;
  rampCalls: number;
  concurrency: number;
  maxWaitMs: number;
}

const out = (s = "") => process.stdout.write(`${s}\n`);
const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");

/**
 * `--profile --snapshot`: what a call in flight holds. 200 calls whose components last seconds: a heap snapshot while
 * they wait, another once they are gone; the difference by object kind, per call.
 */
export async function runSnapshot(d: Diagnosis, setup: SetupId): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ivrapi-bench-snap-"));
  const server = await startServer(d.src.jsDir);
  const c = await startSetup(setup, server, d.src);
  await warmUp(server, c, setup, d.rampCalls, d.warmupCalls, d);
  const componentMs = 4000;
  const calls = 200;
  const live = path.join(dir, "live.heapprofile");
  await c.probe(true, { action: "heap-start", live: true });
  const round = server.run({ type: "round", setup, calls: 2 * calls, concurrency: calls, componentMs });
  await sleep(2.2 * componentMs);
  // What the calls in flight hold, by where it was allocated (sampled since before the round; a full GC first).
  await c.probe(true, { action: "heap-stop", file: live });
  const busy = path.join(dir, "busy.heapsnapshot");
  await c.probe(true, { snapshot: busy });
  await round;
  await sleep(500);
  const idle = path.join(dir, "idle.heapsnapshot");
  await c.probe(true, { snapshot: idle });
  await c.kill();
  await server.child.kill();
  out(summariseSnapshots(busy, idle, calls));
  out(summariseHeapProfile(live, calls).replace("allocated", "alive (allocated since the round began)"));
}

/** `--profile`: setup 3 alone, a CPU profile (node:inspector, in the process) around one round, then where it went. */
export async function runProfile(
  d: Diagnosis,
  setup: SetupId,
  { calls, heap, componentMs = 0 }: { calls: number; heap: boolean; componentMs?: number },
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ivrapi-bench-prof-"));
  const server = await startServer(d.src.jsDir);
  const c = await startSetup(setup, server, d.src);
  await warmUp(server, c, setup, d.rampCalls, d.warmupCalls, d);
  const file = path.join(dir, `${setup}.${heap ? "heapprofile" : "cpuprofile"}`);
  await c.probe(true, { action: heap ? "heap-start" : "start" });
  const r = await runRound(server, c, setup, calls, { ...d, componentMs });
  await c.probe(false, { action: heap ? "heap-stop" : "stop", file });
  out(
    `profiled round (${fmtInt(calls)} calls): ${fmtInt(r.callsPerSec)} calls/s, ${fmtInt(r.cpuUsPerCall)} µs CPU per call (the profiler slows it)`,
  );
  await c.kill();
  await server.child.kill();
  out(heap ? summariseHeapProfile(file, calls) : summariseProfile(file, d.src.pkgDir));
  out(`(open ${file} in Chrome DevTools or speedscope for the call tree)`);
}

/**
 * `--count[=<setups>]`: instructions per call, counted by valgrind (callgrind), where timings drift too much to compare
 * (±25–40 % between rounds on a shared machine; this machine has no hardware counters for `perf`). Each setup's
 * process runs under valgrind with counting off through its warm-up, then counts over each round alone (zeroed before,
 * dumped after). What it is and is not:
 * - user-space instructions of every thread (GC helpers and the compiler too); never the kernel's, so a write per
 *   frame (the bare client, the floor) costs far more CPU than its count shows;
 * - valgrind runs one thread at a time and slows the process about 20 × (90 × while counting), so each wake-up finds
 *   more frames waiting than a native process would;
 * - steadier than time, not exact: rounds differ by 4–12 % (a round that holds a major collection counts far more),
 *   and runs of the same code by up to 10 % (each process's compiler decides for itself). Compare the least of each.
 */
export async function runCount(
  d: Diagnosis,
  setups: SetupId[],
  { calls, rounds }: { calls: number; rounds: number },
): Promise<Array<{ setup: SetupId; perCall: number[] }>> {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "pipe" });
  } catch {
    throw new Error("--count needs valgrind (Debian: apt-get install valgrind)");
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "ivrapi-bench-count-"));
  const server = await startServer(d.src.jsDir);
  const results: Array<{ setup: SetupId; perCall: number[] }> = [];
  try {
    for (const setup of setups) {
      const wrap = [
        "valgrind",
        "--tool=callgrind",
        // V8 writes the machine code it runs: valgrind must notice code that changes (all but code from files).
        "--smc-check=all-non-file",
        "--instr-atstart=no",
        `--callgrind-out-file=${path.join(dir, `${setup}.%p`)}`,
      ];
      const c = await startSetup(setup, server, d.src, { wrap, readyMs: 600_000 });
      const pid = c.proc.pid as number;
      await warmUp(server, c, setup, d.rampCalls, d.warmupCalls, { ...d, maxWaitMs: 0 });
      callgrind(pid, "--instr=on");
      const perCall: number[] = [];
      for (let r = 1; r <= rounds; r++) {
        // No forced collection first: it made rounds count twice as much, and vary more (the heap shrinks and is
        // swept again during the round).
        callgrind(pid, "--zero");
        const round = await runRound(server, c, setup, calls, { ...d, maxWaitMs: 0 });
        callgrind(pid, "--dump");
        perCall.push(lastDumpTotal(dir, setup, pid) / Math.max(1, round.calls));
        out(`  ${setup.padEnd(10)} round ${r}: ${fmtInt(perCall[perCall.length - 1] as number)} instructions per call`);
      }
      results.push({ setup, perCall });
      await c.kill();
    }
  } finally {
    await server.child.kill();
  }
  return results;
}

function callgrind(pid: number, command: string): void {
  execFileSync("callgrind_control", [command, String(pid)], { stdio: "pipe", timeout: 120_000 });
}

/** The instructions counted in the newest dump of one process (`totals:` of `<setup>.<pid>.<n>`). */
function lastDumpTotal(dir: string, setup: SetupId, pid: number): number {
  const dumps = readdirSync(dir)
    .filter((f) => f.startsWith(`${setup}.${pid}.`))
    .sort((a, b) => Number(a.split(".").pop()) - Number(b.split(".").pop()));
  const last = dumps[dumps.length - 1];
  if (!last) throw new Error(`callgrind wrote no dump for ${setup} (pid ${pid}) in ${dir}`);
  const m = /^(?:totals|summary): (\d+)/m.exec(readFileSync(path.join(dir, last), "utf8"));
  if (!m) throw new Error(`no totals in ${path.join(dir, last)}`);
  return Number(m[1]);
}
