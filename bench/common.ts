// What the benchmark's processes say to each other (over Node's IPC channel), and the small statistics they share.

/** The setups, in the order the report lists them. */
export const SETUPS = ["bare", "runtime", "package", "handrolled", "floor"] as const;
export type SetupId = (typeof SETUPS)[number];

export const SETUP_LABELS: Record<SetupId, string> = {
  bare: "1 bare ws client",
  runtime: "2 IvrApiClient + SessionRegistry",
  package: "3 Node-RED + ivrapi nodes",
  handrolled: "4 Node-RED hand-rolled flow",
  floor: "5 Node-RED floor (bare ws in nodes)",
};

/** Requests of the call script, in order; each is triggered by one server frame (see server.ts). */
export const REQUESTS = ["accept", "apply204", "apply208", "abort"] as const;
export type RequestKind = (typeof REQUESTS)[number];

export const TRIGGERS: Record<RequestKind, string> = {
  accept: "notify api_start → ivrapi_accept",
  apply204: "accept_result → component_apply 204",
  apply208: "component_stopped → component_apply 208",
  abort: "component_stopped → ivrapi_abort",
};

/** Orchestrator → server. */
export type ServerCommand =
  /** `componentMs`: how long each component "runs" before its component_stopped (0: at once, the default). */
  | { type: "round"; setup: SetupId; calls: number; concurrency: number; componentMs?: number }
  | { type: "hold"; setup: SetupId; calls: number; concurrency: number }
  | { type: "release"; setup: SetupId };

/** Server → orchestrator. */
export type ServerReport =
  | { type: "listening"; port: number }
  | { type: "ready"; setup: string }
  | { type: "closed"; setup: string }
  | {
      type: "roundDone";
      setup: SetupId;
      calls: number;
      completed: number;
      ms: number;
      /** Added latency samples per request kind, ms. */
      lat: Record<RequestKind, number[]>;
      /** CPU the server itself used over the round, µs. */
      serverCpuUs: number;
      errors: string[];
      stalled: boolean;
    }
  | { type: "held"; setup: SetupId; held: number; errors: string[]; stalled: boolean }
  | { type: "released"; setup: SetupId; released: number };

/** Probe (bench/probe.cjs, preloaded into every measured process) request and answer. */
export type ProbeAction = "start" | "stop" | "heap-start" | "heap-stop";

/** What a probe may do besides reading CPU and memory (see bench/probe.cjs). */
export interface ProbeExtras {
  action?: ProbeAction;
  file?: string;
  live?: boolean;
  snapshot?: string;
}

export interface ProbeRequest {
  bench: "probe";
  id: number;
  gc: boolean;
  /** Start or stop a CPU profile or a sampling heap profile (node:inspector); `file` is where a stop writes it. */
  profile?: ProbeAction;
  file?: string;
  /** With heap-start: sample only what stays alive (not what is collected meanwhile). */
  live?: boolean;
  /** Write a heap snapshot to this file. */
  snapshot?: string;
}
export interface ProbeAnswer {
  bench: "probe";
  id: number;
  cpu: NodeJS.CpuUsage;
  mem: NodeJS.MemoryUsage;
  /** Since the previous probe: garbage collections and the event loop's delay (ms). */
  pauses: {
    gcCount: number;
    gcMs: number;
    gcMaxMs: number;
    gcOver1Ms: number;
    loopP99Ms: number;
    loopMaxMs: number;
  };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function median(values: number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Where the median of `values` lies, with `level` confidence (a percentile bootstrap): rounds on this machine drift too
 * much for one median to say whether two builds differ by less than about 10 %; the interval says how far it can be
 * trusted. Resamples with a fixed seed, so the same rounds always give the same interval.
 */
export function medianInterval(values: number[], level = 0.9, resamples = 2000): [number, number] {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2) return [Number.NaN, Number.NaN];
  let seed = 0x2545f491;
  const next = () => {
    // xorshift32: enough for resampling, and the same every run.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const medians: number[] = [];
  for (let r = 0; r < resamples; r++) {
    medians.push(median(v.map(() => v[Math.floor(next() * v.length)] as number)));
  }
  medians.sort((a, b) => a - b);
  const cut = Math.floor(((1 - level) / 2) * resamples);
  return [medians[cut] as number, medians[resamples - 1 - cut] as number];
}

/** How many calls at once a just-started process meets during its ramp, before the warm-up (see warmUp in rounds.ts). */
export const RAMP_CONCURRENCY = 10;
