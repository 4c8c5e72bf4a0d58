// One call's record: what happened to it (a bounded timeline) and the frames exchanged for it (bounded, masked), for
// an integrator asking "why did this caller hear silence?". Fed by CallRecords (call-records.ts); no Node-RED here.
import { CLIP, type ClipLimits, clip, clipText } from "./clip";
import type { FrameLog } from "./frame-log";
import { type ComponentSummary, summarizeComponent } from "./summary";

/** Limits of one record. */
export interface RecordLimits {
  /** Timeline entries kept per call (the first, the accept, always; then the newest). */
  entries: number;
  /** Frames kept per call, the newest (0 = none). */
  frames: number;
}

interface Entry {
  /** When (ms epoch). */
  t: number;
}

export interface AcceptEntry extends Entry {
  kind: "accept";
  state?: string;
  /** api_start's params text, cut short. */
  params: string;
}

export interface ComponentEntry extends Entry {
  kind: "component";
  oId: number | string;
  oType: number;
  summary: ComponentSummary;
  /** The id of the node that applied it, when the runtime knows it. */
  source?: string;
  /** When it ended (ms epoch), its exit, results and how long it ran. */
  end?: number;
  transferKey?: string;
  results?: unknown;
  /**
   * Inside the record only (never in a detail): the stop event the results came in, its number in the frame log. The
   * results are read from it when the record is read, so they are the platform's, whatever a flow later does with
   * msg.payload (the same object), and keeping them costs a number.
   */
  resultsAt?: number;
  /**
   * Inside the record only: the results as shown (a bounded copy, made before any flow sees them), when the frame log
   * does not hold their stop event whole (frames not kept, or a stop event too big for it).
   */
  resultsKept?: unknown;
  durationMs?: number;
  timedOut?: boolean;
  /** It never ran or its end was never reported: the error code (see the error entry beside it). */
  error?: string;
}

export interface DtmfEntry extends Entry {
  kind: "dtmf";
  digit: string;
}

export interface ErrorEntry extends Entry {
  kind: "error";
  code: string;
  request: string;
  /** The error's text, token masked, cut short. */
  message: string;
  serverCode?: string;
}

export interface ReacceptEntry extends Entry {
  kind: "reaccept";
  /** `reconnect` (the socket came back) or `deploy` (a changed connection took the call over). */
  why: string;
}

export interface ResumedEntry extends Entry {
  kind: "resumed";
  why: string;
  lastTransferKey?: string;
}

export interface StopEntry extends Entry {
  kind: "stop";
  reason: string;
}

export type TimelineEntry =
  | AcceptEntry
  | ComponentEntry
  | DtmfEntry
  | ErrorEntry
  | ReacceptEntry
  | ResumedEntry
  | StopEntry;

export interface FrameEntry {
  t: number;
  dir: "in" | "out";
  name: string;
  /** A bounded copy (see clip.ts), token masked. */
  body: unknown;
}

/** A call in the list: who, where, since when, what runs now. */
export interface CallSummary {
  ivrid: string;
  key: string;
  connection: string;
  connectionName?: string;
  live: boolean;
  startedAt: number;
  endedAt?: number;
  reason?: string;
  state?: string;
  componentname?: string;
  /** The component running now. */
  running?: { oType: number; summary: ComponentSummary; since: number };
  lastTransferKey?: string;
  components: number;
  /** The last keys pressed (up to 32). */
  digits: string;
  errors: number;
}

export interface CallDetail extends CallSummary {
  timeline: TimelineEntry[];
  /** Timeline entries dropped to keep the record bounded (the oldest after the accept). */
  entriesDropped: number;
  frames: FrameEntry[];
  framesDropped: number;
}

/** Bounds of what one frame keeps: frames are the biggest part of a record. */
const FRAME_CLIP: ClipLimits = { ...CLIP, depth: 3, keys: 12, items: 6, chars: 160 };
const PARAMS_CHARS = 400;
const MESSAGE_CHARS = 300;
const DIGITS_KEPT = 32;

