// Fault 8: the platform's port stays closed for 20 s. The connection keeps trying, but at the pace its backoff
// allows (settings.js `ivrapiClient: { reconnectMinMs: 200, reconnectMaxMs: 2000 }`, factor 2, jitter 0.3): no
// tight loop. Once the port opens it connects, subscribes again, shows connected and takes its call back.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import { frames } from "../helpers/runtime";
import { until } from "../helpers/wait";
import {
  ALL_NODES,
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

const DOWN_MS = 20_000;
const BACKOFF = { reconnectMinMs: 200, reconnectMaxMs: 2000, reconnectFactor: 2, reconnectJitter: 0.3 };
/** Timers may fire a little late on a loaded machine, never early: a small allowance per gap. */
const TIMER_SLACK_MS = 30;

/** Attempts the backoff allows within `ms` if every delay is its shortest (`1 - jitter`) or its longest. */
function attemptsWithin(ms: number, shortest: boolean): number {
  const { reconnectMinMs: min, reconnectMaxMs: max, reconnectFactor: f, reconnectJitter: j } = BACKOFF;
  let t = 0;
  let n = 0;
  for (;;) {
    const d = Math.min(max, min * f ** n) * (shortest ? 1 - j : 1 + j);
    if (t + d > ms) return n;
    t += d;
    n++;
  }
}

describe("faults: reconnect storm bounded (node level)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it(`port closed for ${DOWN_MS / 1000} s: attempts follow the backoff, then it reconnects and subscribes again`, async () => {
    const crashes = watchCrashes();
    try {
      helper.settings({ ivrapiClient: { ...BACKOFF, pingIntervalMs: 0, unauthorizedRetryMs: 60_000 } });
      await helper.load(ALL_NODES as never, onTab([connectionDef(sim), ...startWired()]) as never, credentials(sim));
      await ready();
      const { ivrid } = await placeAccepted(sim, "call");
      const calls = collect("call");
      const client = hub().client;
      assert.ok(client);
      const attempts: number[] = [];
      const states: string[] = [];
      client.on("state", (c) => {
        states.push(c.state);
        if (c.state === "connecting") attempts.push(Date.now());
      });
      const subscribes = frames(sim, "subscribe", "in").length;
      const oldConn = sim.connections()[0]?.id;

      const t0 = Date.now();
      const restarting = sim.restart({ downMs: DOWN_MS });
      await waitStatus("start", (s) => s.fill === "red", 2000);
      const downMs = Date.now() - t0;
      await restarting;
      const opened = Date.now();
      const window = opened - t0;
      const during = attempts.filter((t) => t < opened).length;

      await waitStatus("start", (s) => s.fill === "green", 10_000);
      const backMs = Date.now() - opened;
      await ready();
      await sim.waitForFrame({ dir: "in", name: "ivrapi_reaccept", where: (b) => b.ivrid === ivrid }, 5000);
      await until("the reaccept answered", () => frames(sim, "ivrapi_reaccept_result", "out").length === 1, 5000);

      // The backoff's pace, not a loop: every gap at least the shortest delay, the count within what it allows.
      const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
      const most = attemptsWithin(window, true) + 1;
      const least = attemptsWithin(window, false) - 1;
      assert.ok(during <= most && during < 25, `${during} attempts in ${window} ms (the backoff allows ${most})`);
      assert.ok(during >= least, `${during} attempts in ${window} ms: it gave up trying (expected ≥ ${least})`);
      const shortest = BACKOFF.reconnectMinMs * (1 - BACKOFF.reconnectJitter) - TIMER_SLACK_MS;
      assert.ok(
        gaps.every((g) => g >= shortest),
        `gaps between attempts: ${gaps.join(", ")} ms`,
      );
      // Once open: reconnected within the longest delay plus a margin, subscribed again on the new connection.
      const longest = BACKOFF.reconnectMaxMs * (1 + BACKOFF.reconnectJitter);
      assert.ok(backMs <= longest + 1500, `connected ${backMs} ms after the port opened`);
      const newSubs = frames(sim, "subscribe", "in").slice(subscribes);
      assert.equal(newSubs.length, 1, "subscribed once more");
      assert.notEqual(newSubs[0]?.conn, oldConn);
      assert.equal(frames(sim, "ivrapi_reaccept", "in").filter((f) => (f.body as Msg).ivrid === ivrid).length, 1);
      assert.equal(sim.getCall(ivrid)?.phase, "controlled");
      assert.equal(calls.length, 0, "no second accepted msg");
      assert.equal(states.at(-1), "ready");
      crashes.assertNone();
      figure("storm", "status disconnected after the port closed", `${downMs} ms`);
      figure(
        "storm",
        `connection attempts while the port was closed (${window} ms, backoff 200..2000 ms)`,
        `${during} (backoff allows ${least}..${most})`,
      );
      figure("storm", "gaps between attempts", `${gaps.map((g) => Math.round(g)).join(", ")} ms`);
      figure("storm", "connected and subscribed again after the port opened", `${backMs} ms`);
    } finally {
      crashes.stop();
    }
  });
});
