// The records of the calls a process controls (live ones and the last N ended), and the metrics they add up to. Fed
// by each connection's registry events and a frame observer on its client (attach). Memory stays bounded: N ended
// records, each with a bounded timeline and bounded frames; the maps that place answers and stop events are capped.
import { EventEmitter } from "node:events";
import { ChurnMap } from "../client/churn-map";
import type { IvrApiClient, StateChange } from "../client/client";
import type { IvrApiError } from "../client/errors";
import type { DtmfBody } from "../protocol";
import { turnNow } from "./clock";
import { DEFAULT_FRAME_LOG_BYTES, FrameLog, MIN_FRAME_LOG_BYTES } from "./frame-log";
import { Metrics } from "./metrics";
import { type CallDetail, CallRecord, type CallSummary, type RecordHolder, type RecordLimits } from "./record";
import type { SessionRegistry } from "./registry";
import type { CallInfo, ComponentResult, ComponentStart, RegistryObserver, ResumeInfo, SessionEnd } from "./types";

export interface CallRecordsOptions {
  /** Ended calls kept (default 200; 0 = none). */
  recent?: number;
  /** Timeline entries kept per call (default 100, at least 2). */
  entriesPerCall?: number;
  /** Frames kept per call (default 40; 0 = none). */
  framesPerCall?: number;
  /**
   * Bytes of the log that keeps the frames' texts, off the heap, for all calls (default 8 MiB, at least 64 KiB). When
   * traffic writes more before a call is read, that call's oldest frames are gone (counted as dropped).
   */
  frameLogBytes?: number;
}

export const DEFAULT_RECENT_CALLS = 200;
const DEFAULT_ENTRIES = 100;
const DEFAULT_FRAMES = 40;
/** Frames of calls not held yet (api_start, the accept and its answer), for few calls: their last frame in the log. */
const EARLY_CALLS = 256;
const EARLY_FRAMES = 4; // kept in 2 bits (see attach's early)
/** Stop events remembered until the registry reports them (see RecentStops). */
const RECENT_STOPS = 64;

export interface AttachOptions {
  /** The connection's id (its node id) and name. */
  connection: string;
  name?: string;
  /** The token: masked out of everything recorded. */
  secret?: string;
  client: IvrApiClient;
  registry: SessionRegistry;
}

/** A call that changed (takeChanged): its record, or a call just taken (its record is made only when it is read). */
export interface ChangedCall {
  readonly ivrid: string;
  summary(): CallSummary;
}

/**
 * A call just taken, as takeChanged names it: a call that only waits has no record (see recordOf), and a record made
 * for the event alone (a CallRecord, its timeline) was garbage on every call. Its summary is its record's when it has
 * one by then, else one made at that moment. Its fields, not a closure over them: one object per call, not two.
 */
class TakenCall implements ChangedCall {
  constructor(
    private readonly records: CallRecords,
    private readonly call: CallInfo,
    private readonly attachment: Attachment,
  ) {}

  get ivrid(): string {
    return this.call.ivrid;
  }

  summary(): CallSummary {
    return this.records.recordOrMade(this.call, this.attachment).summary();
  }
}

/** A connection recorded now: its registry lists the calls that have no record yet. */
interface Attachment extends RecordHolder {
  readonly registry: SessionRegistry;
  readonly secret: string | undefined;
}

/** Calls changed in one batch beyond which takeChanged says "reload the list" instead of naming them. */
export const MAX_CHANGED = 200;

/**
 * `changed` is emitted when a call changes (live or just ended) and none had changed since the last takeChanged:
 * a listener that shows calls takes them when it sends, at its own pace, and makes their summaries then. Each change
 * costs a comparison and, for the first in a batch, a push: no event, no map per change.
 */
export class CallRecords extends EventEmitter<{ changed: [] }> {
  readonly metrics = new Metrics();
  private readonly byIvrid = new ChurnMap<string, CallRecord>();
  /** The connections recorded now: their registries list the calls that have no record yet. */
  private readonly attached = new Set<Attachment>();
  private readonly recent: CallRecord[] = [];
  private recentMax: number;
  /** The limits of the records made from now on: one object they all share (configure makes a new one). */
  private limits: RecordLimits;
  /** Where the frames go (shared by every record; configure resizes it). */
  private readonly log: FrameLog;
  /** Calls changed since the last takeChanged, oldest first (a record once: see changed). */
  private changes: ChangedCall[] = [];
  /** More than MAX_CHANGED changed since the last takeChanged: they are not named. */
  private changesOver = false;
  /** The number of the batch takeChanged will hand out; a record remembers the last batch it was put in. */
  private batch = 1;

