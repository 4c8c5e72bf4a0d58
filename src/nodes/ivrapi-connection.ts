// ivrapi-connection (config node): one socket to the platform's Token API, shared by every flow node that
// names it. The token lives in Node-RED's credentials store and is masked out of everything the node emits.
import type { Node, NodeAPI, NodeDef } from "node-red";
import { IvrApiClient } from "../client/client";
import { urlProblem } from "../client/failure";
import type { Logger } from "../client/options";
import { SessionRegistry } from "../session/registry";
import { ConnectionConfig, readConfig } from "./common/configs";
import { ConnectionHub } from "./connection/hub";
import { advancedOptions, queueLimit, tokenMask } from "./connection/options";
import { type DeployedConnection, registerTestRoute } from "./connection/test-route";

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
    this.hub = new ConnectionHub(this.id, {
      open: () => {
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
        const registry = new SessionRegistry(client, {
          reaccept: cfg.reaccept,
          ...(maxQueue === undefined ? {} : { maxQueue }),
        });
        return { client, registry };
      },
      log,
      mask,
    });
    this.on("close", (done: () => void) => {
      this.hub.shutdown().then(done, done);
    });
  }
  RED.nodes.registerType("ivrapi-connection", IvrApiConnectionNode, {
    credentials: { token: { type: "password" } },
  });
  registerTestRoute(RED);
};
