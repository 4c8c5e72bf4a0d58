// Components on controlled calls: one at a time per call (rule 2) with a busy policy, terminate before the next
// (rule 3), an apply timeout, and matching every ivrapi_component_stopped to the component it ends.
import { randomInt } from "node:crypto";
import { ChurnMap } from "../client/churn-map";
import type { Answer, Done } from "../client/client";
import { IvrApiError } from "../client/errors";
import type { ComponentData, ComponentStoppedBody } from "../protocol";
import { type ApplyOptions, type ApplyWaiter, type QueuedApply, RunningComponent, type Session } from "./session";
import type { ComponentResult } from "./types";

/** Applies that may wait behind a running one on a call unless the registry says otherwise (busy `queue`). */
export const DEFAULT_MAX_QUEUE = 20;

/**
 * Where a registry's oIds start when nobody says (see randomFirstOId): at or above 2^20, above the numbers a server
 * counting components itself uses (the seed's `"oId": 0`), below 2^29. They count up to OID_LIMIT and start again at
 * OID_BASE_MIN: every oId stays a plain 32-bit integer (the seed does not say how large a number the platform takes,
 * and a 32-bit one is what any server reads) and a small integer to V8.
 */
export const OID_BASE_MIN = 2 ** 20;
export const OID_BASE_MAX = 2 ** 29;
export const OID_LIMIT = 2 ** 30;

/**
 * A random start for a registry's oIds. A stop event without ivrid (the seed's shape) is placed by its oId alone, and
 * after a failover the platform may send one for a component a dead instance (or an earlier registry) numbered: if
 * every registry counted from 1, that oId would name a component of ours on another call and end it. Only the
 * components running at that moment matter: with a few thousand running on each side, a given stale stop event hits
 * one of ours with a chance of about 1 in 10^5 (after a failover with thousands of them, about 1 in 100 that one
 * does). A stop event that carries its ivrid is placed by the call, whatever its oId.
 */
export function randomFirstOId(): number {
  return randomInt(OID_BASE_MIN, OID_BASE_MAX);
}

/** What the registry lends the components: its one way to send, and where results and warnings go. */
export interface ComponentHost {
  terminateRequest(s: Session): Promise<Answer>;
  /** Sends the apply; `done` is told its answer or error (never in the same turn). */
  applyRequest(s: Session, data: ComponentData, source: string | undefined, done: Done): void;
  /** Is the session still the live record of its call? */
  isHeld(s: Session): boolean;
  stopped(s: Session, result: ComponentResult): void;
  warn(text: string): void;
}

/** Nobody waits for an inherited component's result. */
const NOBODY: ApplyWaiter = { result: () => {}, error: () => {} };

export class Components {
  /** oId → session: component_stopped in the seed's shape names no ivrid, only the oId. */
  private readonly byOId = new ChurnMap<string, Session>();
  // Our own oId on every component, unique on this connection (and, from a random start, across registries): it is
  // what makes that correlation possible.
  private nextOId: number;

  constructor(
    private readonly host: ComponentHost,
    /** Most applies that may wait behind a running component on one call (busy `queue`); beyond: `busy`. */
    private readonly maxQueue = DEFAULT_MAX_QUEUE,
    firstOId = randomFirstOId(),
  ) {
    this.nextOId = firstOId;
  }

  peekOId(): number {
    return this.nextOId;
  }

  /**
   * A component known to run on a call this registry just took over (moved from another registry of this process):
   * it occupies the call and its stop event is matched by its oId; nobody here waits for its result.
   */
  inherit(s: Session, oId: number, data: ComponentData): void {
    const r = new RunningComponent(oId, data, undefined, 0, NOBODY);
    // It may have ended on the old socket while the calls moved: if it stays silent, the guard asks the platform.
    r.unaccounted = true;
    s.running = r;
    this.byOId.set(r.key, s);
    if (oId >= this.nextOId) this.nextOId = oId + 1;
  }

