// Failover between instances that share one platform, through a store (Redis, see redis-store.ts). Each instance
// records the calls it controls under its own lease, renewed while it is alive and connected to the platform. When an
// instance's lease runs out (it died, froze, or lost the platform for longer than the lease), exactly one survivor
// takes each of its calls: a per-call lock in the store, then ivrapi_reaccept (registry.adopt, why "failover"). The
// store decides who may take a call; the platform decides who controls it (the last reaccept wins, and the old
// holder's requests are refused).
//
// A store outage never breaks calls: they go on, writes are skipped (logged once per change), takeovers pause, and
// everything this instance holds is written again as soon as the store answers (within one lease after a restart).
// No Node-RED import: the hub says which calls this instance has a flow for.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import type { StateChange } from "../client/client";
import { type Logger, silentLogger } from "../client/options";
import type { ApiStartData, ApiStopData } from "../protocol";
import { type SessionRegistry, toCall } from "./registry";
import type { CallInfo, SessionEnd } from "./types";

/** A controlled call as the store keeps it: enough for a survivor to take it and give its flow a whole msg.ivr. */
export interface StoredCall {
  ivrid: string;
  start: ApiStartData;
}

export interface OwnerLease {
  owner: string;
  /** Milliseconds left on its lease; 0 when it ran out (Infinity: a lease without expiry, never taken). */
  ttlMs: number;
}

/** claimed: the lock is ours, take it; gone: no such call; mine: ours already; alive: its owner's lease holds;
 * locked: another instance is taking it. */
export type ClaimOutcome = "claimed" | "gone" | "mine" | "alive" | "locked";

/** What the coordinator needs from a store. Every method may reject (store unreachable); none may hang forever. */
export interface FailoverStore {
  /** Starts connecting. `onState(true)` each time the store becomes reachable (again), `onState(false, why)` when lost. */
  open(onState: (up: boolean, why?: string) => void): void;
  /** Releases the connection (pending commands settle or fail). */
  close(): Promise<void>;
  /** Renews `owner`'s lease for `leaseMs`; resolves whether the lease was still there (false: new, expired or wiped). */
  renew(owner: string, info: string, leaseMs: number): Promise<boolean>;
  /** Records the call as `owner`'s (control was just taken: the platform says so), releasing `owner`'s lock on it. */
  put(owner: string, call: StoredCall): Promise<void>;
  /**
   * Records the call as `owner`'s unless another instance may hold it: an owner whose lease holds, or a lock of
   * another instance (taking it now). Resolves whether it is `owner`'s now.
   */
  reclaim(owner: string, call: StoredCall): Promise<boolean>;
  /** Removes the call: `mine` only when `owner` holds it; `ended` also when its owner's lease ran out. */
  release(owner: string, ivrid: string, mode: "mine" | "ended"): Promise<void>;
  /** The ivrids recorded as `owner`'s. */
  owned(owner: string): Promise<string[]>;
  /** Every instance that recorded calls, with what is left of its lease. */
  owners(): Promise<OwnerLease[]>;
  /** The calls recorded as `owner`'s. */
  callsOf(owner: string): Promise<StoredCall[]>;
  /** Locks the call for `owner` (for `lockMs`) if it is still `from`'s and `from`'s lease ran out. */
  claim(owner: string, ivrid: string, from: string, lockMs: number): Promise<ClaimOutcome>;
  /** Drops `owner`'s lock on the call. */
  unlock(owner: string, ivrid: string): Promise<void>;
}

/** How the owner of the coordinator (the connection hub) says which calls it can drive. */
export interface TakeoverHooks {
  /** Would a flow here drive this call? Calls nobody here would drive are left to other instances. */
  canTake(call: CallInfo): boolean;
  /** Right before the reaccept: the call is given to its flow here (false: not any more, it is not taken). */
  claim(call: CallInfo): boolean;
  /** The takeover did not happen after all: undo claim. */
  unclaim(call: CallInfo): void;
}

export interface FailoverOptions {
  store: FailoverStore;
  registry: SessionRegistry;
  /** How long an instance's hold on its calls lasts without renewal (ms). Renewed about every third of it. */
  leaseMs: number;
  log?: Logger;
  /** This instance's name in the store (default: host:pid:random, new for every coordinator). */
  owner?: string;
  /** How long a call's takeover lock lasts (default: twice the client's answer timeout plus the lease). */
  lockMs?: number;
  /** How long one store command may take before the store counts as unreachable (default: half the lease, ≤ 2 s). */
  commandTimeoutMs?: number;
  /** Where the store is, for log lines (no password). */
  where?: string;
}

