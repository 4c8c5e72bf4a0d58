// ivrapi-connection (config node): one socket to the platform's Token API, shared by every flow node that
// names it. The token lives in Node-RED's credentials store and is masked out of everything the node emits.
import { createHash } from "node:crypto";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { IvrApiClient } from "../client/client";
import { urlProblem } from "../client/failure";
import type { Logger } from "../client/options";
import type { Failover } from "../session/failover";
import { SessionRegistry } from "../session/registry";
import type { CallInfo } from "../session/types";
import { ConnectionConfig, readConfig } from "./common/configs";
import { callRecordsFor } from "./connection/calls-route";
import { openFailover } from "./connection/failover";
import { ConnectionHub, type HubDeps } from "./connection/hub";
import { advancedOptions, queueLimit, tokenMask } from "./connection/options";
import { type DeployedConnection, registerTestRoute } from "./connection/test-route";

/** Hubs across deploys: those of live connection nodes, and those a deploy left for the next instance. */
const lifecycle = {
  live: new Set<ConnectionHub>(),
  parked: new Map<string, { hub: ConnectionHub; print: string }>(),
  /** Node-RED is stopping flows for a deploy (not stopping for good, not "stop flows"). */
  deploying: false,
  /** The last deploy's type: full, flows or nodes (modified nodes only). */
  deployType: "full",
};
const watched = new WeakSet<object>();

/**
 * Follows Node-RED's flow lifecycle (once per runtime). A deploy's stop carries the diff of the new flows; stopping
 * Node-RED or its flows carries none. Once the flows have started again, hubs nobody took over are shut down and the
 * others resume the calls their flows lost.
 */
function watchDeploys(RED: NodeAPI): void {
  const events = RED.events as unknown as NodeJS.EventEmitter;
  if (watched.has(events)) return;
  watched.add(events);
  events.on("flows:stopping", (e: { type?: string; diff?: Record<string, unknown> } | undefined) => {
    lifecycle.deploying = e?.diff !== undefined && "globalConfigChanged" in e.diff;
    lifecycle.deployType = e?.type ?? "full";
    // Stopping for good (or stopping flows): hubs a deploy left behind, whose flows never started, go now too.
    if (!lifecycle.deploying) releaseParked();
  });
  events.on("flows:started", () => {
    lifecycle.deploying = false;
    releaseParked();
    for (const hub of lifecycle.live) hub.afterDeploy(lifecycle.deployType);
  });
}

/** Hubs nobody took over: their calls are handed back and their sockets closed. */
function releaseParked(): void {
  for (const { hub } of lifecycle.parked.values()) void hub.shutdown();
  lifecycle.parked.clear();
}

/** What decides whether a hub can be kept: every setting and the token, not the name. */
function fingerprint(def: NodeDef, token: string, settings: unknown): string {
  // _users: the flow nodes naming this connection; adding one does not change the connection.
  const { name: _n, x: _x, y: _y, z: _z, wires: _w, _users: _u, ...rest } = def as unknown as Record<string, unknown>;
  const hash = createHash("sha256");
  hash.update(JSON.stringify([rest, token, advancedOptions(settings), queueLimit(settings)]));
  return hash.digest("hex");
}

function keepCallsOnDeploy(def: NodeDef): boolean {
  try {
    return readConfig("ivrapi-connection", def as unknown as Record<string, unknown>, ConnectionConfig)
      .keepCallsOnDeploy;
  } catch {
    return false;
  }
}

export = (RED: NodeAPI) => {
  function IvrApiConnectionNode(
    this: Node<{ token: unknown }> & { hub: ConnectionHub } & DeployedConnection,
    def: NodeDef,
  ) {
    RED.nodes.createNode(this, def);
    // "Test connection" uses the stored token only for this URL (see test-route.ts).
    const savedUrl = (def as unknown as { url?: unknown }).url;
    this.savedUrl = typeof savedUrl === "string" ? savedUrl : "";
    const stored = this.credentials?.token;
    const token = typeof stored === "string" ? stored : "";
    const mask = tokenMask(token);
    const log: Logger = {
      debug: (m) => this.debug(mask(m)),
      info: (m) => this.log(mask(m)),
      warn: (m) => this.warn(mask(m)),
      error: (m) => this.error(mask(m)),
    };
    const deps: HubDeps = {
      open: (opts = {}) => {
        const cfg = readConfig("ivrapi-connection", def as unknown as Record<string, unknown>, ConnectionConfig);
        if (!token) throw new Error(RED._("ivrapi-connection.errors.noToken"));
        // http:// for ws:// and the like, said plainly (a URL carrying a token is explained when the server refuses it).
        const problem = urlProblem(cfg.url);
        if (problem && problem.code !== "token_in_url") throw new Error(problem.text);
        const client = new IvrApiClient(
          {
            ...advancedOptions(RED.settings),
            url: cfg.url,
            token,
            tokenMode: cfg.tokenMode,
            requestTimeoutMs: cfg.requestTimeout,
            subscriptionTtlS: cfg.subscriptionTtl,
            rejectUnauthorized: cfg.rejectUnauthorized,
          },
          log,
        );
        const maxQueue = queueLimit(RED.settings);
        // Failover through Redis (when set): after a reconnect, a call another instance took over is not taken back.
        let failover: Failover | undefined;
        const registry = new SessionRegistry(client, {
          ...(cfg.redisUrl ? { mayReaccept: (call: CallInfo) => failover?.mayReaccept(call) ?? true } : {}),
          reaccept: cfg.reaccept,
          idleGuardMs: cfg.idleGuard * 1000,
          ...(maxQueue === undefined ? {} : { maxQueue }),
          ...(opts.firstOId === undefined ? {} : { firstOId: opts.firstOId }),
        });
        // The call record (the "ivr calls" sidebar, /ivrapi/calls, /ivrapi/metrics) follows this client's calls.
        const name = (def as unknown as { name?: unknown }).name;
        callRecordsFor(RED).attach({
          connection: this.id,
          ...(typeof name === "string" && name !== "" ? { name } : {}),
          secret: token,
          client,
          registry,
        });
        if (cfg.redisUrl) failover = openFailover(cfg, registry, log);
        return { client, registry, ...(failover ? { failover } : {}) };
      },
      log,
      mask,
    };
    // A deploy that leaves this connection as it was hands its hub (socket, subscription, calls) to this instance; a
    // changed one hands its calls over (reaccept on the new socket). The name does not count.
    const print = fingerprint(def, token, RED.settings);
    const left = lifecycle.parked.get(this.id);
    lifecycle.parked.delete(this.id);
    if (left && left.print === print) {
      this.hub = left.hub;
      this.hub.rebind(deps);
    } else {
      this.hub = new ConnectionHub(this.id, deps);
      if (left) this.hub.takeOver(left.hub);
    }
    lifecycle.live.add(this.hub);
    const keep = keepCallsOnDeploy(def);
    this.on("close", (removed: boolean, done: () => void) => {
      lifecycle.live.delete(this.hub);
      // A deploy (not Node-RED stopping, not the connection deleted): the next instance takes the hub over. If none
      // does by the time the flows have started, the hub is shut down then (its calls handed back).
      if (keep && !removed && lifecycle.deploying) {
        lifecycle.parked.set(this.id, { hub: this.hub, print });
        done();
        return;
      }
      this.hub.shutdown().then(done, done);
    });
  }
  watchDeploys(RED);
  RED.nodes.registerType("ivrapi-connection", IvrApiConnectionNode, {
    credentials: { token: { type: "password" } },
  });
  registerTestRoute(RED);
  callRecordsFor(RED);
};
