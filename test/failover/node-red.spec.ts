// Failover with real processes: three Node-RED instances (the package loaded from dist/), one redis-server, the
// simulator in this process, all over loopback. 30 calls spread over the three; one is killed with SIGKILL: each of its
// calls is taken over by exactly one survivor within lease + 2 s and comes out of that survivor's ivr start "resumed"
// output with msg.ivr.resumed = { why: "failover" }. Then: the killed instance started again and a frozen one (SIGSTOP,
// SIGCONT) do not fight for calls taken from them; Redis restarted mid-run: every instance writes its calls again
// within one lease, and calls are still taken meanwhile.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { namespaceFor } from "../../src/session/redis-store";
import type { Simulator } from "../../src/simulator";
import { build, freePort, type RunningNodeRed, spawnNodeRed } from "../helpers/node-red";
import { type RedisServer, startRedis } from "../helpers/redis";
import { frames } from "../helpers/runtime";
import { until } from "../helpers/wait";
import { startSim } from "../nodes/harness";

const LEASE_S = 2;
const LEASE_MS = LEASE_S * 1000;
const PER_INSTANCE = 10;

interface Instance {
  name: string;
  red: RunningNodeRed;
  port: number;
  userDir: string;
  /** Its connection's id in the simulator. */
  conn: string;
  /** Its name in Redis (host:pid:random). */
  owner: string;
  /** `RESUMED <ivrid> <resumed as JSON>` lines its function node logged. */
  resumed(): Array<{ ivrid: string; resumed: unknown; callid: string }>;
}

