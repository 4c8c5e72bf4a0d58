// The shape of bench/results.json: written by bench/run.ts, read by bench/render.ts.
import type { RequestKind, SetupId } from "./common";
import type { MicroResult } from "./micro";

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface RoundResult {
  setup: SetupId;
  calls: number;
  ms: number;
  callsPerSec: number;
  /** CPU of the setup's process (Node-RED for 3 and 4, the client for 1 and 2) per call, µs. */
  cpuUsPerCall: number;
  serverCpuUsPerCall: number;
  /** The server's CPU over the round as a share of one core: near 100% means the server, not the setup, was the limit. */
  serverLoadPct: number;
  /** CPU used by everything else on the machine during the round, as a share of all cores (noise). */
  foreignCpuPct: number;
  /** How long the round waited for a quiet machine before it started. */
  waitedMs: number;
  /** Garbage collections in the setup's process during the round (the probe's own full GCs left out). */
  gcCount: number;
  /** Their pauses added up, and the longest, ms. */
  gcMs: number;
  gcMaxMs: number;
  errors: string[];
}

export interface SetupSummary {
  setup: SetupId;
  label: string;
  callsPerSec: { median: number; min: number; max: number; cvPct: number; rounds: number[] };
  cpuUsPerCall: { median: number; min: number; max: number };
  /** Garbage collection per measured round (medians): how many, and their pauses added up (ms). */
  gc: { count: number; ms: number };
  /** Added latency at the round's concurrency (queueing included). */
  latency: Record<RequestKind | "all", LatencySummary>;
  /** Added latency with one call at a time. */
  latencyUnloaded: Record<RequestKind | "all", LatencySummary>;
  /** 200 calls in flight whose components take config.pacedComponentMs: far below capacity, so little queueing. */
  paced: {
    callsPerSec: number;
    cpuUsPerCall: number;
    latency: Record<RequestKind | "all", LatencySummary>;
    /** Garbage collections during the paced round: how many, their pauses added up and the longest (ms). */
    gc: { count: number; ms: number; maxMs: number };
  };
  errors: number;
}

export interface Target {
  name: string;
  value: number;
  unit: string;
  target: string;
  pass: boolean | null;
  /** Why a measured row is not judged (pass null), in a sentence the summary and the doc print under the targets. */
  why?: string;
}

export interface HeapResult {
  setup: SetupId;
  held: number;
  baseMiB: number;
  heldMiB: number;
  afterReleaseMiB: number;
  bytesPerHeldCall: number;
}

export interface GrowthResult {
  calls: [number, number];
  heapMiB: [number, number];
  changePct: number;
}

export interface BenchResults {
  version: 1;
  date: string;
  quick: boolean;
  command: string;
  /** What was measured: the commit, and the files of src/ that differed from it (the build is of the working tree). */
  source: { commit: string; changedInSrc: string[] };
  machine: {
    cpu: string;
    cores: number;
    node: string;
    nodeRed: string;
    os: string;
    memGiB: number;
    loadAvgAtStart: number[];
  };
  config: {
    calls: number;
    concurrency: number;
    rounds: number;
    warmupCalls: number;
    /** Calls before the warm-up, RAMP_CONCURRENCY at a time (older results files lack it: none). */
    rampCalls?: number;
    unloadedCalls: number;
    pacedComponentMs: number;
    pacedCalls: number;
    /** Paced rounds per setup, their samples pooled (older results files lack it: one round). */
    pacedRounds?: number;
    holdCalls: number;
    growthCalls: [number, number];
  };
  setups: SetupSummary[];
  rounds: Array<{ round: number; warmup: boolean; order: SetupId[]; results: RoundResult[] }>;
  ratios: {
    packageVsHandrolled: { median: number; perRound: number[] };
    packageVsBare: { median: number; perRound: number[] };
    /** From CPU per call instead of calls/s (calls per CPU-second of the measured process). */
    cpuPackageVsHandrolled: { median: number; perRound: number[] };
    cpuPackageVsBare: { median: number; perRound: number[] };
    /** The floor (Node-RED nodes that do only what the bare client does) against bare ws, and the package against it. */
    floorVsBare: { median: number; perRound: number[] };
    packageVsFloor: { median: number; perRound: number[] };
  };
  heap: { held: HeapResult[]; growth: GrowthResult | null };
  targets: Target[];
  noise: { foreignCpuPct: { median: number; max: number }; notes: string[] };
  micro: MicroResult[];
  durationS: number;
}
