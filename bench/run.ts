// `npm run bench`: the comparative benchmark of issue 8. One lean ivrapi server (bench/server.ts, its own process)
// runs the same call script against five setups, each in its own process:
//   1 bare ws client · 2 IvrApiClient + SessionRegistry · 3 Node-RED 4 with this package's nodes ·
//   4 Node-RED 4 with the hand-rolled core-node flow an integrator would build today ·
//   5 the floor: Node-RED 4 with nodes that do what the bare client does and nothing more (bench/floor).
// A warm-up round (its first calls a few at a time: see warmUp in rounds.ts), then alternating rounds (setup order
// rotated each round); calls/s, CPU per call, the added latency the server sees per request, heap per held call and
// heap growth. Prints a summary with the targets, writes bench/results.json (quick runs: bench/results-quick.json)
// and, for a full run, docs/performance.md/.svg.
//
//   npm run bench                  full run (about a minute on a quiet machine; it waits for quiet, up to 8 s a round)
//   npm run bench -- --quick       short run (1 round, under a minute)
//   npm run bench -- --profile[=<setup>]   CPU profile of one setup's process over a 20,000-call round
//   npm run bench -- --profile --heap       where a round's allocations come from (sampling heap profile)
//   npm run bench -- --profile --snapshot   what a call in flight holds (two heap snapshots, the difference per call)
//   npm run bench -- --profile --paced      the CPU or heap profile of a paced round (components last --paced-ms)
//   npm run bench -- --count[=<setups>]     instructions per call under valgrind (steadier than time; needs valgrind),
//                                            e.g. --count=package,handrolled --ab HEAD~1 (--calls, --rounds: 2,000, 5)
//   options: --rounds N --calls N --warmup N --ramp N (0: the warm-up starts with all its calls at once)
//            --concurrency N --hold N --max-wait S --setups bare,package
//            --no-micro --no-memory --docs (render docs/ from a quick run too)
// Diagnosis (environment): BENCH_NODE_FLAGS="--trace-gc" adds node flags to the measured processes; BENCH_OUT_DIR=<dir>
// keeps each process's output there; BENCH_NR_SETTINGS="{ivrapiCalls:{recent:0}}" adds to their settings.js;
// BENCH_ALT_PKG=<dir> (a built package: package.json, dist/ with the nodes' html, locales, icons) runs that build in
// place of setup 4, an A/B of two builds in the same rounds (results go to bench/results-ab.json, never to docs/);
// BENCH_ALT_NR_SETTINGS="{ivrapiCalls:{recent:0}}" adds to that build's settings.js only (an A/B of a setting).
// `--ab <git ref>` does the same with a commit it builds itself, e.g.
//   npm run bench -- --quick --ab HEAD~3 --setups package,handrolled --calls 10000 --rounds 8 --no-memory --no-micro
// The measured processes run plain JavaScript (the package is compiled to a folder of the benchmark's own, the server
// and clients too), never under tsx, and each has an IPC probe preloaded (bench/probe.cjs) for CPU time and heap.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  median,
  medianInterval,
  RAMP_CONCURRENCY,
  REQUESTS,
  type RequestKind,
  SETUP_LABELS,
  SETUPS,
  type SetupId,
} from "./common";
import { runCount, runProfile, runSnapshot } from "./diagnose";
import { type MicroResult, runMicro } from "./micro";
import { BENCH, buildBenchProcesses, buildPackage, buildPackageAt, type Child, killAll, ROOT } from "./proc";
import { renderDocs } from "./render";
import type {
  BenchResults,
  GrowthResult,
  HeapResult,
  LatencySummary,
  RoundResult,
  SetupSummary,
  Target,
} from "./results";
import {
  heldHeap,
  latencySummary,
  MiB,
  QUIET_PCT,
  runRound,
  type Server,
  sleep,
  startServer,
  startSetup,
  summariseKinds,
  warmUp,
} from "./rounds";

