// Reconnect delays: exponential, capped, with jitter so that many instances do not knock in step.

export interface BackoffSettings {
  reconnectMinMs: number;
  reconnectMaxMs: number;
  reconnectFactor: number;
  reconnectJitter: number;
}

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly s: BackoffSettings,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; grows with every call until reset(). */
  next(): number {
    const base = Math.min(this.s.reconnectMaxMs, this.s.reconnectMinMs * this.s.reconnectFactor ** this.attempt);
    this.attempt++;
    const spread = base * this.s.reconnectJitter;
    return Math.max(1, Math.round(base - spread + 2 * spread * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
