// One controlled call: its running component, the applies waiting behind it, and the components being
// terminated. Only the registry changes it; everything here dies with the call.
import type { IvrApiError } from "../client/errors";
import type { ComponentData } from "../protocol";
import type { BusyPolicy, CallInfo, ComponentResult } from "./types";

export interface RunningComponent {
  oId: number;
  /** The server's own oId for it, when the apply answer named one that differs from ours. */
  serverOId?: string;
  data: ComponentData;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  timedOut: boolean;
  /**
   * Its waiter already got an error (the apply or terminate answer was lost), but the server may still run it:
   * it keeps the call occupied (rule 2) until its stop event or a terminate answer says otherwise.
   */
  orphaned: boolean;
  resolve(r: ComponentResult): void;
  reject(e: IvrApiError): void;
}

export interface QueuedApply {
  data: ComponentData;
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
  /** The terminate in flight: the next component waits for its answer (rule 3), a second terminate joins it. */
  terminating: Promise<unknown> | undefined;
  /** The component that occupies the call (from the moment its apply is sent). */
  running: RunningComponent | undefined;
  /** Terminated components whose component_stopped has not arrived yet, by oId. */
  readonly stopping = new Map<number, RunningComponent>();
  readonly queue: QueuedApply[] = [];
  /**
   * oIds of the call's components that already ended here, newest last (bounded): a stop event for one of them
   * (late, after its terminate was answered, or sent twice) must not end the component that runs now.
   */
  readonly retired = new Set<string>();

  constructor(readonly call: CallInfo) {}

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

export interface ApplyOptions {
  busy?: BusyPolicy;
  /** ms after which the component is terminated (0 or absent = never). */
  timeoutMs?: number;
}
