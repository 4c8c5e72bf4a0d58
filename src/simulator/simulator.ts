// The simulator's public face: one HTTP server carrying both the WebSocket Token API endpoint and the HTTP
// side, plus the test API (place calls, press keys, inspect frames, inject faults).
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { type WebSocket, WebSocketServer } from "ws";
import { finishRunning, hangup, placeCall, pressKeys, say } from "./calls";
import { Engine, snapshot } from "./engine";
import { createFaults } from "./faults";
import { FileStore } from "./files";
import { handleText } from "./handlers";
import { installRoutes, type RouteHandler, Router } from "./http";
import { LiveFeed } from "./live";
import { rawText, resolveOptions } from "./options";
import { installPage } from "./page";
import type {
  ConnectionView,
  FrameLogEntry,
  PlaceCallOptions,
  ResolvedOptions,
  SimCallInfo,
  SimFaults,
  SimulatorOptions,
} from "./types";
import { authorize, refuse, WS_BASE_PATH } from "./upgrade";
import { type FrameMatch, waitForFrame } from "./wait";

export class Simulator extends EventEmitter {
  readonly token: string;
  readonly faults: SimFaults;
  private readonly engine: Engine;
  private readonly server: http.Server | https.Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  private readonly router = new Router();
  private readonly faultHost: { engine: Engine; rejectStatus: number | null };
  /** The softphone's feed (GET /sim/events); made before any call can exist so it sees every frame. */
  private readonly live = new LiveFeed(this);
  private boundPort = 0;
  /** listen() reports its own errors; the permanent error listener stays quiet meanwhile. */
  private binding = false;
  private stopping: Promise<void> | undefined;
  private restartWait: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  private constructor(
    private readonly opts: ResolvedOptions,
    /** Where static storage and temp areas live (a fresh temp dir unless options.filesDir was given). */
    readonly filesDir: string,
    private readonly ownDir: boolean,
  ) {
    super();
    this.token = opts.token;
    this.engine = new Engine(opts, new FileStore(filesDir), this, () => this.httpUrl);
    this.faultHost = { engine: this.engine, rejectStatus: null };
    this.faults = createFaults(this.faultHost);
    const handler: http.RequestListener = (req, res) => this.router.handle(req, res);
    // wss:// like an HTTPS platform, for the client's TLS settings (custom CA, verification).
    this.server = opts.tls
      ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
      : http.createServer(handler);
    // Without a listener a late server error would crash the host process (a test run, Node-RED's tests).
    this.server.on("error", (err) => {
      if (!this.binding) opts.log(`server error: ${err.message}`);
    });
    this.server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    installRoutes(this.router, this.engine, () => ({
      wsUrl: this.wsUrl,
      httpUrl: this.httpUrl,
      tokenHint: this.token.length > 6 ? `${this.token.slice(0, 2)}***` : "***",
      capabilities: [...opts.capabilities],
      calls: this.engine.calls.size,
      connections: this.engine.conns.size,
      // Connections that would receive api_start now (tools wait on this before placing a call).
      subscribed: [...this.engine.conns.values()].filter((c) => c.subs.size > 0).length,
      viewers: this.live.viewers,
    }));
    this.live.install(this.router);
    installPage(this.router);
  }

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const opts = resolveOptions(options);
    const ownDir = options.filesDir === undefined;
    const dir = options.filesDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-sim-"));
    const sim = new Simulator(opts, dir, ownDir);
    try {
      await sim.listen(opts.port);
    } catch (err) {
      await sim.stop();
      throw err;
    }
    opts.log(`listening: ${sim.wsUrl} (ws), ${sim.httpUrl} (http)`);
    return sim;
  }

  get port(): number {
    return this.boundPort;
  }

  private get urlHost(): string {
    const h = this.opts.host;
    if (h === "0.0.0.0" || h === "::" || h === "") return "127.0.0.1";
    return h.includes(":") ? `[${h}]` : h;
  }

  get wsUrl(): string {
    return `${this.opts.tls ? "wss" : "ws"}://${this.urlHost}:${this.boundPort}${WS_BASE_PATH}`;
  }

  get httpUrl(): string {
    return `${this.opts.tls ? "https" : "http"}://${this.urlHost}:${this.boundPort}`;
  }

  get log(): FrameLogEntry[] {
    return this.engine.log;
  }

  private listen(port: number): Promise<void> {
    this.binding = true;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.binding = false;
        this.server.off("listening", onListening);
        const msg =
          err.code === "EADDRINUSE"
            ? `port ${port} on ${this.opts.host} is already in use`
            : `cannot listen on ${this.opts.host}:${port}: ${err.message}`;
        reject(Object.assign(new Error(msg), { code: err.code }));
      };
      const onListening = (): void => {
        this.binding = false;
        this.server.off("error", onError);
        const addr = this.server.address();
        this.boundPort = typeof addr === "object" && addr ? addr.port : port;
        resolve();
      };
      this.server.once("error", onError);
      this.server.once("listening", onListening);
      this.server.listen({ port, host: this.opts.host });
    });
  }

  private closeServer(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        this.server.closeAllConnections();
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (this.faultHost.rejectStatus !== null) {
      refuse(socket, this.faultHost.rejectStatus, "upgrade refused (injected fault)\n");
      return;
    }
    const verdict = authorize(req, this.token);
    if (!verdict.ok) {
      this.opts.log(`upgrade refused: ${verdict.why}`);
      refuse(socket, verdict.status, verdict.text);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, verdict.by));
  }

  private accept(ws: WebSocket, socket: Socket, authorizedBy: "path" | "header"): void {
    const engine = this.engine;
    const id = engine.nextConnId();
    const conn = {
      id,
      ws,
      socket,
      authorizedBy,
      sessionid: randomBytes(8).toString("hex"),
      subs: new Map(),
      frozen: false,
    };
    engine.conns.set(id, conn);
    ws.on("message", (data, isBinary) => {
      const buf = rawText(data);
      if (isBinary) {
        engine.record({ at: Date.now(), dir: "in", conn: id, name: "(binary)", body: { bytes: buf.length } });
        return;
      }
      try {
        handleText(engine, conn, buf.toString("utf8"));
      } catch (err) {
        // A bug here must cost one frame, not the simulator.
        this.opts.log(`error handling a frame from ${id}: ${(err as Error).stack ?? String(err)}`);
      }
    });
    ws.on("error", (err) => this.opts.log(`${id} socket error: ${err.message}`));
    ws.on("close", () => {
      if (engine.conns.get(id) === conn) engine.conns.delete(id);
      this.opts.log(`${id} disconnected`);
      this.emit("disconnection", { id });
    });
    this.opts.log(`${id} connected (token in ${authorizedBy === "path" ? "path" : "Authorization header"})`);
    this.emit("connection", { id });
  }

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.engine.shutdown();
      this.live.close();
      if (this.restartWait) {
        clearTimeout(this.restartWait.timer);
        this.restartWait.resolve();
      }
      this.dropConnections();
      this.wss.close();
      await this.closeServer();
      this.engine.files.clearLinks();
      fs.rmSync(this.ownDir ? this.filesDir : path.join(this.filesDir, "temp"), { recursive: true, force: true });
      if (this.boundPort !== 0) this.opts.log("stopped");
    })();
    return this.stopping;
  }

  async restart(opts: { downMs?: number } = {}): Promise<void> {
    this.dropConnections();
    await this.closeServer();
    this.opts.log(`down for ${opts.downMs ?? 0} ms`);
    const downMs = opts.downMs ?? 0;
    if (downMs > 0) {
      await new Promise<void>((resolve) => {
        this.restartWait = { timer: setTimeout(resolve, downMs), resolve };
      });
      this.restartWait = undefined;
    }
    if (this.stopping) return;
    await this.listen(this.boundPort);
    this.opts.log(`listening again on ${this.httpUrl}`);
  }

  /** Terminates the sockets (all, or those with the given ids) without a close handshake, as a network failure would. */
  dropConnections(ids?: readonly string[]): void {
    for (const conn of [...this.engine.conns.values()]) {
      if (ids && !ids.includes(conn.id)) continue;
      this.engine.conns.delete(conn.id);
      conn.ws.terminate();
    }
  }

  placeCall(opts: PlaceCallOptions = {}): SimCallInfo {
    return snapshot(placeCall(this.engine, opts));
  }

  pressKeys(ivrid: string, digits: string): void {
    pressKeys(this.engine, ivrid, digits);
  }

  /** The caller speaks: a running speech recognition (223/227) ends with this text as what it recognised. */
  say(ivrid: string, text: string): void {
    say(this.engine, ivrid, text);
  }

  hangup(ivrid: string): void {
    hangup(this.engine, ivrid);
  }

  finishComponent(ivrid: string, transferKey?: string, results?: Record<string, unknown>): void {
    finishRunning(this.engine, ivrid, transferKey, results);
  }

  /** Whether the simulator still knows the call (cheaper than getCall: no snapshot). */
  hasCall(ivrid: string): boolean {
    return this.engine.calls.has(ivrid);
  }

  getCall(ivrid: string): SimCallInfo | undefined {
    const call = this.engine.calls.get(ivrid);
    return call ? snapshot(call) : undefined;
  }

  calls(): SimCallInfo[] {
    return [...this.engine.calls.values()].map(snapshot);
  }

  connections(): ConnectionView[] {
    return this.engine.connectionViews();
  }

  waitForFrame(match: FrameMatch, timeoutMs = 5000): Promise<FrameLogEntry> {
    return waitForFrame(this, this.engine.log, match, timeoutMs);
  }

  clearLog(): void {
    this.engine.log.length = 0;
  }

  /** Extends the HTTP side (the softphone page adds itself here); later routes win over earlier ones. */
  addRoute(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.router.add(method, pattern, handler);
  }
}
