// upload file: asks the platform to download a URL into the call's temp area (temp) or into static storage
// (static; with no call in the msg, session-less), or to give a public link to an internal file (link).
// msg.payload = the resulting path or link; msg.ivrFile = the server's answer, whole.
import type { Node, NodeAPI, NodeDef } from "node-red";
import { getFileLink, uploadStatic, uploadTemp } from "../session/files";
import type { FileAnswer } from "../session/types";
import { hasIvr, ivridOf } from "./common/call-msg";
import { FileConfig } from "./common/configs";
import { FlowError } from "./common/errors";
import { attach, configure, onInput } from "./common/flow-node";

export = (RED: NodeAPI) => {
  function IvrFileNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    const cfg = configure(this, "ivrapi-file", raw, FileConfig, true);
    if (!cfg) return;
    const at = attach(RED, this, raw.connection);
    if (!at) return;

    /** A typedInput's value for this msg, as a non-empty string. */
    const value = (name: "url" | "destpath" | "path", msg: Record<string, unknown>): Promise<string> =>
      new Promise((ok, fail) => {
        RED.util.evaluateNodeProperty(cfg[name], cfg[`${name}Type`], this, msg as never, (err, v) => {
          if (err) fail(new FlowError("invalid", `${name}: ${err.message}`));
          else if (v === undefined || v === null || String(v).trim() === "")
            fail(new FlowError("invalid", `${name} is empty`));
          else ok(String(v).trim());
        });
      });

    // The node's own answer timeout, not the connection's: the server answers an upload once it has the file.
    const opts = { timeoutMs: Math.round(cfg.timeout * 1000) };

    onInput(this, at, async (msg, send) => {
      const registry = at.hub.requireRegistry();
      let answer: FileAnswer;
      switch (cfg.action) {
        case "temp":
          answer = await uploadTemp(registry, ivridOf(msg), await value("url", msg), opts);
          break;
        case "static": {
          // No call in the msg: the session-less upload. A msg that names a call must name a live one.
          const ivrid = hasIvr(msg) ? ivridOf(msg) : undefined;
          answer = await uploadStatic(registry, ivrid, await value("url", msg), await value("destpath", msg), opts);
          break;
        }
        case "link":
          answer = await getFileLink(registry, ivridOf(msg), await value("path", msg), opts);
          break;
      }
      msg.payload = answer.value ?? answer.body;
      msg.ivrFile = answer.body;
      send(msg);
    });
  }
  RED.nodes.registerType("ivrapi-file", IvrFileNode);
};
