// What the session registry hands out: a call as the flow sees it, and how a component ended.
import type { IvrApiError } from "../client/errors";
import type { ApiStartData, ApiStopData, ComponentData, ComponentStoppedBody, DtmfBody } from "../protocol";

export const BUSY_POLICIES = ["reject", "queue", "replace"] as const;
/** What apply does when a component already runs on the call (rule 2: one at a time). */
export type BusyPolicy = (typeof BUSY_POLICIES)[number];

/** A call offered by api_start. */
export interface CallInfo {
  readonly ivrid: string;
  readonly key: string;
  /** params of api_start parsed as JSON (an empty object when absent); a fresh copy on every read. */
  readonly params: unknown;
  /** params exactly as sent. */
  readonly paramsRaw: string;
  /** Set when params was not valid JSON: params then holds the raw string. */
  readonly paramsError?: string | undefined;
  readonly state?: string | undefined;
  readonly start: ApiStartData;
  /** When control was taken (ms epoch), once it was. */
  readonly acceptedAt?: number | undefined;
}

export interface ComponentResult {
  oId: number | string;
  transferKey: string;
  results: Record<string, unknown>;
  /** The component_stopped body, whole. */
  body: ComponentStoppedBody;
  /** What was applied (with the oId the runtime gave it). */
  data: ComponentData;
  /** The apply timeout ran out and the runtime terminated the component. */
  timedOut: boolean;
}

export type AcceptOutcome =
  | { accepted: true; call: CallInfo }
  /** Refused by the server: another connection won the race, or the call is gone. A normal outcome. */
  | { accepted: false; call: CallInfo; reason: string; serverCode?: string };

export interface SessionEnd {
  /** api_stop's reason (`script`, `timeout`, `abort`…), or the runtime's own: `aborted` (our abort answered),
   * `lost` (reaccept refused), `connection_lost` (socket broke with reaccept off), `closed` (registry disposed),
   * `taken_over` (another instance holds it now: failover), `idle` (handed back by the idle guard). */
  reason: string;
  stop?: ApiStopData;
}

export interface ResumeInfo {
  /** `deploy`, `failover`, or the adopter's own word. */
  why: string;
  lastTransferKey?: string;
}

export interface FileAnswer {
  /** The path or link the server returned, when the answer holds one. */
  value: string | undefined;
  /** The answer body, whole (so an answer we cannot read still reaches the flow). */
  body: Record<string, unknown>;
}

export interface RegistryEvents {
  /** A call reached an API component (not yet accepted): a start node may claim it. */
  api_start: [CallInfo];
  /** Control was taken. */
  session_start: [CallInfo];
  /** Control was taken back after a reconnect. */
  reaccepted: [CallInfo];
  /**
   * A call this connection took over without a flow waiting for it (adopt: failover, a changed connection), or whose
   * waiting msg went away (a deploy): the owner's flow decides what happens next. `lastTransferKey` is the exit of
   * the component that was running, when one ended with nobody waiting for it.
   */
  resumed: [CallInfo, ResumeInfo];
  session_end: [CallInfo, SessionEnd];
  component_stopped: [CallInfo, ComponentResult];
  dtmf: [CallInfo, DtmfBody];
  /** Something the flow author may want to know but that is not an error of one request. */
  warning: [string];
  /** A component's apply went out (queued ones when their turn comes): for the call record. */
  component_started: [CallInfo, ComponentStart];
  /** Another connection won the accept race, or the call was gone (a normal outcome): for the metrics. */
  accept_lost: [CallInfo, { reason: string; serverCode?: string }];
  /** A request or an apply on a call failed (each error once): for the call record and the metrics. */
  failed: [CallInfo, { request: string; error: IvrApiError }];
}

/**
 * Told of the registry's events the call record follows, each right before the registry's listeners hear of it (see
 * SessionRegistry.observer); the same arguments. It must not throw.
 */
export interface RegistryObserver {
  sessionStart(call: CallInfo): void;
  reaccepted(call: CallInfo): void;
  resumed(call: CallInfo, info: ResumeInfo): void;
  sessionEnd(call: CallInfo, end: SessionEnd): void;
  componentStarted(call: CallInfo, c: ComponentStart): void;
  componentStopped(call: CallInfo, r: ComponentResult): void;
  dtmf(call: CallInfo, b: DtmfBody): void;
  acceptLost(call: CallInfo): void;
  failed(call: CallInfo, f: { request: string; error: IvrApiError }): void;
}

export interface ComponentStart {
  oId: number;
  data: ComponentData;
  /** Who asked for it (ApplyOptions.source: the id of the node that applied it), when known. */
  source?: string;
}
