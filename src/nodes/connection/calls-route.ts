// The call records' Node-RED side: one CallRecords per runtime (settings.js `ivrapiCalls`), the admin endpoints the
// "ivr calls" sidebar and a Prometheus scraper read (permission `ivrapi.read`: Node-RED's `read` or `*` passes), and
// live updates to the editors over Node-RED's comms, batched (one message per PUBLISH_MS at most, whatever the load).
import type { NodeAPI } from "node-red";
import { CallRecords, type CallRecordsOptions } from "../../session/call-records";
import type { CallSummary } from "../../session/record";

/** The comms topic the sidebar subscribes to. */
export const CALLS_TOPIC = "ivrapi/calls";
/** Changes are sent at most this often. */
export const PUBLISH_MS = 250;

/** One store per runtime: keyed by its admin app (a test helper makes a fresh one per flow it loads). */
const stores = new WeakMap<object, CallRecords>();
const fallback = new CallRecords();

function settingsOf(RED: NodeAPI): CallRecordsOptions {
  const raw = (RED.settings as unknown as { ivrapiCalls?: unknown }).ivrapiCalls;
  return raw && typeof raw === "object" ? (raw as CallRecordsOptions) : {};
}

export function callRecordsFor(RED: NodeAPI): CallRecords {
  const key = RED.httpAdmin as unknown as object | undefined;
  if (!key) return fallback;
  let records = stores.get(key);
  if (!records) {
    records = new CallRecords(settingsOf(RED));
    stores.set(key, records);
    registerCallsRoutes(RED, records);
  }
  return records;
}

/** Live calls per connection, for the list's headings. */
function connectionsOf(calls: CallSummary[]): Array<{ id: string; name?: string; live: number }> {
  const by = new Map<string, { id: string; name?: string; live: number }>();
  for (const c of calls) {
    let e = by.get(c.connection);
    if (!e) {
      e = c.connectionName ? { id: c.connection, name: c.connectionName, live: 0 } : { id: c.connection, live: 0 };
      by.set(c.connection, e);
    }
    if (c.live) e.live++;
  }
  return [...by.values()];
}

function registerCallsRoutes(RED: NodeAPI, records: CallRecords): void {
  const read = RED.auth.needsPermission("ivrapi.read");
  RED.httpAdmin.get("/ivrapi/calls", read, (_req, res) => {
    const calls = records.list();
    res.json({ calls, connections: connectionsOf(calls), active: records.active });
  });
  RED.httpAdmin.get("/ivrapi/calls/:ivrid", read, (req, res) => {
    const call = records.get(String(req.params.ivrid));
    if (call) res.json(call);
    else res.status(404).json({ error: "not_found", ivrid: String(req.params.ivrid).slice(0, 128) });
  });
  RED.httpAdmin.get("/ivrapi/metrics", read, (_req, res) => {
    res.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    res.send(records.metricsText());
  });

  // The calls that changed since the last batch: taken from the records, and summarised, when the batch goes.
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const changed = records.takeChanged();
    const data = changed === undefined ? { reload: true } : { calls: changed.map((r) => r.summary()) };
    RED.comms.publish(CALLS_TOPIC, data, false);
  };
  records.on("changed", () => {
    if (timer) return;
    timer = setTimeout(flush, PUBLISH_MS);
    timer.unref();
  });
}
