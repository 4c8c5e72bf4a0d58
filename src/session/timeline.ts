// A call's timeline, kept flat: each entry a few slots of one array, plain values (its kind, when, strings), made into
// entry objects only when the record is read. A record outlives its call (the last N ended ones are kept), so what it
// holds is copied by young collections and marked by full ones: as objects (an entry and a summary per component, a
// heap number per time) a record took a dozen objects per call; flat, one array. Times are kept as milliseconds since
// the accept: small integers, stored inline. Part of the call record (record.ts); no Node-RED here.
import { clipText } from "./clip";
import { type ComponentSummary, componentSummary, componentVerb } from "./summary";

export interface Entry {
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

/** The entries after the accept (the record makes the accept from its own fields). */
type Kind = Exclude<TimelineEntry["kind"], "accept">;

/** Slot 0 of an entry: its kind; slot 1: when (ms since the accept); then by kind (below). */
const KIND = 0;
const AT = 1;
/**
 * component: oId, oType, its main argument (see summary.ts; the verb follows from the oType), source (node id), end
 * (ms since the accept; undefined while it runs), transferKey, results (what the record kept of them: see entries),
 * and timedOut (true) or the error code that ended it.
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

/** Slots an entry of a kind takes. */
function slots(kind: Kind): number {
  return kind === "component" ? 10 : kind === "error" ? 6 : kind === "resumed" ? 4 : 3;
}

function sameOId(a: number | string, b: number | string): boolean {
  return a === b || String(a) === String(b);
}

export class Timeline {
  /** Entries dropped to keep the timeline bounded (the oldest after the accept). */
  dropped = 0;
  /** Entry after entry (see slots). */
  private readonly ev: unknown[] = [];
  /** Entries in `ev`. */
  private kept = 0;
  /** The component running now: where its entry starts in `ev` (-1: none, or its entry was dropped, see below). */
  private open = -1;
  /** The slots of the component running now, when the bound dropped its entry while it ran (it is still shown). */
  private openDropped: unknown[] | undefined;

  constructor(
    /** When control was taken (ms epoch): the accept, the first entry, never dropped and not kept here. */
    private readonly startedAt: number,
    /** Entries kept, the accept included. */
    private readonly max: number,
  ) {}

  /** A component starts: the one running now. */
  componentStarted(t: number, oId: number | string, oType: number, arg: string | undefined, source?: string): void {
    this.openDropped = undefined;
    this.open = this.add("component", t, oId, oType, arg, source);
  }

  /**
   * A component ended, with its exit and its results as the record keeps them. False when it has no entry (it started
   * before the record): the caller starts one, then ends it.
   */
  componentStopped(t: number, oId: number | string, exit: string, results: unknown, timedOut: boolean): boolean {
    // The component running now, its entry dropped: it is no longer shown running; no entry is left to complete.
    const d = this.openDropped;
    if (d !== undefined && sameOId(d[C_OID] as number | string, oId)) {
      this.openDropped = undefined;
      return true;
    }
    const i = this.component(oId);
    if (i < 0) return false;
    const ev = this.ev;
    ev[i + C_END] = t - this.startedAt;
    ev[i + C_EXIT] = exit;
    if (timedOut) ev[i + C_OUTCOME] = true;
    if (results !== undefined) ev[i + C_RESULTS] = results;
    if (this.open === i) this.open = -1;
    return true;
  }

  /** The component running now never ran, or its end was never reported: it ends with `code`. */
  componentFailed(t: number, code: string): void {
    const o = this.open;
    if (o >= 0) {
      this.ev[o + C_END] = t - this.startedAt;
      this.ev[o + C_OUTCOME] = code;
    }
    this.open = -1;
    this.openDropped = undefined;
  }

  /** An entry of one text: a key pressed (dtmf), control taken again (reaccept), control ended (stop). */
  note(kind: "dtmf" | "reaccept" | "stop", t: number, what: string): void {
    this.add(kind, t, what);
  }

  resumed(t: number, why: string, lastTransferKey: string | undefined): void {
    this.add("resumed", t, why, lastTransferKey);
  }

  /** A failed request; message and serverCode as they are to be shown (masked, cut short). */
  error(t: number, code: string, request: string, message: string, serverCode: string | undefined): void {
    this.add("error", t, code, request, message, serverCode);
  }

  /** The component running now, as the list shows it. */
  running(): { oType: number; summary: ComponentSummary; since: number } | undefined {
    const c = this.open >= 0 ? this.ev : this.openDropped;
    if (c === undefined) return undefined;
    const i = Math.max(this.open, 0);
    const oType = c[i + C_OTYPE] as number;
    const summary = componentSummary(componentVerb(oType), c[i + C_ARG] as string | undefined);
    return { oType, summary, since: this.startedAt + (c[i + AT] as number) };
  }

  /**
   * The entries after the accept, as served. `results`: what a component's results are, shown, from what the record
   * kept of them (undefined: left out).
   */
  entries(secret: string | undefined, results: (kept: unknown) => unknown): TimelineEntry[] {
    const out: TimelineEntry[] = [];
    const ev = this.ev;
    for (let i = 0; i < ev.length; i += slots(ev[i + KIND] as Kind)) out.push(this.entry(i, secret, results));
    return out;
  }

  private entry(i: number, secret: string | undefined, results: (kept: unknown) => unknown): TimelineEntry {
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
        const kept = ev[i + C_RESULTS];
        const shown = kept === undefined ? undefined : results(kept);
        if (shown !== undefined) e.results = shown;
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
    if (this.kept + 1 >= this.max) this.dropOldest();
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
    this.dropped++;
    if (this.open === 0) this.openDropped = dropped;
    this.open = this.open >= size ? this.open - size : -1;
  }
}
