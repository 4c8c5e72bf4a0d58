// IvrApiClient: one WebSocket to the platform's Token API, with the hello (connection_info), the ivrevents
// subscription and its renewal, keep-alive, reconnect with backoff, and the one request/answer helper.
// Plain TypeScript: no Node-RED here, so it is usable (and tested) on its own.
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { ZodError } from "zod";
import {
  type ApiStartData,
  type ApiStopData,
  type ComponentStoppedBody,
  ConnectionInfoResult,
  type DecodeError,
  type DtmfBody,
  decode,
  encode,
  type NotifyBody,
  type Qid,
  type RequestName,
  type RequestParams,
  type ResultBody,
  type ResultOutcome,
  type ResultRules,
} from "../protocol";
import { Backoff } from "./backoff";
import { IvrApiError, maskSecret } from "./errors";
import { type ClientOptions, type ClientOptionsInput, ClientOptionsSchema, type Logger, silentLogger } from "./options";

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
}

export interface Answer {
  request: RequestName;
  body: ResultBody;
  outcome: ResultOutcome;
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

interface Pending {
  name: RequestName;
  resolve: (a: Answer) => void;
  reject: (e: IvrApiError) => void;
  timer: NodeJS.Timeout;
}

export class IvrApiClient extends EventEmitter<ClientEvents> {
  readonly options: ClientOptions;
  private readonly log: Logger;
  private readonly rules: ResultRules;
  private readonly subscriptionId: string;
  private ws: WebSocket | undefined;
  private _state: ConnectionState = "idle";
  private _info: ConnectionInfo | undefined;
  private readonly pending = new Map<Qid, Pending>();
  private nextQid = 1;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastPong = 0;

  constructor(options: ClientOptionsInput, logger: Logger = silentLogger) {
    super();
    try {
      this.options = ClientOptionsSchema.parse(options);
    } catch (err) {
      // The token must not leak through a validation message that echoes input.
      const text =
        err instanceof ZodError ? err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : String(err);
      throw new IvrApiError("invalid", `invalid client options: ${maskSecret(text, options.token)}`);
    }
    this.log = logger;
    this.rules = {
      okValue: this.options.okValue,
      reasonFields: this.options.reasonFields,
      errorFields: this.options.errorFields,
    };
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
    this.failPending(new IvrApiError("closed", "the connection was closed"));
    const ws = this.ws;
    this.ws = undefined;
    if (!ws) return;
    ws.removeAllListeners();
    ws.on("error", () => {}); // a close during CONNECTING reports an error we do not care about any more
    if (ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const done = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once("close", () => {
        clearTimeout(done);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, "closing");
    });
  }

  /**
   * Sends one request and resolves with its answer (ok or unclassified); rejects with an IvrApiError on an error
   * answer, a timeout, a lost connection, or when not ready. The only place qids are made and matched.
   */
  request<N extends RequestName>(
    name: N,
    params: RequestParams<N>,
    opts: { timeoutMs?: number } = {},
  ): Promise<Answer> {
    return this.send(name, params as Record<string, unknown>, opts.timeoutMs, false);
  }

  private send(name: RequestName, params: Record<string, unknown>, timeoutMs: number | undefined, handshake: boolean) {
    return new Promise<Answer>((resolve, reject) => {
      const ws = this.ws;
      const open = ws !== undefined && ws.readyState === WebSocket.OPEN;
      if (!open || (!handshake && this._state !== "ready")) {
        reject(
          new IvrApiError("not_connected", `cannot send ${name}: the connection is ${this._state}`, { request: name }),
        );
        return;
      }
      const qid = this.nextQid++;
      const wait = timeoutMs ?? this.options.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(qid);
        reject(new IvrApiError("timeout", `no answer to ${name} within ${wait} ms`, { request: name }));
      }, wait);
      this.pending.set(qid, { name, resolve, reject, timer });
      ws.send(encode(name, { ...params, qid }), (err) => {
        if (!err) return;
        const p = this.pending.get(qid);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(qid);
        reject(
          new IvrApiError("connection_lost", `could not send ${name}: ${this.mask(err.message)}`, { request: name }),
        );
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle

  private baseUrl(): string {
    return this.options.url.replace(/\/+$/, "");
  }

  private open(): void {
    this.setState("connecting");
    const headers: Record<string, string> = {};
    let url = this.baseUrl();
    if (this.options.tokenMode === "header") headers.Authorization = `Bearer ${this.options.token}`;
    else url = `${url}/${encodeURIComponent(this.options.token)}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        headers,
        handshakeTimeout: this.options.handshakeTimeoutMs,
        maxPayload: this.options.maxFrameBytes,
        rejectUnauthorized: this.options.rejectUnauthorized,
        ...(this.options.ca ? { ca: this.options.ca } : {}),
      });
    } catch (err) {
      this.scheduleReconnect(`cannot open ${this.maskedUrl}: ${this.mask((err as Error).message)}`, false);
      return;
    }
    this.ws = ws;
    let unauthorized = false;
    ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      unauthorized = status === 401 || status === 403;
      res.resume();
      ws.terminate();
      const why = unauthorized
        ? `the server refused the token (HTTP ${status})`
        : `the server answered the upgrade with HTTP ${status}`;
      this.dropped(ws, why, unauthorized);
    });
    ws.on("open", () => void this.handshake(ws));
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.emit("stray", { what: "binary frame", detail: { bytes: (data as Buffer).length } });
        return;
      }
      this.onFrame(data as Buffer);
    });
    ws.on("pong", () => {
      this.lastPong = Date.now();
    });
    ws.on("error", (err) => {
      // 'close' follows every 'error'; the reason is reported there.
      this.log.debug(`socket error: ${this.mask(err.message)}`);
      (ws as WebSocket & { lastError?: string }).lastError = this.mask(err.message);
    });
    ws.on("close", (code, reason) => {
      if (unauthorized) return;
      const last = (ws as WebSocket & { lastError?: string }).lastError;
      const why = last ?? `socket closed (${code}${reason.length ? ` ${this.mask(reason.toString())}` : ""})`;
      this.dropped(ws, why, false);
    });
  }

  private async handshake(ws: WebSocket): Promise<void> {
    try {
      const hello = await this.send("connection_info", {}, undefined, true);
      const parsed = ConnectionInfoResult.safeParse(hello.body);
      if (!parsed.success || hello.outcome.status === "error") {
        throw new IvrApiError("rejected", "connection_info was refused or malformed", { body: hello.body });
      }
      const caps = parsed.data.capabilities;
      const capabilities = Array.isArray(caps) ? caps : caps ? Object.keys(caps) : [];
      const missing = this.options.requiredCapabilities.filter((c) => !capabilities.includes(c));
      if (missing.length > 0) {
        const text = `the token's integration point lacks the capabilit${missing.length > 1 ? "ies" : "y"} ${missing.join(", ")} (has: ${capabilities.join(", ") || "none"}); give its role access to them`;
        this.log.error(text);
        ws.terminate();
        this.dropped(ws, text, true);
        return;
      }
      this._info = { capabilities, raw: parsed.data, ...pick(parsed.data) };
      await this.subscribe();
      if (this.ws !== ws) return;
      this.backoff.reset();
      this.startKeepAlive(ws);
      this.setState("ready");
      this.emit("ready", this._info);
    } catch (err) {
      if (this.ws !== ws) return;
      const text = err instanceof Error ? err.message : String(err);
      this.log.warn(`handshake failed: ${this.mask(text)}`);
      ws.terminate();
      this.dropped(ws, `handshake failed: ${this.mask(text)}`, false);
    }
  }

  private async subscribe(): Promise<void> {
    await this.send(
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

  private startKeepAlive(ws: WebSocket): void {
    const every = this.options.pingIntervalMs;
    if (every <= 0) return;
    this.lastPong = Date.now();
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastPong > 2 * every) {
        this.log.warn(`no pong for ${2 * every} ms: the connection is dead, reopening`);
        ws.terminate();
        return;
      }
      ws.ping();
    }, every);
  }

