// GET /ivrapi-apply/catalog (permission flows.read: whoever may read flows may read this): the component catalog (fields, kinds, defaults, ranges, options, labels, exits) for
// the apply node's forms. Served by the runtime rather than embedded in the editor file, so the editor and the
// runtime's checks always come from the same catalog.
import type { NodeAPI } from "node-red";
import { CATALOG } from "../../protocol/catalog";

const registered = new WeakSet<object>();

export function catalogRoute(RED: NodeAPI): void {
  const app = RED.httpAdmin as unknown as object | undefined;
  if (!app || registered.has(app)) return;
  registered.add(app);
  const body = JSON.stringify({ components: CATALOG });
  RED.httpAdmin.get("/ivrapi-apply/catalog", RED.auth.needsPermission("flows.read"), (_req, res) => {
    res.type("application/json").send(body);
  });
}