// ---------------------------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
function opt(name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i] as string;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[i + 1];
}
const quick = flag("quick");
const cfg = {
  calls: Number(opt("calls") ?? (quick ? 1000 : 2000)),
  concurrency: Number(opt("concurrency") ?? 200),
  rounds: Number(opt("rounds") ?? (quick ? 1 : 5)),
  warmupCalls: Number(opt("warmup") ?? (quick ? 1000 : 2000)),
  /** Before the warm-up, each process's first calls come RAMP_CONCURRENCY at a time (see warmUp in rounds.ts). */
  rampCalls: Number(opt("ramp") ?? 1000),
  /** Calls run one at a time per setup, for the added latency without queueing. */
  unloadedCalls: Number(opt("unloaded") ?? (quick ? 100 : 300)),
  /** The paced round: components last this long, so 200 calls in flight offer far less than any setup's capacity. */
  pacedComponentMs: Number(opt("paced-ms") ?? 100),
  pacedCalls: Number(opt("paced-calls") ?? (quick ? 1000 : 2000)),
  /**
   * Paced rounds per setup (setup order rotated each round), their samples pooled: one round's p99 turns on whether a
   * major garbage collection happens to fall in it.
   */
  pacedRounds: Number(opt("paced-rounds") ?? (quick ? 1 : 3)),
  holdCalls: Number(opt("hold") ?? 10_000),
  growthCalls: (quick ? [1000, 5000] : [3000, 30_000]) as [number, number],
};
const setups = (opt("setups")?.split(",") ?? [...SETUPS]).filter((s): s is SetupId =>
  (SETUPS as readonly string[]).includes(s),
);
const withMicro = !flag("no-micro");
/** `--ab <git ref>` or BENCH_ALT_PKG: another build of the package runs as setup 4 (see the top of this file). */
const abRef = opt("ab");
const abBuild = abRef === undefined ? undefined : buildPackageAt(abRef);
const altPackage = abBuild?.dir ?? process.env.BENCH_ALT_PKG;
if (abBuild) SETUP_LABELS.handrolled = `4 package built from ${abBuild.commit}`;
else if (altPackage) SETUP_LABELS.handrolled = "4 package build of BENCH_ALT_PKG";
/** Before each round, wait up to this long for the machine to be quiet (other load under QUIET_PCT). */
const maxWaitMs = 1000 * Number(opt("max-wait") ?? (quick ? 2 : 8));
const withMemory = !flag("no-memory");
/** `--profile` (setup 3) or `--profile=<setup>`. */
const profileArg = flag("profile") ? (opt("profile") ?? "package") : opt("profile");
const profile: SetupId | undefined =
  profileArg === undefined
    ? undefined
    : (SETUPS as readonly string[]).includes(profileArg)
      ? (profileArg as SetupId)
      : "package";

/** `--count` (setup 3) or `--count=<setups>`: instructions per call under valgrind (see runCount). */
const countArg = flag("count") ? (opt("count") ?? "package") : opt("count");
const countSetups = countArg?.split(",").filter((s): s is SetupId => (SETUPS as readonly string[]).includes(s));

const TARGETS = {
  vsHandrolled: 1.5,
  vsBare: 0.8,
  p99Ms: 2,
  heldBytes: 600,
  growthPct: 5,
};

// ---------------------------------------------------------------------------------------------------------------
// Output helpers

