// The idle guard (RegistryOptions.idleGuardMs): a held call with nothing running and nothing asked for that long is
// handed back to its script, and a component that ran across an outage and stays silent is checked on. One timer for
// all the calls of a registry, running only while it holds calls.
import { IvrApiError } from "../client/errors";
import { MAX_TIMER_MS } from "../client/options";
import type { Session } from "./session";

export interface IdleGuardHost {
  /** The calls held now, and how many. */
  sessions(): Iterable<Session>;
  readonly size: number;
  /** Hands the call back (ivrapi_abort, end reason `idle`). */
  handBack(s: Session): void;
  /** Asks the platform whether the call's component still runs (a terminate). */
  probe(s: Session): void;
  warn(text: string): void;
}

export class IdleGuard {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: IdleGuardHost,
    /** How long a call may stay idle (ms); 0 = off. */
    readonly ms: number,
  ) {}

  /** A call is held now: the rounds run (if the guard is on and they do not already). */
  start(): void {
    if (this.ms <= 0 || this.timer) return;
    // Often enough that a call is handed back at most a quarter late.
    const every = Math.max(50, Math.min(1000, Math.floor(this.ms / 4)));
    this.timer = setInterval(() => this.round(), every);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private round(): void {
    if (this.host.size === 0) {
      this.stop();
      return;
    }
    const now = performance.now();
    for (const s of this.host.sessions()) {
      if (s.status !== "held" || s.inFlight > 0 || s.terminating || s.stopping.size > 0 || s.queue.length > 0) continue;
      if (now - s.lastActive < this.ms) continue;
      const r = s.running;
      if (r === undefined) {
        this.host.warn(
          `call ${s.ivrid}: nothing ran and nothing was asked for ${this.ms} ms; handing it back (idle guard)`,
        );
        this.host.handBack(s);
      } else if (r.unaccounted) {
        // A component that ran across an outage: its end may have been sent to nobody. Ask the platform: a refused
        // terminate means it had ended (component_lost, the call is free and idle); an answered one stops it.
        r.unaccounted = false;
        s.lastActive = now;
        this.host.probe(s);
      }
    }
  }
}

/** An idle guard setting checked: 0 (off) when absent. */
export function checkIdleGuard(ms: number | undefined): number {
  if (ms === undefined) return 0;
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIMER_MS) {
    throw new IvrApiError("invalid", `idleGuardMs must be between 0 and ${MAX_TIMER_MS}, not ${ms}`);
  }
  return ms;
}
