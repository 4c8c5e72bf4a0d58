// The package's own micro measurements (the benchmark's earlier content): decode throughput, request round trip,
// pipelined requests and whole calls against the full simulator, both ends in this process. Loads the same build
// as the setups (IVRAPI_DIST), so every figure of one run comes from one snapshot of src/.
import path from "node:path";
import { performance } from "node:perf_hooks";
import type * as Runtime from "../src";
import type * as Sim from "../src/simulator";
import { percentile } from "./common";

export interface MicroResult {
  name: string;
  value: number;
  unit: string;
  text: string;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function benchDecode(rt: typeof Runtime, n: number): MicroResult {
  const frames = [
    rt.encode("notify", {
      class: "ivrevents",
      type: "api_start",
      eventts: 1602002803754,
      data: { ivrid: "rDlg-006-ZevQbP", key: "abc", params: '{"a":1}', callid: "c", cid: "x", sm_id: "s", ivrts: 1 },
    }),
    rt.encode("ivrapi_component_apply_result", { qid: 17, result: "ok", oId: 3 }),
    rt.encode("ivrapi_component_stopped", { oId: 3, transferKey: "transfer", results: { dtmfBuffer: "78" } }),
    rt.encode("ivrapi_dtmf", { key: "abc", ivrid: "rDlg-006-ZevQbP", mode: "idle", dtmf: "5" }),
  ];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) rt.decode(frames[i % frames.length] as string);
  const perS = n / ((performance.now() - t0) / 1000);
  return { name: "decode (mixed server frames)", value: perS, unit: "frames/s", text: `${fmt(perS)} frames/s` };
}

/** The global gc(), made available at run time (this process is not started with --expose-gc). */
function exposeGc(): () => void {
  (require("node:v8") as typeof import("node:v8")).setFlagsFromString("--expose-gc");
  return (require("node:vm") as typeof import("node:vm")).runInNewContext("gc") as () => void;
}

/**
 * The call record's cost (issue 11): calls fed through the record's own inputs (a client's frame observer and a
 * registry's events, as attach() listens to them) with the frames of a typical call (api_start, accept, apply, a key,
 * the stop event, abort: 11 frames), every ended one kept. Heap per kept record, and CPU per call.
 */
function benchRecord(rt: typeof Runtime, n: number): MicroResult[] {
  const gc = exposeGc();
  const { EventEmitter } = require("node:events") as typeof import("node:events");
  const records = new rt.CallRecords({ recent: n });
  // What the store reads of a registry besides its events: the calls it holds now.
  const held = new Map<string, unknown>();
  const pair = () => ({
    registry: Object.assign(new EventEmitter(), {
      get: (ivrid: string) => held.get(ivrid),
      list: () => [...held.values()],
      get size() {
        return held.size;
      },
    }),
    client: Object.assign(new EventEmitter(), {
      state: "ready",
      observer: undefined as Runtime.ClientObserver | undefined,
    }),
  });
  // The recorded pair, and one nobody records: feeding it costs what making the bodies and texts costs (the socket and
  // the runtime make them anyway), which the CPU figure leaves out.
  const recorded = pair();
  const unrecorded = pair();
  records.attach({
    connection: "bench",
    secret: "bench-token",
    client: recorded.client as never,
    registry: recorded.registry as never,
  });
  let { client, registry } = recorded;
  // Each frame with its wire text, made as the socket makes it (and a frame that came in with its bytes, as the client
  // passes them); requests and their answers come with their call's ivrid, as the client passes them.
  const o = () => ({
    frame: (dir: "in" | "out", name: string, body: Record<string, unknown>, ivrid?: string) => {
      const text = JSON.stringify([name, body]);
      const wire = dir === "in" ? Buffer.from(text) : undefined;
      client.observer?.frame(dir, name, body, text, ivrid, wire);
    },
  });
  const feed = (i: number) => {
    const ivrid = `rDlg-006-${i.toString(36).padStart(6, "0")}`;
    const key = "menu";
    const start = {
      ivrid,
      key,
      params: '{"lang":"en","from":"+4930123456"}',
      state: "dialog",
      callid: `c${i}`,
      cid: `x${i}`,
      componentname: "API",
      ivrts: 1,
    };
    const call = { ivrid, key, params: {}, paramsRaw: start.params, state: "dialog", start };
    const q = i * 4;
    o().frame("in", "ivrevents.api_start", { class: "ivrevents", type: "api_start", eventts: 1, data: start });
    o().frame("out", "ivrapi_accept", { key, ivrid, qid: q });
    o().frame("in", "ivrapi_accept_result", { qid: q, result: "ok" }, ivrid);
    held.set(ivrid, call);
    registry.emit("session_start", call);
    const data = { oType: 204, mode: 0, file: ":GS_PUB/demo/menu.wav", oId: i };
    registry.emit("component_started", call, { oId: i, data, source: "node-1" });
    o().frame("out", "ivrapi_component_apply", { data, key, ivrid, qid: q + 1 });
    o().frame("in", "ivrapi_component_apply_result", { qid: q + 1, result: "ok" }, ivrid);
    o().frame("in", "ivrapi_dtmf", { key, ivrid, mode: "component", dtmf: "1" });
    registry.emit("dtmf", call, { key, ivrid, dtmf: "1" });
    const stopped = { oId: i, transferKey: "transfer", results: { dtmfBuffer: "1" } };
    o().frame("in", "ivrapi_component_stopped", stopped);
    registry.emit("component_stopped", call, {
      oId: i,
      transferKey: "transfer",
      results: stopped.results,
      body: stopped,
      data,
      timedOut: false,
    });
    o().frame("out", "ivrapi_abort", { key, ivrid, qid: q + 2 });
    o().frame("in", "ivrapi_abort_result", { qid: q + 2, result: "ok" }, ivrid);
    held.delete(ivrid);
    registry.emit("session_end", call, { reason: "aborted" });
    o().frame("in", "ivrevents.api_stop", {
      class: "ivrevents",
      type: "api_stop",
      data: { ivrid, key, reason: "abort" },
    });
  };
  for (let i = 0; i < 200; i++) feed(-1 - i); // warm-up (kept too: counted out below)
  ({ client, registry } = unrecorded);
  for (let i = 0; i < 200; i++) feed(-1 - i);
  const timed = (from: number) => {
    const t0 = performance.now();
    for (let i = from; i < from + n; i++) feed(i);
    return performance.now() - t0;
  };
  const baseMs = timed(10 * n);
  ({ client, registry } = recorded);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const ms = timed(0);
  gc();
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / n;
  const us = (Math.max(0, ms - baseMs) * 1000) / n;
  if (records.list().length !== n)
    throw new Error(`call record bench: ${records.list().length} records kept, not ${n}`);
  return [
    {
      name: "call record: heap per kept call (11 frames, 5 timeline entries)",
      value: bytes,
      unit: "B/call",
      text: `${fmt(bytes)} B per call (${fmt(n)} kept; default keeps 200 ended calls: ${((bytes * 200) / 1024 / 1024).toFixed(2)} MiB)`,
    },
    {
      name: "call record: CPU per call (recording only)",
      value: us,
      unit: "µs/call",
      text: `${us.toFixed(1)} µs per call (the same calls fed to nobody took ${((baseMs * 1000) / n).toFixed(1)} µs: left out)`,
    },
  ];
}

