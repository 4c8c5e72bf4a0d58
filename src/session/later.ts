// Callbacks told a microtask later, as a promise's reactions would be, but all of a turn's in one microtask: a
// closure and a microtask per callback (two applies per call, each told once) were most of what telling them cost.

type Told = (v: never) => void;

const fns: Array<Told | undefined> = [];
const values: unknown[] = [];
let scheduled = false;
const SETTLED = Promise.resolve();

function drain(): void {
  // Callbacks told while this runs are appended and run in this same pass, in order.
  for (let i = 0; i < fns.length; i++) {
    const f = fns[i] as (v: unknown) => void;
    const v = values[i];
    fns[i] = undefined;
    values[i] = undefined;
    try {
      f(v);
    } catch (err) {
      // A callback must not throw; one that does fails alone, as its own microtask would have (uncaught), and the
      // others are still told.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
  fns.length = 0;
  values.length = 0;
  scheduled = false;
}

/** Calls `f(v)` a microtask later (after the current code and the microtasks queued before it). */
export function later<T>(f: (v: T) => void, v: T): void {
  fns.push(f as Told);
  values.push(v);
  if (!scheduled) {
    scheduled = true;
    // A reaction to a settled promise: the same queue as queueMicrotask, without the async resource and bound function
    // Node makes for each of those. drain never throws (it catches each callback's throw).
    SETTLED.then(drain);
  }
}
