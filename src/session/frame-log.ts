// The frames of the call records, kept off the JavaScript heap. Each frame is written once as it crossed the wire: its
// text (UTF-8) into a ring of bytes, and an entry (where its text lies and how long it is, when, the call's frame before
// it; which way and its name) into a ring of typed arrays. A call's frames form a chain through their entries, so a
// record holds one number, its last frame. Hundreds of calls in flight and the last ended ones hold their frames
// through every garbage collection: as strings and arrays, each young-generation collection copied them and each full
// one marked them (measured in bench/analysis.md); here no collection ever looks at them. The price: when traffic
// writes more than the rings hold before a call is read, that call's oldest frames are gone, and its record says how
// many.
import { CLIP, clip, clipText } from "./clip";

/** What a text too big to keep whole keeps of its JSON (see shrink): more than any reader shows. */
const SHRINK = { ...CLIP, depth: CLIP.depth + 3, keys: 64, items: 32, chars: 1000 };

export const DEFAULT_FRAME_LOG_BYTES = 8 * 1024 * 1024;
/** The smallest ring accepted: a few calls' frames. */
export const MIN_FRAME_LOG_BYTES = 64 * 1024;
/** Bytes of the text ring per entry: the frames of the everyday call average about 100 bytes. */
const BYTES_PER_ENTRY = 96;

/** A frame as read back. */
export interface LoggedFrame {
  t: number;
  dir: "in" | "out";
  name: string;
  text: string;
  /** False when the text was too big to keep whole: a bounded copy of it (see shrink). */
  whole: boolean;
}

/** Frame names as small numbers (they are the protocol's own constants, a few dozen at most). */
const nameCodes = new Map<string, number>();
const names: string[] = [];
function nameCode(name: string): number {
  let c = nameCodes.get(name);
  if (c === undefined) {
    c = names.length;
    names.push(name);
    nameCodes.set(name, c);
  }
  return c;
}

export class FrameLog {
  /** Made on the first frame: a process that records nothing reserves nothing. */
  private rings: Rings | undefined;
  /** Bytes ever written to the text ring (positions are absolute; exact as doubles far past any process lifetime). */
  private head = 0;
  /** Frames ever written: a frame's number (its entry is number % entries while it lasts). */
  private count = 0;
  /** The number of the first frame the current rings hold (frames written before a resize are gone). */
  private first = 0;
  private _capacity = 0;
  /** The biggest text written as it is; a bigger one is written as a bounded copy of itself (see put). */
  private maxText = 0;
  private entries = 0;

  constructor(capacity: number = DEFAULT_FRAME_LOG_BYTES) {
    this.resize(capacity);
  }

  /** Bytes of the text ring (the entries take about 3/8 more). */
  get capacity(): number {
    return this._capacity;
  }

  /**
   * Starts over with rings of another size: what was written is gone. Frames go on being numbered from where they
   * were, so a number kept from before never names a frame of the new rings.
   */
  resize(capacity: number): void {
    this._capacity = capacity;
    this.maxText = Math.floor(capacity / 16);
    this.entries = Math.floor(capacity / BYTES_PER_ENTRY);
    this.rings = undefined;
    this.first = this.count;
  }

  /**
   * Writes a frame; returns its number, for the next frame of the same call (`prev`) and for read. `secret` is masked
   * out of a text too big to keep whole. `wire`: the same text as UTF-8 bytes, when the caller has them (a frame as
   * it came in): copied, which costs a fraction of encoding the text again.
   */
  put(t: number, dir: "in" | "out", name: string, text: string, prev = -1, secret?: string, wire?: Buffer): number {
    // A UTF-8 byte count is at most 3 per UTF-16 unit: without the bytes, the cheap bound decides where the text goes.
    let size = wire === undefined ? text.length * 3 : wire.length;
    const whole = size <= this.maxText;
    if (!whole) {
      text = shrink(text, this.maxText, secret);
      wire = undefined;
      size = text.length * 3;
    }
    this.rings ??= makeRings(this.capacity, this.entries);
    const r = this.rings;
    const cap = this.capacity;
    let at = this.head % cap;
    if (at + size > cap) {
      // No text is split over the ring's end: the rest of this lap is left unused.
      this.head += cap - at;
      at = 0;
    }
    // UTF-8 is write's default; naming it costs an encoding lookup per frame.
    const n = wire === undefined ? r.bytes.write(text, at) : wire.copy(r.bytes, at);
    const seq = this.count++;
    const e = seq % this.entries;
    // One entry's numbers side by side (one place in memory per frame, not one per array).
    const i = e * STRIDE;
    const ent = r.ent;
    ent[i] = this.head;
    ent[i + 1] = n;
    ent[i + 2] = t;
    ent[i + 3] = prev;
    r.code[e] = nameCode(name) * 4 + (whole ? 0 : 2) + (dir === "in" ? 0 : 1);
    this.head += n;
    return seq;
  }

