// Components on controlled calls: one at a time per call (rule 2) with a busy policy, terminate before the next
// (rule 3), an apply timeout, and matching every ivrapi_component_stopped to the component it ends.
import type { Answer } from "../client/client";
import { IvrApiError } from "../client/errors";
import type { ComponentData, ComponentStoppedBody } from "../protocol";
import type { ApplyOptions, QueuedApply, RunningComponent, Session } from "./session";
import type { ComponentResult } from "./types";

/** What the registry lends the components: its one way to send, and where results and warnings go. */
export interface ComponentHost {
  terminateRequest(s: Session): Promise<Answer>;
  applyRequest(s: Session, data: ComponentData): Promise<Answer>;
  /** Is the session still the live record of its call? */
  isHeld(s: Session): boolean;
  stopped(s: Session, result: ComponentResult): void;
  warn(text: string): void;
}

export class Components {
  /** oId → session: component_stopped in the seed's shape names no ivrid, only the oId. */
  private readonly byOId = new Map<string, Session>();
  // Our own oId on every component, unique on this connection: it is what makes that correlation possible.
  private nextOId = 1;

  constructor(private readonly host: ComponentHost) {}

  /** Runs data (already validated) on the call, or applies the busy policy when one runs. */
  apply(s: Session, data: ComponentData, options: ApplyOptions): Promise<ComponentResult> {
    const timeoutMs = options.timeoutMs ?? 0;
    if (!s.running && !s.terminating) return this.run(s, data, timeoutMs);
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
        return this.enqueue(s, data, timeoutMs, false);
      case "replace":
        return this.enqueue(s, data, timeoutMs, true);
    }
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
      if (s.running === r) {
        // Its component_stopped may still come; until then it waits under its oId, off the call's slot.
        s.running = undefined;
        clearTimeout(r.timer);
        s.stopping.set(r.oId, r);
      }
      return answer;
    } catch (err) {
      // The server has nothing running (it ended while we were away): stop waiting for an event that never comes.
      if (err instanceof IvrApiError && err.details.serverCode === "no_component" && isActive(s, r)) {
        const lost = new IvrApiError("no_component", `component oId ${r.oId} is no longer running`, { ivrid: s.ivrid });
        this.settle(s, r, lost);
      }
      throw err;
    }
  }

  /** Matches a component_stopped event: by ivrid when it has one, else by our oId. */
  onStopped(b: ComponentStoppedBody, byIvrid: (ivrid: string) => Session | undefined): void {
    const s =
      b.ivrid !== undefined ? byIvrid(b.ivrid) : b.oId === undefined ? undefined : this.byOId.get(String(b.oId));
    let r: RunningComponent | undefined;
    // Without an oId, a terminated component still waiting for its event ends before the one that replaced it.
    if (s && b.oId === undefined) r = s.stopping.values().next().value ?? s.running;
    else if (s) r = s.running?.oId === Number(b.oId) ? s.running : s.stopping.get(Number(b.oId));
    if (!s || !r) {
      this.host.warn(`component_stopped that matches no component of this connection: ${JSON.stringify(b)}`);
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
      this.byOId.delete(String(r.oId));
    }
  }

  private enqueue(s: Session, data: ComponentData, timeoutMs: number, replace: boolean): Promise<ComponentResult> {
    return new Promise<ComponentResult>((resolve, reject) => {
      const item: QueuedApply = { data, timeoutMs, resolve, reject };
      if (!replace) {
        s.queue.push(item);
        return;
      }
      s.queue.unshift(item);
      // The terminate answer frees the call and drain() starts the replacement.
      this.terminate(s).catch((err: IvrApiError) => {
        if (err.code === "no_component") return; // nothing ran: drain() already started it
        const i = s.queue.indexOf(item);
        if (i < 0) return;
        s.queue.splice(i, 1);
        reject(err);
      });
    });
  }

  private run(s: Session, data: ComponentData, timeoutMs: number): Promise<ComponentResult> {
    return new Promise<ComponentResult>((resolve, reject) => {
      const oId = this.nextOId++;
      const running: RunningComponent = {
        oId,
        data: { ...data, oId },
        timeoutMs,
        timer: undefined,
        timedOut: false,
        orphaned: false,
        resolve,
        reject,
      };
      s.running = running;
      this.byOId.set(String(oId), s);
      this.host.applyRequest(s, running.data).then(
        () => {
          if (timeoutMs > 0 && isActive(s, running)) {
            running.timer = setTimeout(() => this.expire(s, running), timeoutMs);
          }
        },
        (err: IvrApiError) => {
          // No answer (timeout, socket gone): the server may run it, so it keeps the call (rule 2).
          if (err.code === "timeout" || err.code === "connection_lost") this.orphan(s, running, err);
          else this.settle(s, running, err);
        },
      );
    });
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
    this.byOId.delete(String(r.oId));
    s.stopping.delete(r.oId);
    if (s.running === r) s.running = undefined;
    if (outcome instanceof IvrApiError) r.reject(outcome);
    else r.resolve(outcome);
    this.drain(s);
  }

  private drain(s: Session): void {
    if (s.running || s.terminating || s.status !== "held" || !this.host.isHeld(s)) return;
    const next = s.queue.shift();
    if (next) this.run(s, next.data, next.timeoutMs).then(next.resolve, next.reject);
  }
}

function isActive(s: Session, r: RunningComponent): boolean {
  return s.running === r || s.stopping.get(r.oId) === r;
}
