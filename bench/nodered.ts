// The Node-RED user folders of setups 3 and 4: settings (quiet, no editor, no telemetry) and the two flows that run
// the same call script: with this package's nodes, and hand-rolled from core nodes as an integrator would today.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type FlowNode = { id: string; type: string; [k: string]: unknown };

export interface UserDirOptions {
  userDir: string;
  port: number;
  /** The lean server's base endpoint, e.g. ws://127.0.0.1:1234/ws/token/v1 */
  base: string;
  /** Set for setup 3: the package folder (with package.json and dist/) Node-RED loads through nodesDir. */
  packageDir?: string;
  /** The token the flow connects with (the server tells setups apart by it); the setup's id by default. */
  token?: string;
  /** More settings.js properties (an object literal's text), after BENCH_NR_SETTINGS. */
  extraSettings?: string | undefined;
}

function settings(o: UserDirOptions): string {
  return `// Written by bench/nodered.ts for one benchmark run.
module.exports = {
  uiHost: "127.0.0.1",
  uiPort: ${o.port},
  flowFile: "flows.json",
  credentialSecret: false,
  ${o.packageDir ? `nodesDir: [${JSON.stringify(o.packageDir)}],` : ""}
  ivrapiClient: { pingIntervalMs: 0 },${process.env.BENCH_NR_SETTINGS ? `\n  ...${process.env.BENCH_NR_SETTINGS},` : ""}${o.extraSettings ? `\n  ...${o.extraSettings},` : ""}
  disableEditor: true,
  editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
  diagnostics: { enabled: false },
  telemetry: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  functionExternalModules: false,
  // Warnings and errors are kept (the orchestrator captures them and shows them only when something fails).
  logging: { console: { level: "warn", metrics: false, audit: false } },
};
`;
}

export function writeUserDir(o: UserDirOptions, setup: "package" | "handrolled" | "floor"): void {
  mkdirSync(o.userDir, { recursive: true });
  writeFileSync(join(o.userDir, "settings.js"), settings(o));
  const { flows, creds } =
    setup === "package" ? packageFlow(o.base) : setup === "floor" ? floorFlow(o.base) : handRolledFlow(o.base);
  if (o.token) for (const id of Object.keys(creds)) (creds[id] as { token: string }).token = o.token;
  writeFileSync(join(o.userDir, "flows.json"), JSON.stringify(flows, null, 2));
  writeFileSync(join(o.userDir, "flows_cred.json"), JSON.stringify(creds, null, 2));
}

const PLAY = '{"oType": 204, "mode": 0, "file": ":GS_PUB/hello.wav"}';
const RECORD = '{"oType": 208, "recTimeSec": 30, "maxSymbolCount": 1, "interruptSymbols": "#", "abortOnSilence": true}';

/** Setup 3: ivr start → apply 204 → apply 208 → abort; plus an unwired ivr start for the held calls. */
function packageFlow(base: string): { flows: FlowNode[]; creds: Record<string, unknown> } {
  const z = "bench-pkg";
  const connection = "bench-pkg-conn";
  const apply = (id: string, name: string, data: string, next: string): FlowNode => ({
    id,
    type: "ivrapi-apply",
    z,
    name,
    connection,
    data,
    dataType: "json",
    transferKeys: ["transfer"],
    busy: "reject",
    timeout: "0",
    outputs: 2,
    version: 1,
    wires: [[next], [next]],
  });
  const flows: FlowNode[] = [
    { id: z, type: "tab", label: "bench: ivrapi nodes" },
    {
      id: connection,
      type: "ivrapi-connection",
      name: "bench server",
      url: base,
      tokenMode: "path",
      requestTimeout: "10000",
      subscriptionTtl: "3600",
      reaccept: true,
      rejectUnauthorized: true,
      version: 1,
    },
    {
      id: "bench-pkg-start",
      type: "ivrapi-start",
      z,
      name: "calls",
      connection,
      key: "bench",
      componentName: "",
      version: 1,
      wires: [["bench-pkg-play"], []],
    },
    apply("bench-pkg-play", "play", PLAY, "bench-pkg-record"),
    apply("bench-pkg-record", "record", RECORD, "bench-pkg-abort"),
    { id: "bench-pkg-abort", type: "ivrapi-abort", z, name: "abort", connection, version: 1, wires: [[]] },
    {
      id: "bench-pkg-hold",
      type: "ivrapi-start",
      z,
      name: "held calls",
      connection,
      key: "hold",
      componentName: "",
      version: 1,
      wires: [[], []],
    },
  ];
  return { flows, creds: { [connection]: { token: "package" } } };
}

