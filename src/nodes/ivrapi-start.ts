// ivr start: takes control of offered calls that match its filters. Output 1: the call, accepted. Output 2:
// control of a call it accepted ended (api_stop, abort, taken back refused), with msg.ivr.reason. Output 3: a call
// it owns that no msg drives any more (a deploy), or taken over from a dead instance, with msg.ivr.resumed.
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { CallInfo } from "../session/types";
import { msgId, paramsOf, startMsg, toIvr } from "./common/call-msg";
import { StartConfig } from "./common/configs";
import { toFlowError } from "./common/errors";
import { attach, configure } from "./common/flow-node";

export = (RED: NodeAPI) => {
  function IvrStartNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    const cfg = configure(this, "ivrapi-start", raw, StartConfig, false);
    if (!cfg) return;
    const at = attach(RED, this, raw.connection);
    if (!at) return;
    const { hub, events, status } = at;
    const connection = hub.id;

    // Language-neutral: the number of calls this node controls, read when the status is redrawn.
    status.ownFrom(() => {
      const n = hub.heldBy(this.id);
      return n > 0 ? { text: `☎ ${n}` } : undefined;
    });
    const showHeld = () => status.touch();
    /** Whether an output has a wire: a msg for an unwired output would be built for nobody. */
    const wired = (port: number) => ((this as unknown as { wires?: unknown[][] }).wires?.[port]?.length ?? 0) > 0;

    hub.addStart({
      id: this.id,
      key: cfg.key,
      componentName: cfg.componentName,
      accepted: (call: CallInfo) => {
        if (!at.live) return;
        showHeld();
        // The msg id made here, with the msg (Node-RED would add it after: one more property store per call).
        this.send([startMsg(msgId(), call, connection), null, null]);
      },
      lost: (call: CallInfo, reason: string) => {
        // Another instance won the race, or the call went away: the normal case when several listen.
        this.debug(`call ${call.ivrid} not accepted: ${reason}`);
      },
      failed: (call: CallInfo, err: unknown) => {
        if (!at.live) return;
        const e = toFlowError(err, (s) => hub.mask(s));
        status.showFailure(e.code);
        this.error(e, { payload: paramsOf(call), ivr: toIvr(call, connection) });
      },
    });

    events.on("session_end", (call, end, owner) => {
      if (owner !== this.id || end.reason === "closed") return;
      showHeld();
      if (!wired(1)) return;
      const ivr = { ...toIvr(call, connection), reason: end.reason };
      this.send([null, { payload: end.stop ?? { reason: end.reason }, ivr }, null]);
    });
    events.on("resumed", (call, owner, info) => {
      if (owner !== this.id || !at.live) return;
      showHeld();
      const resumed = info.lastTransferKey === undefined ? { why: info.why } : { ...info };
      this.send([null, null, { payload: paramsOf(call), ivr: { ...toIvr(call, connection), resumed } }]);
    });
    events.on("reaccepted", (call, owner) => {
      if (owner !== this.id) return;
      this.log(RED._("ivrapi-start.log.reaccepted", { ivrid: call.ivrid }));
      showHeld();
    });
    showHeld();
  }
  RED.nodes.registerType("ivrapi-start", IvrStartNode);
};
