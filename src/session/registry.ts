// The session registry: one record per controlled call, from accept to api_stop/abort/lost race. It enforces the
// rules of PROTOCOL.md that a single request cannot: the session key (1), one component at a time (2, 3),
// nothing after api_stop or abort (4, 5), first accept wins (6), reaccept after a reconnect (7).
import { EventEmitter } from "node:events";
import { ChurnMap } from "../client/churn-map";
import type { Answer, Done, IvrApiClient, StateChange } from "../client/client";
import { IvrApiError } from "../client/errors";
import { MAX_TIMER_MS } from "../client/options";
import {
  type ApiStartData,
  type ApiStopData,
  ComponentData,
  type ComponentStoppedBody,
  type DtmfBody,
  type RequestParams,
  type SessionRequestName,
} from "../protocol";
import { copyBody, fastComponentData } from "../protocol/fast";
import { Call, isCall, toCall } from "./call";
import { turnNow } from "./clock";
import { Components, DEFAULT_MAX_QUEUE } from "./components";
import { checkIdleGuard, IdleGuard } from "./idle-guard";
import { isConnectionGone, Reconnect } from "./reconnect";
import { type ApplyOptions, type ApplyWaiter, Session } from "./session";
import { refusalOf, type TakeDone, Takes } from "./takes";
import type {
  AcceptOutcome,
  CallInfo,
  ComponentResult,
  ComponentStart,
  RegistryEvents,
  RegistryObserver,
} from "./types";

export interface AdoptOptions {
  /** The component known to run on the call (moved from another registry of this process): its end is awaited. */
  running?: { oId: number; data: ComponentData };
  /** No `resumed` event: the caller says when the call is resumed. */
  quiet?: boolean;
}

export interface RegistryOptions {
  /** Take held calls back with ivrapi_reaccept after a reconnect (default true). */
  reaccept?: boolean;
  /** Most applies that may wait on one call with busy `queue` (default 20); beyond that, apply fails `busy`. */
  maxQueue?: number;
  /**
   * The first oId given (default: a random start, see randomFirstOId): a registry taking over another's calls in this
   * process starts above its oIds.
   */
  firstOId?: number;
  /**
   * Asked before a held call is taken back after a reconnect (rule 7). False when another instance has taken it over
   * meanwhile (failover): the call then ends here with reason `taken_over`, and no reaccept is sent for it.
   */
  mayReaccept?: (call: CallInfo) => boolean | Promise<boolean>;
  /**
   * The idle guard: a held call with nothing running and nothing asked for this long (ms) is handed back to its
   * script (`ivrapi_abort`, end reason `idle`). The clock restarts when the accept is answered, a component ends or
   * a request is answered. 0 (the default here; the connection node's is 10 s) = off.
   */
  idleGuardMs?: number;
}

export class SessionRegistry extends EventEmitter<RegistryEvents> {
  /**
   * The call record (CallRecords.attach): told of each event right before the listeners, by a direct call. As a
   * listener it made every event's emitter copy its list of two listeners (the record's and the hub's), per event.
   */
  observer: RegistryObserver | undefined;
  private readonly sessions = new ChurnMap<string, Session>();
  /** Takes of control in flight (accept, adopt): a second take of the same call joins the first. */
  private readonly takes = new Takes((text) => this.emit("warning", text));
  private readonly components: Components;
  private readonly reaccept: boolean;
  private readonly reconnect: Reconnect;
  private readonly idleGuard: IdleGuard;
  private readonly unbind: () => void;
  /** Errors already reported as `failed` (an apply's error reaches both its request and its caller). */
  private readonly reported = new WeakSet<object>();

