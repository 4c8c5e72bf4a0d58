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

export async function runMicro(dist: string, quick: boolean): Promise<MicroResult[]> {
  const rt = require(dist) as typeof Runtime;
  const { Simulator } = require(path.join(dist, "simulator")) as typeof Sim;
  const out: MicroResult[] = [benchDecode(rt, quick ? 50_000 : 200_000)];
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