export class CallRecord {
  live = true;
  endedAt: number | undefined;
  reason: string | undefined;
  readonly timeline: TimelineEntry[] = [];
  entriesDropped = 0;
  /**
   * The call's frames are in the frame log (off the heap), chained from the last: the record keeps its number and how
   * many there were. They are read (parsed, bounded, masked) only when someone asks.
   */
  private lastFrame = -1;
  private frameCount = 0;
  /** The component running now. */
  open: ComponentEntry | undefined;
  components = 0;
  errors = 0;
  digits = "";
  lastTransferKey: string | undefined;

  constructor(
    readonly ivrid: string,
    readonly key: string,
    /** The connection (node id) that holds it, its name, and the registry object that feeds it. */
    public connection: string,
    public connectionName: string | undefined,
    public owner: object,
    readonly startedAt: number,
    readonly state: string | undefined,
    readonly componentname: string | undefined,
    private readonly limits: RecordLimits,
    private readonly secret: string | undefined,
    /** Where the frames' texts go (shared by the records of a CallRecords). */
    private readonly log: FrameLog,
  ) {}

  // The entries every call makes (accept, component, stop) are built from `{}`, not written as literals: a record
  // lives as long as its call and beyond, and V8 makes the next objects of a literal whose objects mostly outlive a
  // young collection straight in the old generation, where dead ones keep what they point to alive until a full
  // collection (see ChurnMap's Box). Same plain objects, same properties in the same order.
  accepted(t: number, paramsRaw: string): void {
    const e = {} as AcceptEntry;
    e.t = t;
    e.kind = "accept";
    // Kept as it came (the call's own text); cut and masked when read (detail).
    e.params = paramsRaw;
    if (this.state !== undefined) e.state = this.state;
    this.add(e);
  }

  componentStarted(t: number, oId: number | string, data: Record<string, unknown>, source?: string): ComponentEntry {
    const e = {} as ComponentEntry;
    e.t = t;
    e.kind = "component";
    e.oId = oId;
    e.oType = Number(data.oType);
    e.summary = summarizeComponent(data);
    if (source !== undefined) e.source = source;
    this.open = e;
    this.components++;
    this.add(e);
    return e;
  }

  componentStopped(
    t: number,
    oId: number | string,
    data: Record<string, unknown>,
    transferKey: string,
    results: Record<string, unknown>,
    timedOut: boolean,
    /** The stop event's number in the frame log, when it is there. */
    stop?: number,
  ): void {
    // A component started before this record (taken over after a deploy) gets its entry now.
    const e = this.component(oId) ?? this.componentStarted(t, oId, data);
    e.end = t;
    e.transferKey = transferKey.length > 64 ? `${transferKey.slice(0, 64)}…` : transferKey;
    e.durationMs = t - e.t;
    if (timedOut) e.timedOut = true;
    // The results as they came: read from the stop event in the frame log when the record is read (bounded and masked
    // then), else a bounded copy made now.
    for (const _ in results) {
      if (stop !== undefined && this.log.isWhole(stop)) e.resultsAt = stop;
      else e.resultsKept = clip(results, this.secret);
      break;
    }
    if (this.open === e) this.open = undefined;
    this.lastTransferKey = e.transferKey;
  }

  dtmf(t: number, digit: string): void {
    const d = digit.slice(0, 16);
    this.digits = (this.digits + d).slice(-DIGITS_KEPT);
    this.add({ t, kind: "dtmf", digit: d });
  }

  failed(t: number, request: string, code: string, message: string, serverCode?: string): void {
    const e: ErrorEntry = { t, kind: "error", code, request, message: clipText(message, this.secret, MESSAGE_CHARS) };
    if (serverCode !== undefined) e.serverCode = clipText(serverCode, this.secret, 64);
    this.errors++;
    // The server refused the apply, or the component ended unseen: the component entry says so too.
    const o = this.open;
    if (request === "ivrapi_component_apply" && o && (code === "rejected" || code === "component_lost")) {
      o.end = t;
      o.durationMs = t - o.t;
      o.error = code;
      this.open = undefined;
    }
    this.add(e);
  }

  note(e: ReacceptEntry | ResumedEntry): void {
    this.add(e);
  }

  ended(t: number, reason: string): void {
    this.live = false;
    this.endedAt = t;
    this.reason = reason;
    const e = {} as StopEntry;
    e.t = t;
    e.kind = "stop";
    e.reason = reason;
    this.add(e);
  }

