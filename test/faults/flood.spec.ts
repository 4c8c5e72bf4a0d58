// Fault 5: an event flood. 20,000 api_start in about 2 s, 1 % of them for the key the flow takes, the rest for keys
// nobody filters on (calls the simulator does not even hold). The matched calls are all accepted and run; nobody
// sends anything for the others; memory stays bounded; a call right after works. The simulator runs in a child
// process so that this process's heap is the runtime's alone.
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { IvrApiClient } from "../../src/client";
import { SessionRegistry } from "../../src/session";
import type { Simulator } from "../../src/simulator";
import { forkSim, type SimProcess } from "../helpers/sim-process";
import { until } from "../helpers/wait";
import {
  ALL_NODES,
  CLIENT_SETTINGS,
  collect,
  connectionDef,
  credentials,
  type FlowNode,
  helper,
  hub,
  nextMsg,
  onTab,
  ready,
} from "../nodes/harness";
import { figure, mib, sampleMax, settledHeap, watchCrashes } from "./support";

const FLOOD = 20_000;
const FLOOD_MS = 2000;
const MATCHED = 200;
const PLAY = { oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" };
/** Components end on their own after 20 ms, like a short prompt. */
const SIM = { manual: false, durations: { 204: 20 }, acceptTimeoutMs: 60_000 };

interface FloodOutcome {
  sent: number;
  placed: string[];
}

describe("faults: event flood", function () {
  this.timeout(60_000);
  let sp: SimProcess;
  afterEach(async () => {
    await sp?.stop();
  });

  it(`runtime: ${FLOOD.toLocaleString("en-US")} api_start in ${FLOOD_MS / 1000} s, ${MATCHED} matched: those run, the rest are left alone, memory stays flat`, async () => {
    const crashes = watchCrashes();
    sp = await forkSim(SIM);
    const client = new IvrApiClient({
      url: sp.wsUrl,
      token: sp.token,
      requestTimeoutMs: 10_000,
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
      pingIntervalMs: 0,
    });
    const reg = new SessionRegistry(client);
    try {
      const up = new Promise((r) => client.once("ready", r));
      client.start();
      await up;
      let offered = 0;
      let finished = 0;
      const failures: unknown[] = [];
      reg.on("api_start", (call) => {
        offered += 1;
        if (call.key !== "match") return;
        void (async () => {
          const taken = await reg.accept(call);
          if (!taken.accepted) throw new Error(`not accepted: ${taken.reason}`);
          await reg.apply(call.ivrid, PLAY);
          await reg.abort(call.ivrid);
          finished += 1;
        })().catch((err: unknown) => failures.push(err));
      });
      const states: string[] = [];
      client.on("state", (c) => states.push(c.state));

      // Warm up the paths (JIT, first allocations) so the heap before and after compare like with like.
      await sp.call("place", 5, { key: "match" });
      await until("warm-up calls done", () => finished === 5, 10_000, 10);
      offered = 0;
      finished = 0;
      const before = await settledHeap();
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const peak = sampleMax(() => process.memoryUsage().heapUsed);
      const t0 = Date.now();
      const flood = await sp.call<FloodOutcome>("flood", FLOOD, FLOOD_MS, MATCHED, "match");
      const sentMs = Date.now() - t0;
      await until("every api_start handled", () => offered === FLOOD + MATCHED, 30_000, 5);
      const handledMs = Date.now() - t0;
      await until(`the ${MATCHED} matched calls run to their end`, () => finished === MATCHED, 30_000, 10);
      const doneMs = Date.now() - t0;
      loop.disable();
      const peakHeap = peak.stop();
      assert.deepEqual(failures, []);
      assert.equal(flood.sent, FLOOD);
      assert.equal(flood.placed.length, MATCHED);
      assert.equal(reg.list().length, 0, "no call left held");
      const after = await settledHeap();

      // Nobody sent anything for the calls of the flood; exactly one accept per matched call.
      assert.equal(await sp.call<number>("fakeRequests"), 0);
      const counts = await sp.call<Record<string, number>>("counts");
      assert.equal(counts["in ivrapi_accept"], MATCHED + 5);
      assert.equal(counts["in ivrapi_abort"], MATCHED + 5);
      assert.deepEqual(states, [], "the connection held through the flood");

      // A call right after works.
      const [next] = await sp.call<string[]>("place", 1, { key: "match" });
      await until("the call after the flood", () => finished === MATCHED + 1, 10_000, 10);
      assert.ok(next);
      // The same flood unpaced (all 20,000 at once): how fast the runtime gets through api_start it does not want.
      offered = 0;
      const t1 = Date.now();
      await sp.call<FloodOutcome>("flood", FLOOD, 0);
      await until("the unpaced flood handled", () => offered === FLOOD, 30_000, 5);
      const burstMs = Date.now() - t1;
      assert.equal(await sp.call<number>("fakeRequests"), 0);
      const growth = after - before;
      assert.ok(growth < 4 * 1024 * 1024, `heap grew by ${mib(growth)} over the flood`);
      crashes.assertNone();
      figure("flood", "api_start sent by the server", `${FLOOD} in ${sentMs} ms`);
      figure(
        "flood",
        "all handled",
        `${handledMs} ms after the first, ${handledMs - sentMs} ms after the last was sent`,
      );
      figure(
        "flood",
        "unpaced: 20,000 unmatched api_start at once handled in",
        `${burstMs} ms (${Math.round(FLOOD / (burstMs / 1000))} events/s, simulator's sending included)`,
      );
      figure("flood", `${MATCHED} matched calls accepted, played, aborted`, `by ${doneMs} ms`);
      figure(
        "flood",
        "event loop delay during the flood (1 ms sampling)",
        `p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
      );
      figure(
        "flood",
        "heap before / peak (uncollected) / after GC",
        `${mib(before)} / ${mib(peakHeap)} / ${mib(after)}`,
      );
      figure("flood", "heap growth after GC", `${(growth / 1024).toFixed(0)} KiB`);
    } finally {
      crashes.stop();
      reg.dispose();
      await client.close();
    }
  });

  it(`node level: ${FLOOD.toLocaleString("en-US")} api_start in ${FLOOD_MS / 1000} s reach an ivr start node filtering on one key`, async () => {
    const crashes = watchCrashes();
    sp = await forkSim(SIM);
    const asSim = sp as unknown as Simulator; // connectionDef and credentials read only wsUrl and token
    const flow: FlowNode[] = [
      connectionDef(asSim, { requestTimeout: 10_000 }),
      {
        id: "start",
        type: "ivrapi-start",
        connection: "conn",
        key: "match",
        componentName: "",
        wires: [["apply"], ["stopped"]],
      },
      {
        id: "apply",
        type: "ivrapi-apply",
        connection: "conn",
        data: JSON.stringify(PLAY),
        dataType: "json",
        transferKeys: ["transfer"],
        busy: "reject",
        timeout: 0,
        wires: [["abort"], ["abort"]],
      },
      { id: "abort", type: "ivrapi-abort", connection: "conn", wires: [["done"]] },
      { id: "done", type: "helper" },
      { id: "stopped", type: "helper" },
      { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ];
    try {
      helper.settings(CLIENT_SETTINGS);
      await helper.load(ALL_NODES as never, onTab(flow) as never, credentials(asSim) as never);
      await ready();
      const done = collect("done");
      const caught = collect("caught");
      const stopped = collect("stopped");
      const states: string[] = [];
      hub().client?.on("state", (c) => states.push(c.state));
      const t0 = Date.now();
      const flood = await sp.call<FloodOutcome>("flood", FLOOD, FLOOD_MS, MATCHED, "match");
      await until(`the ${MATCHED} matched calls run through the flow`, () => done.length >= MATCHED, 30_000, 10);
      const doneMs = Date.now() - t0;
      // A round trip after the flood: every frame of it has been handled by now.
      await hub().client?.request("connection_info", {});
      assert.equal(done.length, MATCHED);
      assert.deepEqual(
        [...new Set(done.map((m) => m.ivr.ivrid))].sort(),
        [...flood.placed].sort(),
        "each matched call once",
      );
      assert.equal(caught.length, 0, JSON.stringify(caught.slice(0, 3).map((m) => m.error)));
      assert.equal(await sp.call<number>("fakeRequests"), 0, "nothing sent for calls nobody filters on");
      const counts = await sp.call<Record<string, number>>("counts");
      assert.equal(counts["in ivrapi_accept"], MATCHED);
      assert.deepEqual(states, []);

      // A call right after works.
      const after = nextMsg("done", 10_000);
      const [next] = await sp.call<string[]>("place", 1, { key: "match" });
      assert.equal((await after).ivr.ivrid, next);
      assert.equal(stopped.length, MATCHED + 1, "each call reported stopped once (aborted)");
      crashes.assertNone();
      figure("flood", "node level: matched calls through start → apply → abort", `${MATCHED} by ${doneMs} ms`);
    } finally {
      crashes.stop();
      await helper.unload();
    }
  });
});