  constructor(
    readonly client: IvrApiClient,
    options: RegistryOptions = {},
  ) {
    super();
    this.reaccept = options.reaccept ?? true;
    const warn = (text: string) => this.emit("warning", text);
    this.reconnect = new Reconnect(
      {
        sessions: () => this.sessions.values(),
        holds: (s) => this.sessions.get(s.ivrid) === s,
        request: (s, name) => this.sessionRequest(s, name, {}),
        end: (s, reason) => this.end(s, { reason }),
        reaccepted: (s) => {
          this.observer?.reaccepted(s.call);
          this.emit("reaccepted", s.call);
          // Components whose flow already got an error may have ended while we were away (their events are lost):
          // an orphan still on the call is terminated, terminated ones stop being waited for; then the queue moves.
          this.components.releaseOrphans(s);
        },
        warn,
      },
      this.reaccept,
      options.mayReaccept,
    );
    const sessions = this.sessions;
    this.idleGuard = new IdleGuard(
      {
        sessions: () => sessions.values(),
        get size() {
          return sessions.size;
        },
        handBack: (s) =>
          void this.abort(s.ivrid, { reason: "idle" }).catch((err: Error) =>
            warn(`call ${s.ivrid}: the idle guard could not hand it back: ${err.message}`),
          ),
        probe: (s) => void this.components.terminate(s).catch(() => {}),
        warn,
      },
      checkIdleGuard(options.idleGuardMs),
    );
    this.components = new Components(
      {
        applyRequest: (s, data, source, done) => {
          if (this.observer || this.listenerCount("component_started") > 0) this.started(s, data, source);
          this.sessionCall(s, "ivrapi_component_apply", { data }, done);
        },
        terminateRequest: (s) => this.sessionRequest(s, "ivrapi_component_terminate", {}),
        isHeld: (s) => this.sessions.get(s.ivrid) === s,
        stopped: (s, result) => {
          this.observer?.componentStopped(s.call, result);
          this.emit("component_stopped", s.call, result);
        },
        warn,
      },
      checkMaxQueue(options.maxQueue),
      checkFirstOId(options.firstOId),
    );
    const onStart = (d: ApiStartData) => this.onApiStart(d);
    const onStop = (d: ApiStopData) => this.onApiStop(d);
    const onStopped = (b: ComponentStoppedBody) => this.components.onStopped(b, (ivrid) => this.sessions.get(ivrid));
    const onDtmf = (b: DtmfBody) => this.onDtmf(b);
    const onState = (c: StateChange) => {
      if (c.state === "ready") this.reconnect.ready();
      else if (c.previous === "ready") this.reconnect.lost();
    };
    client.on("api_start", onStart);
    client.on("api_stop", onStop);
    client.on("component_stopped", onStopped);
    client.on("dtmf", onDtmf);
    client.on("state", onState);
    this.unbind = () => {
      client.off("api_start", onStart);
      client.off("api_stop", onStop);
      client.off("component_stopped", onStopped);
      client.off("dtmf", onDtmf);
      client.off("state", onState);
    };
  }

  /** The calls this connection controls now. */
  list(): CallInfo[] {
    return [...this.sessions.values()].map((s) => s.call);
  }

  /** How many calls this connection controls now. */
  get size(): number {
    return this.sessions.size;
  }

  get(ivrid: string): CallInfo | undefined {
    return this.sessions.get(ivrid)?.call;
  }

  /**
   * Whether a held call is idle: nothing running, terminating, stopping or queued, and no request in flight. False
   * for a call this connection does not hold.
   */
  isIdle(ivrid: string): boolean {
    const s = this.sessions.get(ivrid);
    return (
      s !== undefined &&
      s.status === "held" &&
      !s.running &&
      !s.terminating &&
      s.stopping.size === 0 &&
      s.queue.length === 0 &&
      s.inFlight === 0
    );
  }

  /** What runs on a held call, for moving it to another registry (a changed connection after a deploy). */
  runningOf(ivrid: string): { oId: number; data: ComponentData } | undefined {
    const r = this.sessions.get(ivrid)?.running;
    return r && !r.orphaned ? { oId: r.oId, data: r.data } : undefined;
  }

  /** The next oId this registry would give (a registry taking calls over starts above it). */
  get nextOId(): number {
    return this.components.peekOId();
  }

  /** Are applies waiting on the call (busy queue or replace)? */
  hasQueued(ivrid: string): boolean {
    return (this.sessions.get(ivrid)?.queue.length ?? 0) > 0;
  }

  /** Is a component running (or being applied) on the call? */
  isBusy(ivrid: string): boolean {
    return this.sessions.get(ivrid)?.running !== undefined;
  }

