// abort: gives control of the call in msg.ivr back to the script, which goes on with its next component. The
// msg goes on once the server answered; the ivr start node that accepted the call reports it as stopped.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import type { SessionRegistry } from "../session/registry";
import { ivridOf } from "./common/call-msg";
import { PlainConfig } from "./common/configs";
import { attach, configure, failInput } from "./common/flow-node";

export = (RED: NodeAPI) => {
  function IvrAbortNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    if (!configure(this, "ivrapi-abort", raw, PlainConfig, true)) return;
    const at = attach(RED, this, raw.connection);
    if (!at) return;
    // Callbacks, not a promise (every call ends here, most through this node): the msg goes on once the server
    // answered the hand-back; any failure reaches done(err).
    this.on("input", (msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
      let ivrid: string;
      let registry: SessionRegistry;
      try {
        ivrid = ivridOf(msg as NodeMessageInFlow & Record<string, unknown>);
        registry = at.hub.requireRegistry();
      } catch (err) {
        failInput(at, done, err);
        return;
      }
      registry.abortThen(ivrid, {}, (err) => {
        if (err !== undefined) {
          failInput(at, done, err);
          return;
        }
        // A late answer (the node was closed meanwhile) must not send into a stopped flow.
        if (!at.live) return;
        try {
          this.send(msg);
        } catch (e) {
          failInput(at, done, e);
          return;
        }
        done();
      });
    });
  }
  RED.nodes.registerType("ivrapi-abort", IvrAbortNode);
};
