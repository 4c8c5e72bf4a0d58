// What every simulated component's plan is made of, and the readers of the values the platform sends.
import type { Engine } from "./engine";
import type { EndHow, RunningComponent } from "./types";

const DTMF_SYMBOLS = /[0-9*#A-D]/;

export interface Plan {
  duration: number;
  interrupt?: Set<string>;
  maxSymbols?: number;
  results: (how: EndHow, comp: RunningComponent) => Record<string, unknown>;
  /** The transferKey of an end that is not a terminate (default `transfer`). */
  exit?: (how: EndHow, comp: RunningComponent) => string;
  onDigit?: RunningComponent["onDigit"];
  after?: () => void;
}

export type Data = Record<string, unknown> & { oType: number };

export function duration(engine: Engine, oType: number | "default", fallback: number): number {
  if (engine.opts.manual) return Number.POSITIVE_INFINITY;
  return engine.opts.durations[oType] ?? fallback;
}

/** Accepts the platform's habit of sending numbers as strings ("10"); undefined when absent, NaN when junk. */
export function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v.trim()) : Number.NaN;
  return Number.isFinite(n) ? n : Number.NaN;
}

/** "4, 5, 6", "#", "*#" or 5 → the set of DTMF symbols named. */
export function symbols(v: unknown): Set<string> {
  const text = typeof v === "number" ? String(v) : typeof v === "string" ? v : "";
  return new Set([...text.toUpperCase()].filter((ch) => DTMF_SYMBOLS.test(ch)));
}

export function notAnswered(state: string): string | undefined {
  return state === "incoming" || state === "ringing" ? "call not answered: send a 202 SIP answer first" : undefined;
}
