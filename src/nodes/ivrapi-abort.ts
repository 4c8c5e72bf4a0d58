// abort: gives control of the call in msg.ivr back to the script, which goes on with its next component. The
// msg goes on once the server answered; the ivr start node that accepted the call reports it as stopped.
import type { Node, NodeAPI, NodeDef } from "node-red";
import { ivridOf } from "./common/call-msg";
import { PlainConfig } from "./common/configs";
import { attach, configure, onInput } from "./common/flow-node";

export = (RED: NodeAPI) => {
  function IvrAbortNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    if (!configure(this, "ivrapi-abort", raw, PlainConfig, true)) return;
    const at = attach(RED, this, raw.connection);
    if (!at) return;
    onInput(this, at, async (msg, send) => {
      const ivrid = ivridOf(msg);
      await at.hub.requireRegistry().abort(ivrid);
      send(msg);
    });
  }
  RED.nodes.registerType("ivrapi-abort", IvrAbortNode);
};