  /** Frame `seq`, or undefined when later frames have taken its place. */
  get(seq: number): LoggedFrame | undefined {
    const r = this.rings;
    if (r === undefined || !this.has(r, seq)) return undefined;
    const e = seq % this.entries;
    const code = r.code[e] as number;
    const i = e * STRIDE;
    const pos = r.ent[i] as number;
    const at = pos % this.capacity;
    return {
      t: r.ent[i + 2] as number,
      dir: code % 2 === 0 ? "in" : "out",
      name: names[code >> 2] as string,
      text: r.bytes.toString("utf8", at, at + (r.ent[i + 1] as number)),
      whole: (code & 2) === 0,
    };
  }

  /** Whether frame `seq` is still here, its text whole (nothing is read). */
  isWhole(seq: number): boolean {
    const r = this.rings;
    return r !== undefined && this.has(r, seq) && ((r.code[seq % this.entries] as number) & 2) === 0;
  }

  /** The text of frame `seq`, or undefined when it is gone. */
  text(seq: number): string | undefined {
    return this.get(seq)?.text;
  }

  /** The newest `max` frames of the chain ending at `last`, oldest first (fewer when older ones are gone). */
  chain(last: number, max: number): LoggedFrame[] {
    const out: LoggedFrame[] = [];
    const r = this.rings;
    for (let s = last; r !== undefined && out.length < max && this.has(r, s); s = this.prevOf(r, s)) {
      out.push(this.get(s) as LoggedFrame);
    }
    return out.reverse();
  }

  /** How many frames (at most `max`) of the chain ending at `last` are still here; nothing is read. */
  length(last: number, max: number): number {
    const r = this.rings;
    let n = 0;
    for (let s = last; r !== undefined && n < max && this.has(r, s); s = this.prevOf(r, s)) n++;
    return n;
  }

  private prevOf(r: Rings, seq: number): number {
    return r.ent[(seq % this.entries) * STRIDE + 3] as number;
  }

  private has(r: Rings, seq: number): boolean {
    // Written to these rings (not before a resize, not yet), its entry not taken by a later frame, and its text still
    // in the byte ring: a byte at absolute position p is overwritten once the ring has written past p + capacity.
    if (seq < this.first || seq >= this.count || this.count - seq > this.entries) return false;
    return this.head - (r.ent[(seq % this.entries) * STRIDE] as number) <= this.capacity;
  }
}

/** Numbers per entry in `ent`: where its text starts (absolute), its length in bytes, when, the call's frame before. */
const STRIDE = 4;

interface Rings {
  bytes: Buffer;
  ent: Float64Array;
  /** Its name's code, times 4, plus 2 when its text is a bounded copy, plus 1 when it went out. */
  code: Int32Array;
}

function makeRings(capacity: number, entries: number): Rings {
  return {
    bytes: Buffer.allocUnsafe(capacity),
    // Zeros, as made: memory the system gives as the rings fill, not up front.
    ent: new Float64Array(entries * STRIDE),
    code: new Int32Array(entries),
  };
}

/**
 * A text too big for the ring as it is (a megabyte of params): a bounded copy of its JSON, or its first characters when
 * it does not read as JSON. Masked here: a cut could split the token, and the mask on reading would no longer find it.
 * The copy keeps more (levels, keys, items, characters) than a record shows of a frame, so what a record shows of it
 * is the same, except the counts of what was left out ("+N keys") where this copy already left some out.
 */
function shrink(text: string, maxBytes: number, secret: string | undefined): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return clipText(text, secret, Math.floor(maxBytes / 3));
  }
  const out = JSON.stringify(clip(v, secret, SHRINK));
  return out.length * 3 > maxBytes ? out.slice(0, Math.floor(maxBytes / 3)) : out;
}
