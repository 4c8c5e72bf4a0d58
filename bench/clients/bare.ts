// Setup 1: the call script with a plain `ws` client and as little code as it takes (no schemas, no timeouts, no
// reconnect). The floor the other setups are compared with. The token goes in the path, as the platform expects.
import WebSocket from "ws";

const ws = new WebSocket(`${process.env.BENCH_BASE}/${process.env.BENCH_TOKEN}`, { perMessageDeflate: false });
let qid = 0;
let oId = 0;
const accepts = new Map<number, { ivrid: string; key: string }>();
const components = new Map<number, { ivrid: string; key: string; oType: number }>();

function send(name: string, body: Record<string, unknown>): number {
  const q = ++qid;
  ws.send(JSON.stringify([name, { qid: q, ...body }]));
  return q;
}

function apply(ivrid: string, key: string, data: { oType: number; [k: string]: unknown }): void {
  const id = ++oId;
  components.set(id, { ivrid, key, oType: data.oType });
  send("ivrapi_component_apply", { key, ivrid, data: { ...data, oId: id } });
}

ws.on("open", () => send("connection_info", {}));
ws.on("message", (raw) => {
  // biome-ignore lint/suspicious/noExplicitAny: the bare client trusts the server's frames, as minimal code does
  const [name, body] = JSON.parse(raw.toString()) as [string, Record<string, any>];
  switch (name) {
    case "connection_info_result":
      send("subscribe", {
        id: "bare",
        objects: "any",
        events: ["ivrevents.api_start", "ivrevents.api_stop"],
        expires: 3600,
      });
      break;
    case "notify":
      if (body.type === "api_start") {
        const { ivrid, key } = body.data;
        accepts.set(send("ivrapi_accept", { key, ivrid }), { ivrid, key });
      }
      break;
    case "ivrapi_accept_result": {
      const call = accepts.get(body.qid);
      accepts.delete(body.qid);
      if (call && body.result === "ok" && call.key === "bench") {
        apply(call.ivrid, call.key, { oType: 204, mode: 0, file: ":GS_PUB/hello.wav" });
      }
      break;
    }
    case "ivrapi_component_stopped": {
      const c = components.get(body.oId);
      if (!c) break;
      components.delete(body.oId);
      if (c.oType === 204) {
        apply(c.ivrid, c.key, {
          oType: 208,
          recTimeSec: 30,
          maxSymbolCount: 1,
          interruptSymbols: "#",
          abortOnSilence: true,
        });
      } else send("ivrapi_abort", { key: c.key, ivrid: c.ivrid });
      break;
    }
  }
});
ws.on("close", () => process.exit(1));
ws.on("error", (err) => process.stderr.write(`bare client: ${err.message}\n`));
