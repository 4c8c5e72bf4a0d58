// The benchmark's diagnostic modes (`npm run bench -- --profile ...`): one setup alone, with a CPU profile, a sampling
// heap profile, or heap snapshots of the calls in flight; each prints where the time or memory went.
import { mkdtempSync } from "node:fs";
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
  { calls, heap }: { calls: number; heap: boolean },
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ivrapi-bench-prof-"));
  const server = await startServer(d.src.jsDir);
  const c = await startSetup(setup, server, d.src);
  await warmUp(server, c, setup, d.rampCalls, d.warmupCalls, d);
  const file = path.join(dir, `${setup}.${heap ? "heapprofile" : "cpuprofile"}`);
  await c.probe(true, { action: heap ? "heap-start" : "start" });
  const r = await runRound(server, c, setup, calls, d);
  await c.probe(false, { action: heap ? "heap-stop" : "stop", file });
  out(
    `profiled round (${fmtInt(calls)} calls): ${fmtInt(r.callsPerSec)} calls/s, ${fmtInt(r.cpuUsPerCall)} µs CPU per call (the profiler slows it)`,
  );
  await c.kill();
  await server.child.kill();
  out(heap ? summariseHeapProfile(file, calls) : summariseProfile(file, d.src.pkgDir));
  out(`(open ${file} in Chrome DevTools or speedscope for the call tree)`);
}
