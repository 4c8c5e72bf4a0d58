// The simulator's state and its wire output: connections, calls, the frame log, answers (with injected
// faults), notifications, and the call lifecycle that several requests and the test API share.
import type { EventEmitter } from "node:events";
import { encode } from "../protocol";
import type { FileStore } from "./files";
import type { Call, Conn, ConnectionView, FrameLogEntry, ResolvedOptions, SimCallInfo } from "./types";

/** The log is for tests and humans; a long `npm start` session must not grow it without bound. */
const LOG_LIMIT = 20_000;
/** Finished calls kept for inspection (the control API lists them). */
const ENDED_CALLS_KEPT = 200;

export type ErrorCode =
  | "not_found"
  | "wrong_key"
  | "not_controller"
  | "already_accepted"
  | "busy"
  | "no_component"
  | "invalid"
  | "unknown_request"
  | "download_failed"
  | "bad_path"
  | "forbidden";

export function errorBody(code: ErrorCode, reason: string): { result: "error"; code: ErrorCode; reason: string } {
  return { result: "error", code, reason };
}

export class Engine {
  readonly conns = new Map<string, Conn>();
  readonly calls = new Map<string, Call>();
  readonly log: FrameLogEntry[] = [];
  readonly delays = new Map<string, number>();
  readonly drops = new Map<string, number>();
  /** Requests not carried out but answered with a given body (fault answerInstead), with how many remain. */
  readonly instead = new Map<string, { body: Record<string, unknown>; count: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly downloads = new AbortController();
  private connSeq = 0;
  recordSeq = 0;
  stopped = false;

  constructor(
    readonly opts: ResolvedOptions,
    readonly files: FileStore,
    private readonly events: EventEmitter,
    /** Base of public links; known only once the server listens. */
    readonly httpUrl: () => string,
  ) {}

  get downloadSignal(): AbortSignal {
    return this.downloads.signal;
  }

  nextConnId(): string {
    this.connSeq += 1;
    return `c${this.connSeq}`;
  }

  /** Every timer goes through here so stop() can clear them all. */
  timer(ms: number, fn: () => void): NodeJS.Timeout | null {
    if (!Number.isFinite(ms)) return null;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.min(Math.max(0, ms), 2_147_483_647),
    );
    this.timers.add(t);
    return t;
  }

