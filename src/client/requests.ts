// The request/answer plumbing of one client, written once: qids, timeouts, matching `_result` frames,
// and failing whatever is in flight when the socket goes.
import type { Qid, RequestName, ResultBody, ResultOutcome } from "../protocol";
import { IvrApiError } from "./errors";

export interface Answer {
  request: RequestName;
  body: ResultBody;
  outcome: ResultOutcome;
}

interface Pending {
  name: RequestName;
  resolve: (a: Answer) => void;
  reject: (e: IvrApiError) => void;
  timer: NodeJS.Timeout;
}

export class RequestTracker {
  private readonly pending = new Map<Qid, Pending>();
  // Unique for the client's lifetime, so a late answer from an old socket can never match a new request.
  private nextQid = 1;

  /** A qid never used before on this client. */
  nextId(): number {
    return this.nextQid++;
  }

  /** Registers a request under its qid and returns the promise of its answer. */
  open(qid: number, name: RequestName, timeoutMs: number): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(qid);
        reject(new IvrApiError("timeout", `no answer to ${name} within ${timeoutMs} ms`, { request: name }));
      }, timeoutMs);
      this.pending.set(qid, { name, resolve, reject, timer });
    });
  }

  /** Fails one request (its frame could not be sent). */
  fail(qid: Qid, err: IvrApiError): void {
    const p = this.take(qid);
    p?.reject(err);
  }

  /**
   * Settles the request an answer belongs to; false when nobody waits for it (late after a timeout, or a qid
   * we never sent), so the caller can report it instead of dropping it.
   */
  settle(qid: Qid, request: string, body: ResultBody, outcome: ResultOutcome): boolean {
    const waiting = this.pending.get(qid);
    if (!waiting || waiting.name !== request) return false;
    const p = this.take(qid) as Pending;
    if (outcome.status === "error") {
      p.reject(
        new IvrApiError("rejected", `${request} refused: ${outcome.reason}`, {
          request,
          body,
          ...(outcome.code === undefined ? {} : { serverCode: outcome.code }),
        }),
      );
    } else p.resolve({ request: p.name, body, outcome });
    return true;
  }

  /** Fails everything in flight with the same cause (connection lost, closed). */
  failAll(err: IvrApiError): void {
    for (const qid of [...this.pending.keys()]) {
      const p = this.take(qid) as Pending;
      p.reject(new IvrApiError(err.code, `${p.name}: ${err.message}`, { request: p.name }));
    }
  }

  private take(qid: Qid): Pending | undefined {
    const p = this.pending.get(qid);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(qid);
    return p;
  }
}
