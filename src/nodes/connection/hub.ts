// The runtime side of an ivrapi-connection node: ONE IvrApiClient + SessionRegistry, opened when the first flow
// node registers and closed with the connection node. A deploy that keeps the connection's settings keeps the hub
// (socket, subscription, calls); one that changes them moves the calls to a new hub with ivrapi_reaccept. A call
// whose msg went away with the deploy comes out of its ivr start node's "resumed" output. Flow nodes listen to this
// hub, never to the client. No Node-RED import: the config node module passes in its logger.
import { EventEmitter } from "node:events";
import type { IvrApiClient, StateChange } from "../../client/client";
import type { Logger } from "../../client/options";
import type { DtmfBody } from "../../protocol";
import type { Failover } from "../../session/failover";
import type { SessionRegistry } from "../../session/registry";
import type { CallInfo, ComponentResult, ResumeInfo, SessionEnd } from "../../session/types";
import { FlowError } from "../common/errors";
import type { LinkState, LinkView } from "../common/status";
import { pickStart, type StartClaim } from "./dispatch";
import { Owners } from "./owners";

export interface HubEvents {
  link: [LinkView];
  session_start: [CallInfo];
  /** The third argument is the id of the ivr start node that accepted the call, when one did. */
  session_end: [CallInfo, SessionEnd, string | undefined];
  reaccepted: [CallInfo, string | undefined];
  /** A call no msg waits for any more (a deploy), or taken over from elsewhere: for its owner's third output. */
  resumed: [CallInfo, string | undefined, ResumeInfo];
  dtmf: [CallInfo, DtmfBody];
  component_stopped: [CallInfo, ComponentResult];
}

export interface HubDeps {
  /**
   * Builds the client and its registry (settings already checked), or throws a readable error. `firstOId`: the
   * registry's first oId (above those of a registry whose calls it takes over).
   */
  open(opts?: { firstOId?: number }): Opened;
  log: Logger;
  /** Masks the token out of a text. */
  mask(text: string): string;
}

/** What a connection opens: its client and registry, and the failover coordinator when Redis is set. */
export interface Opened {
  client: IvrApiClient;
  registry: SessionRegistry;
  failover?: Failover;
}

/** How long a closing connection waits for the abort answers of the calls it still holds. */
const RELEASE_TIMEOUT_MS = 2000;
/** How often calls waiting to be resumed are checked for being idle (an answer or queue may still be pending). */
const RESUME_CHECK_MS = 100;
/** How long calls wait for a changed connection's new socket before they are handed back from the old one. */
const TAKEOVER_WAIT_MS = 15_000;

const LINK_OF: Record<IvrApiClient["state"], LinkState> = {
  idle: "connecting",
  connecting: "connecting",
  ready: "connected",
  unauthorized: "unauthorized",
  disconnected: "disconnected",
  closed: "closed",
};

export class ConnectionHub extends EventEmitter<HubEvents> {
  private readonly users = new Set<string>();
  private starts: StartClaim[] = [];
  /** ivrid → id of the ivr start node that holds it: survives a partial redeploy of that node (same id). */
  private readonly owners = new Owners();
  private current: (Opened & { unbind: () => void }) | undefined;
  private invalid: string | undefined;
  private closing: Promise<void> | undefined;
  /** Ids of the ivr start nodes that ever registered, and those that registered again since the last deploy. */
  private readonly knownStarts = new Set<string>();
  private readonly restartedStarts = new Set<string>();
  /** ivrid → how many msgs of live flow nodes wait on the call (an apply waiting for its component). */
  private readonly waits = new Map<string, number>();
  /** Calls that come out of the resumed output once idle (or when their running component ends), and why. */
  private readonly pendingResume = new Map<string, string>();
  private resumeTimer: NodeJS.Timeout | undefined;
  /** The hand-back of a previous hub's calls still waiting to move here (see takeOver); run when this hub closes. */
  private leftBehind: (() => Promise<void>) | undefined;

  constructor(
    readonly id: string,
    private deps: HubDeps,
  ) {
    super();
    this.setMaxListeners(0); // one set of listeners per flow node; a big flow is not a leak
  }

  get client(): IvrApiClient | undefined {
    return this.current?.client;
  }

  get registry(): SessionRegistry | undefined {
    return this.current?.registry;
  }

