// Which ivr start node holds each call of a connection, and how many each holds (its status shows the count).

/** ivrid → the ivr start node that holds it, with a count per node kept alongside (a status needs it per call). */
export class Owners {
  private readonly byCall = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  get(ivrid: string): string | undefined {
    return this.byCall.get(ivrid);
  }

  set(ivrid: string, startId: string): void {
    this.delete(ivrid);
    this.byCall.set(ivrid, startId);
    this.counts.set(startId, (this.counts.get(startId) ?? 0) + 1);
  }

  delete(ivrid: string): void {
    const owner = this.byCall.get(ivrid);
    if (owner === undefined) return;
    this.byCall.delete(ivrid);
    const n = (this.counts.get(owner) ?? 1) - 1;
    if (n > 0) this.counts.set(owner, n);
    else this.counts.delete(owner);
  }

  count(startId: string): number {
    return this.counts.get(startId) ?? 0;
  }

  clear(): void {
    this.byCall.clear();
    this.counts.clear();
  }
}