  /**
   * A frame of this call, as it crossed the wire: written to the frame log; parsing, bounds and masking happen when the
   * record is read, not on the call path. Returns its number in the log (-1: frames are not kept).
   */
  frame(t: number, dir: "in" | "out", name: string, text: string, wire?: Buffer): number {
    if (this.limits.frames <= 0) return -1;
    this.lastFrame = this.log.put(t, dir, name, text, this.lastFrame, this.secret, wire);
    this.frameCount++;
    return this.lastFrame;
  }

  /** The frames written for the call before it had a record (the chain ending at `last`, `count` of them). */
  adoptFrames(last: number, count: number): void {
    this.lastFrame = last;
    this.frameCount = count;
  }

  summary(): CallSummary {
    const s: CallSummary = {
      ivrid: this.ivrid,
      key: this.key,
      connection: this.connection,
      live: this.live,
      startedAt: this.startedAt,
      components: this.components,
      digits: this.digits,
      errors: this.errors,
    };
    if (this.connectionName) s.connectionName = this.connectionName;
    if (this.endedAt !== undefined) s.endedAt = this.endedAt;
    if (this.reason !== undefined) s.reason = this.reason;
    if (this.state !== undefined) s.state = this.state;
    if (this.componentname !== undefined) s.componentname = this.componentname;
    if (this.lastTransferKey !== undefined) s.lastTransferKey = this.lastTransferKey;
    const o = this.open;
    if (o && this.live) s.running = { oType: o.oType, summary: o.summary, since: o.t };
    return s;
  }

  /**
   * The whole record as served: what was kept by reference or in the frame log is copied now, bounded, the token
   * masked. Frames the log no longer holds count as dropped; results it no longer holds are left out.
   */
  detail(): CallDetail {
    const secret = this.secret;
    const timeline = this.timeline.map((e): TimelineEntry => {
      if (e.kind === "accept") return { ...e, params: clipText(e.params, secret, PARAMS_CHARS) };
      if (e.kind === "component") {
        const { resultsAt, resultsKept, ...out } = e;
        if (e.transferKey !== undefined) out.transferKey = clipText(e.transferKey, secret, 64);
        const stopText = resultsAt === undefined ? undefined : this.log.text(resultsAt);
        if (stopText !== undefined) out.results = clip(resultsOf(stopText), secret);
        else if (resultsKept !== undefined) out.results = resultsKept;
        return out;
      }
      if (e.kind === "dtmf") return { ...e, digit: clipText(e.digit, secret, 16) };
      return e;
    });
    const frames = this.keptFrames(secret);
    return {
      ...this.summary(),
      timeline,
      entriesDropped: this.entriesDropped,
      frames,
      framesDropped: this.frameCount - frames.length,
    };
  }

  /** The newest frames (at most limits.frames) the log still holds. */
  private keptFrames(secret: string | undefined): FrameEntry[] {
    return this.log.chain(this.lastFrame, this.limits.frames).map((f) => ({
      t: f.t,
      dir: f.dir,
      name: f.name,
      body: clip(bodyOf(f.text), secret, FRAME_CLIP),
    }));
  }

  private component(oId: number | string): ComponentEntry | undefined {
    const o = this.open;
    if (o && (o.oId === oId || String(o.oId) === String(oId))) return o;
    for (let i = this.timeline.length - 1; i >= 0; i--) {
      const e = this.timeline[i] as TimelineEntry;
      if (e.kind === "component" && String(e.oId) === String(oId) && e.end === undefined) return e;
    }
    return undefined;
  }

  private add(e: TimelineEntry): void {
    if (this.timeline.length >= this.limits.entries) {
      // The accept (first) stays: it says how the call began; the oldest after it goes.
      this.timeline.splice(1, 1);
      this.entriesDropped++;
    }
    this.timeline.push(e);
  }
}

/** The results of a stop event, from its text. */
function resultsOf(stopText: string): unknown {
  const body = bodyOf(stopText);
  return typeof body === "object" && body !== null ? (body as { results?: unknown }).results : undefined;
}

/** The body of a kept frame (`[name, body]`); a text that does not read as one is shown as text. */
function bodyOf(text: string): unknown {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) && v.length === 2 ? v[1] : v;
  } catch {
    return text;
  }
}
