// The time of the call record's entries: read once per turn of the event loop, not once per frame or event. A busy
// connection handles dozens of frames per socket read, each recorded with its time; reading the clock costs about
// 70 ns on the benchmark's machine, a dozen times per call. Within one turn the code runs without waiting, so every
// entry it makes is stamped with the turn's start (to the millisecond the record shows, the same but for a turn that
// runs long).

import { later } from "./later";

let now = 0;
let valid = false;
const expire = (): void => {
  valid = false;
};

/** Milliseconds since the epoch, as at the first read in this turn (the next turn reads the clock again). */
export function turnNow(): number {
  if (!valid) {
    now = Date.now();
    valid = true;
    // Expired a microtask later (later.ts: the turn's one microtask, shared with the outcomes told then), before any
    // I/O: the next read is in another turn.
    later(expire, undefined);
  }
  return now;
}
