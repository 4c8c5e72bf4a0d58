// One controlled call: its running component, the applies waiting behind it, and the components being
// terminated. Only the registry changes it; everything here dies with the call.
import type { IvrApiError } from "../client/errors";
import type { ComponentData } from "../protocol";
import { later } from "./later";
import type { BusyPolicy, CallInfo, ComponentResult } from "./types";

/**
 * The component that runs on a call. A class, not an object literal: V8 may start making a literal's objects in the
 * old generation once most of them outlive a young collection, and a dead old one keeps what it points to (the
 * waiter's closures, the data) alive until a full collection (see ChurnMap's Box).
 */
export class RunningComponent {
  /** String(oId), the form stop events are matched in: made once, not per match (they may carry it as a string). */
  readonly key: string;
  /** The server's own oId for it, when the apply answer named one that differs from ours. */
  serverOId: string | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  timedOut = false;
  /** It was running when the socket broke and was taken back: its end may have gone to nobody (the guard checks). */
  unaccounted = false;
  /**
   * Its waiter already got an error (the apply or terminate answer was lost), but the server may still run it:
   * it keeps the call occupied (rule 2) until its stop event or a terminate answer says otherwise.
   */
  orphaned = false;

  /** Its waiter was told (a waiter told by callbacks is told once, as a promise settles once). */
  private told = false;

  constructor(
    readonly oId: number,
    readonly data: ComponentData,
    /** Who applied it (ApplyOptions.source). */
    readonly source: string | undefined,
    readonly timeoutMs: number,
    /** Its waiter: a promise's resolve and reject, or (`later`) the apply's own waiter object. */
    private readonly waiter: ApplyWaiter,
    /**
     * The waiter is told a microtask after the outcome, as a promise's reactions would be, never inside the handling
     * of the event that ended it (the call record sees a stop or an end before the flow does).
     */
    private readonly later = false,
  ) {
    this.key = String(oId);
  }

  resolve(r: ComponentResult): void {
    this.tell(r, false);
  }

  reject(e: IvrApiError): void {
    this.tell(e, true);
  }

  private tell(outcome: ComponentResult | IvrApiError, failed: boolean): void {
    if (!this.later) {
      deliver(this.waiter, outcome, failed);
      return;
    }
    if (this.told) return;
    this.told = true;
    // Kept until told: no closure per outcome (see later.ts).
    this.outcome = outcome;
    this.failed = failed;
    later(tellLater, this);
  }

  /** What it ended with, while its waiter is yet to be told (`later`), and whether that is an error. */
  private outcome: ComponentResult | IvrApiError | undefined = undefined;
  private failed = false;

  /** Tells the waiter what it ended with (see tell). */
  static tellLater(r: RunningComponent): void {
    const outcome = r.outcome as ComponentResult | IvrApiError;
    r.outcome = undefined;
    deliver(r.waiter, outcome, r.failed);
  }
}

const tellLater = RunningComponent.tellLater;

function deliver(w: ApplyWaiter, outcome: ComponentResult | IvrApiError, failed: boolean): void {
  if (failed) w.error(outcome as IvrApiError);
  else w.result(outcome as ComponentResult);
}

/**
 * Who waits for an apply's outcome: told once, a result or an error. One object per apply (the apply node's own, or a
 * promise's resolvers), not two closures and their context: it lives as long as the component runs.
 */
export interface ApplyWaiter {
  result(r: ComponentResult): void;
  error(e: IvrApiError): void;
}

export interface QueuedApply {
  data: ComponentData;
  source: string | undefined;
  timeoutMs: number;
  /** Queued by busy `replace`: a newer replace supersedes it. */
  replace: boolean;
  resolve(r: ComponentResult): void;
  reject(e: IvrApiError): void;
}