  /**
   * Takes control of an offered call. A call is accepted once per connection: a second accept of the same
   * ivrid gets the first one's outcome. Losing the race is a normal outcome, not an error; transport failures
   * (timeout, connection lost) reject.
   */
  accept(start: ApiStartData | CallInfo): Promise<AcceptOutcome> {
    // The promise is made at the edge, from the callback (as apply is made from applyThen): one path.
    return new Promise<AcceptOutcome>((resolve, reject) =>
      this.acceptThen(start, (err, out) => (err === undefined ? resolve(out as AcceptOutcome) : reject(err))),
    );
  }

  /**
   * accept, told through a callback instead of a promise (the hub's path for every offered call: no promise, no
   * reaction, no microtask per step). `done` is told once, never in the same turn as this call; it must not throw.
   */
  acceptThen(start: ApiStartData | CallInfo, done: TakeDone): void {
    const call = isCall(start) ? start : toCall(start);
    this.takes.once(call, this.sessions.get(call.ivrid)?.call, done, (finish) =>
      this.client.call("ivrapi_accept", { key: call.key, ivrid: call.ivrid }, undefined, (err) =>
        finish(() => this.accepted(call, err)),
      ),
    );
  }

  /** What the accept's answer (or its error) means for the call: its outcome, or the error to throw. */
  private accepted(call: CallInfo, err: IvrApiError | undefined): AcceptOutcome {
    if (err) {
      const refusal = refusalOf(call, err);
      if (refusal) {
        this.observer?.acceptLost(call);
        this.emit("accept_lost", call, refusal as { reason: string; serverCode?: string });
        return refusal;
      }
      this.report(call, "ivrapi_accept", err);
      // The answer was lost, so the server may have given us control that nobody here tracks: hand it back
      // (refused harmlessly when another connection won).
      // Not when api_stop already came: the call is gone, and nothing may be sent for it any more (rule 4).
      const gone = this.takes.stoppedDuring(call.ivrid);
      if ((err.code === "timeout" || err.code === "connection_lost") && !gone) {
        this.client.request("ivrapi_abort", { key: call.key, ivrid: call.ivrid }).catch(() => {});
      }
      throw err;
    }
    if (this.takes.stoppedDuring(call.ivrid))
      return { accepted: false, call, reason: "the call ended before control was taken" };
    this.hold(new Session(call));
    this.observer?.sessionStart(call);
    this.emit("session_start", call);
    return { accepted: true, call };
  }

  /**
   * Takes control of a call this connection does not hold, with `ivrapi_reaccept` (which moves control from any
   * connection: the platform's "hijack"): another instance died holding it (failover), or this process's previous
   * connection held it (a changed connection after a deploy). On success the call is held here and `resumed` is
   * emitted with `why`. Whether a component from before still runs cannot be known: the first apply terminates
   * whatever may run (a refusal, nothing ran, is fine) before it is sent, so it is never refused because of one.
   */
  adopt(start: ApiStartData | CallInfo, why: string, opts: AdoptOptions = {}): Promise<AcceptOutcome> {
    const call = isCall(start) ? start : toCall(start);
    return new Promise<AcceptOutcome>((resolve, reject) =>
      this.takes.once(
        call,
        this.sessions.get(call.ivrid)?.call,
        (err, out) => (err === undefined ? resolve(out as AcceptOutcome) : reject(err)),
        (finish) =>
          this.doAdopt(call, why, opts).then(
            (out) => finish(() => out),
            (err) =>
              finish(() => {
                throw err;
              }),
          ),
      ),
    );
  }

  private async doAdopt(call: CallInfo, why: string, opts: AdoptOptions): Promise<AcceptOutcome> {
    try {
      await this.client.request("ivrapi_reaccept", { key: call.key, ivrid: call.ivrid });
    } catch (err) {
      const refusal = refusalOf(call, err);
      if (refusal) return refusal;
      throw err;
    }
    if (this.takes.stoppedDuring(call.ivrid)) return { accepted: false, call, reason: "the call ended meanwhile" };
    const s = new Session(call);
    this.hold(s);
    if (opts.running) this.components.inherit(s, opts.running.oId, opts.running.data);
    else s.unknownComponent = true;
    this.observer?.sessionStart(call);
    this.emit("session_start", call);
    if (!opts.quiet) {
      this.observer?.resumed(call, { why });
      this.emit("resumed", call, { why });
    }
    return { accepted: true, call };
  }

