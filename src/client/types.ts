// The client's public shapes: connection states, their changes, the events it emits, and how a frame becomes one.
import type { EventEmitter } from "node:events";
import type {
  ApiStartData,
  ApiStopData,
  ComponentStoppedBody,
  ConnectionInfoResult,
  DecodeError,
  DtmfBody,
  NotifyBody,
  ServerFrame,
} from "../protocol";
import type { Failure } from "./failure";

export type ConnectionState =
  /** Created, start() not called yet. */
  | "idle"
  /** Opening the socket, or saying hello and subscribing. */
  | "connecting"
  /** Subscribed: events flow and requests may be sent. */
  | "ready"
  /** 401/403 at upgrade, or a capability missing: retried slowly. */
  | "unauthorized"
  /** The socket is down; a reconnect is scheduled. */
  | "disconnected"
  /** close() was called. */
  | "closed";

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Why (masked), for disconnected/unauthorized. */
  error?: string;
  /** When the next attempt is due (ms epoch), when one is scheduled. */
  retryAt?: number;
  /** What failed, as a code a user interface can translate (its text is `error`). */
  failure?: Failure;
}

/**
 * Watches a client's traffic (the call record): set as `client.observer`. Called synchronously on the hot path, so it
 * must be cheap, must not throw, and must not keep a body it was handed (copy what it needs, bounded).
 */
export interface ClientObserver {
  /**
   * A frame sent (`out`: the request's name, its body as sent, qid included) or received (`in`: `<request>_result`
   * for an answer, `ivrevents.api_start`/`ivrevents.api_stop` with the notify body, `ivrapi_component_stopped`,
   * `ivrapi_dtmf`). Other notifications and frames that could not be decoded are not passed. `text`: the frame as
   * it crossed the wire (one string to keep, where the body is a tree of objects). `ivrid`: the call the frame is for,
   * when it is known (a request that names one, its answer, an event that names one; not a stop event that names none:
   * the registry places that one). `wire`: the
   * same text as the bytes that came in (UTF-8), when the client has them: copying them costs less than encoding the
   * text again. Valid only during the call.
   */
  frame(
    dir: "in" | "out",
    name: string,
    body: Record<string, unknown>,
    text: string,
    ivrid?: string,
    wire?: Buffer,
  ): void;
  /** A request got its answer (accepted or refused by the server) after `ms`. */
  answered?(request: string, ms: number, ok: boolean): void;
}

export interface ConnectionInfo {
  site?: string;
  domain?: string;
  capabilities: string[];
  raw: ConnectionInfoResult;
}

export interface ClientEvents {
  state: [StateChange];
  ready: [ConnectionInfo];
  api_start: [ApiStartData, NotifyBody];
  api_stop: [ApiStopData, NotifyBody];
  component_stopped: [ComponentStoppedBody];
  dtmf: [DtmfBody];
  /** Any other notification: handed on, never dropped. */
  notify: [NotifyBody];
  /** A frame we could not decode, an unknown frame, or an answer nobody waits for (late, after a timeout). */
  stray: [{ what: string; detail: DecodeError | Record<string, unknown> }];
}

/** Shows a decoded frame to an observer (see ClientObserver). */
export function observeFrame(o: ClientObserver, frame: ServerFrame, wire: Buffer): void {
  switch (frame.kind) {
    case "result":
      // The client itself passes answers on, with the call they are for.
      return;
    case "api_start":
      o.frame("in", "ivrevents.api_start", frame.notify, frame.text, frame.data.ivrid, wire);
      return;
    case "api_stop":
      o.frame("in", "ivrevents.api_stop", frame.notify, frame.text, frame.data.ivrid, wire);
      return;
    case "component_stopped": {
      // The seed's stop names no call (only our oId): the registry places it.
      const ivrid = frame.body.ivrid;
      o.frame(
        "in",
        "ivrapi_component_stopped",
        frame.body,
        frame.text,
        typeof ivrid === "string" ? ivrid : undefined,
        wire,
      );
      return;
    }
    case "dtmf":
      o.frame("in", "ivrapi_dtmf", frame.body, frame.text, frame.body.ivrid, wire);
      return;
  }
}

/** Hands a decoded frame to the listeners; answers reach here only when nobody waits for them (late, unknown). */
export function emitFrame(to: EventEmitter<ClientEvents>, frame: ServerFrame | DecodeError): void {
  switch (frame.kind) {
    case "error":
      to.emit("stray", { what: "malformed frame", detail: frame });
      return;
    case "result":
      to.emit("stray", {
        what: `answer ${frame.request}_result that nobody waits for (late or unknown qid)`,
        detail: frame.body,
      });
      return;
    case "api_start":
      to.emit("api_start", frame.data, frame.notify);
      return;
    case "api_stop":
      to.emit("api_stop", frame.data, frame.notify);
      return;
    case "component_stopped":
      to.emit("component_stopped", frame.body);
      return;
    case "dtmf":
      to.emit("dtmf", frame.body);
      return;
    case "notify":
      to.emit("notify", frame.notify);
      return;
    case "unknown":
      to.emit("stray", { what: `unknown frame ${frame.name}`, detail: frame.body });
      return;
  }
}
