// Every listener a node adds to a long-lived emitter (its connection) goes through here, so that closing the
// node removes all of them: nothing it registered survives a redeploy.
import type { EventEmitter } from "node:events";

type Listener = (...args: unknown[]) => void;

export class Events<T extends Record<keyof T, unknown[]>> {
  private readonly added: Array<{ event: string; listener: Listener }> = [];
  private readonly emitter: EventEmitter;

  constructor(emitter: EventEmitter<T>) {
    this.emitter = emitter as unknown as EventEmitter;
  }

  on<K extends keyof T & string>(event: K, listener: (...args: T[K]) => void): this {
    this.emitter.on(event, listener as Listener);
    this.added.push({ event, listener: listener as Listener });
    return this;
  }

  /** How many listeners are attached now (tests check it drops to zero on close). */
  get count(): number {
    return this.added.length;
  }

  removeAll(): void {
    for (const { event, listener } of this.added.splice(0)) this.emitter.off(event, listener);
  }
}
