// apply component: runs one component on the call in msg.ivr and sends the msg out of the port named by the
// component's transferKey (the last port takes every other key). The runtime enforces one component at a
// time per call; `busy` picks what happens when one already runs.
import type { Node, NodeAPI, NodeDef } from "node-red";
import { type IvrMsg, ivridOf, withResult } from "./common/call-msg";
import { catalogRoute } from "./common/catalog-route";
import { ApplyConfig } from "./common/configs";
import { dataResolver, formResolver, type Resolver } from "./common/data";
import { attach, configure, onInput, unusable } from "./common/flow-node";

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
    const waiting = new Set<(abandoned?: boolean) => void>();
    const at = attach(RED, this, raw.connection, () => {
      for (const end of waiting) end(true);
      waiting.clear();
    });
    if (!at) return;
    const { hub, status } = at;
    const keys = cfg.transferKeys;
    const timeoutMs = Math.round(cfg.timeout * 1000);
    /** The applies this node has in flight (running or queued), for the status. */
    const running = new Set<{ oType: number }>();

    // Language-neutral: "▶ 204" while one component runs, "▶ ×3" while several of this node's do.
    const showRunning = () => {
      if (running.size === 0) return status.setOwn(undefined);
      const one = running.size === 1 ? running.values().next().value?.oType : undefined;
      const text = one !== undefined ? (Number.isFinite(one) ? `▶ ${one}` : "▶") : `▶ ×${running.size}`;
      status.setOwn({ text, fill: "blue", shape: "dot" });
    };

    onInput(this, at, async (msg, send) => {
      const ivrid = ivridOf(msg);
      const registry = hub.requireRegistry();
      // The registry checks the data (once, before anything is sent) and says what is wrong with it.
      const data = (await resolve(msg)) as Record<string, unknown>;
      const mine = { oType: typeof data === "object" && data !== null ? Number(data.oType) : Number.NaN };
      running.add(mine);
      showRunning();
      const wait = hub.beginWait(ivrid);
      waiting.add(wait);
      try {
        const result = await registry.apply(ivrid, data, { busy: cfg.busy, timeoutMs, source: this.id });
        msg.payload = result.results;
        msg.ivr = withResult((msg.ivr ?? { ivrid }) as IvrMsg, result);
        const index = keys.indexOf(result.transferKey);
        const out: Array<typeof msg | null> = new Array(keys.length + 1).fill(null);
        out[index >= 0 ? index : keys.length] = msg;
        send(out);
      } finally {
        waiting.delete(wait);
        wait();
        running.delete(mine);
        showRunning();
      }
    });
  }
  RED.nodes.registerType("ivrapi-apply", IvrApplyNode);
};
