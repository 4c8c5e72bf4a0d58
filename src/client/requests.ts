// The request/answer plumbing of one client, written once: qids, timeouts, matching `_result` frames,
// and failing whatever is in flight when the socket goes.
import type { Qid, RequestName, ResultBody, ResultOutcome } from "../protocol";
import { ChurnMap } from "./churn-map";
import { IvrApiError } from "./errors";

export interface Answer {
  request: RequestName;
  body: ResultBody;
  outcome: ResultOutcome;
}

/** Told once that a request is over: with nothing on success, else with its error (see RequestOptions.settled). */
export type Settled = (err?: IvrApiError) => void;

/**
 * Told once that a request is over: its answer, or its error. The runtime's own requests are followed this way (no
 * promise, no microtask per request); the promise of IvrApiClient.request is made from it, at the edge.
 */
export type Done = (err: IvrApiError | undefined, answer: Answer | undefined) => void;

/** A class, not an object literal, so V8 never makes it in the old generation ahead of time (see ChurnMap's Box). */
class Pending {
  constructor(
    readonly name: RequestName,
    /** The call the request is for (its ivrid), when it names one. */
    readonly ivrid: string | undefined,
    readonly done: Done,
    /** When it times out (performance.now() ms), and the timeout it was given (for the error text). */
    readonly deadline: number,
    readonly timeoutMs: number,
  ) {}
}

/**
 * How often the deadlines of requests in flight are checked. One sweep timer for all of them instead of a timer per
 * request (a busy connection sends thousands a second, nearly all answered within a millisecond): a timeout fires
 * at most this much late.
 */
export const SWEEP_MS = 25;

/** Requests that timed out remembered (qid → ivrid), so that an answer arriving after all can still be placed. */
const TIMED_OUT_KEPT = 256;

export class RequestTracker {
  private readonly pending = new ChurnMap<Qid, Pending>();
  // Unique for the client's lifetime, so a late answer from an old socket can never match a new request.
  private nextQid = 1;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly timedOut = new Map<Qid, string | undefined>();
  /** Told how long each answered request took (the metrics' histogram); unset, nothing is measured. */
  onAnswer: ((request: string, ms: number, ok: boolean) => void) | undefined;
  /** Told when a Done callback threw: the loops that call them (answers, sweeps, a lost socket) go on. */
  onBug: ((err: unknown) => void) | undefined;

  /** A qid never used before on this client. */
  nextId(): number {
    return this.nextQid++;
  }

  /** How many requests wait for an answer. */
  get size(): number {
    return this.pending.size;
  }

  /** Registers a request under its qid; `done` is told its answer or its error, once. */
  open(qid: number, name: RequestName, timeoutMs: number, ivrid: string | undefined, done: Done): void {
    const deadline = performance.now() + timeoutMs;
    this.pending.set(qid, new Pending(name, ivrid, done, deadline, timeoutMs));
    // Only while something waits: an idle client keeps no timer (and never holds the process open).
    this.sweeper ??= setInterval(() => this.sweep(), Math.min(SWEEP_MS, Math.max(1, timeoutMs)));
  }

  /** Fails one request (its frame could not be sent). */
  fail(qid: Qid, err: IvrApiError): void {
    const p = this.take(qid);
    if (p) this.tellNow(p.done, err, undefined);
  }

  /**
   * Takes the request an answer belongs to off the list and returns it (with the call it was for); undefined when
   * nobody waits for it (late after a timeout, or a qid we never sent), so the caller can report it instead of
   * dropping it. `settle` then tells its waiter.
   */
  claim(qid: Qid, request: string): { ivrid: string | undefined } | undefined {
    const waiting = this.pending.get(qid);
    if (!waiting || waiting.name !== request) return undefined;
    return this.take(qid);
  }

  /** Tells a claimed request's waiter its answer: success, or `rejected` with the answer whole. */
  settle(claimed: { ivrid: string | undefined }, body: ResultBody, outcome: ResultOutcome): void {
    const p = claimed as Pending;
    const request = p.name;
    try {
      this.onAnswer?.(request, performance.now() - (p.deadline - p.timeoutMs), outcome.status !== "error");
    } catch (bug) {
      // The measure is lost, never the answer.
      this.onBug?.(bug);
    }
    if (outcome.status === "error") {
      const err = new IvrApiError("rejected", `${request} refused: ${outcome.reason}`, {
        request,
        body,
        ...(outcome.code === undefined ? {} : { serverCode: outcome.code }),
      });
      this.tellNow(p.done, err, undefined);
    } else this.tellNow(p.done, undefined, { request, body, outcome });
  }

  /** The call a request that timed out was for (an answer that comes after all still belongs to it). */
  timedOutCall(qid: Qid): string | undefined {
    return this.timedOut.get(qid);
  }

  /** Fails everything in flight with the same cause (connection lost, closed), and stops the sweep. */
  failAll(err: IvrApiError): void {
    for (const qid of [...this.pending.keys()]) {
      const p = this.take(qid);
      // A waiter told earlier in this loop may have sent a new request (it fails at once: the socket is gone).
      if (!p) continue;
      this.tellNow(p.done, new IvrApiError(err.code, `${p.name}: ${err.message}`, { request: p.name }), undefined);
    }
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    // Stopped by the first sweep that finds nothing in flight (not at every answer: a client sending one request at
    // a time would otherwise make and clear a timer per request).
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      return;
    }
    const now = performance.now();
    // forEach, not for-of: no iterator and no [qid, request] pair per request in flight, 40 times a second.
    this.pending.forEach((p, qid) => {
      if (p.deadline > now) return;
      this.take(qid);
      if (this.timedOut.size >= TIMED_OUT_KEPT) this.timedOut.delete(this.timedOut.keys().next().value as Qid);
      this.timedOut.set(qid, p.ivrid);
      this.tellNow(
        p.done,
        new IvrApiError("timeout", `no answer to ${p.name} within ${p.timeoutMs} ms`, { request: p.name }),
        undefined,
      );
    });
  }

  /** Tells a waiter; a waiter that throws is reported (onBug), and whatever loop called it goes on. */
  tellNow(done: Done, err: IvrApiError | undefined, answer?: Answer): void {
    try {
      done(err, answer);
    } catch (bug) {
      this.onBug?.(bug);
    }
  }

  private take(qid: Qid): Pending | undefined {
    const p = this.pending.get(qid);
    if (!p) return undefined;
    this.pending.delete(qid);
    return p;
  }
}