  /** Runs data (already validated) on the call, or applies the busy policy when one runs. */
  apply(s: Session, data: ComponentData, options: ApplyOptions): Promise<ComponentResult> {
    const timeoutMs = options.timeoutMs ?? 0;
    if (!s.running && !s.terminating) return this.run(s, data, timeoutMs, options.source);
    const oId = s.running?.oId ?? "being terminated";
    switch (options.busy ?? "reject") {
      case "reject":
        return Promise.reject(
          new IvrApiError(
            "busy",
            s.running?.orphaned
              ? `component oId ${oId} on call ${s.ivrid} got no answer and may still run; terminate it first`
              : `a component (oId ${oId}) already runs on call ${s.ivrid}`,
            { ivrid: s.ivrid },
          ),
        );
      case "queue":
      case "replace":
        return this.enqueue(s, data, timeoutMs, options.busy === "replace", options.source);
    }
  }

  /**
   * apply, told through callbacks instead of a promise: the apply node's hot path. A free call gets its component at
   * once and no promise is made (a promise, its resolvers and its reactions live as long as the component runs, for
   * every call in flight); the waiter is told once, a microtask after the outcome, as a promise's reaction would. A
   * busy call, or one taken over from elsewhere, goes through apply. The waiter must not throw.
   */
  applyThen(s: Session, data: ComponentData, options: ApplyOptions, waiter: ApplyWaiter): void {
    if (s.running || s.terminating || s.unknownComponent) {
      this.apply(s, data, options).then(
        (r) => waiter.result(r),
        (e: IvrApiError) => waiter.error(e),
      );
      return;
    }
    this.send(s, this.occupy(s, data, options.timeoutMs ?? 0, options.source, waiter, true));
  }

  /**
   * Stops the running component; resolves on the terminate answer, after which the call is free (rule 3).
   * A terminate already in flight is joined, never sent twice.
   */
  terminate(s: Session): Promise<Answer> {
    if (s.terminating) return s.terminating as Promise<Answer>;
    const r = s.running;
    if (!r) {
      return Promise.reject(
        new IvrApiError("no_component", `no component runs on call ${s.ivrid}`, { ivrid: s.ivrid }),
      );
    }
    const p = this.sendTerminate(s, r).finally(() => {
      s.terminating = undefined;
      this.drain(s);
    });
    s.terminating = p;
    return p;
  }

  private async sendTerminate(s: Session, r: RunningComponent): Promise<Answer> {
    try {
      const answer = await this.host.terminateRequest(s);
      if (r.orphaned && isActive(s, r)) {
        // Nobody waits for an orphan's stop event: the answer is all rule 3 needs, the call is free.
        this.settle(s, r, new IvrApiError("timeout", `component oId ${r.oId} was terminated`, { ivrid: s.ivrid }));
      } else if (s.running === r) {
        // Its component_stopped may still come; until then it waits under its oId, off the call's slot.
        s.running = undefined;
        clearTimeout(r.timer);
        s.addStopping(r);
      }
      return answer;
    } catch (err) {
      // The server refused: whatever its code, it has nothing of ours to stop, so the component ended there unseen
      // (its stop event lost while the socket was down). Waiting on would keep the call busy for good.
      if (err instanceof IvrApiError && err.code === "rejected" && isActive(s, r)) {
        const why = `component oId ${r.oId} is no longer running on the server (terminate refused: ${err.message}); its end was not reported`;
        this.settle(s, r, new IvrApiError("component_lost", why, { ivrid: s.ivrid, ...serverCodeOf(err) }));
      }
      throw err;
    }
  }