export class Session {
  /**
   * `held`: control is ours; `reaccepting`: the socket broke and control is being taken back (nothing is sent
   * for the call until that is answered); `aborting`: control is being handed back (nothing more is sent).
   */
  status: "held" | "reaccepting" | "aborting" = "held";
  /**
   * Taken over from elsewhere (adopt): a component started before may still run on the platform. The first apply
   * terminates it first; a stop event that is none of ours arriving meanwhile belongs to it.
   */
  unknownComponent = false;
  /** The idle guard's clock (performance.now(): monotonic, a wall-clock step changes nothing): the accept answered, a component ended, or a request answered. */
  lastActive = 0;
  /** Session requests waiting for their answer. */
  inFlight = 0;
  /** Why it is being handed back (`aborted`, `idle`), while status is `aborting` or a hand-back is due. */
  abortReason: string | undefined;
  /**
   * Its hand-back (ivrapi_abort) was cut off by a lost connection: once the call is taken back after the reconnect,
   * the abort goes out again and nothing else does (status stays `reaccepting` until then).
   */
  handBackDue = false;
  /** The terminate of such a component was answered: its stop event (an oId none of ours) is still due. */
  ghostStop = false;
  /** Called when that stop event arrived (the next apply may go). */
  ghostSeen: (() => void) | undefined;
  /** The terminate in flight: the next component waits for its answer (rule 3), a second terminate joins it. */
  terminating: Promise<unknown> | undefined;
  /** The component that occupies the call (from the moment its apply is sent). */
  running: RunningComponent | undefined;
  // A held call mostly waits with nothing terminated and nothing queued: those containers exist only while used
  // (thousands of held calls must stay cheap).
  private _stopping: Map<number, RunningComponent> | undefined;
  private _queue: QueuedApply[] | undefined;
  /** oIds (ours and the server's) of the call's components that ended here, newest last; see retire(). */
  private _retired: string[] | undefined;

  constructor(readonly call: CallInfo) {}

  /** Terminated components whose component_stopped has not arrived yet, by oId. */
  get stopping(): ReadonlyMap<number, RunningComponent> {
    return this._stopping ?? NO_STOPPING;
  }

  /** Applies waiting for the call to be free, in order. */
  get queue(): readonly QueuedApply[] {
    return this._queue ?? NO_QUEUE;
  }

  addStopping(r: RunningComponent): void {
    this._stopping ??= new Map();
    this._stopping.set(r.oId, r);
  }

  deleteStopping(oId: number): void {
    if (!this._stopping?.delete(oId) || this._stopping.size > 0) return;
    this._stopping = undefined;
  }

  /** Queues an apply at the back, or at the front (a replace). */
  enqueue(item: QueuedApply, front: boolean): void {
    this._queue ??= [];
    if (front) this._queue.unshift(item);
    else this._queue.push(item);
  }

  /** Takes the next apply, or removes one given (it left the queue for another reason). */
  dequeue(item?: QueuedApply): QueuedApply | undefined {
    const q = this._queue;
    if (!q) return undefined;
    let out: QueuedApply | undefined;
    if (item === undefined) out = q.shift();
    else {
      const i = q.indexOf(item);
      if (i >= 0) out = q.splice(i, 1)[0];
    }
    if (q.length === 0) this._queue = undefined;
    return out;
  }

  /** Empties the queue and returns what was in it. */
  takeQueue(): QueuedApply[] {
    const q = this._queue ?? [];
    this._queue = undefined;
    return q;
  }

  /**
   * Remembers that a component of this call ended here, so that a late or repeated stop event for it cannot end the
   * one that runs now. The last RETIRED_KEPT: such events come within moments, and the record lives with the call
   * (a stop event for a call that ended finds no call at all).
   */
  retire(oId: string): void {
    this._retired ??= [];
    if (this._retired.length >= RETIRED_KEPT) this._retired.shift();
    this._retired.push(oId);
  }

  hasRetired(oId: string): boolean {
    return this._retired?.includes(oId) ?? false;
  }

  /** Forgets every terminated component (the call ended). */
  clearStopping(): void {
    this._stopping = undefined;
  }

  get ivrid(): string {
    return this.call.ivrid;
  }

  /** Everything still waiting on this call, for settling when it ends. */
  *waiters(): Iterable<{ reject(e: IvrApiError): void; timer?: NodeJS.Timeout | undefined }> {
    if (this.running) yield this.running;
    yield* this.stopping.values();
    yield* this.queue;
  }
}

/** Ended components remembered per call (see Session.retire). */
const RETIRED_KEPT = 8;

const NO_STOPPING: ReadonlyMap<number, RunningComponent> = new Map();
const NO_QUEUE: readonly QueuedApply[] = Object.freeze([]);

export interface ApplyOptions {
  busy?: BusyPolicy;
  /** ms after which the component is terminated (0 or absent = never). */
  timeoutMs?: number;
  /** Who applies it (a node id): the call record names it, so an editor can point at that node. */
  source?: string;
}