  /** The registry, or an error a node can hand to done(). */
  requireRegistry(): SessionRegistry {
    const r = this.current?.registry;
    if (!r) throw new FlowError("not_connected", `the connection is ${this.link.state}`);
    return r;
  }

  get link(): LinkView {
    // Why settings are invalid is in the log (node.error): a status carries only the state, translated by the editor.
    if (this.invalid !== undefined) return { state: "invalid" };
    return { state: this.current ? LINK_OF[this.current.client.state] : "closed" };
  }

  /** Masks the token out of a text on its way to a status, log or error. */
  mask(text: string): string {
    return this.deps.mask(text);
  }

  get userCount(): number {
    return this.users.size;
  }

  /** A flow node starts using the connection; the first one opens it. */
  async register(userId: string): Promise<void> {
    this.users.add(userId);
    if (this.closing) await this.closing;
    if (this.users.has(userId) && !this.current && this.invalid === undefined) this.openClient();
  }

  /**
   * A flow node stops using it. The socket stays: it belongs to the connection node (a deploy restarts flow nodes
   * before their connection, and the calls must outlive that).
   */
  async deregister(userId: string): Promise<void> {
    this.users.delete(userId);
    this.starts = this.starts.filter((s) => s.id !== userId);
  }

  addStart(claim: StartClaim): void {
    this.starts = [...this.starts.filter((s) => s.id !== claim.id), claim];
    if (this.knownStarts.has(claim.id)) this.restartedStarts.add(claim.id);
    this.knownStarts.add(claim.id);
  }

  /** A new connection node instance with the same settings takes this hub over: it logs through the new node. */
  rebind(deps: HubDeps): void {
    this.deps = deps;
  }

  /**
   * A msg of a flow node waits on the call (an apply for its component). The returned wait's `end` ends it; a wait
   * ended because its node closed (a deploy) leaves the call to come out of the resumed output.
   */
  beginWait(ivrid: string): CallWait {
    this.waits.set(ivrid, (this.waits.get(ivrid) ?? 0) + 1);
    // A live flow drives the call again (a key press, a new node): it is not to be resumed any more.
    this.pendingResume.delete(ivrid);
    return new CallWait(this, ivrid);
  }

  /** Ends a wait (see CallWait). */
  endWait(ivrid: string, abandoned: boolean): void {
    const n = (this.waits.get(ivrid) ?? 1) - 1;
    if (n > 0) this.waits.set(ivrid, n);
    else this.waits.delete(ivrid);
    if (abandoned && this.current?.registry.get(ivrid)) this.markResume(ivrid, "deploy");
  }

  /**
   * After a deploy (Node-RED started the flows again): a call whose ivr start node was restarted and that no msg
   * waits on comes out of the resumed output: now when idle, or when its running component ends.
   */
  afterDeploy(type = "full"): void {
    const registry = this.current?.registry;
    // A "modified nodes" deploy restarts only the changed nodes: msgs elsewhere in the flow live on and may still
    // drive the call, so only a deploy that restarts whole flows resumes the calls of a restarted ivr start node.
    if (registry && type !== "nodes") {
      for (const call of registry.list()) {
        const owner = this.owners.get(call.ivrid);
        if (owner !== undefined && this.restartedStarts.has(owner) && !this.waits.has(call.ivrid)) {
          this.markResume(call.ivrid, "deploy");
        }
      }
    }
    this.restartedStarts.clear();
    this.checkResumes();
  }

  private markResume(ivrid: string, why: string): void {
    this.pendingResume.set(ivrid, why);
    this.resumeTimer ??= setInterval(() => this.checkResumes(), RESUME_CHECK_MS);
  }

  /** Resumes the pending calls that became idle with no msg waiting on them. */
  private checkResumes(): void {
    const registry = this.current?.registry;
    for (const [ivrid, why] of this.pendingResume) {
      const call = registry?.get(ivrid);
      if (!call) {
        this.pendingResume.delete(ivrid);
        continue;
      }
      if (this.waits.has(ivrid) || !registry?.isIdle(ivrid)) continue;
      this.pendingResume.delete(ivrid);
      this.emit("resumed", call, this.owners.get(ivrid), { why });
    }
    if (this.pendingResume.size === 0) {
      clearInterval(this.resumeTimer);
      this.resumeTimer = undefined;
    }
  }

