// The request/answer plumbing of one client, written once: qids, timeouts, matching `_result` frames,
// and failing whatever is in flight when the socket goes.
import type { Qid, RequestName, ResultBody, ResultOutcome } from "../protocol";
import { IvrApiError } from "./errors";

export interface Answer {
  request: RequestName;
  body: ResultBody;
  outcome: ResultOutcome;
}

/** Told once that a request is over: with nothing on success, else with its error (see RequestOptions.settled). */
export type Settled = (err?: IvrApiError) => void;

interface Pending {
  name: RequestName;
  settled: Settled | undefined;
  /** The call the request is for (its ivrid), when it names one. */
  ivrid: string | undefined;
  resolve: (a: Answer) => void;
  reject: (e: IvrApiError) => void;
  /** When it times out (ms epoch), and the timeout it was given (for the error text). */
  deadline: number;
  timeoutMs: number;
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
  private readonly pending = new Map<Qid, Pending>();
  // Unique for the client's lifetime, so a late answer from an old socket can never match a new request.
  private nextQid = 1;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly timedOut = new Map<Qid, string | undefined>();
  /** Told how long each answered request took (the metrics' histogram); unset, nothing is measured. */
  onAnswer: ((request: string, ms: number, ok: boolean) => void) | undefined;

  /** A qid never used before on this client. */
  nextId(): number {
    return this.nextQid++;
  }

  /** How many requests wait for an answer. */
  get size(): number {
    return this.pending.size;
  }

  /** Registers a request under its qid and returns the promise of its answer. */
  open(qid: number, name: RequestName, timeoutMs: number, ivrid?: string, settled?: Settled): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const deadline = performance.now() + timeoutMs;
      this.pending.set(qid, { name, settled, ivrid, resolve, reject, deadline, timeoutMs });
      // Only while something waits: an idle client keeps no timer (and never holds the process open).
      this.sweeper ??= setInterval(() => this.sweep(), Math.min(SWEEP_MS, Math.max(1, timeoutMs)));
    });
  }

  /** Fails one request (its frame could not be sent). */
  fail(qid: Qid, err: IvrApiError): void {
    const p = this.take(qid);
    p?.reject(err);
    p?.settled?.(err);
  }

  /**
   * Settles the request an answer belongs to and returns it (with the call it was for); undefined when nobody waits
   * for it (late after a timeout, or a qid we never sent), so the caller can report it instead of dropping it.
   */
  settle(
    qid: Qid,
    request: string,
    body: ResultBody,
    outcome: ResultOutcome,
  ): { ivrid: string | undefined } | undefined {
    const waiting = this.pending.get(qid);
    if (!waiting || waiting.name !== request) return undefined;
    const p = this.take(qid) as Pending;
    if (this.onAnswer)
      this.onAnswer(request, performance.now() - (p.deadline - p.timeoutMs), outcome.status !== "error");
    if (outcome.status === "error") {
      const err = new IvrApiError("rejected", `${request} refused: ${outcome.reason}`, {
        request,
        body,
        ...(outcome.code === undefined ? {} : { serverCode: outcome.code }),
      });
      p.reject(err);
      p.settled?.(err);
    } else {
      p.resolve({ request: p.name, body, outcome });
      p.settled?.();
    }
    return p;
  }

  /** The call a request that timed out was for (an answer that comes after all still belongs to it). */
  timedOutCall(qid: Qid): string | undefined {
    return this.timedOut.get(qid);
  }

  /** Fails everything in flight with the same cause (connection lost, closed), and stops the sweep. */
  failAll(err: IvrApiError): void {
    for (const qid of [...this.pending.keys()]) {
      const p = this.take(qid) as Pending;
      const failed = new IvrApiError(err.code, `${p.name}: ${err.message}`, { request: p.name });
      p.reject(failed);
      p.settled?.(failed);
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
    for (const [qid, p] of this.pending) {
      if (p.deadline > now) continue;
      this.take(qid);
      if (this.timedOut.size >= TIMED_OUT_KEPT) this.timedOut.delete(this.timedOut.keys().next().value as Qid);
      this.timedOut.set(qid, p.ivrid);
      const late = new IvrApiError("timeout", `no answer to ${p.name} within ${p.timeoutMs} ms`, { request: p.name });
      p.reject(late);
      p.settled?.(late);
    }
  }

  private take(qid: Qid): Pending | undefined {
    const p = this.pending.get(qid);
    if (!p) return undefined;
    this.pending.delete(qid);
    return p;
  }
}
