// `npm run bench`: how fast the runtime is, measured (tests never assert on time). Runs against the simulator
// over loopback, so the numbers include real sockets and JSON on both sides; both ends share this process.
import { performance } from "node:perf_hooks";
import { IvrApiClient } from "../src/client";
import { decode, encode } from "../src/protocol";
import { type CallInfo, SessionRegistry } from "../src/session";
import { Simulator } from "../src/simulator";

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function row(name: string, value: string): void {
  process.stdout.write(`${name.padEnd(46)} ${value}\n`);
}

function benchDecode(): void {
  const frames = [
    encode("notify", {
      class: "ivrevents",
      type: "api_start",
      eventts: 1602002803754,
      data: { ivrid: "rDlg-006-ZevQbP", key: "abc", params: '{"a":1}', callid: "c", cid: "x", sm_id: "s", ivrts: 1 },
    }),
    encode("ivrapi_component_apply_result", { qid: 17, result: "ok", oId: 3 }),
    encode("ivrapi_component_stopped", { oId: 3, transferKey: "transfer", results: { dtmfBuffer: "78" } }),
    encode("ivrapi_dtmf", { key: "abc", ivrid: "rDlg-006-ZevQbP", mode: "idle", dtmf: "5" }),
  ];
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) decode(frames[i % frames.length] as string);
  const ms = performance.now() - t0;
  row("decode (mixed server frames)", `${Math.round(n / (ms / 1000)).toLocaleString("en-US")} frames/s`);
}

async function main(): Promise<void> {
  benchDecode();
  const sim = await Simulator.start({ durations: { 204: 0, default: 0 } });
  const client = new IvrApiClient({ url: sim.wsUrl, token: sim.token, pingIntervalMs: 0 });
  const reg = new SessionRegistry(client);
  try {
    await new Promise<void>((resolve) => {
      client.once("ready", () => resolve());
      client.start();
    });

    // Sequential round trips: the latency a flow sees per request.
    const lat: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await client.request("connection_info", {});
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    row(
      "request round trip (sequential, 2000)",
      `p50 ${pct(lat, 50).toFixed(3)} ms, p99 ${pct(lat, 99).toFixed(3)} ms`,
    );

    // Pipelined: many requests in flight on one socket.
    const n = 5000;
    let t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => client.request("connection_info", {})));
    row(
      "requests in flight (5000 at once)",
      `${Math.round(n / ((performance.now() - t0) / 1000)).toLocaleString("en-US")} req/s`,
    );

    // Whole calls: api_start → accept → play → stopped → abort, 50 calls at a time.
    reg.on("api_start", (call: CallInfo) => {
      void reg.accept(call).then(async (o) => {
        if (!o.accepted) return;
        await reg.apply(call.ivrid, { oType: 204, mode: 0, file: ":GS_PUB/x.mp3" });
        await reg.abort(call.ivrid);
      });
    });
    const calls = 500;
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
    const s = (performance.now() - t0) / 1000;
    row("whole calls (accept, play, abort; 500)", `${Math.round(calls / s).toLocaleString("en-US")} calls/s`);
    row("sessions left in the registry afterwards", String(reg.list().length));
    const mem = process.memoryUsage();
    row("heap used at the end", `${(mem.heapUsed / 1024 / 1024).toFixed(1)} MiB`);
  } finally {
    reg.dispose();
    await client.close();
    await sim.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
