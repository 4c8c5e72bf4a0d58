// Fault 6: a slow leak. 30,000 complete calls (api_start → accept → apply 204 → stopped → abort) through one client
// and registry, 100 at a time; the heap after them (forced GC) must be within 10 % of the heap after the first 3,000.
// The simulator runs in a child process: this process's heap is the runtime's (and the test's) alone, so the two
// readings compare like with like. The simulator's own heap is reported beside it.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { IvrApiClient } from "../../src/client";
import { type CallInfo, SessionRegistry } from "../../src/session";
import { forkSim, type SimProcess } from "../helpers/sim-process";
import { figure, mib, settledHeap, watchCrashes } from "./support";

const TOTAL = 30_000;
const BASELINE = 3_000;
/** Calls in flight at once, and how many the simulator is asked to place per request. */
const WINDOW = 100;
const BATCH = 25;
const PLAY = { oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" };

describe("faults: no leak over 30,000 calls (runtime)", function () {
  this.timeout(150_000);
  let sp: SimProcess;
  afterEach(async () => {
    await sp?.stop();
  });

  it("the heap after 30,000 calls is within 10 % of the heap after 3,000", async () => {
    const crashes = watchCrashes();
    sp = await forkSim({ manual: false, durations: { 204: 1 }, acceptTimeoutMs: 60_000 });
    const client = new IvrApiClient({
      url: sp.wsUrl,
      token: sp.token,
      requestTimeoutMs: 10_000,
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
      pingIntervalMs: 0,
    });
    const reg = new SessionRegistry(client);
    const progress = new EventEmitter();
    let placed = 0;
    let finished = 0;
    const failures: unknown[] = [];
    const run = async (call: CallInfo): Promise<void> => {
      const taken = await reg.accept(call);
      if (!taken.accepted) throw new Error(`not accepted: ${taken.reason}`);
      const played = await reg.apply(call.ivrid, PLAY);
      if (played.transferKey !== "transfer") throw new Error(`played ended on ${played.transferKey}`);
      await reg.abort(call.ivrid);
    };
    reg.on("api_start", (call) => {
      run(call).then(
        () => {
          finished += 1;
          progress.emit("done");
        },
        (err: unknown) => {
          failures.push(err);
          progress.emit("done");
        },
      );
    });
    /** Runs calls until `target` have finished, keeping up to WINDOW in flight. */
    const drive = async (target: number): Promise<void> => {
      while (finished < target) {
        if (failures.length > 0) throw failures[0];
        const room = Math.min(WINDOW - (placed - finished), target - placed);
        if (room >= BATCH || (room > 0 && placed + room === target)) {
          placed += room;
          await sp.call("place", room, { key: "leak" });
        } else {
          await new Promise((r) => progress.once("done", r));
        }
      }
    };
    try {
      const up = new Promise((r) => client.once("ready", r));
      client.start();
      await up;
      const t0 = Date.now();
      await drive(BASELINE);
      const baseMs = Date.now() - t0;
      const heapBase = await settledHeap();
      const simBase = await sp.call<number>("heap");
      const t1 = Date.now();
      await drive(TOTAL);
      const restMs = Date.now() - t1;
      const heapEnd = await settledHeap();
      const simEnd = await sp.call<number>("heap");

      assert.deepEqual(failures, []);
      assert.equal(finished, TOTAL);
      assert.equal(reg.list().length, 0, "no session left in the registry");
      const phases = await sp.call<Record<string, number>>("phases");
      assert.equal(phases.controlled ?? 0, 0, JSON.stringify(phases));
      assert.equal(phases.waiting ?? 0, 0, JSON.stringify(phases));
      assert.ok(
        (phases.released ?? 0) <= 200,
        `the simulator keeps only its last 200 ended calls: ${JSON.stringify(phases)}`,
      );
      const counts = await sp.call<Record<string, number>>("counts");
      assert.equal(counts["in ivrapi_accept"], TOTAL);
      assert.equal(counts["in ivrapi_component_apply"], TOTAL);
      assert.equal(counts["in ivrapi_abort"], TOTAL);
      assert.equal(counts["out ivrapi_component_stopped"], TOTAL);
      assert.equal(await sp.call<number>("connections"), 1, "one connection all along");

      const growth = heapEnd - heapBase;
      const perCall = growth / (TOTAL - BASELINE);
      assert.ok(
        heapEnd <= heapBase * 1.1,
        `heap after ${TOTAL} calls ${mib(heapEnd)} vs ${mib(heapBase)} after ${BASELINE} (+${((growth / heapBase) * 100).toFixed(1)} %)`,
      );
      crashes.assertNone();
      figure("leak", `heap after ${BASELINE} / ${TOTAL} calls (GC)`, `${mib(heapBase)} / ${mib(heapEnd)}`);
      figure(
        "leak",
        "growth",
        `${(growth / 1024).toFixed(0)} KiB (${((growth / heapBase) * 100).toFixed(1)} %, ${perCall.toFixed(1)} bytes per call)`,
      );
      figure("leak", "simulator process heap (GC), same points", `${mib(simBase)} / ${mib(simEnd)}`);
      figure(
        "leak",
        "call rate",
        `${Math.round(BASELINE / (baseMs / 1000))} calls/s for the first ${BASELINE}, ${Math.round((TOTAL - BASELINE) / (restMs / 1000))} calls/s after`,
      );
    } finally {
      crashes.stop();
      reg.dispose();
      await client.close();
    }
  });
});