export const MIN_LEASE_MS = 100;

type StoreState = "unknown" | "up" | "down";

export class Failover {
  readonly owner: string;
  private readonly store: FailoverStore;
  private readonly registry: SessionRegistry;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly lockMs: number;
  private readonly commandTimeoutMs: number;
  private readonly renewEveryMs: number;
  private readonly where: string;
  private readonly info: string;
  private hooks: TakeoverHooks = { canTake: () => true, claim: () => true, unclaim: () => {} };
  private state: StoreState = "unknown";
  /** Write everything this instance holds again at the next renewal (the store was lost, or is new). */
  private needSync = true;
  /** No takeovers before this (performance.now()): live owners that lost the store with us renew first. */
  private graceUntil = Number.POSITIVE_INFINITY;
  /** Our lease cannot have run out before this (performance.now() when a renewal that succeeded was sent + lease). */
  private leaseOkUntil = Number.NEGATIVE_INFINITY;
  private renewing: Promise<void> | undefined;
  /** Said once per store outage: calls not taken back because the store could not be asked. */
  private warnedUncertain = false;
  private scanning = false;
  private readonly taking = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly upWaiters = new Set<() => void>();
  private renewTimer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private readonly unbind: () => void;

  constructor(o: FailoverOptions) {
    if (!Number.isFinite(o.leaseMs) || o.leaseMs < MIN_LEASE_MS) {
      throw new Error(`the lease must be at least ${MIN_LEASE_MS} ms, not ${o.leaseMs}`);
    }
    this.store = o.store;
    this.registry = o.registry;
    this.log = o.log ?? silentLogger;
    this.leaseMs = o.leaseMs;
    this.renewEveryMs = Math.max(20, Math.floor(o.leaseMs / 3));
    this.commandTimeoutMs = o.commandTimeoutMs ?? Math.max(50, Math.min(2000, Math.floor(o.leaseMs / 2)));
    this.lockMs = o.lockMs ?? 2 * o.registry.client.options.requestTimeoutMs + o.leaseMs;
    this.owner = o.owner ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.where = o.where ?? "the store";
    this.info = JSON.stringify({ host: os.hostname(), pid: process.pid, since: new Date().toISOString() });

    const client = this.registry.client;
    const onSessionStart = (call: CallInfo) => this.write(this.store.put(this.owner, stored(call)));
    const onSessionEnd = (call: CallInfo, end: SessionEnd) => {
      // taken_over: another instance holds it now; closed: this connection went away with the call still controlled,
      // so the record stays for a survivor to take once the lease runs out.
      if (end.reason === "taken_over" || end.reason === "closed") return;
      this.write(this.store.release(this.owner, call.ivrid, "mine"));
    };
    // A call that ended while its owner was dead: whoever hears the api_stop removes it.
    const onApiStop = (d: ApiStopData) => {
      if (!this.registry.get(d.ivrid) && this.state === "up")
        this.write(this.store.release(this.owner, d.ivrid, "ended"));
    };
    const onState = (c: StateChange) => {
      if (c.state === "ready") void this.renew();
    };
    this.registry.on("session_start", onSessionStart);
    this.registry.on("session_end", onSessionEnd);
    client.on("api_stop", onApiStop);
    client.on("state", onState);
    this.unbind = () => {
      this.registry.off("session_start", onSessionStart);
      this.registry.off("session_end", onSessionEnd);
      client.off("api_stop", onApiStop);
      client.off("state", onState);
    };
  }

