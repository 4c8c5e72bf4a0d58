// Shared by the fault suite: a watch for crashes (uncaught exceptions, unhandled rejections), heap readings after a
// forced GC, a check that nothing polluted the built-in prototypes, and the one-line figures docs/reliability.md
// quotes.
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import type { FrameLogEntry, FrameMatch, Simulator } from "../../src/simulator";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** Heap in use after full collections (several: finalizers and weak maps free more on the second pass). */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** One line per measured figure, in a form docs/reliability.md quotes: `FIGURE <scenario> <name>: <value>`. */
export function figure(scenario: string, name: string, value: string | number): void {
  console.log(`      FIGURE ${scenario} ${name}: ${value}`);
}

/**
 * Collects uncaught exceptions and unhandled rejections while a scenario runs (mocha would report an uncaught one
 * against whatever test runs then; an unhandled rejection it would not see at all).
 */
export function watchCrashes(): { seen: unknown[]; stop(): void; assertNone(): void } {
  const seen: unknown[] = [];
  const onError = (err: unknown): void => {
    seen.push(err);
  };
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  return {
    seen,
    stop() {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    },
    assertNone() {
      assert.deepEqual(
        seen.map((e) => (e instanceof Error ? (e.stack ?? e.message) : String(e))),
        [],
        "uncaught exceptions or unhandled rejections",
      );
    },
  };
}

const PROTOTYPES = { Object: Object.prototype, Array: Array.prototype, Function: Function.prototype };

/** The own keys of the built-in prototypes, to compare before and after hostile input. */
export function prototypeKeys(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, proto] of Object.entries(PROTOTYPES)) out[name] = Reflect.ownKeys(proto).map(String).sort();
  return out;
}

export function assertNotPolluted(before: Record<string, string[]>): void {
  assert.deepEqual(prototypeKeys(), before, "a built-in prototype gained or lost keys");
  const probe: Record<string, unknown> = {};
  for (const k of ["polluted", "isAdmin", "x", "a", "oType"]) assert.equal(probe[k], undefined, `({}).${k} is set`);
}

/** Runs `fn` every `everyMs` until stopped; returns the largest value seen (memory peaks during a flood). */
export function sampleMax(fn: () => number, everyMs = 25): { stop(): number } {
  let max = fn();
  const t = setInterval(() => {
    max = Math.max(max, fn());
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(max, fn());
    },
  };
}

/** The next frame that matches, from now on (sim.waitForFrame also finds one already logged). */
export function nextFrame(sim: Simulator, match: FrameMatch, ms = 5000): Promise<FrameLogEntry> {
  return new Promise((resolve, reject) => {
    const on = (e: FrameLogEntry): void => {
      if (e.name !== match.name || (match.dir !== undefined && e.dir !== match.dir)) return;
      if (match.where && match.where(e.body) !== true) return;
      clearTimeout(timer);
      sim.off("frame", on);
      resolve(e);
    };
    const timer = setTimeout(() => {
      sim.off("frame", on);
      reject(new Error(`no new ${match.dir ?? ""} frame ${match.name} within ${ms} ms`));
    }, ms);
    sim.on("frame", on);
  });
}
