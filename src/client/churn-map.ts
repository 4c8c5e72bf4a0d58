// A Map for entries that come and go all the time (requests in flight, calls, running components): each value sits in
// a box of its own, and the box is emptied when its entry goes.
//
// Why: when a Map rehashes (it does so every few hundred additions once deletions fill its table), V8 leaves the old
// table behind, still holding what was in it. A table that lived long enough sits in the old generation, and a
// young-generation collection treats whatever it points to as alive. So a deleted request or call, and everything
// it reaches (closures, messages, records), was copied and then promoted instead of dying young. For the runtime alone
// in the benchmark's paced round, that was most of what each collection copied (1.0 MB promoted per collection, 0.05
// MB with boxes), and such pauses set the p99 latency. With a box, an old table keeps only the emptied box (see
// docs/performance.md, "What a collection copies").

/**
 * A class, not a `{ v }` literal: V8 watches each object literal's place in the code and, once nearly all the
 * objects made there outlive a young collection, makes the next ones straight in the old generation, for the rest of
 * the process (a burst of calls starting together is enough). A dead old object keeps every young one it points to
 * alive until the next full collection, so the whole call behind it is copied and promoted. Objects made by `new` of
 * a class are never moved there early (see docs/performance.md, "Made where they die").
 */
class Box<V> {
  constructor(public v: V | undefined) {}
}

export class ChurnMap<K, V> {
  private readonly m = new Map<K, Box<V>>();

  get size(): number {
    return this.m.size;
  }

  get(key: K): V | undefined {
    return this.m.get(key)?.v;
  }

  has(key: K): boolean {
    return this.m.has(key);
  }

  set(key: K, value: V): this {
    const box = this.m.get(key);
    if (box) box.v = value;
    else this.m.set(key, new Box(value));
    return this;
  }

  delete(key: K): boolean {
    const box = this.m.get(key);
    if (!box) return false;
    box.v = undefined;
    return this.m.delete(key);
  }

  clear(): void {
    for (const box of this.m.values()) box.v = undefined;
    this.m.clear();
  }

  /** Each entry, in order, without an iterator or a pair per entry (a loop that runs every few milliseconds). */
  forEach(f: (value: V, key: K) => void): void {
    this.m.forEach((box, key) => {
      f(box.v as V, key);
    });
  }

  keys(): IterableIterator<K> {
    return this.m.keys();
  }

  *values(): IterableIterator<V> {
    for (const box of this.m.values()) yield box.v as V;
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [key, box] of this.m) yield [key, box.v as V];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
