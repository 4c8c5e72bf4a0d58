// Callbacks told a microtask later, one microtask for a turn's: in order, never in the caller's turn, each once,
// and one that throws fails alone (uncaught, as its own microtask would) while the others are still told.
import assert from "node:assert/strict";
import { later } from "../../src/session/later";

describe("later: callbacks a microtask later", () => {
  it("tells in order after the current code, including callbacks told while telling", async () => {
    const seen: string[] = [];
    later((v: string) => {
      seen.push(v);
      later((w: string) => seen.push(w), "c");
    }, "a");
    later((v: string) => seen.push(v), "b");
    seen.push("sync");
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(seen, ["sync", "a", "b", "c"]);
  });

  it("a callback that throws fails alone: the others are told, the error is uncaught", async () => {
    const seen: number[] = [];
    const uncaught: unknown[] = [];
    const listeners = process.listeners("uncaughtException");
    process.removeAllListeners("uncaughtException");
    process.on("uncaughtException", (err) => uncaught.push(err));
    try {
      later(() => {
        throw new Error("a bug in a waiter");
      }, 0);
      later((v: number) => seen.push(v), 1);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.removeAllListeners("uncaughtException");
      for (const l of listeners) process.on("uncaughtException", l);
    }
    assert.deepEqual(seen, [1]);
    assert.equal(uncaught.length, 1);
    assert.match(String(uncaught[0]), /a bug in a waiter/);
  });
});
