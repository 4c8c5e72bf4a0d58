// The record's clock: read once per turn. Entries made in one turn share its time; the next turn reads it again.
import assert from "node:assert/strict";
import { setImmediate as turn } from "node:timers/promises";
import { turnNow } from "../../src/session/clock";

describe("the call record's clock (turnNow)", () => {
  it("gives one time within a turn, and a fresh one in the next turn", async () => {
    await turn();
    const first = turnNow();
    const spin = Date.now() + 5;
    while (Date.now() < spin) {
      // the same turn, 5 ms later
    }
    assert.equal(turnNow(), first, "the same turn reads the same time");
    await turn();
    const next = turnNow();
    assert.ok(next >= first + 5, `the next turn reads the clock again (${next - first} ms later)`);
    assert.ok(Math.abs(next - Date.now()) <= 1);
  });
});