/** Setup 5: the same flow with the floor nodes (bench/floor): what Node-RED costs a package that does nothing more. */
function floorFlow(base: string): { flows: FlowNode[]; creds: Record<string, unknown> } {
  const z = "bench-floor";
  const connection = "bench-floor-conn";
  const node = (id: string, type: string, next: string[], extra: Record<string, unknown> = {}): FlowNode => ({
    id,
    type,
    z,
    connection,
    ...extra,
    wires: [next],
  });
  const flows: FlowNode[] = [
    { id: z, type: "tab", label: "bench: floor" },
    { id: connection, type: "floor-connection", url: base },
    node("bench-floor-start", "floor-start", ["bench-floor-play"], { key: "bench" }),
    node("bench-floor-play", "floor-apply", ["bench-floor-record"], { data: PLAY }),
    node("bench-floor-record", "floor-apply", ["bench-floor-abort"], { data: RECORD }),
    node("bench-floor-abort", "floor-abort", []),
  ];
  return { flows, creds: { [connection]: { token: "floor" } } };
}

// ---------------------------------------------------------------------------------------------------------------
// Setup 4: what an integrator builds today with core nodes. The code below is function-node source, written the
// way a reasonable user writes it: JSON in and out, maps kept in flow context, one node per step.

const HELLO = `// The socket (re)connected: start the handshake and forget every call we knew.
if (msg.status.event !== "connect") return null;
flow.set("pending", {});
flow.set("calls", {});
flow.set("components", {});
msg.request = { name: "connection_info", body: {} };
return msg;`;

const PARSE = `// Every frame is [name, body]: answers, events, component ends go their own way.
let frame;
try {
    frame = JSON.parse(msg.payload);
} catch (e) {
    node.warn("not JSON: " + e.message);
    return null;
}
msg.name = frame[0];
msg.body = frame[1];
if (msg.name.endsWith("_result")) return [msg, null, null];
if (msg.name === "notify") return [null, msg, null];
if (msg.name === "ivrapi_component_stopped") return [null, null, msg];
return null;`;

const ANSWER = `// Match the answer with the request we sent (by qid).
const pending = flow.get("pending") || {};
const request = pending[msg.body.qid];
if (!request) {
    node.warn("answer to an unknown qid " + msg.body.qid);
    return null;
}
delete pending[msg.body.qid];
flow.set("pending", pending);
if (msg.body.result !== "ok") {
    node.warn(request.name + " failed: " + JSON.stringify(msg.body));
    return null;
}
msg.answered = request;
switch (request.name) {
    case "connection_info": {
        const caps = msg.body.capabilities || [];
        if (!caps.includes("ivrapi") || !caps.includes("subscr")) {
            node.error("the token lacks the ivrapi or subscr capability");
            return null;
        }
        msg.request = {
            name: "subscribe",
            body: { id: "node-red", objects: "any", events: ["ivrevents.api_start", "ivrevents.api_stop"], expires: 3600 }
        };
        return [msg, null];
    }
    case "subscribe":
        node.status({ fill: "green", shape: "dot", text: "subscribed" });
        return null;
    case "ivrapi_accept":
        return [null, msg];
    default:
        return null;
}`;

const EVENTS = `// api_start: take the call; api_stop: forget it.
const ev = msg.body;
if (ev.class !== "ivrevents") return null;
const data = ev.data;
const calls = flow.get("calls") || {};
if (ev.type === "api_start") {
    if (data.key !== "bench") return null;
    let params = {};
    try { params = JSON.parse(data.params || "{}"); } catch (e) { }
    calls[data.ivrid] = { ivrid: data.ivrid, key: data.key, params: params, step: "offered" };
    flow.set("calls", calls);
    msg.request = { name: "ivrapi_accept", body: { key: data.key, ivrid: data.ivrid } };
    return msg;
}
if (ev.type === "api_stop") {
    delete calls[data.ivrid];
    flow.set("calls", calls);
}
return null;`;