  /**
   * Matches a component_stopped event to the component it ends, by every means the protocol offers: the call
   * (its ivrid, else the oId we gave or the apply answer returned), then within the call the oId, else the call's
   * one outstanding component (a server that numbers components itself, as the seed's `"oId": 0` suggests).
   */
  onStopped(b: ComponentStoppedBody, byIvrid: (ivrid: string) => Session | undefined, retried = false): void {
    const oId = b.oId === undefined ? undefined : String(b.oId);
    const s = b.ivrid !== undefined ? byIvrid(b.ivrid) : oId === undefined ? undefined : this.byOId.get(oId);
    // The stop of a component started before this connection took the call over (see stopUnknown): nothing of ours
    // has been sent on the call yet, so it can be no other.
    if (s?.ghostStop) {
      s.ghostStop = false;
      const seen = s.ghostSeen;
      s.ghostSeen = undefined;
      seen?.();
      return;
    }
    if (s && oId !== undefined && s.hasRetired(oId) && !isOutstanding(s, oId)) {
      this.host.warn(
        `ivrapi_component_stopped for component oId ${oId} on call ${s.ivrid}, which already ended here; ignored`,
      );
      return;
    }
    const r = s ? matchComponent(s, oId) : undefined;
    if (!s || !r) {
      // The apply answer that names the server's oId may have come in the same read, its promise not yet run:
      // look once more after the pending callbacks, then say so.
      if (!retried) setImmediate(() => this.onStopped(b, byIvrid, true));
      else this.host.warn(`ivrapi_component_stopped matches no component of this connection (${summary(b)}); ignored`);
      return;
    }
    const result: ComponentResult = {
      oId: r.oId,
      transferKey: b.transferKey ?? "",
      results: b.results ?? {},
      body: b,
      data: r.data,
      timedOut: r.timedOut,
    };
    this.host.stopped(s, result);
    this.settle(s, r, result);
  }

  /** Forgets the call's components (it ended; the registry settles their waiters). */
  forget(s: Session): void {
    for (const r of [s.running, ...s.stopping.values()]) {
      if (!r) continue;
      clearTimeout(r.timer);
      this.unindex(r);
    }
  }

  private unindex(r: RunningComponent): void {
    this.byOId.delete(r.key);
    if (r.serverOId !== undefined) this.byOId.delete(r.serverOId);
  }

  private enqueue(
    s: Session,
    data: ComponentData,
    timeoutMs: number,
    replace: boolean,
    source: string | undefined,
  ): Promise<ComponentResult> {
    return new Promise<ComponentResult>((resolve, reject) => {
      const item: QueuedApply = { data, source, timeoutMs, replace, resolve, reject };
      // The newest replace is what the caller wants now (a caller who pressed 1 then 2 wants menu 2, not menu 2
      // then menu 1): every older replace still waiting is dropped unsent.
      if (replace) this.supersede(s);
      // The limit is for busy queue: a replace waits alone at the front (it superseded every older one just now).
      if (!replace && s.queue.length >= this.maxQueue) {
        const why = `${s.queue.length} components already wait on call ${s.ivrid} (the limit is ${this.maxQueue})`;
        reject(new IvrApiError("busy", why, { ivrid: s.ivrid }));
        return;
      }
      s.enqueue(item, replace);
      if (!replace) return;
      // The terminate answer frees the call and drain() starts the replacement.
      this.terminate(s).catch((err: IvrApiError) => {
        if (err.code === "no_component") return; // nothing ran: drain() already started it
        if (s.dequeue(item)) reject(err);
      });
    });
  }

  private supersede(s: Session): void {
    for (const old of s.queue.filter((q) => q.replace)) {
      s.dequeue(old);
      const why = `a newer apply (busy: replace) on call ${s.ivrid} took its place before it could run; it was not sent`;
      old.reject(new IvrApiError("superseded", why, { ivrid: s.ivrid }));
    }
  }