  constructor(options: CallRecordsOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.recentMax = DEFAULT_RECENT_CALLS;
    this.limits = { entries: DEFAULT_ENTRIES, frames: DEFAULT_FRAMES };
    this.log = new FrameLog(DEFAULT_FRAME_LOG_BYTES);
    this.configure(options);
  }

  /** Changes the limits (settings.js `ivrapiCalls`); records made before keep theirs. */
  configure(o: CallRecordsOptions): void {
    this.recentMax = count(o.recent, this.recentMax, 0);
    this.limits = {
      entries: count(o.entriesPerCall, this.limits.entries, 2),
      frames: count(o.framesPerCall, this.limits.frames, 0),
    };
    // A log of another size starts empty; numbers kept from the old one (records, early frames) name nothing in it.
    const bytes = count(o.frameLogBytes, this.log.capacity, MIN_FRAME_LOG_BYTES);
    if (bytes !== this.log.capacity) this.log.resize(bytes);
    this.trim();
  }

  /** Controlled calls now, over every attached connection (recorded or only waiting). */
  get active(): number {
    let n = 0;
    for (const a of this.attached) n += a.registry.size;
    return n;
  }

  /** Live calls first (newest first), then ended ones (newest first). */
  list(): CallSummary[] {
    const live: CallSummary[] = [];
    for (const r of this.byIvrid.values()) if (r.live) live.push(r.summary());
    // Calls that only wait since their accept have no record yet: their summary is made now.
    for (const a of this.attached) {
      for (const call of a.registry.list()) {
        if (this.byIvrid.get(call.ivrid)?.live) continue;
        live.push(this.make(call, a).summary());
      }
    }
    live.sort((a, b) => b.startedAt - a.startedAt);
    const ended: CallSummary[] = [];
    for (let i = this.recent.length - 1; i >= 0; i--) ended.push((this.recent[i] as CallRecord).summary());
    return [...live, ...ended];
  }

  get(ivrid: string): CallDetail | undefined {
    const rec = this.byIvrid.get(ivrid);
    if (rec) return rec.detail();
    for (const a of this.attached) {
      const call = a.registry.get(ivrid);
      if (call) return this.make(call, a).detail();
    }
    return undefined;
  }

  /** The metrics in Prometheus text format 0.0.4. */
  metricsText(): string {
    return this.metrics.render(this.active);
  }

