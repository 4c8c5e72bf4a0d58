// The "ivr calls" sidebar, a Node-RED plugin (id ivrapi-calls): its editor half is nodes/ivrapi-calls.html; here the
// runtime half makes sure the call record and its admin endpoints exist even before a connection node is deployed.
import type { NodeAPI } from "node-red";
import { callRecordsFor } from "./connection/calls-route";

interface PluginsApi {
  plugins: { registerPlugin(id: string, definition: Record<string, unknown>): void };
}

export = (RED: NodeAPI) => {
  callRecordsFor(RED);
  (RED as unknown as PluginsApi).plugins.registerPlugin("ivrapi-calls", { type: "ivrapi-calls" });
};
