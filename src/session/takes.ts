// Takes of control in flight (ivrapi_accept for an offered call, ivrapi_reaccept for one taken over): one per call at
// a time, joined by whoever asks again meanwhile, each waiter told once. An api_stop that comes while one is in flight
// is remembered, so its outcome says the call ended. The registry sends the requests and reads their answers.
import { ChurnMap } from "../client/churn-map";
import { IvrApiError } from "../client/errors";
import type { AcceptOutcome, CallInfo } from "./types";

/** Told how a take of control ended: an outcome (accepted or lost), or the error that kept it from one. */
export type TakeDone = (err: unknown, out: AcceptOutcome | undefined) => void;

export class Takes {
  private readonly inFlight = new ChurnMap<string, Take>();
  /** Calls that got api_stop while their take was in flight. */
  private readonly stoppedEarly = new Set<string>();

  /** `warn`: a waiter threw (it must not); the others are still told. */
  constructor(private readonly warn: (text: string) => void) {}

  /** Is a take of this call in flight? */
  has(ivrid: string): boolean {
    return this.inFlight.has(ivrid);
  }

  /** The call's api_stop came: a take of it in flight can no longer give control. */
  stopped(ivrid: string): void {
    if (this.inFlight.has(ivrid)) this.stoppedEarly.add(ivrid);
  }

  /** Did the call's api_stop come while its take was in flight? */
  stoppedDuring(ivrid: string): boolean {
    return this.stoppedEarly.has(ivrid);
  }

  /**
   * One take of the call at a time: `held`, the call when it is held already (told so a microtask later); one in
   * flight is joined. Otherwise `take` sends the request and calls `finish` once with what reads its answer: that
   * outcome (or what it throws) is told to every waiter, the call no longer in flight.
   */
  once(
    call: CallInfo,
    held: CallInfo | undefined,
    done: TakeDone,
    take: (finish: (outcome: () => AcceptOutcome) => void) => void,
  ): void {
    if (held) {
      const out: AcceptOutcome = { accepted: true, call: held };
      queueMicrotask(() => this.tell(call, done, undefined, out));
      return;
    }
    const inFlight = this.inFlight.get(call.ivrid);
    if (inFlight) {
      inFlight.waiters.push(done);
      return;
    }
    const t = new Take(done);
    this.inFlight.set(call.ivrid, t);
    take((outcome) => {
      let out: AcceptOutcome | undefined;
      let error: unknown;
      try {
        out = outcome();
      } catch (err) {
        error = err ?? new Error("a take of control failed");
      }
      this.inFlight.delete(call.ivrid);
      this.stoppedEarly.delete(call.ivrid);
      for (const w of t.waiters) this.tell(call, w, error, out);
    });
  }

  /** Tells a waiter of a take; a waiter that throws costs a warning, not the others' outcome. */
  private tell(call: CallInfo, done: TakeDone, err: unknown, out: AcceptOutcome | undefined): void {
    try {
      done(err, out);
    } catch (bug) {
      try {
        this.warn(`call ${call.ivrid}: a take of control could not be followed up: ${(bug as Error).message}`);
      } catch {}
    }
  }
}

/** A take of control the server refused: a normal outcome (another connection has it, or the call is gone). */
export function refusalOf(call: CallInfo, err: unknown): AcceptOutcome | undefined {
  if (!(err instanceof IvrApiError && err.code === "rejected")) return undefined;
  const out: AcceptOutcome = { accepted: false, call, reason: err.message };
  if (err.details.serverCode) out.serverCode = err.details.serverCode;
  return out;
}

/** A take of control in flight, and who waits for its outcome (the first caller and any that joined). */
class Take {
  readonly waiters: TakeDone[];
  constructor(first: TakeDone) {
    this.waiters = [first];
  }
}
