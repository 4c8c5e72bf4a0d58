// Rule 7: what a registry does with its calls when the socket goes and comes back. Each held call waits
// ("reaccepting"), then is taken back with ivrapi_reaccept; a hand-back the drop cut off is finished right after; a
// call another instance took meanwhile (failover) or that the platform refuses is let go. The registry lends its calls
// and its one way to send (ReconnectHost); everything here works on those.
import type { Answer } from "../client/client";
import { IvrApiError } from "../client/errors";
import type { Session } from "./session";
import type { CallInfo } from "./types";

export interface ReconnectHost {
  /** The calls held now. */
  sessions(): Iterable<Session>;
  /** Is the session still the live record of its call? */
  holds(s: Session): boolean;
  /** A session request (the registry's, with the session's key). */
  request(s: Session, name: "ivrapi_reaccept" | "ivrapi_abort"): Promise<Answer>;
  /** Forgets the call, settling what waits on it. */
  end(s: Session, reason: string): void;
  /** The call is controlled here again: say so, and let its components move (orphans, queue). */
  reaccepted(s: Session): void;
  warn(text: string): void;
}

/** The request could not be answered because the socket went (or was not there): a reconnect follows. */
export function isConnectionGone(e: unknown): e is IvrApiError {
  return e instanceof IvrApiError && (e.code === "connection_lost" || e.code === "not_connected");
}

export class Reconnect {
  constructor(
    private readonly host: ReconnectHost,
    /** Take calls back after a reconnect (RegistryOptions.reaccept); without, they end with `connection_lost`. */
    private readonly reaccept: boolean,
    /** Asked before a call is taken back (RegistryOptions.mayReaccept). */
    private readonly mayReaccept: ((call: CallInfo) => boolean | Promise<boolean>) | undefined,
  ) {}

  /** The socket left "ready": every held call waits to be taken back (or ends, when reaccept is off). */
  lost(): void {
    for (const s of [...this.host.sessions()]) {
      if (!this.reaccept) this.host.end(s, "connection_lost");
      else {
        // An abort in flight dies with the socket (its caller learns it next): the hand-back is still owed.
        if (s.status === "aborting") s.handBackDue = true;
        s.status = "reaccepting";
      }
    }
  }

  /** The socket is ready again: each waiting call is taken back. */
  ready(): void {
    for (const s of this.host.sessions()) if (s.status === "reaccepting") void this.takeBack(s);
  }

  private async takeBack(s: Session): Promise<void> {
    const host = this.host;
    if (this.mayReaccept) {
      let may = true;
      try {
        may = await this.mayReaccept(s.call);
      } catch (err) {
        // The store cannot say: taking the call back is what rule 7 asks; the platform refuses if it moved.
        host.warn(`could not check who holds call ${s.ivrid}: ${(err as Error).message}; reaccepting`);
      }
      if (!may) {
        host.end(s, "taken_over");
        return;
      }
      if (!host.holds(s) || s.status !== "reaccepting") return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await host.request(s, "ivrapi_reaccept");
        break;
      } catch (err) {
        const code = err instanceof IvrApiError ? err.code : "";
        // Refused (the call ended or another instance took it), or never answered: the call is not ours any more.
        if (code === "rejected" || (code === "timeout" && attempt >= 3)) host.end(s, "lost");
        if (code !== "timeout" || attempt >= 3 || !host.holds(s)) return;
        // Otherwise (socket broke again) the next "ready" retries.
      }
    }
    if (!host.holds(s)) return;
    if (s.handBackDue) {
      void this.finishHandBack(s);
      return;
    }
    // An abort sent meanwhile wins: the call is on its way back to the script, nothing more goes out for it.
    if (s.status !== "reaccepting") return;
    this.heldAgain(s);
  }

  /** A call taken back after a reconnect is controlled here again. */
  private heldAgain(s: Session): void {
    s.status = "held";
    s.lastActive = performance.now();
    // A component the platform may have ended while the socket was down: the guard checks on it if it stays silent.
    if (s.running && !s.running.orphaned) s.running.unaccounted = true;
    this.host.reaccepted(s);
  }

  /**
   * Sends the hand-back a lost connection cut off, right after the reaccept was answered and before anything else. Not
   * instead of the reaccept: control belongs to a connection (rule 6), and after a reconnect this one holds the call
   * only once ivrapi_reaccept is answered (rule 7); an abort sent before would come from a connection that does not
   * control the call, and the platform refuses those.
   */
  private async finishHandBack(s: Session): Promise<void> {
    s.handBackDue = false;
    s.status = "aborting";
    const reason = s.abortReason ?? "aborted";
    try {
      await this.host.request(s, "ivrapi_abort");
      this.host.end(s, reason);
    } catch (e) {
      if (!this.host.holds(s)) return;
      if (isConnectionGone(e)) {
        // Lost again: the next reconnect tries again.
        s.status = "reaccepting";
        s.handBackDue = true;
        return;
      }
      // Refused or not answered: the call stays controlled here, taken back like any other after a reconnect (the idle
      // guard, when on, hands it back later).
      this.host.warn(`call ${s.ivrid}: could not hand it back after the reconnect: ${(e as Error).message}`);
      this.heldAgain(s);
    }
  }
}