  /** The component occupies the call from now on, under a new oId; its waiter is told how it ends. */
  private occupy(
    s: Session,
    data: ComponentData,
    timeoutMs: number,
    source: string | undefined,
    waiter: ApplyWaiter,
    later: boolean,
  ): RunningComponent {
    const oId = this.nextOId++;
    if (this.nextOId >= OID_LIMIT) this.nextOId = OID_BASE_MIN;
    const running = new RunningComponent(oId, data, source, timeoutMs, waiter, later);
    // data is the registry's own checked copy: it carries our oId (one in the user's data is replaced).
    data.oId = oId;
    s.running = running;
    this.byOId.set(running.key, s);
    return running;
  }

  private run(s: Session, data: ComponentData, timeoutMs: number, source?: string): Promise<ComponentResult> {
    return new Promise<ComponentResult>((resolve, reject) => {
      const running = this.occupy(s, data, timeoutMs, source, { result: resolve, error: reject }, false);
      if (!s.unknownComponent) {
        this.send(s, running);
        return;
      }
      // A call taken over from elsewhere: stop whatever may still run there first (rule 3: wait for the answer).
      s.unknownComponent = false;
      this.stopUnknown(s).then(
        () => {
          if (s.running === running) this.send(s, running);
          // A replace took its place meanwhile (and was sent after its own terminate): this one never goes out.
          else if (isActive(s, running)) {
            const why = `a newer apply (busy: replace) on call ${s.ivrid} took its place before it could run; it was not sent`;
            this.settle(s, running, new IvrApiError("superseded", why, { ivrid: s.ivrid }));
          }
        },
        (err: IvrApiError) => this.settle(s, running, err),
      );
    });
  }

  /**
   * Terminates a component that may run on a call taken over from elsewhere. Refused: nothing ran, fine. Answered:
   * its stop event is waited for (briefly) before the next apply goes out, because its oId was chosen by another
   * connection and may equal ours: arriving later, it could end the wrong component.
   */
  private async stopUnknown(s: Session): Promise<void> {
    s.ghostStop = true;
    try {
      await this.host.terminateRequest(s);
    } catch (err) {
      s.ghostStop = false;
      if (!(err instanceof IvrApiError && err.code === "rejected")) throw err;
      return;
    }
    if (!s.ghostStop) return; // its stop came before the answer
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        s.ghostStop = false;
        s.ghostSeen = undefined;
        resolve();
      }, GHOST_STOP_MS);
      s.ghostSeen = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private send(s: Session, running: RunningComponent): void {
    const oId = running.oId;
    this.host.applyRequest(s, running.data, running.source, (err, answer) => {
      if (err) {
        // No answer (timeout, socket gone): the server may run it, so it keeps the call (rule 2).
        if (err.code === "timeout" || err.code === "connection_lost") {
          this.orphan(s, running, err);
          // The Timeout covers an orphan too: it is terminated when it would have been, or it holds the call.
          if (isActive(s, running)) this.startTimer(s, running);
        } else this.settle(s, running, err);
        return;
      }
      if (!isActive(s, running)) return;
      // A server that numbers components itself may say so in the answer: its stop event will use that oId.
      const theirs = (answer as Answer).body.oId;
      // Ours echoed as a number (the usual answer) is settled without making a string of it.
      if (
        theirs !== oId &&
        (typeof theirs === "number" || typeof theirs === "string") &&
        String(theirs) !== running.key
      ) {
        running.serverOId = String(theirs);
        this.byOId.set(running.serverOId, s);
      }
      this.startTimer(s, running);
    });
  }

  private startTimer(s: Session, r: RunningComponent): void {
    if (r.timeoutMs > 0 && r.timer === undefined) r.timer = setTimeout(() => this.expire(s, r), r.timeoutMs);
  }

  /** The apply timeout ran out: terminate; if even that fails, the waiter learns it now. */
  private expire(s: Session, r: RunningComponent): void {
    r.timedOut = true;
    this.terminate(s).catch((err: IvrApiError) => {
      if (!isActive(s, r) || r.orphaned) return;
      const why = `component oId ${r.oId} ran past its timeout and could not be terminated: ${err.message}`;
      this.orphan(s, r, new IvrApiError("timeout", why, { ivrid: s.ivrid }));
    });
  }

  /** Fails the waiter now but keeps the component occupying the call until the server says it ended. */
  private orphan(s: Session, r: RunningComponent, err: IvrApiError): void {
    clearTimeout(r.timer);
    r.timer = undefined;
    r.orphaned = true;
    r.reject(err);
    this.host.warn(`component oId ${r.oId} on call ${s.ivrid}: ${err.message}; the call stays busy until it stops`);
  }

  /**
   * After a reaccept: components whose waiter already failed may have ended while the socket was down. The one
   * occupying the call (only if it is an orphan: a live one has a flow waiting on it) is terminated; terminated
   * orphans stop being waited for. Then the queue moves again.
   */
  releaseOrphans(s: Session): void {
    for (const r of [...s.stopping.values()]) {
      if (r.orphaned) this.settle(s, r, new IvrApiError("connection_lost", "lost while the socket was down"));
    }
    if (s.running?.orphaned) this.terminate(s).catch(() => {});
    else this.drain(s);
  }

  /** Ends one component's wait (stopped, failed or lost) and lets the next queued apply go. */
  private settle(s: Session, r: RunningComponent, outcome: ComponentResult | IvrApiError): void {
    clearTimeout(r.timer);
    s.lastActive = performance.now();
    this.unindex(r);
    s.retire(r.key);
    if (r.serverOId !== undefined) s.retire(r.serverOId);
    s.deleteStopping(r.oId);
    if (s.running === r) s.running = undefined;
    if (outcome instanceof IvrApiError) r.reject(outcome);
    else r.resolve(outcome);
    this.drain(s);
  }

  private drain(s: Session): void {
    if (s.running || s.terminating || s.status !== "held" || !this.host.isHeld(s)) return;
    const next = s.dequeue();
    if (next) this.run(s, next.data, next.timeoutMs, next.source).then(next.resolve, next.reject);
  }
}

