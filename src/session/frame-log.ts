// The frames of the call records, kept off the JavaScript heap: one ring of bytes per CallRecords, each frame written
// once as it crossed the wire (UTF-8, behind its length) and read back only when someone opens a call. A record keeps
// a frame's position, a number. Hundreds of calls in flight and the last ended ones hold their frames through every
// garbage collection: as strings, each young-generation collection copied them and each full one marked them (measured
// in bench/analysis.md); as bytes here, no collection ever looks at them. The price: when traffic writes more than the
// ring holds before a call is read, that call's oldest frames are gone, and its record says how many.
import { CLIP, clip, clipText } from "./clip";

/** Bytes of the length written before each frame. */
const HEAD = 4;

export const DEFAULT_FRAME_LOG_BYTES = 8 * 1024 * 1024;
/** The smallest ring accepted: a few calls' frames. */
export const MIN_FRAME_LOG_BYTES = 64 * 1024;

export class FrameLog {
  /** Made on the first frame: a process that records nothing reserves nothing. */
  private buf: Buffer | undefined;
  /** Bytes ever written (positions are absolute; exact as a double far past any process lifetime). */
  private head = 0;
  /** The biggest frame written as it is; a bigger one is written as a bounded copy of itself (see put). */
  private readonly maxFrame: number;

  constructor(readonly capacity: number = DEFAULT_FRAME_LOG_BYTES) {
    this.maxFrame = Math.floor(capacity / 16);
  }

  /** Writes a frame's text; returns where it lies, for get. `secret` is masked out of a frame too big to keep whole. */
  put(text: string, secret?: string): number {
    // A UTF-8 byte count is at most 3 per UTF-16 unit: the cheap bound decides where the text goes.
    if (text.length * 3 > this.maxFrame) text = shrink(text, this.maxFrame, secret);
    const cap = this.capacity;
    this.buf ??= Buffer.allocUnsafe(cap);
    let at = this.head % cap;
    if (at + HEAD + text.length * 3 > cap) {
      // No frame is split over the ring's end: the rest of this lap is left unused.
      this.head += cap - at;
      at = 0;
    }
    // UTF-8 is write's default; naming it costs an encoding lookup per frame.
    const n = this.buf.write(text, at + HEAD);
    this.buf.writeUInt32LE(n, at);
    const pos = this.head;
    this.head += HEAD + n;
    return pos;
  }

  /** The text written at pos, or undefined when later frames have overwritten it. */
  get(pos: number): string | undefined {
    const buf = this.buf;
    // A byte at absolute position p is overwritten once the ring has written past p + capacity.
    if (buf === undefined || pos < 0 || pos >= this.head || this.head - pos > this.capacity) return undefined;
    const at = pos % this.capacity;
    return buf.toString("utf8", at + HEAD, at + HEAD + buf.readUInt32LE(at));
  }
}

/**
 * A frame too big for the ring as it is (a megabyte of params): a bounded copy of its JSON (more than the record shows
 * of it), or its first characters when it does not read as JSON. Masked here: a cut could split the token, and the
 * mask on reading would no longer find it.
 */
function shrink(text: string, maxBytes: number, secret: string | undefined): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return clipText(text, secret, Math.floor(maxBytes / 3));
  }
  const out = JSON.stringify(clip(v, secret, { ...CLIP, depth: CLIP.depth + 1 }));
  return out.length * 3 > maxBytes ? out.slice(0, Math.floor(maxBytes / 3)) : out;
}
