// One call's record: what happened to it (a bounded timeline) and the frames exchanged for it (bounded, masked), for
// an integrator asking "why did this caller hear silence?". Fed by CallRecords (call-records.ts); no Node-RED here.
import { CLIP, type ClipLimits, clip, clipText } from "./clip";
import type { FrameLog } from "./frame-log";
import { type ComponentSummary, componentArg, componentSummary, componentVerb } from "./summary";

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

// The timeline is kept flat: each entry a few slots of one array, plain values (its kind, when, strings), made into
// entry objects only when the record is read. A record outlives its call (the last N ended ones are kept), so what it
// holds is copied by young collections and marked by full ones: as objects (an entry and a summary per component, a
// heap number per time) a record took a dozen objects per call; flat, one array. Times are kept as milliseconds since
// the accept: small integers, stored inline.
/** Slot 0 of an entry: its kind; slot 1: when (ms since startedAt); then by kind (below). */
const KIND = 0;
const AT = 1;
/**
 * component: oId, oType, its main argument (see summary.ts; the verb follows from the oType), source (node id), end
 * (ms since startedAt; undefined while it runs), transferKey, results (a number: the stop event's number in the frame
 * log, read when the record is read; else a bounded copy made at the stop), and timedOut (true) or the error code that
 * ended it.
 */
const C_OID = 2;
const C_OTYPE = 3;
const C_ARG = 4;
const C_SOURCE = 5;
const C_END = 6;
const C_EXIT = 7;
const C_RESULTS = 8;
const C_OUTCOME = 9;
/** error: code, request, message, serverCode. */
const E_CODE = 2;
const E_REQUEST = 3;
const E_MESSAGE = 4;
const E_SERVER = 5;
/** dtmf: the key. reaccept, resumed: why (resumed: then lastTransferKey). stop: the reason. */
const WHAT = 2;
const LAST_EXIT = 3;

type Kind = Exclude<TimelineEntry["kind"], "accept">;

