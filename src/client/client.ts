// IvrApiClient: one WebSocket to the platform's Token API, with the hello (connection_info), the ivrevents
// subscription and its renewal, keep-alive, reconnect with backoff, and the one request/answer helper.
// Plain TypeScript: no Node-RED here, so it is usable (and tested) on its own.
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import type { RequestName, RequestParams, ResultRules } from "../protocol";
// From the module, not the protocol's index: compiled to CommonJS, `export *` makes each name a getter, and these
// run for every frame (a getter call each time: 0.3–1.0 µs per call of the benchmark in two profiles).
import { answerName, type DecodeError, type DecodeOptions, decode, encode, type ServerFrame } from "../protocol/codec";
import { copyBody } from "../protocol/fast";
import { Backoff } from "./backoff";
import { IvrApiError, maskToken } from "./errors";
import { type Failure, missingCapabilities, socketFailure, upgradeFailure, urlProblem } from "./failure";
import { closeSocket, coalescedSender, createSocket, keepAlive, readConnectionInfo } from "./socket";
import type { ClientEvents, ClientObserver, ConnectionInfo, ConnectionState } from "./types";
import { emitFrame, observeFrame } from "./types";

export type { ClientEvents, ClientObserver, ConnectionInfo, ConnectionState, StateChange } from "./types";

import { type Answer, type Done, RequestTracker, type Settled } from "./requests";

export type { Answer, Done, Settled } from "./requests";

/** Options of one request. */
export interface RequestOptions {
  /** How long to wait for the answer (default: the client's requestTimeoutMs). */
  timeoutMs?: number;
  /**
   * Called once when the request is over, as its promise settles (before any of its callbacks run): with nothing when
   * answered with success, else with the error the promise rejects with. What a caller that only keeps count needs,
   * without a promise of its own. It runs inside the client's own loops, so it must not throw.
   */
  settled?: Settled;
}

import {
  type ClientOptions,
  type ClientOptionsInput,
  type Logger,
  parseClientOptions,
  resultRulesOf,
  silentLogger,
} from "./options";

/** Events held while the handshake finishes: a burst of a few is normal, thousands is a flood. */
const MAX_EARLY_FRAMES = 1000;

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? err.message;
  try {
    return String(err);
  } catch {
    return "(unprintable)";
  }
}

export class IvrApiClient extends EventEmitter<ClientEvents> {
  readonly options: ClientOptions;
  private readonly log: Logger;
  private readonly rules: ResultRules;
  /** What decode needs of the options: made once, not per frame. */
  private readonly decodeOptions: DecodeOptions;
  private readonly subscriptionId: string;
  private ws: WebSocket | undefined;
  /** The current socket's sender, writes coalesced per event-loop turn (made once the socket is open). */
  private sender: { ws: WebSocket; send: (text: string) => void } | undefined;
  private _state: ConnectionState = "idle";
  private _info: ConnectionInfo | undefined;
  private readonly requests = new RequestTracker();
  /** Events that arrived during the handshake, delivered once ready (at most MAX_EARLY_FRAMES). */
  private readonly early: Array<ServerFrame | DecodeError> = [];
  private earlyDropped = 0;
  private readonly backoff: Backoff;
  /** The last failure logged as a warning (state, code, status): the same again is logged at debug level. */
  private warned: string | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private _observer: ClientObserver | undefined;