const out = (s = "") => process.stdout.write(`${s}\n`);
const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const fmtMs = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : "-");
const mark = (pass: boolean | null) => (pass === null ? "n/a " : pass ? "PASS" : "FAIL");

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = Date.now();
  const nodeRed = (require("node-red/package.json") as { version: string }).version;
  const machine = {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    node: process.version,
    nodeRed,
    os: `${os.type()} ${os.release()}`,
    memGiB: Math.round(os.totalmem() / 1024 ** 3),
    loadAvgAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  out(
    `ivrapi benchmark${quick ? " (quick)" : ""}: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, Node-RED ${nodeRed}`,
  );
  if (!profile && !countSetups)
    out(
      `  ${cfg.calls} calls per round at ${cfg.concurrency} concurrent, ${cfg.rounds} round(s) after a warm-up (${cfg.rampCalls} calls ${RAMP_CONCURRENCY} at a time, then ${cfg.warmupCalls}); load average at start ${machine.loadAvgAtStart.join(" ")}`,
    );

  const source = sourceState();
  out(
    `  source: ${source.commit}${source.changedInSrc.length ? ` + ${source.changedInSrc.length} uncommitted file(s) in src/` : ""}`,
  );
  const build = buildPackage();
  const jsDir = buildBenchProcesses();
  const src = { jsDir, pkgDir: build.dir, altPackage };
  /** One measured round (saturated unless components last `componentMs`). */
  const measure = (
    server: Server,
    child: Child,
    s: SetupId,
    calls: number,
    concurrency = cfg.concurrency,
    componentMs = 0,
  ) => runRound(server, child, s, calls, { concurrency, componentMs, maxWaitMs });
  if (build.warnings)
    out(`  note: the build reported type errors (output still used):\n${build.warnings.slice(0, 600)}`);
  const dist = path.join(build.dir, "dist");

  if (countSetups) {
    const d = { src, warmupCalls: cfg.warmupCalls, rampCalls: cfg.rampCalls, concurrency: cfg.concurrency, maxWaitMs };
    const calls = Number(opt("calls") ?? 2000);
    const rounds = Number(opt("rounds") ?? 5);
    out(`instructions per call (valgrind), ${calls} calls per round at ${cfg.concurrency} concurrent:`);
    const counted = await runCount(d, countSetups, { calls, rounds });
    // The least and the median: a round that holds a major collection counts far more, and only some rounds do.
    out("  setup                                least        median");
    for (const c of counted) {
      const n = (v: number) => Math.round(v).toLocaleString("en-US").padStart(12);
      out(`  ${SETUP_LABELS[c.setup].padEnd(36)} ${n(Math.min(...c.perCall))}  ${n(median(c.perCall))}`);
    }
    const [a, b] = counted;
    if (a && b) {
      const ratio = (f: (v: number[]) => number) => (f(b.perCall) / f(a.perCall)).toFixed(3);
      out(`  ${b.setup} / ${a.setup}: ${ratio((v) => Math.min(...v))} (least), ${ratio(median)} (median)`);
    }
    return;
  }

  if (profile) {
    const d = { src, warmupCalls: cfg.warmupCalls, rampCalls: cfg.rampCalls, concurrency: cfg.concurrency, maxWaitMs };
    if (flag("snapshot")) return runSnapshot(d, profile);
    // `--paced`: the profiled round is paced (components last --paced-ms), as the paced latency rows are.
    const componentMs = flag("paced") ? cfg.pacedComponentMs : 0;
    return runProfile(d, profile, { calls: Number(opt("calls") ?? 20_000), heap: flag("heap"), componentMs });
  }

  let micro: MicroResult[] = [];
  if (withMicro) {
    out("\n== micro (runtime alone vs the full simulator, one process)");
    try {
      micro = await runMicro(dist, quick);
      for (const m of micro) out(`  ${m.name.padEnd(72)} ${m.text}`);
    } catch (err) {
      out(`  micro measurements failed: ${(err as Error).message}`);
    }
  }

  const server = await startServer(jsDir);
  out(`\n== starting the setups against ${server.base}/<setup>`);
  const children = new Map<SetupId, Child>();
  const broken = new Set<SetupId>();
  await Promise.all(
    setups.map(async (s) => {
      const started = Date.now();
      try {
        children.set(s, await startSetup(s, server, src));
        out(`  ${SETUP_LABELS[s].padEnd(36)} connected in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (err) {
        broken.add(s);
        out(`  ${SETUP_LABELS[s].padEnd(36)} FAILED to start; left out: ${(err as Error).message.slice(0, 1500)}`);
      }
    }),
  );
  const rounds: BenchResults["rounds"] = [];
  const pooled = new Map<SetupId, Record<RequestKind, number[]>>(
    setups.map((s) => [s, { accept: [], apply204: [], apply208: [], abort: [] }]),
  );

  const header = `  ${"setup".padEnd(36)} ${"calls/s".padStart(8)} ${"CPU µs/call".padStart(12)} ${"server µs/call (load)".padStart(22)} ${"p50/p99 ms".padStart(14)} ${"other load".padStart(10)} ${"GCs / ms".padStart(14)}`;
  for (let round = 0; round <= cfg.rounds; round++) {
    const warmup = round === 0;
    const order = setups.map((_, i) => setups[(i + Math.max(0, round - 1)) % setups.length] as SetupId);
    out(
      `\n== ${warmup ? `warm-up (${cfg.rampCalls} calls ${RAMP_CONCURRENCY} at a time, then ${cfg.warmupCalls}, each; figures of the latter)` : `round ${round}/${cfg.rounds}`}: ${order.join(" → ")}`,
    );
    out(header);
    const results: RoundResult[] = [];
    for (const s of order) {
      if (broken.has(s)) continue;
      const child = children.get(s) as Child;
      const r = warmup
        ? await warmUp(server, child, s, cfg.rampCalls, cfg.warmupCalls, { concurrency: cfg.concurrency, maxWaitMs })
        : await measure(server, child, s, cfg.calls);
      const { lat, pauses: _pauses, ...rest } = r;
      results.push(rest);
      if (!warmup) for (const k of REQUESTS) pooled.get(s)?.[k].push(...lat[k]);
      const all = latencySummary(REQUESTS.flatMap((k) => lat[k]));
      out(
        `  ${SETUP_LABELS[s].padEnd(36)} ${fmtInt(r.callsPerSec).padStart(8)} ${fmtInt(r.cpuUsPerCall).padStart(12)} ${`${fmtInt(r.serverCpuUsPerCall)} (${r.serverLoadPct.toFixed(0)}%)`.padStart(22)} ${`${fmtMs(all.p50)}/${fmtMs(all.p99)}`.padStart(14)} ${`${r.foreignCpuPct.toFixed(0)}%`.padStart(10)} ${`${r.pauses.gcCount} / ${fmtMs(r.pauses.gcMs)}`.padStart(14)}`,
      );
      if (r.errors.length) {
        out(`    errors: ${r.errors.slice(0, 3).join("; ")}`);
        if (!Number.isFinite(r.callsPerSec)) {
          broken.add(s);
          out(`    ${s} stalled; it is left out of the remaining rounds. Its output:\n${child.output().slice(-2000)}`);
        }
      }
    }
    rounds.push({ round, warmup, order, results });
  }
  // Added latency without queueing: one call at a time.
  const unloaded = new Map<SetupId, Record<RequestKind, number[]>>();
  out(`\n== unloaded latency (${cfg.unloadedCalls} calls each, one at a time)`);
  for (const s of setups) {
    if (broken.has(s)) continue;
    const r = await measure(server, children.get(s) as Child, s, cfg.unloadedCalls, 1);
    unloaded.set(s, r.lat);
    const all = latencySummary(REQUESTS.flatMap((k) => r.lat[k]));
    out(`  ${SETUP_LABELS[s].padEnd(36)} p50 ${fmtMs(all.p50)} ms, p99 ${fmtMs(all.p99)} ms`);
  }
  // Added latency at 200 concurrent without saturation: components take pacedComponentMs each.
  const paced = new Map<
    SetupId,
    {
      lat: Record<RequestKind, number[]>;
      callsPerSec: number;
      cpuUsPerCall: number;
      gc: { count: number; ms: number; maxMs: number };
    }
  >();
  const offered = Math.round((1000 * cfg.concurrency) / (2 * cfg.pacedComponentMs));
  out(
    `\n== paced latency (${cfg.pacedRounds} round(s) of ${cfg.pacedCalls} calls each, ${cfg.concurrency} in flight, components last ${cfg.pacedComponentMs} ms: at most ~${fmtInt(offered)} calls/s offered)`,
  );
  const pacedRuns = new Map<SetupId, Array<Awaited<ReturnType<typeof measure>>>>();
  for (let round = 0; round < cfg.pacedRounds; round++) {
    const order = setups.map((_, i) => setups[(i + round) % setups.length] as SetupId);
    for (const s of order) {
      if (broken.has(s)) continue;
      const r = await measure(
        server,
        children.get(s) as Child,
        s,
        cfg.pacedCalls,
        cfg.concurrency,
        cfg.pacedComponentMs,
      );
      pacedRuns.set(s, [...(pacedRuns.get(s) ?? []), r]);
      const all = latencySummary(REQUESTS.flatMap((k) => r.lat[k]));
      const g = r.pauses;
      out(
        `  ${SETUP_LABELS[s].padEnd(36)} p50 ${fmtMs(all.p50)} ms, p99 ${fmtMs(all.p99)} ms at ${fmtInt(r.callsPerSec)} calls/s, ${fmtInt(r.cpuUsPerCall)} µs CPU per call; ${g.gcCount} GCs (${fmtMs(g.gcMs)} ms, longest ${fmtMs(g.gcMaxMs)} ms)`,
      );
    }
  }
  for (const [s, runs] of pacedRuns) {
    paced.set(s, {
      lat: {
        accept: runs.flatMap((r) => r.lat.accept),
        apply204: runs.flatMap((r) => r.lat.apply204),
        apply208: runs.flatMap((r) => r.lat.apply208),
        abort: runs.flatMap((r) => r.lat.abort),
      },
      callsPerSec: median(runs.map((r) => r.callsPerSec)),
      cpuUsPerCall: median(runs.map((r) => r.cpuUsPerCall)),
      gc: {
        count: runs.reduce((a, r) => a + r.pauses.gcCount, 0),
        ms: runs.reduce((a, r) => a + r.pauses.gcMs, 0),
        maxMs: Math.max(...runs.map((r) => r.pauses.gcMaxMs)),
      },
    });
  }
  for (const [s, c] of children) {
    const logged = logOf(c);
    if (logged) out(`  ${SETUP_LABELS[s]} logged:\n${indent(logged)}`);
    await c.kill();
  }

  // Summaries per setup (measured rounds only).
  const measured = rounds.filter((r) => !r.warmup);
  const summaries: SetupSummary[] = setups.map((s) => {
    const rs = measured.flatMap((r) => r.results.filter((x) => x.setup === s));
    const cps = rs.map((x) => x.callsPerSec);
    const mean = cps.reduce((a, b) => a + b, 0) / Math.max(1, cps.length);
    const sd = Math.sqrt(cps.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, cps.length));
    const cpu = rs.map((x) => x.cpuUsPerCall);
    const lat = pooled.get(s) as Record<RequestKind, number[]>;
    const none = { accept: [], apply204: [], apply208: [], abort: [] };
    const idle = unloaded.get(s) ?? none;
    const p = paced.get(s);
    return {
      setup: s,
      label: SETUP_LABELS[s],
      callsPerSec: {
        median: median(cps),
        min: Math.min(...cps),
        max: Math.max(...cps),
        cvPct: (100 * sd) / mean,
        rounds: cps,
      },
      cpuUsPerCall: { median: median(cpu), min: Math.min(...cpu), max: Math.max(...cpu) },
      gc: { count: median(rs.map((x) => x.gcCount)), ms: median(rs.map((x) => x.gcMs)) },
      latency: summariseKinds(lat),
      latencyUnloaded: summariseKinds(idle),
      paced: {
        callsPerSec: p?.callsPerSec ?? Number.NaN,
        cpuUsPerCall: p?.cpuUsPerCall ?? Number.NaN,
        latency: summariseKinds(p?.lat ?? none),
        gc: p?.gc ?? { count: Number.NaN, ms: Number.NaN, maxMs: Number.NaN },
      },
      errors: rs.reduce((a, x) => a + x.errors.length, 0),
    };
  });
  /** a / b in calls/s per round; `cpu`: b's CPU per call over a's (calls per CPU-second), less sensitive to load. */
  const ratio = (a: SetupId, b: SetupId, cpu = false) => {
    const perRound = measured.map((r) => {
      const x = r.results.find((y) => y.setup === a);
      const y = r.results.find((z) => z.setup === b);
      if (!x || !y) return Number.NaN;
      return cpu ? y.cpuUsPerCall / x.cpuUsPerCall : x.callsPerSec / y.callsPerSec;
    });
    return { median: median(perRound), perRound };
  };

  // Memory: fresh processes, so "after N calls" counts from the start.
  const held: HeapResult[] = [];
  let growth: GrowthResult | null = null;
  if (withMemory) {
    out(`\n== memory (fresh processes; heapUsed after two full GCs)`);
    if (setups.includes("runtime")) {
      try {
        const c = await startSetup("runtime", server, src);
        await warmUp(server, c, "runtime", cfg.rampCalls, cfg.warmupCalls, { concurrency: cfg.concurrency, maxWaitMs });
        const h = await heldHeap(server, c, "runtime", cfg.holdCalls, cfg.concurrency);
        held.push(h);
        out(`  ${SETUP_LABELS.runtime.padEnd(36)} ${heapLine(h)}`);
        await c.kill();
      } catch (err) {
        out(`  ${SETUP_LABELS.runtime.padEnd(36)} memory measurement failed: ${(err as Error).message.slice(0, 1500)}`);
      }
    }
    if (setups.includes("package")) {
      try {
        const c = await startSetup("package", server, src);
        const [a, b] = cfg.growthCalls;
        // The first `a` calls include the ramp, so "after a calls" still counts every call.
        const ramp = Math.min(cfg.rampCalls, a);
        await warmUp(server, c, "package", ramp, a - ramp, { concurrency: cfg.concurrency, maxWaitMs });
        await sleep(500);
        const ha = (await c.probe(true)).mem.heapUsed / MiB;
        out(`  ${SETUP_LABELS.package.padEnd(36)} heap after ${fmtInt(a)} calls: ${ha.toFixed(2)} MiB`);
        await measure(server, c, "package", b - a);
        await sleep(500);
        const hb = (await c.probe(true)).mem.heapUsed / MiB;
        growth = { calls: [a, b], heapMiB: [ha, hb], changePct: (100 * (hb - ha)) / ha };
        out(
          `  ${SETUP_LABELS.package.padEnd(36)} heap after ${fmtInt(b)} calls: ${hb.toFixed(2)} MiB (${growth.changePct >= 0 ? "+" : ""}${growth.changePct.toFixed(1)}%)`,
        );
        const h = await heldHeap(server, c, "package", cfg.holdCalls, cfg.concurrency);
        held.push(h);
        out(`  ${SETUP_LABELS.package.padEnd(36)} ${heapLine(h)}`);
        const logged = logOf(c);
        if (logged) out(`  ${SETUP_LABELS.package} logged:\n${indent(logged)}`);
        await c.kill();
      } catch (err) {
        out(`  ${SETUP_LABELS.package.padEnd(36)} memory measurement failed: ${(err as Error).message.slice(0, 1500)}`);
      }
    }
  }
  await server.child.kill();

  // Targets and noise.
  const S = (s: SetupId) => summaries.find((x) => x.setup === s);
  const pkg = S("package");
  const vsHand = ratio("package", "handrolled");
  const vsBare = ratio("package", "bare");
  const worstP99 = pkg ? Math.max(...REQUESTS.map((k) => pkg.latency[k].p99)) : Number.NaN;
  const worstPacedP99 = pkg ? Math.max(...REQUESTS.map((k) => pkg.paced.latency[k].p99)) : Number.NaN;
  const heldPkg = held.find((h) => h.setup === "package");
  const t = (name: string, value: number, unit: string, target: string, pass: boolean): Target => ({
    name,
    value,
    unit,
    target,
    pass: Number.isFinite(value) ? pass : null,
  });
  /**
   * Saturated, the latency row is shown but not judged: with `concurrency` calls always in flight and a process always
   * busy, each request waits behind the others whatever a setup does (Little's law: the mean wait is the calls in
   * flight over the requests answered per second). No client, bare ws included, reaches 2 ms that way; the target is
   * judged on the paced rows, 200 calls in flight whose components last as real ones do.
   */
  const saturatedRow = (name: string, value: number, bare: SetupSummary | undefined): Target => {
    const row = t(name, value, "ms", `< ${TARGETS.p99Ms} (judged paced)`, false);
    row.pass = null;
    const perSec = pkg ? pkg.callsPerSec.median * REQUESTS.length : Number.NaN;
    const bareP99 = bare ? Math.max(...REQUESTS.map((k) => bare.latency[k].p99)) : Number.NaN;
    row.why =
      `Saturated, the latency is queueing: with ${cfg.concurrency} calls in flight, one request each, and ` +
      `${fmtInt(perSec)} requests/s answered, a request's round trip (server and client) takes ` +
      `${cfg.concurrency} / ${fmtInt(perSec)} = ${fmtMs((1000 * cfg.concurrency) / perSec)} ms on average (Little's law), whatever the code` +
      (Number.isFinite(bareP99) ? `; bare ws, the reference, shows ${fmtMs(bareP99)} ms p99 there` : "") +
      ". The 2 ms target is judged on the paced rows.";
    return row;
  };
  const targets: Target[] = [
    t(
      "package / hand-rolled (calls/s, median of rounds)",
      vsHand.median,
      "×",
      `≥ ${TARGETS.vsHandrolled}`,
      vsHand.median >= TARGETS.vsHandrolled,
    ),
    t(
      "package / bare ws (calls/s, median of rounds)",
      vsBare.median,
      "×",
      `≥ ${TARGETS.vsBare}`,
      vsBare.median >= TARGETS.vsBare,
    ),
    saturatedRow(
      `package p99 added latency (worst request type, ${cfg.concurrency} concurrent, saturated)`,
      worstP99,
      S("bare"),
    ),
    t(
      `package p99 added latency (worst request type, ${cfg.concurrency} concurrent, paced)`,
      worstPacedP99,
      "ms",
      `< ${TARGETS.p99Ms}`,
      worstPacedP99 < TARGETS.p99Ms,
    ),
    // The issue asks for the p99 "per request": over all requests of the round. The rows above take each request type
    // on its own and show the worst, which is stricter; both are shown.
    t(
      `package p99 added latency (all requests, ${cfg.concurrency} concurrent, paced)`,
      pkg?.paced.latency.all.p99 ?? Number.NaN,
      "ms",
      `< ${TARGETS.p99Ms}`,
      (pkg?.paced.latency.all.p99 ?? Number.NaN) < TARGETS.p99Ms,
    ),
    t(
      "package heap per held call",
      heldPkg?.bytesPerHeldCall ?? Number.NaN,
      "B",
      `≤ ${TARGETS.heldBytes}`,
      (heldPkg?.bytesPerHeldCall ?? Number.NaN) <= TARGETS.heldBytes,
    ),
    t(
      `package heap ${fmtInt(cfg.growthCalls[0])} → ${fmtInt(cfg.growthCalls[1])} calls`,
      growth?.changePct ?? Number.NaN,
      "%",
      `within ±${TARGETS.growthPct}%`,
      Math.abs(growth?.changePct ?? Number.NaN) <= TARGETS.growthPct,
    ),
  ];
  const foreign = measured.flatMap((r) => r.results.map((x) => x.foreignCpuPct));
  const noiseNotes = summaries.map(
    (s) =>
      `${s.label}: calls/s ${fmtInt(s.callsPerSec.min)}–${fmtInt(s.callsPerSec.max)} over ${s.callsPerSec.rounds.length} round(s), CV ${s.callsPerSec.cvPct.toFixed(1)}%`,
  );
  const waits = measured.flatMap((r) => r.results.map((x) => x.waitedMs));
  noiseNotes.push(
    `before each round the benchmark waited up to ${maxWaitMs / 1000} s for a quiet machine (other load < ${QUIET_PCT}%): ` +
      `${(waits.reduce((a, b) => a + b, 0) / 1000).toFixed(0)} s in all; ${waits.filter((w) => w >= maxWaitMs).length} of ${waits.length} rounds started without one`,
  );

  const results: BenchResults = {
    version: 1,
    date: new Date().toISOString(),
    quick,
    command: quick ? "npm run bench -- --quick" : "npm run bench",
    source,
    machine,
    config: { ...cfg },
    setups: summaries,
    rounds,
    ratios: {
      packageVsHandrolled: vsHand,
      packageVsBare: vsBare,
      cpuPackageVsHandrolled: ratio("package", "handrolled", true),
      cpuPackageVsBare: ratio("package", "bare", true),
      floorVsBare: ratio("floor", "bare"),
      packageVsFloor: ratio("package", "floor"),
    },
    heap: { held, growth },
    targets,
    noise: { foreignCpuPct: { median: median(foreign), max: Math.max(...foreign) }, notes: noiseNotes },
    micro,
    durationS: (Date.now() - t0) / 1000,
  };
  printSummary(results);
  const file = path.join(BENCH, altPackage ? "results-ab.json" : quick ? "results-quick.json" : "results.json");
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  formatJson(file);
  out(`\nresults: ${path.relative(process.cwd(), file)}`);
  if ((!quick || flag("docs")) && !altPackage) {
    const written = renderDocs(results);
    out(`docs: ${written.map((f) => path.relative(process.cwd(), f)).join(", ")}`);
  }
  out(`done in ${results.durationS.toFixed(0)} s`);
}

function heapLine(h: HeapResult): string {
  return `${fmtInt(h.held)} held: ${h.baseMiB.toFixed(2)} → ${h.heldMiB.toFixed(2)} MiB = ${fmtInt(h.bytesPerHeldCall)} B per held call (after release ${h.afterReleaseMiB.toFixed(2)} MiB)`;
}

function sourceState(): BenchResults["source"] {
  const git = (...args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .trim();
    } catch {
      return "";
    }
  };
  const changed = git("status", "--porcelain", "--", "src")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.slice(3));
  return { commit: git("rev-parse", "--short", "HEAD") || "unknown", changedInSrc: changed };
}

/** Lays the results file out the way the repository's formatter (Biome) wants, so `npm run lint` stays clean. */
function formatJson(file: string): void {
  try {
    execFileSync(path.join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", file], { stdio: "ignore" });
  } catch {
    // Only the layout of the file is at stake.
  }
}

/** What a setup printed (Node-RED: warnings and errors), minus the two warnings every benchmark start logs. */
function logOf(c: Child): string {
  const lines = c
    .output()
    .split("\n")
    .filter((l) => l.trim() && !/Projects disabled|Using unencrypted credentials/.test(l));
  return lines.length > 12
    ? [...lines.slice(0, 6), `… ${lines.length - 12} more lines …`, ...lines.slice(-6)].join("\n")
    : lines.join("\n");
}

function indent(s: string): string {
  return s
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}

function printSummary(r: BenchResults): void {
  out(
    `\n== summary (${r.config.rounds} round(s) of ${r.config.calls} calls, ${r.config.concurrency} concurrent; medians over rounds)`,
  );
  const pm = (l: LatencySummary) => `${fmtMs(l.p50)} / ${fmtMs(l.p99)}`;
  out(`  ${"".padEnd(36)} ${"".padStart(8)} ${"".padStart(15)} ${"".padStart(12)}   added latency p50 / p99, ms`);
  out(
    `  ${"setup".padEnd(36)} ${"calls/s".padStart(8)} ${"min–max".padStart(15)} ${"CPU µs/call".padStart(12)}   ${"saturated".padStart(13)} ${`paced ${r.config.pacedComponentMs}ms`.padStart(13)} ${"1 at a time".padStart(13)}`,
  );
  for (const s of r.setups) {
    out(
      `  ${s.label.padEnd(36)} ${fmtInt(s.callsPerSec.median).padStart(8)} ${`${fmtInt(s.callsPerSec.min)}–${fmtInt(s.callsPerSec.max)}`.padStart(15)} ${fmtInt(s.cpuUsPerCall.median).padStart(12)}   ${pm(s.latency.all).padStart(13)} ${pm(s.paced.latency.all).padStart(13)} ${pm(s.latencyUnloaded.all).padStart(13)}`,
    );
  }
  out(`  saturated p99 per request (${REQUESTS.join(" / ")}):`);
  for (const s of r.setups)
    out(`    ${s.label.padEnd(34)} ${REQUESTS.map((k) => fmtMs(s.latency[k].p99)).join(" / ")}`);
  for (const h of r.heap.held)
    out(`  heap per held call, ${SETUP_LABELS[h.setup]}: ${fmtInt(h.bytesPerHeldCall)} B (${fmtInt(h.held)} held)`);
  out("\n  targets");
  for (const t of r.targets) {
    const v = Number.isFinite(t.value)
      ? t.unit === "×"
        ? t.value.toFixed(2)
        : t.unit === "ms"
          ? fmtMs(t.value)
          : t.value.toFixed(t.unit === "%" ? 1 : 0)
      : "-";
    out(`  [${mark(t.pass)}] ${t.name.padEnd(76)} ${`${v} ${t.unit}`.padStart(11)}   target ${t.target}`);
    if (t.why) out(`         ${t.why}`);
  }
  out(
    `\n  noise: other load on the machine during rounds median ${r.noise.foreignCpuPct.median.toFixed(0)}%, max ${r.noise.foreignCpuPct.max.toFixed(0)}% of ${r.machine.cores} cores`,
  );
  for (const n of r.noise.notes) out(`    ${n}`);
  out(
    `  ratios per round: package/hand-rolled ${r.ratios.packageVsHandrolled.perRound.map((x) => x.toFixed(2)).join(" ")}; package/bare ${r.ratios.packageVsBare.perRound.map((x) => x.toFixed(2)).join(" ")}`,
  );
  out(
    `  for scale: floor/bare ${r.ratios.floorVsBare.median.toFixed(2)} (${r.ratios.floorVsBare.perRound.map((x) => x.toFixed(2)).join(" ")}); package/floor ${r.ratios.packageVsFloor.median.toFixed(2)}`,
  );
  out(
    `  the same ratios from CPU per call (calls per CPU-second; less sensitive to other load): package/hand-rolled ${r.ratios.cpuPackageVsHandrolled.median.toFixed(2)}, package/bare ${r.ratios.cpuPackageVsBare.median.toFixed(2)}`,
  );
  if (altPackage) {
    // An A/B: setup 4 is the other build. How far its median ratio can be trusted, from the spread of the rounds.
    const show = (name: string, x: { median: number; perRound: number[] }) => {
      const [lo, hi] = medianInterval(x.perRound);
      return `${name} ${x.median.toFixed(2)} (90 % interval ${lo.toFixed(2)}–${hi.toFixed(2)})`;
    };
    out(
      `  A/B, setup 3 against setup 4 (above 1: setup 3 is faster): ${show("calls/s", r.ratios.packageVsHandrolled)}, ${show("CPU per call", r.ratios.cpuPackageVsHandrolled)}`,
    );
  }
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    killAll();
    // Children are gone; IPC channels and timers must not keep the orchestrator alive.
    setTimeout(() => process.exit(), 100).unref();
  });
