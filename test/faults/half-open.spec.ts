// Fault 2: a half-open socket. The server goes silent (reads nothing, answers no ping) while TCP still looks up.
// With a short keep-alive (settings.js `ivrapiClient: { pingIntervalMs: 300 }`) the connection must notice within
// two intervals (plus a margin for timers on a busy machine), reconnect, and take every held call back once.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import { frames } from "../helpers/runtime";
import { until } from "../helpers/wait";
import {
  ALL_NODES,
  CLIENT_SETTINGS,
  collect,
  connectionDef,
  credentials,
  eachWithSimulator,
  helper,
  hub,
  type Msg,
  onTab,
  placeAccepted,
  ready,
  startWired,
  waitStatus,
} from "../nodes/harness";
import { figure, watchCrashes } from "./support";

const PING_MS = 300;
/** Two intervals, as promised, plus 250 ms for timers on a loaded machine (less than a third interval). */
const DETECT_BOUND_MS = 2 * PING_MS + 250;

describe("faults: half-open socket (node level)", function () {
  this.timeout(20_000);
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it(`detects a silent server within two ping intervals, reconnects and reaccepts (ping ${PING_MS} ms)`, async () => {
    const crashes = watchCrashes();
    try {
      helper.settings({ ivrapiClient: { ...CLIENT_SETTINGS.ivrapiClient, pingIntervalMs: PING_MS } });
      await helper.load(ALL_NODES as never, onTab([connectionDef(sim), ...startWired()]) as never, credentials(sim));
      await ready();
      const calls = collect("call");
      const held = [await placeAccepted(sim, "call"), await placeAccepted(sim, "call")];
      const client = hub().client;
      assert.ok(client);
      const firstConn = sim.connections()[0]?.id;
      assert.ok(firstConn);
      const states: string[] = [];
      client.on("state", (c) => states.push(c.state));

      const t0 = Date.now();
      sim.faults.freeze(firstConn);
      await waitStatus("start", (s) => s.fill === "red", 5000);
      const detectMs = Date.now() - t0;
      // The new connection is a fresh socket: the freeze held only the old one.
      await waitStatus("start", (s) => s.fill === "green", 5000);
      const backMs = Date.now() - t0;
      await until(
        "both reaccepts answered ok",
        () => frames(sim, "ivrapi_reaccept_result", "out").filter((f) => (f.body as Msg).result === "ok").length === 2,
        5000,
      );
      for (const h of held) {
        assert.equal(sim.getCall(h.ivrid)?.phase, "controlled");
        assert.notEqual(sim.getCall(h.ivrid)?.controller, firstConn);
      }
      for (const h of held) {
        const n = frames(sim, "ivrapi_reaccept", "in").filter((f) => (f.body as Msg).ivrid === h.ivrid).length;
        assert.equal(n, 1, `reaccepts of ${h.ivrid}`);
      }
      assert.deepEqual(states.slice(0, 3), ["disconnected", "connecting", "ready"]);
      assert.equal(calls.length, 2, "no second accepted msg");
      assert.ok(detectMs <= DETECT_BOUND_MS, `dead socket noticed after ${detectMs} ms (bound ${DETECT_BOUND_MS})`);
      figure("half-open", `dead socket detected (ping ${PING_MS} ms)`, `${detectMs} ms`);
      figure("half-open", "connected again, calls reaccepted", `${backMs} ms after the freeze`);
      crashes.assertNone();
    } finally {
      sim.faults.clear();
      crashes.stop();
    }
  });
});
