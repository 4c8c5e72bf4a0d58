// Setup 2: the call script with the package's runtime (IvrApiClient + SessionRegistry), no Node-RED. It loads the
// same build Node-RED loads (IVRAPI_DIST, made by bench/build.ts). Calls with the key "hold" are only accepted
// (the heap-per-held-call measurement); calls with "bench" run the whole script.
import type * as Runtime from "../../src";

const { IvrApiClient, SessionRegistry } = require(process.env.IVRAPI_DIST as string) as typeof Runtime;

const url = process.env.BENCH_BASE as string;
const client = new IvrApiClient({ url, token: process.env.BENCH_TOKEN as string, pingIntervalMs: 0 });
const calls = new SessionRegistry(client);
const PLAY = { oType: 204, mode: 0, file: ":GS_PUB/hello.wav" };
const RECORD = { oType: 208, recTimeSec: 30, maxSymbolCount: 1, interruptSymbols: "#", abortOnSilence: true };
let failures = 0;

async function run(call: Runtime.CallInfo): Promise<void> {
  const taken = await calls.accept(call);
  if (!taken.accepted || call.key !== "bench") return;
  await calls.apply(call.ivrid, PLAY);
  await calls.apply(call.ivrid, RECORD);
  await calls.abort(call.ivrid);
}

calls.on("api_start", (call) => {
  run(call).catch((err: Error) => {
    if (++failures <= 5) process.stderr.write(`runtime client: ${call.ivrid}: ${err.message}\n`);
  });
});
calls.on("warning", (text) => process.stderr.write(`runtime client warning: ${text}\n`));
client.start();