/** Slots an entry of a kind takes. */
function slots(kind: Kind): number {
  return kind === "component" ? 10 : kind === "error" ? 6 : kind === "resumed" ? 4 : 3;
}

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
  entriesDropped = 0;
  /** The timeline after its accept (made from the record's own fields when read), entry after entry (see slots). */
  private ev: unknown[] = [];
  /** Entries in `ev`. */
  private kept = 0;
  /**
   * The call's frames are in the frame log (off the heap), chained from the last: the record keeps its number and how
   * many there were. They are read (parsed, bounded, masked) only when someone asks.
   */
  private lastFrame = -1;
  private frameCount = 0;
  /** The component running now: where its entry starts in `ev` (-1: none, or its entry was dropped, see below). */
  private open = -1;
  /** The slots of the component running now, when the bound dropped its entry while it ran (it is still shown). */
  private openDropped: unknown[] | undefined;
  components = 0;
  errors = 0;
  digits = "";
  lastTransferKey: string | undefined;

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
  ) {}

  get live(): boolean {
    return this.endedAt === undefined;
  }

  componentStarted(t: number, oId: number | string, data: Record<string, unknown>, source?: string): void {
    const oType = Number(data.oType);
    this.components++;
    this.openDropped = undefined;
    this.open = this.add("component", t, oId, oType, componentArg(componentVerb(oType), data), source);
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
    // The component running now, its entry dropped: it is no longer shown running; no entry is left to complete.
    const d = this.openDropped;
    if (d !== undefined && sameOId(d[C_OID] as number | string, oId)) {
      this.openDropped = undefined;
      return;
    }
    let i = this.component(oId);
    if (i < 0) {
      // A component started before this record (taken over after a deploy) gets its entry now.
      this.componentStarted(t, oId, data);
      i = this.open;
    }
    const ev = this.ev;
    ev[i + C_END] = t - this.startedAt;
    ev[i + C_EXIT] = exit;
    if (timedOut) ev[i + C_OUTCOME] = true;
    // The results as they came: read from the stop event in the frame log when the record is read (bounded and masked
    // then), else a bounded copy made now.
    for (const _ in results) {
      ev[i + C_RESULTS] = stop !== undefined && this.log.isWhole(stop) ? stop : clip(results, this.secret);
      break;
    }
    if (this.open === i) this.open = -1;
  }

  dtmf(t: number, digit: string): void {
    const d = digit.slice(0, 16);
    this.digits = (this.digits + d).slice(-DIGITS_KEPT);
    this.add("dtmf", t, d);
  }

  failed(t: number, request: string, code: string, message: string, serverCode?: string): void {
    const secret = this.secret;
    this.errors++;
    // The server refused the apply, or the component ended unseen: the component entry says so too.
    if (request === "ivrapi_component_apply" && (code === "rejected" || code === "component_lost")) {
      const o = this.open;
      if (o >= 0) {
        this.ev[o + C_END] = t - this.startedAt;
        this.ev[o + C_OUTCOME] = code;
      }
      this.open = -1;
      this.openDropped = undefined;
    }
    const server = serverCode === undefined ? undefined : clipText(serverCode, secret, 64);
    this.add("error", t, code, request, clipText(message, secret, MESSAGE_CHARS), server);
  }

  /** Control taken again: `reconnect` (the socket came back) or `deploy` (a changed connection took the call over). */
  reaccepted(t: number, why: string): void {
    this.add("reaccept", t, why);
  }

  resumed(t: number, why: string, lastTransferKey: string | undefined): void {
    this.add("resumed", t, why, lastTransferKey);
  }

  ended(t: number, reason: string): void {
    this.endedAt = t;
    this.reason = reason;
    this.add("stop", t, reason);
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
    if (this.live) {
      const c = this.open >= 0 ? this.ev : this.openDropped;
      const i = Math.max(this.open, 0);
      if (c !== undefined) {
        const oType = c[i + C_OTYPE] as number;
        const summary = componentSummary(componentVerb(oType), c[i + C_ARG] as string | undefined);
        s.running = { oType, summary, since: this.startedAt + (c[i + AT] as number) };
      }
    }
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
    const timeline: TimelineEntry[] = [accept];
    const ev = this.ev;
    for (let i = 0; i < ev.length; i += slots(ev[i + KIND] as Kind)) timeline.push(this.entry(i, secret));
    const frames = this.keptFrames(secret);
    return {
      ...this.summary(),
      timeline,
      entriesDropped: this.entriesDropped,
      frames,
      framesDropped: this.frameCount - frames.length,
    };
  }

  /** The entry at `i` of `ev`, as served. */
  private entry(i: number, secret: string | undefined): TimelineEntry {
    const ev = this.ev;
    const t = this.startedAt + (ev[i + AT] as number);
    const kind = ev[i + KIND] as Kind;
    switch (kind) {
      case "component": {
        const oType = ev[i + C_OTYPE] as number;
        const e: ComponentEntry = {
          t,
          kind,
          oId: ev[i + C_OID] as number | string,
          oType,
          summary: componentSummary(componentVerb(oType), ev[i + C_ARG] as string | undefined),
        };
        const source = ev[i + C_SOURCE] as string | undefined;
        if (source !== undefined) e.source = source;
        const end = ev[i + C_END] as number | undefined;
        if (end === undefined) return e;
        e.end = this.startedAt + end;
        const exit = ev[i + C_EXIT] as string | undefined;
        if (exit !== undefined) e.transferKey = clipText(exit, secret, 64);
        e.durationMs = e.end - t;
        const outcome = ev[i + C_OUTCOME];
        if (outcome === true) e.timedOut = true;
        else if (typeof outcome === "string") e.error = outcome;
        const results = ev[i + C_RESULTS];
        const stopText = typeof results === "number" ? this.log.text(results) : undefined;
        if (stopText !== undefined) e.results = clip(resultsOf(stopText), secret);
        else if (results !== undefined && typeof results !== "number") e.results = results;
        return e;
      }
      case "dtmf":
        return { t, kind, digit: clipText(ev[i + WHAT] as string, secret, 16) };
      case "error": {
        const e: ErrorEntry = {
          t,
          kind,
          code: ev[i + E_CODE] as string,
          request: ev[i + E_REQUEST] as string,
          message: ev[i + E_MESSAGE] as string,
        };
        const server = ev[i + E_SERVER] as string | undefined;
        if (server !== undefined) e.serverCode = server;
        return e;
      }
      case "resumed": {
        const e: ResumedEntry = { t, kind, why: ev[i + WHAT] as string };
        const last = ev[i + LAST_EXIT] as string | undefined;
        if (last !== undefined) e.lastTransferKey = last;
        return e;
      }
      case "reaccept":
        return { t, kind, why: ev[i + WHAT] as string };
      default:
        return { t, kind: "stop", reason: ev[i + WHAT] as string };
    }
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

  /** Where the entry of a component that has not ended starts in `ev`, the newest such of that oId (-1: none). */
  private component(oId: number | string): number {
    const ev = this.ev;
    const o = this.open;
    if (o >= 0 && sameOId(ev[o + C_OID] as number | string, oId)) return o;
    // Entries are read from the first (their sizes differ): the newest match wins.
    let found = -1;
    for (let i = 0; i < ev.length; i += slots(ev[i + KIND] as Kind)) {
      if (ev[i + KIND] === "component" && ev[i + C_END] === undefined && sameOId(ev[i + C_OID] as number | string, oId))
        found = i;
    }
    return found;
  }

  /**
   * Appends an entry of `kind` at `t` with the values of its slots after the first two (see slots; those it does not
   * take are left out); where it starts in `ev`. One push per entry: the array grows once for several of them.
   */
  private add(kind: Kind, t: number, a?: unknown, b?: unknown, c?: unknown, d?: unknown): number {
    const ev = this.ev;
    // The accept (first, not in ev) stays: it says how the call began; the oldest after it goes.
    if (this.kept + 1 >= this.limits.entries) this.dropOldest();
    this.kept++;
    const i = ev.length;
    const at = t - this.startedAt;
    const size = slots(kind);
    if (size === 10) ev.push(kind, at, a, b, c, d, undefined, undefined, undefined, undefined);
    else if (size === 6) ev.push(kind, at, a, b, c, d);
    else if (size === 4) ev.push(kind, at, a, b);
    else ev.push(kind, at, a);
    return i;
  }

  private dropOldest(): void {
    const size = slots(this.ev[KIND] as Kind);
    const dropped = this.ev.splice(0, size);
    this.kept--;
    this.entriesDropped++;
    if (this.open === 0) this.openDropped = dropped;
    this.open = this.open >= size ? this.open - size : -1;
  }
}

function sameOId(a: number | string, b: number | string): boolean {
  return a === b || String(a) === String(b);
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