  /** A component ended: if no msg waited for it, its call is resumed with its exit. */
  private resumeAfterComponent(call: CallInfo, r: ComponentResult): void {
    const why = this.pendingResume.get(call.ivrid);
    if (why === undefined || this.waits.has(call.ivrid)) return;
    // Applies still queued behind it go out next: the call is resumed once they are done (checkResumes).
    if (this.current?.registry.hasQueued(call.ivrid)) return;
    this.pendingResume.delete(call.ivrid);
    this.emit("resumed", call, this.owners.get(call.ivrid), { why, lastTransferKey: r.transferKey });
  }

  /**
   * Takes over the calls of the hub a previous connection node instance left (its settings changed): each moves to
   * this hub's socket with ivrapi_reaccept, then resumes by the same rules as after any deploy. The old socket is
   * closed without handing anything back.
   */
  takeOver(old: ConnectionHub): void {
    const from = old.current;
    old.current = undefined;
    if (!from) return;
    if (!this.current && this.invalid === undefined) this.openClient(from.registry.nextOId);
    const registry = this.current?.registry;
    let retired = false;
    // The old socket keeps control (and its failover lease keeps being renewed) until the calls have moved.
    const retire = async () => {
      if (retired) return;
      retired = true;
      clearTimeout(giveUp);
      registry?.client.off("ready", onReady);
      this.leftBehind = undefined;
      from.failover?.stop();
      from.unbind();
      from.registry.dispose();
      await from.failover?.close();
      await from.client.close();
    };
    // Settings that never connect (a wrong URL, a refused token) must not keep the old socket and its calls for good:
    // after a while the calls are handed back from the old socket, as a deploy without "keep calls" would.
    const handBack = async () => {
      if (retired) return;
      await from.registry.releaseAll(RELEASE_TIMEOUT_MS);
      await retire();
    };
    const giveUp = setTimeout(() => void handBack(), TAKEOVER_WAIT_MS);
    this.leftBehind = handBack;
    if (!registry) {
      // The new settings cannot work: nothing can take the calls; hand them back from the old socket.
      void handBack();
      return;
    }
    const move = async () => {
      clearTimeout(giveUp);
      // What runs is read now, not when the deploy began: a component may have ended on the old socket meanwhile.
      const calls = from.registry.list().map((call) => ({
        call,
        running: from.registry.runningOf(call.ivrid),
        owner: old.owners.get(call.ivrid),
      }));
      await Promise.allSettled(
        calls.map(async ({ call, running, owner }) => {
          if (owner !== undefined) this.owners.set(call.ivrid, owner);
          const out = await registry.adopt(call, "deploy", { quiet: true, ...(running ? { running } : {}) });
          if (out.accepted) this.markResume(call.ivrid, "deploy");
          else this.owners.delete(call.ivrid);
        }),
      );
      await retire();
    };
    const onReady = () => void move();
    if (registry.client.state === "ready") void move();
    else registry.client.once("ready", onReady);
  }

  /** How many calls an ivr start node holds now. */
  heldBy(startId: string): number {
    return this.owners.count(startId);
  }

