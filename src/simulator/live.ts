// The live feed the softphone page reads: `GET /sim/events` (Server-Sent Events: a snapshot of the calls, then
// every call update and every frame, each frame tagged with the call it concerns) and `GET /sim/calls/:ivrid/frames`
// (the frames of one call so far, for a page opened mid-call). One permanent listener set on the simulator fans
// out to the pages; a page that goes away leaves nothing behind.
import type { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, type Router, sendJson } from "./http";
import type { ConnectionView, FrameLogEntry, SimCallInfo } from "./types";

/** What the feed needs of the simulator (kept structural: no import cycle). */
export interface LiveSource extends EventEmitter {
  calls(): SimCallInfo[];
  getCall(ivrid: string): SimCallInfo | undefined;
  hasCall(ivrid: string): boolean;
  connections(): ConnectionView[];
}

export interface TaggedFrame extends FrameLogEntry {
  /** Order of the frame among all frames the feed has seen (pages merge and dedupe on it). */
  seq: number;
  /** The call the frame concerns, when known. */
  ivrid: string | null;
}

export const HEARTBEAT_MS = 15_000;
/** Frames kept per call for GET /sim/calls/:ivrid/frames. */
const FRAMES_PER_CALL = 500;
/** Requests waiting for their answer, remembered to tag the answer (dropped answers must not grow this forever). */
const PENDING_LIMIT = 2000;
/** A page that stops reading is cut off rather than buffered without bound. */
const SLOW_CLIENT_BYTES = 8 * 1024 * 1024;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const keyOf = (conn: string, id: unknown): string => `${conn}\u0000${JSON.stringify(id)}`;

interface Viewer {
  res: ServerResponse;
  heartbeat: NodeJS.Timeout;
}

export class LiveFeed {
  private readonly viewersSet = new Set<Viewer>();
  private readonly framesByCall = new Map<string, TaggedFrame[]>();
  /** conn+qid of a session request → its call, until the answer goes out. */
  private readonly pending = new Map<string, { ivrid: string; name: string }>();
  /** conn+oId of running components → calls (a component_stopped without ivrid is matched through it). */
  private readonly running = new Map<string, Set<string>>();
  private readonly runningOf = new Map<string, string>();
  private seq = 0;
  private closed = false;
  private readonly onCall = (c: SimCallInfo): void => {
    this.track(c);
    this.broadcast("call", c);
  };
  private readonly onFrame = (e: FrameLogEntry): void => {
    const frame: TaggedFrame = { ...e, seq: ++this.seq, ivrid: this.tag(e) };
    if (frame.ivrid !== null) this.keep(frame.ivrid, frame);
    this.broadcast("frame", frame);
  };
  private readonly onConnections = (): void =>
    this.broadcast("connections", { count: this.source.connections().length });

  private readonly heartbeatMs: number;

  constructor(
    private readonly source: LiveSource,
    options: { heartbeatMs?: number } = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    source.on("call", this.onCall);
    source.on("frame", this.onFrame);
    source.on("connection", this.onConnections);
    source.on("disconnection", this.onConnections);
  }

  /** Pages currently reading the feed. */
  get viewers(): number {
    return this.viewersSet.size;
  }

  install(router: Router): void {
    router.add("GET", /^\/sim\/events$/, (req, res) => this.serve(req, res));
    router.add("GET", /^\/sim\/calls\/([^/]+)\/frames$/, (_req, res, [ivrid = ""]) => {
      if (!this.source.hasCall(ivrid)) throw new HttpError(404, `no call ${ivrid}`);
      sendJson(res, 200, this.framesByCall.get(ivrid) ?? []);
    });
  }

