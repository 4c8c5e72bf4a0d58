// Counters of the call record, rendered as Prometheus text exposition format 0.0.4 by hand: a dozen series whose
// labels come from small, capped sets (oType × exit, error codes, request names), so no client library is needed
// (and none is shipped in a palette install).

/** Upper bounds (s) of the request histogram: answers on a LAN take milliseconds, a stalled platform seconds. */
export const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Distinct label sets kept per series; beyond that they are counted under `other` (a hostile exit name cannot grow it). */
const MAX_LABEL_SETS = 200;

interface Histogram {
  /** Answers per bucket, each counted in the first bucket it fits (cumulated when rendered). */
  counts: number[];
  sum: number;
  count: number;
}

export class Metrics {
  accepted = 0;
  acceptLost = 0;
  reconnects = 0;
  dtmf = 0;
  framesIn = 0;
  framesOut = 0;
  /** Components that ended, by oType then exit: no key text is built per component (a Map per oType, a handful). */
  private readonly components = new Map<string, Map<string, number>>();
  private componentPairs = 0;
  private readonly errors = new Map<string, number>();
  private readonly ended = new Map<string, number>();
  private readonly requests = new Map<string, Histogram>();

  component(oType: unknown, exit: string): void {
    // Raw (escaped when rendered); a number's text comes from V8's cache of them, not made anew.
    const over = this.componentPairs >= MAX_LABEL_SETS;
    const type = String(oType ?? "");
    const e = exit.length > 64 ? exit.slice(0, 64) : exit;
    const byExit = this.components.get(type);
    const n = byExit?.get(e);
    if (n !== undefined) byExit?.set(e, n + 1);
    else if (!over) {
      this.exits(type).set(e, 1);
      this.componentPairs++;
    } else {
      const other = this.exits("other");
      other.set("other", (other.get("other") ?? 0) + 1);
    }
  }

  private exits(type: string): Map<string, number> {
    let byExit = this.components.get(type);
    if (byExit === undefined) {
      byExit = new Map();
      this.components.set(type, byExit);
    }
    return byExit;
  }

  error(code: string): void {
    // Raw (cut to a label's length) and escaped when rendered, like the components' pairs: no regex per error.
    bump(this.errors, code.length > 64 ? code.slice(0, 64) : code, "other");
  }

  callEnded(reason: string): void {
    bump(this.ended, reason.length > 64 ? reason.slice(0, 64) : reason, "other");
  }

  request(name: string, seconds: number): void {
    let h = this.requests.get(name);
    if (!h) {
      if (this.requests.size >= MAX_LABEL_SETS) return;
      h = { counts: new Array(REQUEST_BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.requests.set(name, h);
    }
    const counts = h.counts;
    for (let i = 0; i < REQUEST_BUCKETS.length; i++) {
      if (seconds <= (REQUEST_BUCKETS[i] as number)) {
        counts[i] = (counts[i] ?? 0) + 1;
        break;
      }
    }
    h.sum += seconds;
    h.count++;
  }

  /** The exposition text (`Content-Type: text/plain; version=0.0.4`). */
  render(active: number): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    head("ivrapi_calls_active", "gauge", "Calls controlled now.");
    out.push(`ivrapi_calls_active ${active}`);
    head("ivrapi_calls_accepted_total", "counter", "Calls whose control was taken (accept, or a takeover).");
    out.push(`ivrapi_calls_accepted_total ${this.accepted}`);
    head(
      "ivrapi_accept_lost_total",
      "counter",
      "Accepts the platform refused (another connection won, or the call was gone).",
    );
    out.push(`ivrapi_accept_lost_total ${this.acceptLost}`);
    head("ivrapi_calls_ended_total", "counter", "Calls whose control ended, by reason.");
    for (const [reason, n] of this.ended) out.push(`ivrapi_calls_ended_total{reason="${labelValue(reason)}"} ${n}`);
    head("ivrapi_components_total", "counter", "Components that ended, by oType and exit (transferKey).");
    for (const [otype, byExit] of this.components) {
      const t = labelValue(otype);
      for (const [exit, n] of byExit) out.push(`ivrapi_components_total{otype="${t}",exit="${labelValue(exit)}"} ${n}`);
    }
    head("ivrapi_dtmf_total", "counter", "Keys pressed on controlled calls.");
    out.push(`ivrapi_dtmf_total ${this.dtmf}`);
    head("ivrapi_errors_total", "counter", "Failed requests and applies on calls, by error code.");
    for (const [code, n] of this.errors) out.push(`ivrapi_errors_total{code="${labelValue(code)}"} ${n}`);
    head("ivrapi_reconnects_total", "counter", "Connections that were ready, broke and became ready again.");
    out.push(`ivrapi_reconnects_total ${this.reconnects}`);
    head("ivrapi_frames_total", "counter", "WebSocket frames, by direction.");
    out.push(`ivrapi_frames_total{dir="in"} ${this.framesIn}`, `ivrapi_frames_total{dir="out"} ${this.framesOut}`);
    head("ivrapi_request_seconds", "histogram", "Time from a request to its answer, by request.");
    for (const [name, h] of this.requests) {
      const l = `request="${labelValue(name)}"`;
      let upTo = 0;
      for (let i = 0; i < REQUEST_BUCKETS.length; i++) {
        upTo += h.counts[i] ?? 0;
        out.push(`ivrapi_request_seconds_bucket{${l},le="${REQUEST_BUCKETS[i]}"} ${upTo}`);
      }
      out.push(`ivrapi_request_seconds_bucket{${l},le="+Inf"} ${h.count}`);
      out.push(`ivrapi_request_seconds_sum{${l}} ${h.sum}`, `ivrapi_request_seconds_count{${l}} ${h.count}`);
    }
    return `${out.join("\n")}\n`;
  }
}

function bump(m: Map<string, number>, key: string, overflow: string): void {
  const n = m.get(key);
  if (n !== undefined) m.set(key, n + 1);
  else if (m.size < MAX_LABEL_SETS) m.set(key, 1);
  else m.set(overflow, (m.get(overflow) ?? 0) + 1);
}

/** A label value as the format wants it: backslash, quote and newline escaped; bounded length. */
export function labelValue(v: string): string {
  const s = v.length > 64 ? v.slice(0, 64) : v;
  return s.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}