/** A function node that applies one component to the call named by msg.ivrid (or by the accept answered). */
const applyCode = (step: string, data: string) => `const calls = flow.get("calls") || {};
const ivrid = msg.ivrid || msg.answered.ivrid;
const call = calls[ivrid];
if (!call) return null;
const oId = (flow.get("oId") || 0) + 1;
flow.set("oId", oId);
const components = flow.get("components") || {};
components[oId] = ivrid;
flow.set("components", components);
call.step = "${step}";
const data = ${data};
data.oId = oId;
msg.request = { name: "ivrapi_component_apply", body: { key: call.key, ivrid: ivrid, data: data } };
return msg;`;

const STOPPED = `// A component ended: find its call by our oId, then go on with the next step.
const components = flow.get("components") || {};
const ivrid = components[msg.body.oId];
if (!ivrid) {
    node.warn("component_stopped for an unknown oId " + msg.body.oId);
    return null;
}
delete components[msg.body.oId];
flow.set("components", components);
const call = (flow.get("calls") || {})[ivrid];
if (!call) return null;
msg.ivrid = ivrid;
msg.payload = msg.body.results;
if (call.step === "playing") return [msg, null];
if (call.step === "recording") return [null, msg];
return null;`;

const ABORT = `const call = (flow.get("calls") || {})[msg.ivrid];
if (!call) return null;
call.step = "aborting";
msg.request = { name: "ivrapi_abort", body: { key: call.key, ivrid: msg.ivrid } };
return msg;`;

const SEND = `// One place that numbers requests and remembers them until answered.
const qid = (flow.get("qid") || 0) + 1;
flow.set("qid", qid);
const pending = flow.get("pending") || {};
pending[qid] = { name: msg.request.name, ivrid: msg.request.body.ivrid };
flow.set("pending", pending);
msg.payload = JSON.stringify([msg.request.name, Object.assign({ qid: qid }, msg.request.body)]);
// websocket out in client mode drops a msg that still carries the _session of websocket in: send it on our socket.
delete msg._session;
return msg;`;

function handRolledFlow(base: string): { flows: FlowNode[]; creds: Record<string, unknown> } {
  const z = "bench-hr";
  const fn = (id: string, name: string, func: string, wires: string[][]): FlowNode => ({
    id,
    type: "function",
    z,
    name,
    func,
    outputs: wires.length,
    timeout: 0,
    noerr: 0,
    initialize: "",
    finalize: "",
    libs: [],
    wires,
  });
  const flows: FlowNode[] = [
    { id: z, type: "tab", label: "bench: hand-rolled" },
    {
      id: "bench-hr-ws",
      type: "websocket-client",
      path: `${base}/handrolled`,
      tls: "",
      wholemsg: "false",
      hb: "0",
      subprotocol: "",
      headers: [],
    },
    {
      id: "bench-hr-in",
      type: "websocket in",
      z,
      name: "ivrapi",
      server: "",
      client: "bench-hr-ws",
      wires: [["bench-hr-parse"]],
    },
    { id: "bench-hr-out", type: "websocket out", z, name: "ivrapi", server: "", client: "bench-hr-ws", wires: [] },
    {
      id: "bench-hr-status",
      type: "status",
      z,
      name: "socket state",
      scope: ["bench-hr-in"],
      wires: [["bench-hr-hello"]],
    },
    fn("bench-hr-hello", "handshake", HELLO, [["bench-hr-send"]]),
    fn("bench-hr-parse", "parse frame", PARSE, [["bench-hr-answer"], ["bench-hr-events"], ["bench-hr-stopped"]]),
    fn("bench-hr-answer", "match answer", ANSWER, [["bench-hr-send"], ["bench-hr-play"]]),
    fn("bench-hr-events", "api_start / api_stop", EVENTS, [["bench-hr-send"]]),
    fn("bench-hr-play", "play greeting", applyCode("playing", PLAY), [["bench-hr-send"]]),
    fn("bench-hr-stopped", "component stopped", STOPPED, [["bench-hr-record"], ["bench-hr-abort"]]),
    fn("bench-hr-record", "record", applyCode("recording", RECORD), [["bench-hr-send"]]),
    fn("bench-hr-abort", "abort", ABORT, [["bench-hr-send"]]),
    fn("bench-hr-send", "send request", SEND, [["bench-hr-out"]]),
  ];
  return { flows, creds: {} };
}