  /**
   * Records the calls of one connection's client and registry, from now on, until the client is closed (or the
   * returned function is called).
   */
  attach(o: AttachOptions): () => void {
    const { client, registry } = o;
    /**
     * Stop events as they came, by their body: the registry's component_stopped event carries that same body, mostly in
     * the same turn, sometimes a turn later (a stop it could not place at once is looked at again) or after the
     * handshake for one held during it. The record reads the results from the text, and a stop that names no call (the
     * seed's shape: only our oId) is placed then.
     */
    const stops = new RecentStops();
    /**
     * Calls not held (yet): their last frame in the log (the frames that lead to an accept, chained), as its number
     * times 4 plus how many were written before it (at most EARLY_FRAMES in all: no walk of the chain to count them).
     */
    const early = new Map<string, number>();
    let everReady = client.state === "ready";
    const m = this.metrics;
    const secret = o.secret;

    /** Writes a frame of a call to the log, on its call's chain; its number there (-1: not kept). */
    const route = (t: number, dir: "in" | "out", name: string, text: string, ivrid: string, wire?: Buffer): number => {
      const rec = this.byIvrid.get(ivrid);
      if (rec) return rec.frame(t, dir, name, text, wire);
      // Not held (yet): the frames that lead to an accept are kept, for the record if it comes.
      if (name === "ivrevents.api_stop") {
        early.delete(ivrid);
        return -1;
      }
      if (this.limits.frames <= 0) return -1;
      const packed = early.get(ivrid);
      if (packed === undefined && early.size >= EARLY_CALLS) early.delete(early.keys().next().value as string);
      const written = packed === undefined ? 0 : (packed % 4) + 1;
      if (written >= EARLY_FRAMES) return -1;
      const last = packed === undefined ? -1 : Math.floor(packed / 4);
      const seq = this.log.put(t, dir, name, text, last, secret, wire);
      early.set(ivrid, seq * 4 + written);
      return seq;
    };

    client.observer = {
      frame: (dir, name, body, text, ivrid, wire) => {
        const t = turnNow();
        if (dir === "out") m.framesOut++;
        else {
          m.framesIn++;
          if (name === "ivrapi_component_stopped") {
            // Placed now when it names its call; else its text is kept (on the heap) until the registry places it.
            const pos = ivrid === undefined ? -1 : route(t, dir, name, text, ivrid, wire);
            stops.set(body, t, ivrid === undefined ? text : undefined, pos);
            return;
          }
        }
        if (ivrid !== undefined) route(t, dir, name, text, ivrid, wire);
      },
      answered: (request, ms) => m.request(request, ms / 1000),
    };

    const attachment: Attachment = { registry, connection: o.connection, name: o.name, secret: o.secret };
    this.attached.add(attachment);
    /**
     * The record of a call this registry holds, made on the call's first event after the accept: a controlled call
     * that only waits costs the record nothing (thousands of them may wait). `ended`: the registry has just let go.
     */
    const recordOf = (call: CallInfo, ended = false): CallRecord | undefined => {
      const r = this.byIvrid.get(call.ivrid);
      if (r) return r.live && r.holder === attachment ? r : undefined;
      if (!ended && registry.get(call.ivrid) === undefined) return undefined;
      const rec = this.make(call, attachment);
      const packed = early.get(call.ivrid);
      if (packed !== undefined) {
        const last = Math.floor(packed / 4);
        rec.adoptFrames(last, this.log.length(last, EARLY_FRAMES));
        early.delete(call.ivrid);
      }
      this.byIvrid.set(call.ivrid, rec);
      return rec;
    };
    const onStart = (call: CallInfo) => {
      const t = turnNow();
      const held = this.byIvrid.get(call.ivrid);
      if (held?.live) {
        // A changed connection took the call over (ivrapi_reaccept on its new socket): the same record goes on.
        held.holder = attachment;
        held.reaccepted(t, "deploy");
        this.changed(held);
        return;
      }
      if (held) this.forget(held);
      m.accepted++;
      if (this.listenerCount("changed") > 0) this.note(new TakenCall(this, call, attachment));
    };
    const onEnd = (call: CallInfo, end: SessionEnd) => {
      // A registry let go because its calls moved to another (a changed connection): the call goes on there.
      if (
        end.reason === "closed" &&
        [...this.attached].some((a) => a.registry !== registry && a.registry.get(call.ivrid))
      )
        return;
      const rec = recordOf(call, true);
      if (!rec) return;
      rec.ended(turnNow(), end.reason);
      m.callEnded(end.reason);
      this.recent.push(rec);
      this.trim();
      this.changed(rec);
    };
    const onComponent = (call: CallInfo, c: ComponentStart) => {
      const rec = recordOf(call);
      if (!rec) return;
      rec.componentStarted(turnNow(), c.oId, c.data, c.source);
      this.changed(rec);
    };
    const onStopped = (call: CallInfo, r: ComponentResult) => {
      const i = stops.find(r.body);
      let at: number | undefined;
      if (i >= 0) {
        const text = stops.text[i];
        if (text !== undefined && typeof r.body.ivrid !== "string") {
          const pos = route(stops.t[i] as number, "in", "ivrapi_component_stopped", text, call.ivrid);
          stops.pos[i] = pos;
          if (pos >= 0) stops.text[i] = undefined;
        }
        const pos = stops.pos[i] as number;
        if (pos >= 0) at = pos;
      }
      m.component(r.data.oType, r.transferKey);
      const rec = recordOf(call);
      if (!rec) return;
      rec.componentStopped(turnNow(), r.oId, r.data, r.transferKey, r.results, r.timedOut, at);
      this.changed(rec);
    };
    const onDtmf = (call: CallInfo, b: DtmfBody) => {
      m.dtmf++;
      const rec = recordOf(call);
      if (!rec) return;
      rec.dtmf(turnNow(), String(b.dtmf ?? ""));
      this.changed(rec);
    };
    const onReaccepted = (call: CallInfo) => {
      const rec = recordOf(call);
      if (!rec) return;
      rec.reaccepted(turnNow(), "reconnect");
      this.changed(rec);
    };
    const onResumed = (call: CallInfo, info: ResumeInfo) => {
      const rec = recordOf(call);
      if (!rec) return;
      rec.resumed(turnNow(), info.why, info.lastTransferKey);
      this.changed(rec);
    };
    const onFailed = (call: CallInfo, f: { request: string; error: IvrApiError }) => {
      m.error(f.error.code);
      const rec = this.byIvrid.get(call.ivrid);
      // Waiters failing because the call ended say nothing the stop entry does not.
      if (!rec || rec.holder !== attachment || (!rec.live && f.error.code === "session_ended")) return;
      rec.failed(turnNow(), f.request, f.error.code, f.error.message, f.error.details.serverCode);
      this.changed(rec);
    };
    const onLost = () => {
      m.acceptLost++;
    };
    const onState = (c: StateChange) => {
      // A closed client is done for good: nothing of the record stays on it (or on its registry).
      if (c.state === "closed") detach();
      if (c.state !== "ready") return;
      if (everReady) m.reconnects++;
      everReady = true;
    };
    // A direct observer, not listeners: the hub is then the registry's only listener (see SessionRegistry.observer).
    const watching: RegistryObserver = {
      sessionStart: onStart,
      sessionEnd: onEnd,
      componentStarted: onComponent,
      componentStopped: onStopped,
      dtmf: onDtmf,
      reaccepted: onReaccepted,
      resumed: onResumed,
      failed: onFailed,
      acceptLost: onLost,
    };
    registry.observer = watching;
    client.on("state", onState);
    const frames = client.observer;
    const detach = () => {
      // Each slot cleared only while it is still this record's (another may have been attached since).
      if (registry.observer === watching) registry.observer = undefined;
      client.off("state", onState);
      if (client.observer === frames) client.observer = undefined;
      this.attached.delete(attachment);
    };
    return detach;
  }

