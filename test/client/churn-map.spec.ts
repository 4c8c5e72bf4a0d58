// ChurnMap stands in for a Map where requests and calls come and go: it must behave as one (what the garbage
// collector gains from it is measured by the benchmark, not here).
import assert from "node:assert/strict";
import { ChurnMap } from "../../src/client/churn-map";

describe("ChurnMap: a Map for entries that come and go", () => {
  it("gets, sets, replaces and deletes as a Map does", () => {
    const m = new ChurnMap<string, { n: number }>();
    const a = { n: 1 };
    assert.equal(m.set("a", a), m);
    assert.equal(m.get("a"), a);
    assert.equal(m.has("a"), true);
    assert.equal(m.size, 1);
    const b = { n: 2 };
    m.set("a", b);
    assert.equal(m.get("a"), b);
    assert.equal(m.size, 1);
    assert.equal(m.delete("a"), true);
    assert.equal(m.delete("a"), false);
    assert.equal(m.get("a"), undefined);
    assert.equal(m.has("a"), false);
    assert.equal(m.size, 0);
  });

  it("keeps a key whose value is undefined", () => {
    const m = new ChurnMap<number, string | undefined>();
    m.set(1, undefined);
    assert.equal(m.has(1), true);
    assert.equal(m.size, 1);
    assert.deepEqual([...m], [[1, undefined]]);
  });

  it("iterates in insertion order, a replaced value in its first place", () => {
    const m = new ChurnMap<number, string>();
    m.set(3, "c").set(1, "a").set(2, "b").set(3, "C");
    assert.deepEqual([...m.keys()], [3, 1, 2]);
    assert.deepEqual([...m.values()], ["C", "a", "b"]);
    assert.deepEqual(
      [...m.entries()],
      [
        [3, "C"],
        [1, "a"],
        [2, "b"],
      ],
    );
    assert.deepEqual([...m], [...m.entries()]);
  });

  it("lets a loop delete what it has not reached yet, as a Map does", () => {
    const m = new ChurnMap<number, number>();
    for (let i = 0; i < 5; i++) m.set(i, i * 10);
    const seen: number[] = [];
    for (const [k, v] of m) {
      seen.push(v);
      if (k === 1) m.delete(3);
    }
    assert.deepEqual(seen, [0, 10, 20, 40]);
    const keys: number[] = [];
    for (const k of m.keys()) {
      keys.push(k);
      m.delete(k);
    }
    assert.deepEqual(keys, [0, 1, 2, 4]);
    assert.equal(m.size, 0);
  });

  it("forEach visits each entry in order, deletions and additions during it as a Map's", () => {
    const m = new ChurnMap<number, string>();
    for (let i = 0; i < 5; i++) m.set(i, `v${i}`);
    const seen: string[] = [];
    m.forEach((v, k) => {
      seen.push(`${k}=${v}`);
      // The current entry goes (as a sweep takes a request that timed out), one not reached yet goes, one comes.
      m.delete(k);
      if (k === 1) m.delete(3);
      if (k === 2) m.set(9, "new");
    });
    assert.deepEqual(seen, ["0=v0", "1=v1", "2=v2", "4=v4", "9=new"]);
    assert.equal(m.size, 0);
  });

  it("clears, and is usable after", () => {
    const m = new ChurnMap<number, object>();
    for (let i = 0; i < 1000; i++) m.set(i, {});
    for (let i = 0; i < 900; i++) m.delete(i);
    assert.equal(m.size, 100);
    m.clear();
    assert.equal(m.size, 0);
    assert.deepEqual([...m.values()], []);
    m.set(7, { x: 1 });
    assert.deepEqual(m.get(7), { x: 1 });
  });
});
