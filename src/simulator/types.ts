// Public shapes of the simulator, plus the internal records its modules share.
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

export interface SimulatorOptions {
  host?: string;
  port?: number;
  token?: string;
  /** No accept within this after api_start → api_stop reason "timeout". */
  acceptTimeoutMs?: number;
  /** Validity of file_get_path links. */
  linkTtlMs?: number;
  capabilities?: string[];
  /** true: ivrapi_component_stopped also carries ivrid and key (the seed shows neither). */
  componentStoppedIvrid?: boolean;
  /**
   * true: a terminated component's ivrapi_component_stopped goes out before the terminate answer (the order a
   * real server may well use); false (default): the answer first.
   */
  stoppedBeforeAnswer?: boolean;
  /** Serve wss:// and https:// with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** ms a component runs before finishing on its own, by oType; Infinity = never. */
  durations?: Partial<Record<number | "default", number>>;
  /** true: components never finish by themselves (deterministic tests). */
  manual?: boolean;
  filesDir?: string;
  log?: (line: string) => void;
}

export interface FrameLogEntry {
  at: number;
  dir: "in" | "out";
  conn: string;
  name: string;
  body: unknown;
}

export type CallPhase = "waiting" | "controlled" | "released" | "ended";

export interface SimComponentView {
  oId: number | string;
  oType: number;
  data: Record<string, unknown>;
  startedAt: number;
  dtmfBuffer: string;
}

export interface SimCallInfo {
  ivrid: string;
  key: string;
  params: string;
  state: string;
  callid: string;
  cid: string;
  componentid: number;
  componentname: string;
  sm_id: string;
  ivrts: number;
  /** Caller number shown by the control API / softphone; never sent on the wire. */
  from: string;
  phase: CallPhase;
  controller: string | null;
  component: SimComponentView | null;
  history: Array<{ at: number; what: string; detail?: unknown }>;
  tempFiles: string[];
  stopReason?: string;
  /** How many connections api_start reached (0: no IVR app was subscribed, so nobody could accept it). */
  offeredTo?: number;
}

export interface PlaceCallOptions {
  key?: string;
  params?: unknown;
  state?: string;
  componentName?: string;
  componentId?: number;
  callid?: string;
  cid?: string;
  from?: string;
}

export interface SubscriptionView {
  id: string | number;
  events: string[];
  expiresAt: number;
}

export interface ConnectionView {
  id: string;
  subscriptions: SubscriptionView[];
  authorizedBy: "path" | "header";
}

export interface SimFaults {
  delayAnswers(requestName: string, ms: number): void;
  dropAnswers(requestName: string, count?: number): void;
  /** The next `count` requests of that name are not carried out; each is answered with `{ qid, ...body }`. */
  answerInstead(requestName: string, body: Record<string, unknown>, count?: number): void;
  /** One text frame; a Buffer goes out byte for byte (it need not be valid UTF-8). */
  sendRaw(text: string | Buffer, connId?: string): void;
  /** One binary frame. */
  sendBinary(data: Buffer, connId?: string): void;
  /**
   * `count` text frames made by `make(i)`, spread evenly over `overMs` (0 = all at once), to one connection or to
   * every one open at each moment. The log gets one summary entry ("(burst)"), not one per frame, so a flood
   * of thousands neither evicts the frames a test looks for nor costs the memory it measures. Resolves with the
   * number of frames sent once the last one is out (fewer when the connection or the simulator went away).
   */
  burst(count: number, make: (i: number) => string, opts?: { overMs?: number; connId?: string }): Promise<number>;
  freeze(connId?: string): void;
  rejectUpgrades(status: number | null): void;
  clear(): void;
}

// ---------------------------------------------------------------------------------------------
// Internal records

export interface Conn {
  id: string;
  ws: WebSocket;
  socket: Socket;
  authorizedBy: "path" | "header";
  sessionid: string;
  subs: Map<string | number, SubscriptionView>;
  frozen: boolean;
}

/** How a running component ends; computed when it ends so results reflect what happened until then. */
export interface ComponentOutcome {
  transferKey: string;
  results: Record<string, unknown>;
}

export type EndHow = "natural" | "digit" | "terminated";

export interface RunningComponent extends SimComponentView {
  timer: NodeJS.Timeout | null;
  interrupt: Set<string>;
  /** 0 = no limit. */
  maxSymbols: number;
  outcome(how: EndHow): ComponentOutcome;
  /** Effect on the call once the stopped event is out (bye, transfer, SIP reject end the call). */
  after?: (outcome: ComponentOutcome) => void;
  /** A component with its own digit rules (206, speech recognition): end now, or wait `rearmMs` more. */
  onDigit?: (digit: string) => { end: true } | { rearmMs: number } | undefined;
  /** What the caller said (the softphone's "say" box), for speech recognition. */
  heard?: string;
}

export interface Call {
  info: Omit<SimCallInfo, "phase" | "controller" | "component" | "history" | "tempFiles" | "stopReason">;
  phase: CallPhase;
  controller: string | null;
  component: RunningComponent | null;
  history: SimCallInfo["history"];
  tempFiles: Set<string>;
  stopReason?: string;
  offeredTo?: number;
  nextOId: number;
  acceptTimer: NodeJS.Timeout | null;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  token: string;
  acceptTimeoutMs: number;
  linkTtlMs: number;
  capabilities: string[];
  componentStoppedIvrid: boolean;
  stoppedBeforeAnswer: boolean;
  tls?: { key: string | Buffer; cert: string | Buffer };
  durations: Partial<Record<number | "default", number>>;
  manual: boolean;
  log: (line: string) => void;
  /** A log function was given (per-frame lines are only built then). */
  logging: boolean;
}