  /** Connects to the store and starts renewing and watching other instances' leases. */
  start(hooks?: TakeoverHooks): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (hooks) this.hooks = hooks;
    this.store.open((up, why) => {
      if (up) void this.renew();
      else this.storeDown(why ?? "connection lost");
    });
    this.renewTimer = setInterval(() => void this.renew(), this.renewEveryMs);
    this.scheduleScan(this.renewEveryMs);
    void this.renew();
  }

  /** Whether this instance may take over other instances' calls now (the store answers and the grace is over). */
  get armed(): boolean {
    return !this.stopped && this.state === "up" && performance.now() >= this.graceUntil;
  }

  /** Is the store reachable (as far as the last command knows)? */
  get reachable(): boolean {
    return this.state === "up";
  }

  /**
   * For the registry's `mayReaccept` (rule 7 after a reconnect): may this connection take the call back? Yes when the
   * store confirms it is still ours (and records it so again); no when another instance holds it or is taking it. With
   * the store unreachable: yes while our lease cannot have run out, else no (an instance that comes back after its
   * lease expired must not take its calls back).
   */
  async mayReaccept(call: CallInfo): Promise<boolean> {
    if (this.stopped) return true;
    const ask = async () => {
      await this.renew();
      if (this.state !== "up") throw new Error("store unreachable");
      return this.cmd(this.store.reclaim(this.owner, stored(call)));
    };
    try {
      return await ask();
    } catch {
      // Never in the store: no other instance knows the call, so none can have taken it.
      if (this.leaseOkUntil === Number.NEGATIVE_INFINITY) return true;
      if (performance.now() < this.leaseOkUntil) return true;
      await this.waitUp(this.leaseMs);
      try {
        return await ask();
      } catch {
        if (!this.warnedUncertain) {
          this.warnedUncertain = true;
          this.log.warn(
            `${this.where} cannot say whether other instances took calls over while this one was away (its lease ran out): those calls are not taken back`,
          );
        }
        return false;
      }
    }
  }

  /** No more renewals or takeovers (the connection is closing); records still follow the calls until close(). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.renewTimer);
    clearTimeout(this.scanTimer);
    this.renewTimer = undefined;
    this.scanTimer = undefined;
    for (const w of this.upWaiters) w();
    this.upWaiters.clear();
  }

  /** Stops, waits (bounded) for the writes in flight, detaches from the registry and client, closes the store. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop();
      if (this.pending.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...this.pending]),
          new Promise((r) => {
            timer = setTimeout(r, this.commandTimeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      this.unbind();
      await this.store.close().catch(() => {});
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------
  // Lease and records

  /** Renews the lease (one at a time); a lease found missing, or a store that was lost, means writing everything again. */
  private renew(): Promise<void> {
    this.renewing ??= (async () => {
      if (this.stopped || this.registry.client.state !== "ready") return;
      const sent = performance.now();
      try {
        const had = await this.cmd(this.store.renew(this.owner, this.info, this.leaseMs));
        this.leaseOkUntil = sent + this.leaseMs;
        this.storeUp();
        if (!had || this.needSync) {
          this.needSync = false;
          await this.sync(!had);
        }
      } catch (err) {
        this.failed(err);
      }
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /**
   * Writes every controlled call again (the store was lost, restarted or our lease ran out). A call another instance holds
   * now, or is taking, is forgotten here without a word to the platform (it refuses our requests for it anyway);
   * records of calls that ended meanwhile are removed.
   */
  private async sync(leaseWasGone: boolean): Promise<void> {
    const calls = this.registry.list();
    const kept = await Promise.all(calls.map((c) => this.cmd(this.store.reclaim(this.owner, stored(c)))));
    let lost = 0;
    calls.forEach((c, i) => {
      if (kept[i] || !this.registry.relinquish(c.ivrid)) return;
      lost++;
    });
    if (lost > 0) {
      this.log.warn(
        `${lost} call(s) were taken over by another instance while this one's lease had run out; they are no longer driven here`,
      );
    }
    const recorded = await this.cmd(this.store.owned(this.owner));
    const stale = recorded.filter((id) => !this.registry.get(id) && !this.taking.has(id));
    await Promise.all(stale.map((id) => this.cmd(this.store.release(this.owner, id, "mine"))));
    if (calls.length > 0 || stale.length > 0) {
      this.log.debug(
        `${this.where}: ${calls.length - lost} controlled call(s) written again, ${stale.length} ended one(s) removed${leaseWasGone ? " (the lease had to be made anew)" : ""}`,
      );
    }
  }

  /** A store write that follows a call; a failure marks the store down (the next sync writes it again). */
  private write(p: Promise<unknown>): void {
    const w = this.cmd(p).catch((err) => this.failed(err));
    this.pending.add(w);
    void w.finally(() => this.pending.delete(w));
  }

  /** A store command that may not take longer than commandTimeoutMs. */
  private cmd<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private storeUp(): void {
    if (this.state === "up") return;
    if (this.state === "down") this.log.info(`${this.where} answers again: writing the controlled calls again`);
    else this.log.debug(`${this.where} connected; owner ${this.owner}`);
    this.state = "up";
    this.warnedUncertain = false;
    // Other live instances that lost the store with us renew within a lease: only then is a missing lease a dead one.
    this.graceUntil = performance.now() + this.leaseMs;
    for (const w of this.upWaiters) w();
    this.upWaiters.clear();
  }

  /** A command failed. Before the store was ever reached that is expected (its own connect errors are reported). */
  private failed(err: unknown): void {
    if (this.state === "unknown") this.needSync = true;
    else this.storeDown(err);
  }

  private storeDown(err: unknown): void {
    this.needSync = true;
    if (this.state === "down") return;
    const why = err instanceof Error ? err.message : String(err);
    this.state = "down";
    this.log.warn(
      `${this.where} unreachable (${why}): calls go on here; failover is paused and the calls are written again when it is back`,
    );
  }

  private waitUp(ms: number): Promise<void> {
    if (this.state === "up" || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.upWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.upWaiters.add(done);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Takeovers

  private scheduleScan(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => void this.scan(), Math.max(10, ms));
  }

  /**
   * Looks for instances whose lease ran out and takes their calls. The next look comes when the next lease known to
   * run out does, or after a third of the lease at the latest: a dead instance's calls are taken right after its
   * lease ends.
   */
  private async scan(): Promise<void> {
    if (this.stopped || this.scanning) return;
    this.scanning = true;
    let next = this.renewEveryMs;
    try {
      const now = performance.now();
      if (this.state !== "up" || this.registry.client.state !== "ready") return;
      if (now < this.graceUntil) {
        next = Math.min(next, this.graceUntil - now + 5);
        return;
      }
      const leases = await this.cmd(this.store.owners());
      const dead: string[] = [];
      for (const l of leases) {
        if (l.owner === this.owner) continue;
        if (l.ttlMs > 0) next = Math.min(next, l.ttlMs + 5);
        else dead.push(l.owner);
      }
      await Promise.all(dead.map((o) => this.takeFrom(o)));
    } catch (err) {
      this.failed(err);
    } finally {
      this.scanning = false;
      this.scheduleScan(next);
    }
  }

  private async takeFrom(dead: string): Promise<void> {
    const calls = await this.cmd(this.store.callsOf(dead));
    const wanted = calls.filter(
      (c) => !this.registry.get(c.ivrid) && !this.taking.has(c.ivrid) && this.hooks.canTake(toCall(c.start)),
    );
    if (wanted.length === 0) return;
    const taken = await Promise.all(wanted.map((c) => this.takeOne(dead, c)));
    const n = taken.filter(Boolean).length;
    if (n > 0) this.log.info(`took over ${n} call(s) of instance ${dead}, whose lease ran out`);
  }

  /** Lock, reaccept, record: true when the call is controlled here now. */
  private async takeOne(dead: string, c: StoredCall): Promise<boolean> {
    if (this.stopped) return false;
    this.taking.add(c.ivrid);
    try {
      const got = await this.cmd(this.store.claim(this.owner, c.ivrid, dead, this.lockMs));
      if (got !== "claimed") return false;
      const call = toCall(c.start);
      if (this.stopped || !this.hooks.claim(call)) {
        await this.cmd(this.store.unlock(this.owner, c.ivrid));
        return false;
      }
      let out: Awaited<ReturnType<SessionRegistry["adopt"]>>;
      try {
        out = await this.registry.adopt(call, "failover");
      } catch (err) {
        // Not answered or not sent (our socket is down): someone, maybe us, tries again once the lock is gone.
        this.hooks.unclaim(call);
        this.log.debug(`call ${c.ivrid}: taking it over failed (${(err as Error).message}); left for a next try`);
        await this.cmd(this.store.unlock(this.owner, c.ivrid)).catch(() => {});
        return false;
      }
      if (!out.accepted) {
        // Refused: the call ended (or cannot be controlled any more). Nobody can take it: its record goes.
        this.hooks.unclaim(call);
        this.log.debug(`call ${c.ivrid}: the platform refused to hand it over (${out.reason}); removed from the store`);
        await this.cmd(this.store.release(this.owner, c.ivrid, "ended"));
        return false;
      }
      // The session_start listener has recorded it as ours (and dropped the lock).
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    } finally {
      this.taking.delete(c.ivrid);
    }
  }
}

function stored(call: CallInfo): StoredCall {
  return { ivrid: call.ivrid, start: call.start };
}