  /**
   * Runs one component on the call and resolves when it stopped (with its transferKey and results).
   * While one runs, `busy` decides: `reject` (error, nothing sent), `queue` (sent when it stops), or `replace`
   * (terminate it, wait for the answer, then apply). Data is checked (numeric oType) before anything is sent.
   */
  apply(ivrid: string, data: Record<string, unknown>, options: ApplyOptions = {}): Promise<ComponentResult> {
    // The promise is made at the edge, from the callbacks (as IvrApiClient.request is made from call): one path.
    return new Promise<ComponentResult>((resolve, reject) =>
      this.applyThen(ivrid, data, options, { result: resolve, error: reject }),
    );
  }

  /**
   * apply, told through a waiter instead of a promise (the apply node's hot path: see Components.applyThen). It is
   * told once, never in the same turn as this call; it must not throw. A failure is reported to the call record
   * (`failed`) before the waiter is told.
   */
  applyThen(ivrid: string, data: Record<string, unknown>, options: ApplyOptions, waiter: ApplyWaiter): void {
    const s = this.sessions.get(ivrid);
    const call = s?.call;
    // Only when the call record follows failures does the waiter need one of its own that reports them first.
    const told =
      call && (this.observer || this.listenerCount("failed") > 0)
        ? new ReportedWaiter(this.reportApply, call, waiter)
        : waiter;
    let checked: ComponentData;
    try {
      checked = this.checkApply(s, ivrid, data, options);
    } catch (err) {
      queueMicrotask(() => told.error(err as IvrApiError));
      return;
    }
    this.components.applyThen(s as Session, checked, options, told);
  }

  /** Reports an apply's failure (see ReportedWaiter): one function per registry, not one per apply. */
  private readonly reportApply = (call: CallInfo, err: unknown): void =>
    this.report(call, "ivrapi_component_apply", err);

  /** Says once that a request or an apply on a call failed (for the call record and the metrics). */
  private report(call: CallInfo, request: string, err: unknown): void {
    if (!(err instanceof IvrApiError) || this.reported.has(err)) return;
    if (!this.observer && this.listenerCount("failed") === 0) return;
    this.reported.add(err);
    const f = { request, error: err };
    this.observer?.failed(call, f);
    this.emit("failed", call, f);
  }

  /** An apply goes out: who asked for it, for the call record. */
  private started(s: Session, data: ComponentData, source: string | undefined): void {
    const oId = Number(data.oId);
    const c: ComponentStart = source === undefined ? { oId, data } : { oId, data, source };
    this.observer?.componentStarted(s.call, c);
    this.emit("component_started", s.call, c);
  }

