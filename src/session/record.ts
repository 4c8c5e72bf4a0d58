// One call's record: what happened to it (a bounded timeline, timeline.ts) and the frames exchanged for it (bounded,
// masked), for an integrator asking "why did this caller hear silence?". Fed by CallRecords (call-records.ts); no
// Node-RED here.
import { CLIP, type ClipLimits, clip, clipText } from "./clip";
import type { FrameLog } from "./frame-log";
import { type ComponentSummary, componentArg, componentVerb } from "./summary";
import { type AcceptEntry, Timeline, type TimelineEntry } from "./timeline";

export type {
  AcceptEntry,
  ComponentEntry,
  DtmfEntry,
  ErrorEntry,
  ReacceptEntry,
  ResumedEntry,
  StopEntry,
  TimelineEntry,
} from "./timeline";

/** Limits of one record. */
export interface RecordLimits {
  /** Timeline entries kept per call (the first, the accept, always; then the newest). */
  entries: number;
  /** Frames kept per call, the newest (0 = none). */
  frames: number;
}

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

/** What a record takes of the connection that holds it (CallRecords' attachment). */
export interface RecordHolder {
  /** The registry that feeds it. */
  readonly registry: object;
  /** The connection's node id and name. */
  readonly connection: string;
  readonly name?: string | undefined;
}

export class CallRecord {
  endedAt: number | undefined;
  reason: string | undefined;
  /** What happened after the accept (the accept is made from the record's own fields when read). */
  private readonly timeline: Timeline;
  /**
   * The call's frames are in the frame log (off the heap), chained from the last: the record keeps its number and how
   * many there were. They are read (parsed, bounded, masked) only when someone asks.
   */
  private lastFrame = -1;
  private frameCount = 0;
  components = 0;
  errors = 0;
  digits = "";
  lastTransferKey: string | undefined;
  /** The last batch of changed calls it was put in (CallRecords.takeChanged). */
  batch = 0;

  constructor(
    readonly ivrid: string,
    readonly key: string,
    /** The connection that holds the call (another one when a changed connection takes it over). */
    public holder: RecordHolder,
    /** When control was taken: the accept, the timeline's first entry (the only one never dropped). */
    readonly startedAt: number,
    readonly state: string | undefined,
    readonly componentname: string | undefined,
    /** api_start's params as they came (the call's own text); cut and masked when read. */
    private readonly params: string,
    private readonly limits: RecordLimits,
    /** The token of the connection it was made on: masked out of everything recorded. */
    private readonly secret: string | undefined,
    /** Where the frames' texts go (shared by the records of a CallRecords). */
    private readonly log: FrameLog,
  ) {
    this.timeline = new Timeline(startedAt, limits.entries);
  }

  get live(): boolean {
    return this.endedAt === undefined;
  }

  get entriesDropped(): number {
    return this.timeline.dropped;
  }

  componentStarted(t: number, oId: number | string, data: Record<string, unknown>, source?: string): void {
    const oType = Number(data.oType);
    this.components++;
    this.timeline.componentStarted(t, oId, oType, componentArg(componentVerb(oType), data), source);
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
    const exit = transferKey.length > 64 ? `${transferKey.slice(0, 64)}…` : transferKey;
    this.lastTransferKey = exit;
    // The results as they came: read from the stop event in the frame log when the record is read (bounded and masked
    // then: its number is kept), else a bounded copy made now.
    let kept: unknown;
    for (const _ in results) {
      kept = stop !== undefined && this.log.isWhole(stop) ? stop : clip(results, this.secret);
      break;
    }
    if (this.timeline.componentStopped(t, oId, exit, kept, timedOut)) return;
    // A component started before this record (taken over after a deploy) gets its entry now.
    this.componentStarted(t, oId, data);
    this.timeline.componentStopped(t, oId, exit, kept, timedOut);
  }

  dtmf(t: number, digit: string): void {
    const d = digit.slice(0, 16);
    this.digits = (this.digits + d).slice(-DIGITS_KEPT);
    this.timeline.note("dtmf", t, d);
  }

  failed(t: number, request: string, code: string, message: string, serverCode?: string): void {
    const secret = this.secret;
    this.errors++;
    // The server refused the apply, or the component ended unseen: the component entry says so too.
    if (request === "ivrapi_component_apply" && (code === "rejected" || code === "component_lost")) {
      this.timeline.componentFailed(t, code);
    }
    const server = serverCode === undefined ? undefined : clipText(serverCode, secret, 64);
    this.timeline.error(t, code, request, clipText(message, secret, MESSAGE_CHARS), server);
  }

  /** Control taken again: `reconnect` (the socket came back) or `deploy` (a changed connection took the call over). */
  reaccepted(t: number, why: string): void {
    this.timeline.note("reaccept", t, why);
  }

  resumed(t: number, why: string, lastTransferKey: string | undefined): void {
    this.timeline.resumed(t, why, lastTransferKey);
  }

  ended(t: number, reason: string): void {
    this.endedAt = t;
    this.reason = reason;
    this.timeline.note("stop", t, reason);
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
      connection: this.holder.connection,
      live: this.live,
      startedAt: this.startedAt,
      components: this.components,
      digits: this.digits,
      errors: this.errors,
    };
    if (this.holder.name) s.connectionName = this.holder.name;
    if (this.endedAt !== undefined) s.endedAt = this.endedAt;
    if (this.reason !== undefined) s.reason = this.reason;
    if (this.state !== undefined) s.state = this.state;
    if (this.componentname !== undefined) s.componentname = this.componentname;
    if (this.lastTransferKey !== undefined) s.lastTransferKey = this.lastTransferKey;
    const running = this.live ? this.timeline.running() : undefined;
    if (running) s.running = running;
    return s;
  }

  /**
   * The whole record as served: what was kept by reference or in the frame log is copied now, bounded, the token
   * masked. Frames the log no longer holds count as dropped; results it no longer holds are left out.
   */
  detail(): CallDetail {
    const secret = this.secret;
    const accept: AcceptEntry = {
      t: this.startedAt,
      kind: "accept",
      params: clipText(this.params, secret, PARAMS_CHARS),
    };
    if (this.state !== undefined) accept.state = this.state;
    const results = (kept: unknown): unknown => {
      if (typeof kept !== "number") return kept;
      const stopText = this.log.text(kept);
      return stopText === undefined ? undefined : clip(resultsOf(stopText), secret);
    };
    const timeline: TimelineEntry[] = [accept, ...this.timeline.entries(secret, results)];
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
