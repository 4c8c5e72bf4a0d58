// terminate: stops the component running on the call in msg.ivr; the msg goes on once the server answered
// (the call is free for the next component then). The apply node that ran it sends its own msg too.
import type { Node, NodeAPI, NodeDef } from "node-red";
import { ivridOf } from "./common/call-msg";
import { PlainConfig } from "./common/configs";
import { attach, configure, onInput } from "./common/flow-node";

export = (RED: NodeAPI) => {
  function IvrTerminateNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    if (!configure(this, "ivrapi-terminate", raw, PlainConfig, true)) return;
    const at = attach(RED, this, raw.connection);
    if (!at) return;
    onInput(this, at, async (msg, send) => {
      const ivrid = ivridOf(msg);
      await at.hub.requireRegistry().terminate(ivrid);
      send(msg);
    });
  }
  RED.nodes.registerType("ivrapi-terminate", IvrTerminateNode);
};