  /** The checks of an apply, before anything is sent: the call, its state, the timeout, the data (a checked copy). */
  private checkApply(
    held: Session | undefined,
    ivrid: string,
    data: Record<string, unknown>,
    options: ApplyOptions,
  ): ComponentData {
    const s = held ?? this.require(ivrid);
    if (s.status === "aborting" || s.handBackDue) throw this.ended(s, "it is being handed back to the script");
    const timeoutMs = options.timeoutMs ?? 0;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMER_MS) {
      throw new IvrApiError("invalid", `timeout must be between 0 and ${MAX_TIMER_MS} ms, not ${timeoutMs}`, { ivrid });
    }
    // The one check of the data (key and ivrid are the session's own); its output is a fresh copy the runtime may
    // add its oId to. Not a spread (see copyBody): the oId would give a spread's copy a hidden class of its own.
    if (fastComponentData(data)) return copyBody(data) as ComponentData;
    const checked = ComponentData.safeParse(data);
    if (!checked.success) {
      const why = checked.error.issues.map((i) => `${i.path.join(".") || "data"}: ${i.message}`).join("; ");
      throw new IvrApiError("invalid", `component data is not valid (it needs a numeric oType, e.g. 204): ${why}`, {
        ivrid,
      });
    }
    return checked.data;
  }

  /** Stops the running component; resolves on the terminate answer, after which the call is free (rule 3). */
  async terminate(ivrid: string): Promise<Answer> {
    return this.components.terminate(this.require(ivrid));
  }

  /**
   * Gives control back to the script; on the answer the call's state is dropped (rule 5). When the connection is lost
   * before the answer (or is down), this rejects (`connection_lost` / `not_connected`) but the hand-back is not
   * dropped: it is finished once the call is taken back after the reconnect (see takeBack).
   */
  abort(ivrid: string, opts: { timeoutMs?: number; reason?: string } = {}): Promise<Answer> {
    // The promise is made at the edge, from the callback (as apply is made from applyThen): one path.
    return new Promise<Answer>((resolve, reject) =>
      this.abortThen(ivrid, opts, (err, answer) => (err === undefined ? resolve(answer as Answer) : reject(err))),
    );
  }

  /**
   * abort, told through a callback instead of a promise (the abort node's path). `done` is told once, never in the
   * same turn as this call; it must not throw.
   */
  abortThen(
    ivrid: string,
    opts: { timeoutMs?: number; reason?: string },
    done: (err: unknown, answer: Answer | undefined) => void,
  ): void {
    let s: Session;
    let before: Session["status"];
    try {
      s = this.require(ivrid);
      before = this.beginAbort(s, opts);
    } catch (err) {
      queueMicrotask(() => done(err, undefined));
      return;
    }
    this.sessionCall(
      s,
      "ivrapi_abort",
      {},
      (err, answer) => {
        if (err === undefined) {
          // A listener of the end that throws fails the abort's caller, as it did when this was a promise.
          let bug: unknown;
          try {
            this.end(s, { reason: opts.reason ?? "aborted" });
          } catch (e) {
            bug = e;
          }
          done(bug, bug === undefined ? answer : undefined);
          return;
        }
        done(this.abortFailed(s, before, err), undefined);
      },
      opts.timeoutMs,
    );
  }

  /** The checks and the state of an abort before it is sent; returns the status the call had. */
  private beginAbort(s: Session, opts: { reason?: string }): Session["status"] {
    if (s.status === "aborting" || s.handBackDue) throw this.ended(s, "it is being handed back to the script");
    const before = s.status;
    s.abortReason = opts.reason ?? "aborted";
    // An Error (with its stack) only when someone waits for it: most calls end with nothing queued. From now on
    // nothing else is sent for the call (rules 4, 5): waiting applies fail at once.
    if (s.queue.length > 0) {
      const err = this.ended(s, "it is being handed back to the script");
      for (const q of s.takeQueue()) q.reject(err);
    }
    if (before === "reaccepting" && s.inFlight === 0) {
      // The connection does not control the call until its reaccept is answered (rule 7), and the reaccept has not
      // gone out yet (the connection is down, or the failover store is being asked): an abort now would be refused,
      // and the call kept. The hand-back is owed, and goes out right after the reaccept (see takeBack). With the
      // reaccept already sent (the one request a call being taken back has in flight), the abort follows it on the
      // same socket and reaches the platform after it: it goes out now.
      s.handBackDue = true;
      throw new IvrApiError(
        "not_connected",
        `call ${s.ivrid} is being taken back after a reconnect; it is handed back once that is done`,
        { ivrid: s.ivrid, request: "ivrapi_abort" },
      );
    }
    s.status = "aborting";
    return before;
  }

  /** An abort that was not answered with success: what the call becomes, and the error its caller gets. */
  private abortFailed(s: Session, before: Session["status"], e: IvrApiError): IvrApiError {
    const ivrid = s.ivrid;
    if (this.sessions.get(ivrid) !== s) return e;
    if (this.reaccept && isConnectionGone(e)) {
      // The abort may never have reached the platform, and the flow still wants the call handed back: restoring
      // the status would have the reconnect take it back and keep it (rule 7) with nobody driving it.
      s.status = "reaccepting";
      s.handBackDue = true;
      const why = `${e.message}; call ${ivrid} is handed back once the connection is ready again`;
      return new IvrApiError(e.code, why, { ...e.details, ivrid, request: "ivrapi_abort" });
    }
    // Refused or not answered: the call stays as it was (after a drop meanwhile: taken back, not handed back).
    s.handBackDue = false;
    if (s.status === "aborting") s.status = before;
    return e;
  }

  /**
   * Hands every held call back to its script (best effort, bounded by timeoutMs): used when the owner goes away
   * (Node-RED redeploy or shutdown), so no caller is left in silence on a call nobody drives any more.
   */
  async releaseAll(timeoutMs: number): Promise<void> {
    const held = [...this.sessions.values()].filter((s) => s.status === "held");
    await Promise.allSettled(held.map((s) => this.abort(s.ivrid, { timeoutMs })));
  }

  /**
   * Forgets a call without sending anything for it: another instance controls it now (failover; the platform refuses
   * our requests for it anyway). What waits on it fails with `session_ended`; `session_end` says `taken_over`.
   */
  relinquish(ivrid: string): boolean {
    const s = this.sessions.get(ivrid);
    if (!s) return false;
    this.end(s, { reason: "taken_over" });
    return true;
  }

  /**
   * Sends a session request with the session's key (rule 1); the one path every session request takes (sessionCall is
   * the same path followed by a callback).
   */
  sessionRequest<N extends SessionRequestName>(
    s: Session | string,
    name: N,
    params: Omit<RequestParams<N>, "key" | "ivrid">,
    opts: { timeoutMs?: number } = {},
  ): Promise<Answer> {
    const ready = this.prepare(s, name, params);
    if (ready instanceof IvrApiError) return Promise.reject(ready);
    const [session, body] = ready;
    session.inFlight++;
    return this.client.request(name, body, {
      timeoutMs: opts.timeoutMs,
      settled: (err) => this.settled(session, name, err),
    });
  }

  /**
   * sessionRequest followed by a callback (see IvrApiClient.call): what the components send on every call, without a
   * promise per request. `done` is never told in the same turn.
   */
  private sessionCall<N extends SessionRequestName>(
    s: Session,
    name: N,
    params: Omit<RequestParams<N>, "key" | "ivrid">,
    done: Done,
    timeoutMs?: number,
  ): void {
    const ready = this.prepare(s, name, params);
    if (ready instanceof IvrApiError) {
      queueMicrotask(() => {
        try {
          done(ready, undefined);
        } catch (bug) {
          // Out of a microtask, a throw would take the process down: a warning at most, and not even that twice.
          try {
            this.emit("warning", `call ${s.ivrid}: ${name} could not be followed up: ${(bug as Error).message}`);
          } catch {}
        }
      });
      return;
    }
    const [session, body] = ready;
    session.inFlight++;
    this.client.call(name, body, timeoutMs, (err, answer) => {
      // Counted off first; the waiter is told even if a listener of the count's report throws.
      try {
        this.settled(session, name, err);
      } finally {
        done(err, answer);
      }
    });
  }

  /** The request's body with the session's key and ivrid, or why it cannot be sent for this call now. */
  private prepare<N extends SessionRequestName>(
    s: Session | string,
    name: N,
    params: Omit<RequestParams<N>, "key" | "ivrid">,
  ): [Session, RequestParams<N>] | IvrApiError {
    let session: Session;
    try {
      session = typeof s === "string" ? this.require(s) : s;
    } catch (err) {
      return err as IvrApiError;
    }
    if (session.status === "aborting" && name !== "ivrapi_abort") {
      return this.ended(session, "it is being handed back to the script");
    }
    if (session.status === "reaccepting" && name !== "ivrapi_reaccept") {
      if (session.handBackDue) return this.ended(session, "it is being handed back to the script");
      const why = `call ${session.ivrid} is being taken back after a reconnect; ${name} was not sent`;
      return new IvrApiError("not_connected", why, { ivrid: session.ivrid, request: name });
    }
    // Not a spread (see copyBody): the copies share one hidden class.
    const fields: Record<string, unknown> = copyBody(params);
    fields.key = session.call.key;
    fields.ivrid = session.ivrid;
    return [session, fields as unknown as RequestParams<N>];
  }

  /**
   * A session request is over. The guard's clock: a call with a request in flight is not idle, and an answer restarts
   * the clock (counted here, told by the client, no promise of its own per request).
   */
  private settled(session: Session, name: SessionRequestName, err: IvrApiError | undefined): void {
    session.inFlight--;
    session.lastActive = performance.now();
    if (!err) return;
    // Called from inside the client's loops (answers, timeouts, a lost socket): a listener's bug must not stop them.
    try {
      this.report(session.call, name, err);
    } catch (bug) {
      this.emit("warning", `a failure listener failed on call ${session.ivrid}: ${(bug as Error).message}`);
    }
  }

  private ended(s: Session, why: string): IvrApiError {
    return new IvrApiError("session_ended", `call ${s.ivrid} ended: ${why}`, { ivrid: s.ivrid, reason: why });
  }

  private require(ivrid: string): Session {
    const s = this.sessions.get(ivrid);
    if (!s) throw new IvrApiError("no_session", `call ${ivrid} is not controlled by this connection`, { ivrid });
    return s;
  }

  /** Settles everything pending on the call and forgets it: no state outlives a call. */
  private end(s: Session, info: { reason: string; stop?: ApiStopData }): void {
    if (this.sessions.get(s.ivrid) !== s) return;
    this.sessions.delete(s.ivrid);
    let err: IvrApiError | undefined;
    for (const w of s.waiters()) {
      err ??= new IvrApiError("session_ended", `call ${s.ivrid} ended (${info.reason})`, {
        ivrid: s.ivrid,
        reason: info.reason,
      });
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.components.forget(s);
    s.running = undefined;
    s.clearStopping();
    s.takeQueue();
    this.observer?.sessionEnd(s.call, info);
    this.emit("session_end", s.call, info);
  }

  // -------------------------------------------------------------------------------------------
  // Events from the client

  private onApiStart(d: ApiStartData): void {
    // A repeated api_start for a call already controlled (or being accepted) must not start a second flow run
    // driving the same call.
    if (this.sessions.has(d.ivrid) || this.takes.has(d.ivrid)) {
      this.emit("warning", `api_start repeated for call ${d.ivrid}, which this connection already controls; ignored`);
      return;
    }
    this.emit("api_start", toCall(d));
  }

  private onApiStop(d: ApiStopData): void {
    this.takes.stopped(d.ivrid);
    const s = this.sessions.get(d.ivrid);
    // The platform's stop for our own hand-back can come before the abort's answer: the reason stays ours.
    const reason = s?.status === "aborting" && s.abortReason ? s.abortReason : (d.reason ?? "script");
    if (s) this.end(s, { reason, stop: d });
  }

  private onDtmf(b: DtmfBody): void {
    const s = this.sessions.get(b.ivrid);
    // A key press is the caller at work: the idle guard's clock restarts.
    if (s) s.lastActive = performance.now();
    if (s) {
      this.observer?.dtmf(s.call, b);
      this.emit("dtmf", s.call, b);
    } else this.emit("warning", `ivrapi_dtmf for call ${b.ivrid}, which this connection does not control`);
  }

  /** A call is controlled from now on: recorded, its guard clock started. */
  private hold(s: Session): void {
    // The guard's clock is monotonic (a wall-clock step must not hand back every call); the accept time is an epoch,
    // on the record's clock (its entries are times since it: read at the same turn's start, none comes before it).
    s.lastActive = performance.now();
    if (s.call instanceof Call) s.call.acceptedAt = turnNow();
    this.sessions.set(s.ivrid, s);
    this.idleGuard.start();
  }

  /** Forgets every call and detaches from the client (the client itself is not closed). */
  dispose(): void {
    this.idleGuard.stop();
    this.unbind();
    for (const s of [...this.sessions.values()]) this.end(s, { reason: "closed" });
    this.removeAllListeners();
  }
}

function checkFirstOId(n: number | undefined): number | undefined {
  if (n === undefined || (Number.isSafeInteger(n) && n >= 0)) return n;
  throw new IvrApiError("invalid", `firstOId must be a whole number ≥ 0 that JSON carries exactly, not ${n}`);
}

function checkMaxQueue(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_QUEUE;
  if (!Number.isInteger(n) || n < 0) throw new IvrApiError("invalid", `maxQueue must be a whole number ≥ 0, not ${n}`);
  return n;
}

export type { TakeDone };
export { toCall };

/** An apply's waiter whose failure is reported first (for the call record): one small object, not a closure pair. */
class ReportedWaiter implements ApplyWaiter {
  constructor(
    private readonly reportFailure: (call: CallInfo, err: unknown) => void,
    private readonly call: CallInfo,
    private readonly waiter: ApplyWaiter,
  ) {}

  result(r: ComponentResult): void {
    this.waiter.result(r);
  }

  error(e: IvrApiError): void {
    this.reportFailure(this.call, e);
    this.waiter.error(e);
  }
}
