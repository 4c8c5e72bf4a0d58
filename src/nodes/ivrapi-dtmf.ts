// on dtmf: a source node. Every key pressed on a call this connection controls becomes a msg (payload = the
// digit, msg.ivr = the call), filtered by mode (while idle, while a component runs, or any) and by call key.
import type { Node, NodeAPI, NodeDef } from "node-red";
import { toIvr } from "./common/call-msg";
import { DtmfConfig } from "./common/configs";
import { attach, configure } from "./common/flow-node";

export = (RED: NodeAPI) => {
  function IvrDtmfNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    const cfg = configure(this, "ivrapi-dtmf", raw, DtmfConfig, false);
    if (!cfg) return;
    const at = attach(RED, this, raw.connection);
    if (!at) return;
    const { hub, events, status } = at;
    events.on("dtmf", (call, body) => {
      if (cfg.mode !== "any" && body.mode !== cfg.mode) return;
      if (cfg.key !== "" && call.key !== cfg.key) return;
      const ivr = toIvr(call, hub.id);
      if (body.oId !== undefined) ivr.oId = body.oId;
      // Language-neutral: the last key pressed.
      status.setOwn({ text: `⌨ ${body.dtmf}` });
      this.send({
        payload: body.dtmf,
        ivr,
        dtmf: { mode: body.mode, ...(body.oId === undefined ? {} : { oId: body.oId }) },
      });
    });
    // The digit shown belongs to a call: once no call is held it would only mislead.
    events.on("session_end", () => {
      if (hub.registry?.size === 0) status.setOwn(undefined);
    });
  }
  RED.nodes.registerType("ivrapi-dtmf", IvrDtmfNode);
};