export async function runMicro(dist: string, quick: boolean): Promise<MicroResult[]> {
  const rt = require(dist) as typeof Runtime;
  const { Simulator } = require(path.join(dist, "simulator")) as typeof Sim;
  const out: MicroResult[] = [benchDecode(rt, quick ? 50_000 : 200_000), ...benchRecord(rt, quick ? 2000 : 10_000)];
  const sim = await Simulator.start({ durations: { 204: 0, default: 0 } });
  const client = new rt.IvrApiClient({ url: sim.wsUrl, token: sim.token, pingIntervalMs: 0 });
  const reg = new rt.SessionRegistry(client);
  try {
    await new Promise<void>((resolve) => {
      client.once("ready", () => resolve());
      client.start();
    });
    const lat: number[] = [];
    const seq = quick ? 500 : 2000;
    for (let i = 0; i < seq; i++) {
      const t = performance.now();
      await client.request("connection_info", {});
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    const p50 = percentile(lat, 50);
    out.push({
      name: `request round trip (sequential, ${seq})`,
      value: p50,
      unit: "ms p50",
      text: `p50 ${p50.toFixed(3)} ms, p99 ${percentile(lat, 99).toFixed(3)} ms`,
    });

    const n = quick ? 2000 : 5000;
    let t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => client.request("connection_info", {})));
    const rps = n / ((performance.now() - t0) / 1000);
    out.push({ name: `requests in flight (${n} at once)`, value: rps, unit: "req/s", text: `${fmt(rps)} req/s` });

    reg.on("api_start", (call) => {
      void reg.accept(call).then(async (o) => {
        if (!o.accepted) return;
        await reg.apply(call.ivrid, { oType: 204, mode: 0, file: ":GS_PUB/x.mp3" });
        await reg.abort(call.ivrid);
      });
    });
    const calls = quick ? 200 : 500;
    let done = 0;
    const finished = new Promise<void>((resolve) => {
      reg.on("session_end", () => {
        if (++done === calls) resolve();
      });
    });
    t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      sim.placeCall({ key: "bench" });
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await finished;
    const cps = calls / ((performance.now() - t0) / 1000);
    out.push({
      name: `whole calls vs the full simulator (accept, play, abort; ${calls}, 50 at a time)`,
      value: cps,
      unit: "calls/s",
      text: `${fmt(cps)} calls/s (both ends in one process)`,
    });
  } finally {
    reg.dispose();
    await client.close();
    await sim.stop();
  }
  return out;
}