  /** The call's record, or one made for it now (not stored: a call that only waits has none). */
  recordOrMade(call: CallInfo, a: Attachment): CallRecord {
    return this.byIvrid.get(call.ivrid) ?? this.make(call, a);
  }

  /** A record for a call (not stored): the accept is its first entry. */
  private make(call: CallInfo, a: Attachment): CallRecord {
    const t = call.acceptedAt ?? turnNow();
    return new CallRecord(
      call.ivrid,
      call.key,
      a,
      t,
      call.state,
      typeof call.start.componentname === "string" ? call.start.componentname : undefined,
      call.paramsRaw,
      this.limits,
      a.secret,
      this.log,
    );
  }

  /**
   * The calls changed since the last call of this (each once, its newest form: a call just taken is named by its
   * record when it has one by then), or undefined when more than MAX_CHANGED changed: reload the list.
   */
  takeChanged(): ChangedCall[] | undefined {
    const changes = this.changes;
    const over = this.changesOver;
    this.changes = [];
    this.changesOver = false;
    this.batch++;
    if (over) return undefined;
    // A call taken and then recorded in the same batch is named twice: once is enough (the last, its record).
    const seen = new Map<string, ChangedCall>();
    for (const c of changes) {
      seen.delete(c.ivrid);
      seen.set(c.ivrid, c);
    }
    return [...seen.values()];
  }

  private changed(rec: CallRecord): void {
    if (rec.batch === this.batch || this.listenerCount("changed") === 0) return;
    rec.batch = this.batch;
    this.note(rec);
  }

  private note(c: ChangedCall): void {
    if (this.changesOver) return;
    if (this.changes.length >= MAX_CHANGED) {
      this.changesOver = true;
      this.changes = [];
      return;
    }
    this.changes.push(c);
    if (this.changes.length === 1) this.emit("changed");
  }

  /** Keeps the last recentMax ended records. */
  private trim(): void {
    while (this.recent.length > this.recentMax) {
      // The oldest, already out of the list: only its index entry is left (no search of the list per ended call).
      const rec = this.recent.shift() as CallRecord;
      if (this.byIvrid.get(rec.ivrid) === rec) this.byIvrid.delete(rec.ivrid);
    }
  }

  private forget(rec: CallRecord): void {
    if (this.byIvrid.get(rec.ivrid) === rec) this.byIvrid.delete(rec.ivrid);
    const i = this.recent.indexOf(rec);
    if (i >= 0) this.recent.splice(i, 1);
  }
}

function count(v: unknown, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isInteger(n) && n >= min ? n : fallback;
}

/**
 * The last stop events seen, by body: a ring searched newest first (the registry reports a stop right after it came,
 * nearly always). A WeakMap did the same at a cost on every stop and in every collection. A stop reported after 64
 * others is not found: its record then keeps the results as the registry reports them, before any flow sees them.
 * What is kept of each lies in arrays side by side, by its place in the ring: no object per stop.
 */
class RecentStops {
  private readonly bodies: Array<object | undefined> = new Array(RECENT_STOPS).fill(undefined);
  /** When it came. */
  readonly t = new Float64Array(RECENT_STOPS);
  /** Its text, kept (on the heap) only while no call is known for it: it is written to the log when one is. */
  readonly text: Array<string | undefined> = new Array(RECENT_STOPS).fill(undefined);
  /** Its number in the frame log (-1: not there). */
  readonly pos = new Float64Array(RECENT_STOPS);
  private next = 0;

  set(body: object, t: number, text: string | undefined, pos: number): void {
    const i = this.next;
    this.bodies[i] = body;
    this.t[i] = t;
    this.text[i] = text;
    this.pos[i] = pos;
    this.next = (i + 1) % RECENT_STOPS;
  }

  /** Its place in the ring, or -1. */
  find(body: object): number {
    for (let n = 1; n <= RECENT_STOPS; n++) {
      const i = (this.next - n + RECENT_STOPS) % RECENT_STOPS;
      if (this.bodies[i] === body) return i;
    }
    return -1;
  }
}
