// The time of the call record's entries: read once per turn of the event loop, not once per frame or event. A busy
// connection handles dozens of frames per socket read, each recorded with its time; reading the clock costs about
// 70 ns on the benchmark's machine, a dozen times per call. Within one turn the code runs without waiting, so every
// entry it makes is stamped with the turn's start (to the millisecond the record shows, the same but for a turn that
// runs long).

/** Settled once: each turn's expiry is a reaction to it. */
const SETTLED = Promise.resolve();
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
    // Microtasks run when the current callback (a socket read, a timer) returns, before any I/O: the next read is
    // in another turn. A reaction to a settled promise, not queueMicrotask: Node makes an async resource and a bound
    // function for each of those (most of what a paced call's turns allocated here).
    SETTLED.then(expire);
  }
  return now;
}