describe("failover (Node-RED): three instances, one Redis, kill -9 one", function () {
  this.timeout(120_000);
  let sim: Simulator;
  let redis: RedisServer;
  const instances: Instance[] = [];
  const dirs: string[] = [];
  /** ivrid → the instance that held it at first. */
  const first = new Map<string, string>();

  before(async () => {
    build();
    [sim, redis] = await Promise.all([startSim({ acceptTimeoutMs: 600_000 }), startRedis()]);
    const made = await Promise.all(["A", "B", "C"].map((n) => launch(n)));
    // Deployed one at a time, so that each new simulator connection is known to be that instance's.
    for (const x of made) instances.push(await deploy(x));
    await until("three owners in Redis", async () => (await owners()).length === 3, 20_000, 50);
    // An instance takes others' calls over only after one lease connected to Redis.
    await new Promise((r) => setTimeout(r, LEASE_MS + 200));
  });
  after(async () => {
    for (const x of instances) {
      x.red.child.kill("SIGCONT");
      await x.red.stop(5000);
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await redis?.stop();
    await sim?.stop();
  });

  async function launch(name: string, userDir?: string): Promise<Omit<Instance, "conn" | "owner">> {
    const dir = userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `ivrapi-failover-${name}-`));
    if (!userDir) dirs.push(dir);
    const port = await freePort();
    const settings = {
      uiHost: "127.0.0.1",
      uiPort: port,
      userDir: dir,
      flowFile: "flows.json",
      credentialSecret: "test-only-secret",
      nodesDir: [path.join(__dirname, "..", "..")],
      logging: { console: { level: "info" } },
      editorTheme: { tours: false, projects: { enabled: false }, palette: { editable: false } },
      diagnostics: { enabled: false },
      telemetry: { enabled: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
      ivrapiClient: { reconnectMinMs: 30, reconnectMaxMs: 200, pingIntervalMs: 0 },
    };
    fs.writeFileSync(path.join(dir, "settings.js"), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    if (!userDir) fs.writeFileSync(path.join(dir, "flows.json"), "[]\n");
    const red = await spawnNodeRed(["--settings", path.join(dir, "settings.js")], { cwd: dir });
    return {
      name,
      red,
      port,
      userDir: dir,
      resumed: () =>
        [...red.output().matchAll(/RESUMED (\S+) (\{[^\n]*?\}) (\S+)/g)].map((m) => ({
          ivrid: m[1] as string,
          resumed: JSON.parse(m[2] as string),
          callid: m[3] as string,
        })),
    };
  }

  async function deploy(x: Omit<Instance, "conn" | "owner">): Promise<Instance> {
    const before = new Set(sim.connections().map((c) => c.id));
    const flows = [
      { id: "t1", type: "tab", label: "ivr" },
      {
        id: "c1",
        type: "ivrapi-connection",
        url: sim.wsUrl,
        tokenMode: "path",
        requestTimeout: 5000,
        subscriptionTtl: 3600,
        reaccept: true,
        rejectUnauthorized: true,
        keepCallsOnDeploy: true,
        idleGuard: 0,
        redisUrl: redis.url,
        leaseS: LEASE_S,
        credentials: { token: sim.token },
      },
      {
        id: "s1",
        type: "ivrapi-start",
        z: "t1",
        x: 100,
        y: 100,
        connection: "c1",
        key: "",
        componentName: "",
        wires: [[], [], ["r1"]],
      },
      {
        id: "r1",
        type: "function",
        z: "t1",
        x: 300,
        y: 100,
        func: "node.log('RESUMED ' + msg.ivr.ivrid + ' ' + JSON.stringify(msg.ivr.resumed) + ' ' + msg.ivr.callid);\nreturn msg;",
        outputs: 1,
        wires: [["a1"]],
      },
      {
        id: "a1",
        type: "ivrapi-apply",
        z: "t1",
        x: 500,
        y: 100,
        connection: "c1",
        data: JSON.stringify({ oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" }),
        dataType: "json",
        transferKeys: ["transfer"],
        busy: "reject",
        timeout: 0,
        wires: [[], []],
      },
    ];
    const res = await fetch(`http://127.0.0.1:${x.port}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flows),
    });
    assert.equal(res.status, 204);
    return connected(x, before);
  }

  /** Waits for the instance's new, subscribed simulator connection and its owner entry in Redis. */
  async function connected(x: Omit<Instance, "conn" | "owner">, before: Set<string>): Promise<Instance> {
    let conn = "";
    await until(`${x.name} connected`, () => {
      const fresh = sim.connections().filter((c) => !before.has(c.id) && c.subscriptions.length > 0);
      conn = fresh[0]?.id ?? "";
      return fresh.length === 1;
    });
    let owner = "";
    await until(`${x.name} in Redis`, async () => {
      owner = (await owners()).find((o) => o.split(":").at(-2) === String(x.red.child.pid)) ?? "";
      return owner !== "";
    });
    return { ...x, conn, owner };
  }

  async function owners(): Promise<string[]> {
    return (await redis.command("HKEYS", await key("owners"))) as string[];
  }

  /** The key every instance uses (one namespace: the same platform URL). */
  async function key(suffix: string): Promise<string> {
    return `ivrapi:{${namespaceFor(sim.wsUrl)}}:${suffix}`;
  }

  async function ownerOf(ivrid: string): Promise<string | null> {
    return (await redis.command("HGET", await key(`call:${ivrid}`), "owner")) as string | null;
  }

  const byName = (n: string) => instances.find((x) => x.name === n) as Instance;
  const holderOf = (ivrid: string) => instances.find((x) => x.conn === sim.getCall(ivrid)?.controller);
  const reaccepts = (ivrid: string) =>
    frames(sim, "ivrapi_reaccept", "in").filter((f) => (f.body as { ivrid: string }).ivrid === ivrid);

  it("spreads 30 calls over the three instances, each recorded in Redis under its ivrid with its owner and api_start", async () => {
    for (const x of instances) {
      // The others' sockets are not read for a moment: their accepts come late and lose the race.
      for (const o of instances) if (o !== x) sim.faults.freeze(o.conn);
      const ids = Array.from({ length: PER_INSTANCE }, () => sim.placeCall({ key: "k" }).ivrid);
      await until(`${x.name} controls its calls`, () => ids.every((id) => sim.getCall(id)?.controller === x.conn));
      sim.faults.clear();
      for (const id of ids) first.set(id, x.name);
    }
    for (const [id, name] of first) {
      await until(`${id} in Redis`, async () => (await ownerOf(id)) === byName(name).owner);
      const start = JSON.parse((await redis.command("HGET", await key(`call:${id}`), "start")) as string);
      assert.equal(start.ivrid, id);
      assert.equal(start.callid, sim.getCall(id)?.callid);
    }
  });

  it("kill -9: each of its calls is taken over by exactly one survivor within lease + 2 s, out of the resumed output", async () => {
    const a = byName("A");
    const mine = [...first].filter(([, n]) => n === "A").map(([id]) => id);
    const t0 = Date.now();
    a.red.child.kill("SIGKILL");
    await until(
      "every call of A taken over",
      () => mine.every((id) => ["B", "C"].includes(holderOf(id)?.name ?? "")),
      LEASE_MS + 5000,
      10,
    );
    const ms = Date.now() - t0;
    assert.ok(ms <= LEASE_MS + 2000, `taken over ${ms} ms after the kill`);
    await until("each came out of a resumed output", () => {
      const seen = [...byName("B").resumed(), ...byName("C").resumed()].map((r) => r.ivrid);
      return mine.every((id) => seen.includes(id));
    });
    for (const id of mine) {
      assert.equal(reaccepts(id).length, 1, `${id}: one reaccept`);
      const survivor = holderOf(id) as Instance;
      const outs = [...byName("B").resumed(), ...byName("C").resumed()].filter((r) => r.ivrid === id);
      assert.equal(outs.length, 1, `${id}: resumed once`);
      assert.deepEqual(outs[0]?.resumed, { why: "failover" });
      assert.equal(outs[0]?.callid, sim.getCall(id)?.callid, "msg.ivr whole (callid from the stored api_start)");
      assert.ok(
        survivor.resumed().some((r) => r.ivrid === id),
        "from the survivor that holds it",
      );
      assert.equal(await ownerOf(id), survivor.owner);
    }
    // The survivors' flows drive them: the apply after the resumed output went through.
    await until("a component plays on every taken call", () =>
      mine.every((id) => (sim.getCall(id)?.component ?? null) !== null),
    );
    // Nothing else moved.
    for (const [id, name] of first) if (name !== "A") assert.equal(holderOf(id)?.name, name);
    assert.equal(frames(sim, "ivrapi_reaccept", "in").length, mine.length);
    // The dead instance's entry is gone once its calls moved.
    await until("A gone from Redis", async () => !(await owners()).includes(a.owner));
  });

  it("the killed instance started again does not fight for its old calls", async () => {
    const old = byName("A");
    const before = new Set(sim.connections().map((c) => c.id));
    const reaccepted = frames(sim, "ivrapi_reaccept", "in").length;
    const red = await spawnNodeRed(["--settings", path.join(old.userDir, "settings.js")], { cwd: old.userDir });
    const back = await connected({ ...old, red, resumed: () => [] }, before);
    instances.splice(instances.indexOf(old), 1, back);
    // Armed after one lease; then a scan at least every third of a lease: give it two leases to misbehave.
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    assert.equal(frames(sim, "ivrapi_reaccept", "in").length, reaccepted, "no reaccept from anyone");
    assert.equal(
      sim.log.filter((e) => e.dir === "in" && e.conn === back.conn && e.name.startsWith("ivrapi_")).length,
      0,
      "it sent nothing for any call",
    );
  });

  it("a frozen instance (SIGSTOP) loses its calls to one survivor each and, thawed, does not take them back", async () => {
    const b = byName("B");
    const mine = [...first.keys()].filter((id) => holderOf(id) === b);
    assert.ok(mine.length >= PER_INSTANCE);
    const reacceptedBefore = new Map(mine.map((id) => [id, reaccepts(id).length]));
    const logFrom = sim.log.length;
    b.red.child.kill("SIGSTOP");
    try {
      await until(
        "B's calls taken over",
        () => mine.every((id) => holderOf(id) !== undefined && holderOf(id) !== b),
        LEASE_MS + 5000,
        10,
      );
    } finally {
      b.red.child.kill("SIGCONT");
    }
    await until("B says it lost them", () => /taken over by another instance/.test(b.red.output()), LEASE_MS + 3000);
    for (const id of mine) {
      assert.equal(reaccepts(id).length, (reacceptedBefore.get(id) ?? 0) + 1, `${id}: one reaccept, not B's`);
      assert.notEqual(holderOf(id), b);
      assert.equal(await ownerOf(id), holderOf(id)?.owner);
    }
    assert.equal(
      sim.log.slice(logFrom).filter((e) => e.dir === "in" && e.conn === b.conn && e.name === "ivrapi_reaccept").length,
      0,
      "B sent no reaccept since it froze",
    );
  });

  it("Redis restarted mid-run: calls are still taken, and every instance writes what it holds again within one lease", async () => {
    await redis.kill();
    const late = Array.from({ length: 3 }, () => sim.placeCall({ key: "k" }).ivrid);
    await until("calls taken without Redis", () => late.every((id) => holderOf(id) !== undefined));
    await redis.start();
    const t0 = Date.now();
    const controlled = () => sim.calls().filter((c) => c.phase === "controlled");
    await until(
      "every controlled call in Redis again, under its holder",
      async () => {
        for (const c of controlled()) {
          const holder = instances.find((x) => x.conn === c.controller);
          if (!holder || (await ownerOf(c.ivrid)) !== holder.owner) return false;
        }
        return (await owners()).length === 3;
      },
      LEASE_MS + 2000,
      20,
    );
    const ms = Date.now() - t0;
    assert.ok(ms <= LEASE_MS, `written again ${ms} ms after Redis came back`);
    assert.ok(controlled().length >= 3 * PER_INSTANCE + 3);
    for (const x of instances) {
      const warned = x.red.output().match(/Redis at [^\n]* unreachable/g) ?? [];
      assert.equal(warned.length, 1, `${x.name}: one warning for the outage`);
    }
  });
});