  clearTimer(t: NodeJS.Timeout | null): void {
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
    }
  }

  shutdown(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.downloads.abort();
  }

  emit(event: string, value: unknown): void {
    this.events.emit(event, value);
  }

  record(entry: FrameLogEntry): void {
    this.log.push(entry);
    // Trimmed in chunks: shifting a 20,000-entry array on every frame made long runs quadratic.
    if (this.log.length > LOG_LIMIT + LOG_LIMIT / 10) this.log.splice(0, this.log.length - LOG_LIMIT);
    this.emit("frame", entry);
    if (!this.opts.logging) return; // nobody reads the line: do not serialise the body again
    const text = JSON.stringify(entry.body) ?? "";
    this.opts.log(
      `${entry.dir === "in" ? "<-" : "->"} ${entry.conn} ${entry.name} ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`,
    );
  }

  /** The client connections as the test API shows them: live subscriptions only. */
  connectionViews(): ConnectionView[] {
    const now = Date.now();
    return [...this.conns.values()].map((c) => ({
      id: c.id,
      subscriptions: [...c.subs.values()]
        .filter((s) => s.expiresAt > now)
        .map((s) => ({ ...s, events: [...s.events] })),
      authorizedBy: c.authorizedBy,
    }));
  }

  /** Sends one frame if the connection is open; false when it could not go out. */
  send(conn: Conn | undefined, name: string, body: Record<string, unknown>): boolean {
    if (!conn || conn.ws.readyState !== conn.ws.OPEN) return false;
    conn.ws.send(encode(name, body));
    this.record({ at: Date.now(), dir: "out", conn: conn.id, name, body });
    return true;
  }

  /** A text frame as given (a Buffer byte for byte), or a binary one; `record: false` keeps it out of the log. */
  sendRaw(conn: Conn, data: string | Buffer, opts: { binary?: boolean; record?: boolean } = {}): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    const binary = opts.binary === true;
    conn.ws.send(data, { binary });
    if (opts.record === false) return true;
    const body = typeof data === "string" ? data : { bytes: data.length };
    this.record({ at: Date.now(), dir: "out", conn: conn.id, name: binary ? "(binary)" : "(raw)", body });
    return true;
  }

  /** The body to answer instead of carrying the request out (fault answerInstead), if one is set for it. */
  takeInstead(request: string): Record<string, unknown> | undefined {
    const rule = this.instead.get(request);
    if (!rule) return undefined;
    rule.count -= 1;
    if (rule.count <= 0) this.instead.delete(request);
    return rule.body;
  }

  /** `<request>_result`, subject to the drop/delay faults injected for that request name. */
  answer(conn: Conn, request: string, qid: unknown, body: Record<string, unknown>): void {
    const frame = { qid, ...body };
    const drops = this.drops.get(request) ?? 0;
    if (drops > 0) {
      this.drops.set(request, drops - 1);
      this.opts.log(`fault: answer to ${request} (qid ${JSON.stringify(qid)}) dropped`);
      return;
    }
    const delay = this.delays.get(request) ?? 0;
    if (delay > 0) this.timer(delay, () => this.send(conn, `${request}_result`, frame));
    else this.send(conn, `${request}_result`, frame);
  }

  /** One notify per connection, carrying the id of its first live subscription that matches; how many got it. */
  notify(cls: string, type: string, data: Record<string, unknown>): number {
    const now = Date.now();
    const event = `${cls}.${type}`;
    let reached = 0;
    for (const conn of this.conns.values()) {
      for (const [id, sub] of conn.subs) {
        if (sub.expiresAt <= now) {
          conn.subs.delete(id);
          continue;
        }
        if (sub.events.some((p) => eventMatches(p, event))) {
          if (this.send(conn, "notify", { class: cls, type, eventts: now, id, data })) reached += 1;
          break;
        }
      }
    }
    return reached;
  }

  controllerConn(call: Call): Conn | undefined {
    return call.controller === null ? undefined : this.conns.get(call.controller);
  }

  note(call: Call, what: string, detail?: unknown): void {
    call.history.push(detail === undefined ? { at: Date.now(), what } : { at: Date.now(), what, detail });
    this.opts.log(`${call.info.ivrid}: ${what}${detail === undefined ? "" : ` ${JSON.stringify(detail)}`}`);
    this.changed(call);
  }

  changed(call: Call): void {
    this.emit("call", snapshot(call));
  }

  eventData(call: Call): Record<string, unknown> {
    const { from: _from, ...wire } = call.info;
    return { ...wire };
  }

  /**
   * The API component's service ends: "script" = the call is over for good (ended), "abort"/"timeout" = the
   * script goes on without API control (released). Either way the temp area goes, as the platform's does.
   */
  endCall(call: Call, reason: "script" | "abort" | "timeout"): void {
    if (call.phase === "ended" || call.phase === "released") return;
    if (call.component) {
      this.clearTimer(call.component.timer);
      call.component = null;
    }
    this.clearTimer(call.acceptTimer);
    call.acceptTimer = null;
    call.phase = reason === "script" ? "ended" : "released";
    call.stopReason = reason;
    this.files.removeTemp(call.info.ivrid);
    call.tempFiles.clear();
    this.notify("ivrevents", "api_stop", { ...this.eventData(call), reason });
    this.note(call, `api_stop (${reason})`);
    this.pruneCalls();
  }

  private pruneCalls(): void {
    const done = [...this.calls.values()].filter((c) => c.phase === "ended" || c.phase === "released");
    for (const c of done.slice(0, Math.max(0, done.length - ENDED_CALLS_KEPT))) this.calls.delete(c.info.ivrid);
  }
}

/** Exact event names, or a trailing wildcard: "ivrevents.*", "*". */
export function eventMatches(pattern: string, event: string): boolean {
  if (pattern === "*" || pattern === event) return true;
  return pattern.endsWith(".*") && event.startsWith(pattern.slice(0, -1));
}

export function snapshot(call: Call): SimCallInfo {
  const c = call.component;
  const info: SimCallInfo = {
    ...call.info,
    phase: call.phase,
    controller: call.controller,
    component: c
      ? { oId: c.oId, oType: c.oType, data: { ...c.data }, startedAt: c.startedAt, dtmfBuffer: c.dtmfBuffer }
      : null,
    history: call.history.map((h) => ({ ...h })),
    tempFiles: [...call.tempFiles],
  };
  if (call.stopReason !== undefined) info.stopReason = call.stopReason;
  if (call.offeredTo !== undefined) info.offeredTo = call.offeredTo;
  return info;
}
