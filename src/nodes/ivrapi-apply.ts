// apply component: runs one component on the call in msg.ivr and sends the msg out of the port named by the
// component's transferKey (the last port takes every other key). The runtime enforces one component at a
// time per call; `busy` picks what happens when one already runs.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import type { IvrApiError } from "../client/errors";
import type { SessionRegistry } from "../session/registry";
import type { ApplyWaiter } from "../session/session";
import type { ComponentResult } from "../session/types";
import { type IvrMsg, ivridOf, withResult } from "./common/call-msg";
import { catalogRoute } from "./common/catalog-route";
import { ApplyConfig } from "./common/configs";
import { dataResolver, formResolver, type Resolver } from "./common/data";
import { attach, configure, failInput, unusable } from "./common/flow-node";
import type { CallWait } from "./connection/hub";

type Done = (err?: Error) => void;

export = (RED: NodeAPI) => {
  // The editor's forms read the component catalog from the runtime that checks it: one source, never out of step.
  catalogRoute(RED);
  function IvrApplyNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    const cfg = configure(this, "ivrapi-apply", raw, ApplyConfig, true);
    if (!cfg) return;
    let resolve: Resolver;
    try {
      resolve =
        cfg.component === "custom"
          ? dataResolver(RED, this, cfg.dataType, cfg.data)
          : formResolver(RED, this, Number(cfg.component), cfg.fields);
    } catch (err) {
      unusable(this, "ivrapi-apply", (err as Error).message, true);
      return;
    }
    /** Msgs waiting for their component; when this node closes (a deploy) their calls are left to be resumed. */
    const waiting = new Set<CallWait>();
    const at = attach(RED, this, raw.connection, () => {
      for (const w of waiting) w.end(true);
      waiting.clear();
    });
    if (!at) return;
    const { hub, status } = at;
    const keys = cfg.transferKeys;
    const ports: Array<Record<string, unknown> | null> = new Array(keys.length + 1).fill(null);
    const timeoutMs = Math.round(cfg.timeout * 1000);
    /** The applies this node has in flight (running or queued), by oType, for the status. */
    const running = new Map<number, number>();
    let inFlight = 0;

    // Language-neutral: "▶ 204" while one component runs, "▶ ×3" while several of this node's do. Rendered when the
    // status is redrawn (a few times a second at most), not on every msg.
    status.ownFrom(() => {
      if (inFlight === 0) return undefined;
      const one = inFlight === 1 ? (running.keys().next().value as number) : undefined;
      const text = one !== undefined ? (Number.isFinite(one) ? `▶ ${one}` : "▶") : `▶ ×${inFlight}`;
      return { text, fill: "blue", shape: "dot" };
    });
    const count = (oType: number, by: 1 | -1) => {
      const n = (running.get(oType) ?? 0) + by;
      if (n > 0) running.set(oType, n);
      else running.delete(oType);
      inFlight += by;
      status.touch();
    };

    const options = { busy: cfg.busy, timeoutMs, source: this.id };

    /** The msg goes out of the port of the component's exit (the last port for any other). */
    const deliver = (msg: Record<string, unknown>, ivrid: string, result: ComponentResult) => {
      msg.payload = result.results;
      msg.ivr = withResult((msg.ivr ?? { ivrid }) as IvrMsg, result);
      const index = keys.indexOf(result.transferKey);
      const port = index >= 0 ? index : keys.length;
      // One array per node, not per msg: Node-RED reads it during send() and keeps nothing of it.
      ports[port] = msg;
      try {
        this.send(ports as never);
      } finally {
        ports[port] = null;
      }
    };

    /**
     * One msg's component: told how it ended, it sends the msg on and calls done (or done(err)). One object per apply,
     * not a promise nor closures: a msg waits as long as its component runs (seconds, for hundreds of calls at once),
     * and whatever waits with it is kept by every young-generation collection meanwhile.
     */
    // The attachment, known to be there (a class body does not keep the narrowing of `at` above).
    const live = at;
    class Applying implements ApplyWaiter {
      constructor(
        private readonly msg: Record<string, unknown>,
        private readonly oType: number,
        private readonly wait: CallWait,
        private readonly done: Done,
      ) {}

      result(result: ComponentResult): void {
        try {
          // A late answer (the node was closed meanwhile) must not send into a stopped flow.
          if (live.live) deliver(this.msg, this.wait.ivrid, result);
        } catch (err) {
          this.finish();
          failInput(live, this.done, err);
          return;
        }
        this.finish();
        if (live.live) this.done();
      }

      error(err: IvrApiError): void {
        this.finish();
        failInput(live, this.done, err);
      }

      private finish(): void {
        waiting.delete(this.wait);
        this.wait.end();
        count(this.oType, -1);
      }
    }

    /** Runs the component for one msg (see Applying). */
    const run = (msg: Record<string, unknown>, ivrid: string, registry: SessionRegistry, data: unknown, done: Done) => {
      const oType =
        typeof data === "object" && data !== null ? Number((data as { oType?: unknown }).oType) : Number.NaN;
      count(oType, 1);
      const wait = hub.beginWait(ivrid);
      waiting.add(wait);
      registry.applyThen(ivrid, data as Record<string, unknown>, options, new Applying(msg, oType, wait, done));
    };

    this.on("input", (m: NodeMessageInFlow, _send: unknown, done: Done) => {
      const msg = m as NodeMessageInFlow & Record<string, unknown>;
      let ivrid: string;
      let registry: SessionRegistry;
      let got: unknown;
      try {
        ivrid = ivridOf(msg);
        registry = hub.requireRegistry();
        // The registry checks the data (once, before anything is sent) and says what is wrong with it. Fixed data
        // comes back at once (no promise to wait for); a JSONata expression's value later.
        got = resolve(msg);
      } catch (err) {
        failInput(at, done, err);
        return;
      }
      if (got instanceof Promise) {
        got.then(
          (data) => run(msg, ivrid, registry, data, done),
          (err: unknown) => failInput(at, done, err),
        );
      } else run(msg, ivrid, registry, got, done);
    });
  }
  RED.nodes.registerType("ivrapi-apply", IvrApplyNode);
};