/** The component a stop event ends, within its call; undefined when the call has none it could be. */
function matchComponent(s: Session, oId: string | undefined): RunningComponent | undefined {
  // The everyday case, nothing terminated: the one that runs is the only one it can be (no list to build).
  if (s.stopping.size === 0) return s.running;
  // Terminated ones first: without an oId, the oldest still waiting for its event ends before its replacement.
  const outstanding = [...s.stopping.values()];
  if (s.running) outstanding.push(s.running);
  if (oId !== undefined) {
    const exact = outstanding.find((r) => r.key === oId || r.serverOId === oId);
    if (exact) return exact;
    // An oId we never saw: only the call's one outstanding component can be meant.
    return outstanding.length === 1 ? outstanding[0] : undefined;
  }
  return outstanding[0];
}

/** How long the stop event of a component terminated after a takeover is waited for before the next apply. */
const GHOST_STOP_MS = 1000;

function isOutstanding(s: Session, oId: string): boolean {
  if (s.running && (s.running.key === oId || s.running.serverOId === oId)) return true;
  for (const r of s.stopping.values()) if (r.key === oId || r.serverOId === oId) return true;
  return false;
}

/** A stop event in a few safe words for a log line (no recursion into what a server sent, bounded length). */
function summary(b: ComponentStoppedBody): string {
  const short = (v: unknown) => (v === undefined ? "none" : String(v).slice(0, 64));
  return `ivrid ${short(b.ivrid)}, oId ${short(b.oId)}, transferKey ${short(b.transferKey)}`;
}

function serverCodeOf(err: IvrApiError): { serverCode?: string } {
  return err.details.serverCode === undefined ? {} : { serverCode: err.details.serverCode };
}

function isActive(s: Session, r: RunningComponent): boolean {
  return s.running === r || s.stopping.get(r.oId) === r;
}