  private openClient(firstOId?: number): void {
    let opened: Opened;
    try {
      opened = this.deps.open(firstOId === undefined ? {} : { firstOId });
    } catch (err) {
      this.invalid = this.deps.mask(err instanceof Error ? err.message : String(err));
      this.deps.log.error(this.invalid);
      this.emit("link", this.link);
      return;
    }
    const { client, registry, failover } = opened;
    const onState = (c: StateChange) => {
      if (c.error) this.deps.log.debug(`connection ${c.state}: ${this.deps.mask(c.error)}`);
      this.emit("link", this.link);
    };
    const onStray = (s: { what: string }) => this.deps.log.debug(`ignored from the server: ${s.what}`);
    const onStart = (call: CallInfo) => this.offer(call);
    const onSessionStart = (call: CallInfo) => this.emit("session_start", call);
    const onEnd = (call: CallInfo, end: SessionEnd) => {
      const owner = this.owners.get(call.ivrid);
      this.owners.delete(call.ivrid);
      this.pendingResume.delete(call.ivrid);
      this.emit("session_end", call, end, owner);
    };
    const onResumed = (call: CallInfo, info: ResumeInfo) =>
      this.emit("resumed", call, this.owners.get(call.ivrid), info);
    const onReaccepted = (call: CallInfo) => this.emit("reaccepted", call, this.owners.get(call.ivrid));
    const onDtmf = (call: CallInfo, b: DtmfBody) => this.emit("dtmf", call, b);
    const onStopped = (call: CallInfo, r: ComponentResult) => {
      this.emit("component_stopped", call, r);
      this.resumeAfterComponent(call, r);
    };
    // Something went wrong that no single msg owns (a stop event nobody can place, a repeated api_start): the
    // user must be able to see it without turning debug logging on.
    const onWarning = (w: string) => this.deps.log.warn(this.deps.mask(w));
    client.on("state", onState);
    client.on("stray", onStray);
    registry.on("api_start", onStart);
    registry.on("session_start", onSessionStart);
    registry.on("session_end", onEnd);
    registry.on("reaccepted", onReaccepted);
    registry.on("resumed", onResumed);
    registry.on("dtmf", onDtmf);
    registry.on("component_stopped", onStopped);
    registry.on("warning", onWarning);
    const unbind = () => {
      client.off("state", onState);
      client.off("stray", onStray);
      // The registry's own listeners go with registry.dispose().
    };
    this.current = { ...opened, unbind };
    // Failover: only calls an ivr start node here would take are taken over; that node is their owner (resumed output).
    failover?.start({
      canTake: (call) => pickStart(this.starts, call) !== undefined,
      claim: (call) => {
        const claim = pickStart(this.starts, call);
        if (claim) this.owners.set(call.ivrid, claim.id);
        return claim !== undefined;
      },
      unclaim: (call) => this.owners.delete(call.ivrid),
    });
    client.start();
    this.emit("link", this.link);
  }

  /** api_start: exactly one matching ivr start node gets the call (see dispatch.ts), and accepts it. */
  private offer(call: CallInfo): void {
    const claim = pickStart(this.starts, call);
    const registry = this.current?.registry;
    if (!claim || !registry) {
      this.deps.log.debug(`call ${call.ivrid} (key "${call.key}"): no ivr start node matches it; left to others`);
      return;
    }
    this.owners.set(call.ivrid, claim.id);
    // A callback, not a promise: every offered call takes this path.
    registry.acceptThen(call, (err, out) => {
      try {
        if (err === undefined && out?.accepted) {
          claim.accepted(out.call);
          return;
        }
        this.owners.delete(call.ivrid);
        if (err === undefined && out && !out.accepted) claim.lost(call, this.deps.mask(out.reason));
        else claim.failed(call, err);
      } catch (bug) {
        this.owners.delete(call.ivrid);
        claim.failed(call, bug);
      }
    });
  }

  /** Closes the client and forgets every call (their state belongs to this client). */
  async shutdown(): Promise<void> {
    if (this.closing) return this.closing;
    const left = this.leftBehind;
    this.leftBehind = undefined;
    if (left) await left();
    const cur = this.current;
    this.current = undefined;
    this.owners.clear();
    this.pendingResume.clear();
    this.waits.clear();
    clearInterval(this.resumeTimer);
    this.resumeTimer = undefined;
    if (!cur) return;
    this.closing = (async () => {
      // Nobody will drive the calls this connection holds any more: hand them back to their scripts rather
      // than leave the callers in silence (bounded, so a dead socket cannot stall a deploy).
      cur.failover?.stop();
      await cur.registry.releaseAll(RELEASE_TIMEOUT_MS);
      cur.unbind();
      cur.registry.dispose();
      await cur.failover?.close();
      await cur.client.close();
    })().finally(() => {
      this.closing = undefined;
    });
    await this.closing;
    this.emit("link", this.link);
  }
}

/** A msg waiting on a call (ConnectionHub.beginWait): one object, ended once. */
export class CallWait {
  private open = true;

  constructor(
    private readonly hub: ConnectionHub,
    readonly ivrid: string,
  ) {}

  /** Ends the wait; `abandoned`: its node closed (a deploy), so the call is to be resumed. Later calls do nothing. */
  end(abandoned = false): void {
    if (!this.open) return;
    this.open = false;
    this.hub.endWait(this.ivrid, abandoned);
  }
}