  /** Ends every feed and lets go of the simulator (part of its stop()). */
  close(): void {
    this.closed = true;
    this.source.off("call", this.onCall);
    this.source.off("frame", this.onFrame);
    this.source.off("connection", this.onConnections);
    this.source.off("disconnection", this.onConnections);
    for (const v of [...this.viewersSet]) {
      this.drop(v);
      v.res.end();
    }
    this.framesByCall.clear();
    this.pending.clear();
    this.running.clear();
    this.runningOf.clear();
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed) throw new HttpError(503, "the simulator is stopping");
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const viewer: Viewer = {
      res,
      heartbeat: setInterval(() => this.write(viewer, ": heartbeat\n\n"), this.heartbeatMs),
    };
    this.viewersSet.add(viewer);
    res.on("close", () => this.drop(viewer));
    const snapshot = { calls: this.source.calls(), connections: this.source.connections().length, seq: this.seq };
    this.write(viewer, `retry: 2000\n\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  }

  private drop(v: Viewer): void {
    clearInterval(v.heartbeat);
    this.viewersSet.delete(v);
  }

  private write(v: Viewer, text: string): void {
    if (v.res.writableEnded || v.res.destroyed) return;
    if (v.res.writableLength > SLOW_CLIENT_BYTES) {
      this.drop(v);
      v.res.destroy();
      return;
    }
    v.res.write(text);
  }

  private broadcast(event: string, data: unknown): void {
    if (this.viewersSet.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const v of [...this.viewersSet]) this.write(v, text);
  }

  /** Which call a frame concerns: its ivrid, the ivrid of the request it answers, or its component's call. */
  private tag(e: FrameLogEntry): string | null {
    const body = e.body;
    if (!isObj(body)) return null;
    let ivrid = str(body.ivrid) ?? (e.name === "notify" && isObj(body.data) ? str(body.data.ivrid) : undefined);
    if (body.qid !== undefined) {
      const k = keyOf(e.conn, body.qid);
      if (e.dir === "in" && ivrid !== undefined) {
        this.pending.delete(k);
        this.pending.set(k, { ivrid, name: e.name });
        if (this.pending.size > PENDING_LIMIT) this.pending.delete(this.pending.keys().next().value as string);
      } else if (e.dir === "out" && e.name.endsWith("_result")) {
        const p = this.pending.get(k);
        if (p && `${p.name}_result` === e.name) {
          this.pending.delete(k);
          ivrid ??= p.ivrid;
        }
      }
    }
    if (ivrid === undefined && e.name === "ivrapi_component_stopped" && body.oId !== undefined) {
      const calls = this.running.get(keyOf(e.conn, body.oId));
      // Two calls on one connection running the same oId: ambiguous, so untagged rather than wrong.
      if (calls?.size === 1) ivrid = [...calls][0];
    }
    return ivrid ?? null;
  }

  /** Follows which component runs on which call for which connection (component_stopped is sent before the update). */
  private track(c: SimCallInfo): void {
    const prev = this.runningOf.get(c.ivrid);
    const next = c.component && c.controller !== null ? keyOf(c.controller, c.component.oId) : undefined;
    if (prev === next) return;
    if (prev !== undefined) {
      const set = this.running.get(prev);
      set?.delete(c.ivrid);
      if (set?.size === 0) this.running.delete(prev);
      this.runningOf.delete(c.ivrid);
    }
    if (next !== undefined) {
      const set = this.running.get(next) ?? new Set<string>();
      set.add(c.ivrid);
      this.running.set(next, set);
      this.runningOf.set(c.ivrid, next);
    }
  }

  private keep(ivrid: string, frame: TaggedFrame): void {
    let list = this.framesByCall.get(ivrid);
    if (!list) {
      // The simulator forgets old ended calls; so does the feed.
      if (this.framesByCall.size >= 300) {
        for (const id of this.framesByCall.keys()) if (!this.source.hasCall(id)) this.framesByCall.delete(id);
      }
      list = [];
      this.framesByCall.set(ivrid, list);
    }
    list.push(frame);
    if (list.length > FRAMES_PER_CALL) list.splice(0, list.length - FRAMES_PER_CALL);
  }
}