  /** The socket is gone (or refused): fail what is in flight, then retry (slowly when unauthorized). */
  private dropped(ws: WebSocket, why: string, unauthorized: boolean): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    ws.removeAllListeners();
    ws.on("error", () => {});
    this.clearTimers();
    this._info = undefined;
    this.failPending(new IvrApiError("connection_lost", `connection lost: ${why}`));
    this.scheduleReconnect(why, unauthorized);
  }

  private scheduleReconnect(why: string, unauthorized: boolean): void {
    if (this._state === "closed") return;
    const delay = unauthorized ? this.options.unauthorizedRetryMs : this.backoff.next();
    const retryAt = Date.now() + delay;
    this.setState(unauthorized ? "unauthorized" : "disconnected", { error: why, retryAt });
    this.log.warn(`${this.maskedUrl}: ${why}; retrying in ${delay} ms`);
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

  private failPending(err: IvrApiError): void {
    for (const [qid, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(qid);
      p.reject(new IvrApiError(err.code, `${p.name}: ${err.message}`, { request: p.name }));
    }
  }

  private setState(state: ConnectionState, extra: { error?: string; retryAt?: number } = {}): void {
    const previous = this._state;
    if (previous === state && !extra.error) return;
    this._state = state;
    this.emit("state", { state, previous, ...extra });
  }

  private mask(text: string): string {
    return maskSecret(maskSecret(text, this.options.token), encodeURIComponent(this.options.token));
  }

  // -------------------------------------------------------------------------------------------
  // Incoming frames

  private onFrame(raw: Buffer): void {
    const frame = decode(raw, { maxFrameBytes: this.options.maxFrameBytes, resultRules: this.rules });
    switch (frame.kind) {
      case "error":
        this.log.warn(`malformed frame from the server: ${frame.message}`);
        this.emit("stray", { what: "malformed frame", detail: frame });
        return;
      case "result":
        this.onResult(frame.qid, frame.request, frame.body, frame.outcome);
        return;
      case "api_start":
        this.emit("api_start", frame.data, frame.notify);
        return;
      case "api_stop":
        this.emit("api_stop", frame.data, frame.notify);
        return;
      case "component_stopped":
        this.emit("component_stopped", frame.body);
        return;
      case "dtmf":
        this.emit("dtmf", frame.body);
        return;
      case "notify":
        this.emit("notify", frame.notify);
        return;
      case "unknown":
        this.emit("stray", { what: `unknown frame ${frame.name}`, detail: frame.body });
        return;
    }
  }

  private onResult(qid: Qid, request: string, body: ResultBody, outcome: ResultOutcome): void {
    const p = this.pending.get(qid);
    if (!p || p.name !== request) {
      this.emit("stray", {
        what: `answer ${request}_result that nobody waits for (late or unknown qid)`,
        detail: body,
      });
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(qid);
    if (outcome.status === "error") {
      p.reject(
        new IvrApiError("rejected", `${request} refused: ${outcome.reason}`, {
          request,
          body,
          ...(outcome.code === undefined ? {} : { serverCode: outcome.code }),
        }),
      );
      return;
    }
    p.resolve({ request: p.name, body, outcome });
  }
}

function pick(info: ConnectionInfoResult): { site?: string; domain?: string } {
  const out: { site?: string; domain?: string } = {};
  if (info.site !== undefined) out.site = info.site;
  if (info.domain !== undefined) out.domain = info.domain;
  return out;
}