  constructor(options: ClientOptionsInput, logger: Logger = silentLogger) {
    super();
    this.options = parseClientOptions(options);
    this.log = logger;
    this.rules = resultRulesOf(this.options);
    this.decodeOptions = { maxFrameBytes: this.options.maxFrameBytes, resultRules: this.rules };
    this.requests.onBug = (err) =>
      this.log.error(`a request's waiter failed on its answer: ${this.mask(describeError(err))}`);
    this.subscriptionId =
      this.options.subscriptionId ?? `ivrapi-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    this.backoff = new Backoff(this.options);
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** What connection_info answered on the current connection (undefined until ready). */
  get info(): ConnectionInfo | undefined {
    return this._info;
  }

  /** Who watches the traffic (the call record); see ClientObserver. Unset, the hot path pays one property read. */
  get observer(): ClientObserver | undefined {
    return this._observer;
  }

  set observer(o: ClientObserver | undefined) {
    this._observer = o;
    const answered = o?.answered?.bind(o);
    this.requests.onAnswer = answered;
  }

  /** The endpoint as safe to show: the token replaced by `***`. */
  get maskedUrl(): string {
    return this.options.tokenMode === "path" ? `${this.baseUrl()}/***` : this.baseUrl();
  }

  /** Starts connecting (idempotent). Events and state changes follow. */
  start(): void {
    if (this._state !== "idle") return;
    this.open();
  }

  /** Closes for good: fails what is in flight, stops every timer, closes the socket. */
  async close(): Promise<void> {
    if (this._state === "closed") return;
    this.setState("closed");
    this.clearTimers();
    this.requests.failAll(new IvrApiError("closed", "the connection was closed"));
    const ws = this.ws;
    this.ws = undefined;
    this.sender = undefined;
    if (!ws) return;
    await closeSocket(ws);
  }

  /**
   * Sends one request and resolves with its answer when it reads as success; rejects with an IvrApiError on any
   * other answer (code `rejected`, the answer whole in details.body), a timeout, a lost connection, or when not ready. The only place qids are made and matched.
   */
  request<N extends RequestName>(name: N, params: RequestParams<N>, opts: RequestOptions = {}): Promise<Answer> {
    return this.promised(name, params as Record<string, unknown>, opts.timeoutMs, false, opts.settled);
  }

  /**
   * The same request, followed by a callback instead of a promise: `done` is told its answer (success) or its error,
   * once, and never in the same turn as this call (a request that cannot be sent is told a microtask later, as a
   * promise's rejection would be). The runtime's own hot path (components) uses it: no promise, no reaction, no
   * microtask per request. `done` runs inside the client's loops, so it must not throw (a throw is logged).
   */
  call<N extends RequestName>(name: N, params: RequestParams<N>, timeoutMs: number | undefined, done: Done): void {
    const err = this.send(name, params as Record<string, unknown>, timeoutMs, false, done);
    if (err) queueMicrotask(() => this.requests.tellNow(done, err));
  }

  private promised(
    name: RequestName,
    params: Record<string, unknown>,
    timeoutMs: number | undefined,
    handshake: boolean,
    settled?: Settled,
  ): Promise<Answer> {
    // Settled first, then told: a `settled` that throws (it must not) cannot keep the promise from settling.
    return new Promise<Answer>((resolve, reject) => {
      const err = this.send(name, params, timeoutMs, handshake, (e, answer) => {
        if (e) reject(e);
        else resolve(answer as Answer);
        settled?.(e);
      });
      if (err) {
        reject(err);
        settled?.(err);
      }
    });
  }

  /** Sends a request; `done` is told how it ends. Returns the error instead when it cannot be sent at all. */
  private send(
    name: RequestName,
    params: Record<string, unknown>,
    timeoutMs: number | undefined,
    handshake: boolean,
    done: Done,
  ): IvrApiError | undefined {
    const ws = this.ws;
    const open = ws !== undefined && ws.readyState === WebSocket.OPEN;
    if (!open || (!handshake && this._state !== "ready")) {
      return new IvrApiError(
        "not_connected",
        // "ready" with a socket that is not open: the close is under way and not reported yet.
        `cannot send ${name}: ${this._state === "ready" && !open ? "the socket is closing" : `the connection is ${this._state}`}`,
        { request: name },
      );
    }
    // Encoded before a qid is taken: a body that cannot be serialised (BigInt, a cycle) is refused here.
    const qid = this.requests.nextId();
    let text: string;
    // Not a spread (see copyBody): `{ ...params, qid }` made a hidden class per request (garbage for the full collector).
    const body = copyBody(params);
    body.qid = qid;
    try {
      text = encode(name, body);
    } catch (err) {
      const why = `${name} cannot be sent: its body is not serialisable JSON (${(err as Error).message})`;
      return new IvrApiError("invalid", why, { request: name });
    }
    const ivrid = typeof params.ivrid === "string" ? params.ivrid : undefined;
    this.requests.open(qid, name, timeoutMs ?? this.options.requestTimeoutMs, ivrid, done);
    // No per-frame callback: the socket was checked open above, and a write that fails closes it, which fails
    // everything in flight with connection_lost (dropped()).
    this.write(ws, text);
    if (this._observer) this._observer.frame("out", name, body, text, ivrid);
    return undefined;
  }

  private write(ws: WebSocket, text: string): void {
    if (this.sender?.ws !== ws) this.sender = { ws, send: coalescedSender(ws) };
    this.sender.send(text);
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle

  private baseUrl(): string {
    return this.options.url.replace(/\/+$/, "");
  }

  private open(): void {
    this.setState("connecting");
    let ws: WebSocket;
    try {
      ws = createSocket(this.options);
    } catch (err) {
      const why = `cannot open ${this.maskedUrl}: ${this.mask((err as Error).message)}`;
      this.scheduleReconnect(why, false, urlProblem(this.options.url) ?? { code: "bad_url", text: why });
      return;
    }
    this.ws = ws;
    let unauthorized = false;
    ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      unauthorized = status === 401 || status === 403;
      res.resume();
      ws.terminate();
      const failure = upgradeFailure(status, this.options.url);
      this.dropped(ws, this.mask(failure.text), unauthorized, failure);
    });
    ws.on("open", () => void this.handshake(ws));
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.emit("stray", { what: "binary frame", detail: { bytes: (data as Buffer).length } });
        return;
      }
      this.onFrame(data as Buffer);
    });
    let lastError: Failure | undefined;
    ws.on("error", (err) => {
      // 'close' follows every 'error'; the reason is reported there.
      this.log.debug(`socket error: ${this.mask(err.message)}`);
      lastError = socketFailure(err, this.options.url);
    });
    ws.on("close", (code, reason) => {
      if (unauthorized) return;
      const failure: Failure = lastError ?? {
        code: "closed",
        text: `socket closed (${code}${reason.length ? ` ${reason.toString()}` : ""})`,
      };
      this.dropped(ws, this.mask(failure.text), false, failure);
    });
  }

  private async handshake(ws: WebSocket): Promise<void> {
    try {
      const hello = await this.promised("connection_info", {}, undefined, true);
      const read = readConnectionInfo(hello, this.options.requiredCapabilities);
      if ("missing" in read) {
        ws.terminate();
        const missing = missingCapabilities(hello.body, this.options.requiredCapabilities);
        this.dropped(ws, read.missing, true, { code: "missing_capability", text: read.missing, missing });
        return;
      }
      this._info = read.info;
      await this.subscribe();
      if (this.ws !== ws) return;
      this.backoff.reset();
      this.pingTimer = keepAlive(ws, this.options.pingIntervalMs, (text) => this.log.warn(text));
      this.warned = undefined;
      // Calls that ended while we were away must be gone before "ready" makes the registry take its calls back
      // (rule 4: nothing is sent for a stopped call, not even a reaccept).
      this.releaseEarly((f) => f.kind === "api_stop");
      this.setState("ready");
      this.emit("ready", this._info);
      this.releaseEarly();
    } catch (err) {
      if (this.ws !== ws) return;
      const text = `handshake failed: ${this.mask(err instanceof Error ? err.message : String(err))}`;
      ws.terminate();
      this.dropped(ws, text, false, { code: "handshake", text });
    }
  }

  private async subscribe(): Promise<void> {
    await this.promised(
      "subscribe",
      { id: this.subscriptionId, objects: "any", events: this.options.events, expires: this.options.subscriptionTtlS },
      undefined,
      true,
    );
    clearTimeout(this.renewTimer);
    const renewIn = Math.max(1, Math.floor(this.options.subscriptionTtlS * 1000 * this.options.renewAt));
    this.renewTimer = setTimeout(() => {
      this.subscribe().catch((err: Error) => {
        // A subscription we cannot renew means events will stop: start over on a fresh socket.
        this.log.warn(`subscription renewal failed: ${this.mask(err.message)}; reconnecting`);
        this.ws?.terminate();
      });
    }, renewIn);
  }

  /** The socket is gone (or refused): fail what is in flight, then retry (slowly when unauthorized). */
  private dropped(ws: WebSocket, why: string, unauthorized: boolean, failure?: Failure): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.sender = undefined;
    ws.removeAllListeners();
    ws.on("error", () => {});
    this.clearTimers();
    this._info = undefined;
    this.early.length = 0;
    this.earlyDropped = 0;
    this.requests.failAll(new IvrApiError("connection_lost", `connection lost: ${why}`));
    this.scheduleReconnect(why, unauthorized, failure);
  }

  private scheduleReconnect(why: string, unauthorized: boolean, failure?: Failure): void {
    if (this._state === "closed") return;
    const delay = unauthorized ? this.options.unauthorizedRetryMs : this.backoff.next();
    const retryAt = Date.now() + delay;
    const state = unauthorized ? "unauthorized" : "disconnected";
    const f: Failure = failure ?? { code: "other", text: why };
    this.setState(state, { error: why, retryAt, failure: { ...f, text: why } });
    // Once per change of state or reason, not on every retry: the same failure every ~30 s forever is noise
    // (the node's status keeps showing it). Repeats go to the debug log.
    const said = `${state} ${f.code} ${f.status ?? ""}`;
    const line = `${this.maskedUrl}: ${why}; retrying in ${delay} ms`;
    if (said === this.warned) this.log.debug(line);
    else {
      this.warned = said;
      if (f.code === "missing_capability") this.log.error(`${line} (repeats are logged at debug level)`);
      else this.log.warn(`${line} (repeats are logged at debug level)`);
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
  }

  private clearTimers(): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.renewTimer);
    clearInterval(this.pingTimer);
    this.reconnectTimer = this.renewTimer = this.pingTimer = undefined;
  }

  private setState(state: ConnectionState, extra: { error?: string; retryAt?: number; failure?: Failure } = {}): void {
    const previous = this._state;
    if (previous === state && !extra.error) return;
    this._state = state;
    // Called from socket handlers: a listener's exception must not escape into ws (it would be uncaught).
    try {
      this.emit("state", { state, previous, ...extra });
    } catch (err) {
      this.log.error(`a connection state listener failed: ${this.mask(describeError(err))}`);
    }
  }

  private mask(text: string): string {
    return maskToken(text, this.options.token);
  }

  // -------------------------------------------------------------------------------------------
  // Incoming frames

  /**
   * One inbound frame. Nothing may throw out of here: an exception in the socket's message handler is uncaught
   * and would take the host process (Node-RED, with every call it holds) down. A listener's bug costs one frame.
   */
  private onFrame(raw: Buffer): void {
    try {
      const frame = decode(raw, this.decodeOptions);
      if (frame.kind === "error") this.log.warn(`refused a frame from the server (${frame.code}): ${frame.message}`);
      else if (frame.kind === "result") {
        // Claimed first: the observer learns which call the answer is for, and sees it before its waiter does.
        const claimed = this.requests.claim(frame.qid, frame.request);
        try {
          if (this._observer) {
            const ivrid = claimed ? claimed.ivrid : this.requests.timedOutCall(frame.qid);
            this._observer.frame("in", answerName(frame.request), frame.body, frame.text, ivrid, raw);
          }
        } finally {
          // Whatever the observer does, a claimed request is answered (it is off the list: nothing else would).
          if (claimed) this.requests.settle(claimed, frame.body, frame.outcome);
        }
        if (claimed) return;
      } else if (this._observer) observeFrame(this._observer, frame, raw);
      // ws can deliver subscribe_result and the first api_start in one read, before the handshake's promise chain
      // has made us ready: hold such events until then, or an accept would be refused as "not connected".
      if (this._state !== "ready") {
        this.holdEarly(frame);
        return;
      }
      emitFrame(this, frame);
    } catch (err) {
      this.log.error(`a frame from the server could not be handled: ${this.mask(describeError(err))}`);
    }
  }

  /** Keeps an event for when the handshake is done; bounded, so a server flooding us meanwhile costs no memory. */
  private holdEarly(frame: ServerFrame | DecodeError): void {
    if (this.early.length < MAX_EARLY_FRAMES) {
      this.early.push(frame);
      return;
    }
    this.earlyDropped++;
    if (this.earlyDropped === 1) {
      this.log.warn(`more than ${MAX_EARLY_FRAMES} events arrived before the subscription was confirmed; dropping`);
    }
  }

  /** Delivers the events held during the handshake, each on its own (one that fails must not lose the rest). */
  private releaseEarly(only?: (frame: ServerFrame | DecodeError) => boolean): void {
    let frames: Array<ServerFrame | DecodeError>;
    if (only) {
      frames = this.early.filter(only);
      if (frames.length === 0) return;
      const rest = this.early.filter((f) => !only(f));
      this.early.length = 0;
      this.early.push(...rest);
    } else {
      if (this.earlyDropped > 0) this.log.warn(`${this.earlyDropped} early events were dropped during the handshake`);
      this.earlyDropped = 0;
      frames = this.early.splice(0);
    }
    for (const frame of frames) {
      try {
        emitFrame(this, frame);
      } catch (err) {
        this.log.error(`an event from the server could not be handled: ${this.mask(describeError(err))}`);
      }
    }
  }
}
