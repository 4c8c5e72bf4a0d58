// Failover at runtime level: clients + registries + coordinators (src/session/failover.ts) against the simulator over
// loopback, and one real redis-server. An instance "dies" when its renewals stop and its socket goes; it "comes back"
// when a Redis link that was cut (a TCP proxy the test controls) is restored.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { IvrApiClient } from "../../src/client";
import { Failover, RedisStore, SessionRegistry } from "../../src/session";
import type { CallInfo, ResumeInfo, SessionEnd } from "../../src/session/types";
import { Simulator } from "../../src/simulator";
import { type RedisServer, startRedis } from "../helpers/redis";
import { frames, once, recordingLogger } from "../helpers/runtime";
import { until } from "../helpers/wait";

const LEASE_MS = 2000;
const P = "ivrapi:{test}:";

interface Instance {
  name: string;
  client: IvrApiClient;
  reg: SessionRegistry;
  fo: Failover;
  /** The simulator's id of its current connection. */
  conn: string;
  log: ReturnType<typeof recordingLogger>;
  resumed: Array<[CallInfo, ResumeInfo]>;
  ends: Array<[CallInfo, SessionEnd]>;
  /** Calls whose key is in this set are accepted by this instance when offered. */
  keys: Set<string>;
  /** Which calls this instance would drive after a failover. */
  canTake: (call: CallInfo) => boolean;
  /** Dies: no more renewals, the socket goes without a word (as kill -9 would). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

describe("failover (runtime): leases, takeovers and a real Redis", function () {
  this.timeout(30_000);
  let sim: Simulator;
  let redis: RedisServer;
  let instances: Instance[] = [];
  let proxies: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    sim = await Simulator.start({ manual: true, acceptTimeoutMs: 600_000 });
    await redis.command("FLUSHALL");
  });
  afterEach(async () => {
    await Promise.all(instances.map((i) => i.close()));
    await Promise.all(proxies.map((p) => p.close()));
    instances = [];
    proxies = [];
    await sim.stop();
  });

  async function instance(name: string, o: { redisPort?: number; keys?: string[] } = {}): Promise<Instance> {
    const client = new IvrApiClient({
      url: sim.wsUrl,
      token: sim.token,
      requestTimeoutMs: 2000,
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
      pingIntervalMs: 0,
    });
    const log = recordingLogger();
    let fo: Failover | undefined;
    const reg = new SessionRegistry(client, { mayReaccept: (call) => fo?.mayReaccept(call) ?? true });
    const store = new RedisStore({
      url: `redis://127.0.0.1:${o.redisPort ?? redis.port}/0`,
      namespace: "test",
      reconnectMaxMs: 200,
    });
    fo = new Failover({ store, registry: reg, leaseMs: LEASE_MS, log, owner: name, where: "Redis" });
    const inst: Instance = {
      name,
      client,
      reg,
      fo,
      conn: "",
      log,
      resumed: [],
      ends: [],
      keys: new Set(o.keys ?? []),
      canTake: () => true,
      async kill() {
        fo?.stop();
        await client.close();
        reg.dispose();
        await fo?.close();
      },
      async close() {
        await fo?.close();
        reg.dispose();
        await client.close();
      },
    };
    reg.on("api_start", (call) => {
      if (inst.keys.has(call.key)) void reg.accept(call);
    });
    reg.on("resumed", (call, info) => inst.resumed.push([call, info]));
    reg.on("session_end", (call, end) => inst.ends.push([call, end]));
    fo.start({ canTake: (call) => inst.canTake(call), claim: () => true, unclaim: () => {} });
    const ready = once(client, "ready");
    client.start();
    await ready;
    inst.conn = sim.connections().at(-1)?.id ?? "";
    client.on("ready", () => {
      inst.conn = sim.connections().at(-1)?.id ?? "";
    });
    instances.push(inst);
    return inst;
  }

  /** Places calls with `key` and waits until `by` controls them all and has recorded them in Redis. */
  async function hold(by: Instance, key: string, n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, () => sim.placeCall({ key }).ivrid);
    await until(`${by.name} controls ${n} calls`, () => ids.every((id) => by.reg.get(id)), 10_000, 10);
    await until(`${by.name}'s calls in Redis`, async () => {
      const held = (await redis.command("SMEMBERS", `${P}owned:${by.name}`)) as string[];
      return ids.every((id) => held.includes(id));
    });
    return ids;
  }

  async function ownerOf(ivrid: string): Promise<string | null> {
    return (await redis.command("HGET", `${P}call:${ivrid}`, "owner")) as string | null;
  }

  const armed = (...xs: Instance[]) =>
    until("the survivors armed (connected to Redis for a lease)", () => xs.every((x) => x.fo.armed), 10_000, 20);

  const reaccepts = (ivrid: string) =>
    frames(sim, "ivrapi_reaccept", "in").filter((f) => (f.body as { ivrid: string }).ivrid === ivrid);

  it("a dead instance's calls: each taken by exactly one survivor within lease + 2 s, resumed with why failover", async () => {
    const a = await instance("A", { keys: ["a"] });
    const b = await instance("B");
    const c = await instance("C");
    const ids = await hold(a, "a", 12);
    // The api_start data is whole in Redis, under a key holding the ivrid.
    const rec = JSON.parse((await redis.command("HGET", `${P}call:${ids[0]}`, "start")) as string);
    assert.equal(rec.ivrid, ids[0]);
    assert.equal(typeof rec.callid, "string");
    await armed(b, c);

    const t0 = Date.now();
    await a.kill();
    // Taken over: the platform says a survivor controls it, and that survivor has had the answer.
    const takenBy = (id: string) => [b, c].find((x) => sim.getCall(id)?.controller === x.conn && x.reg.get(id));
    await until("every call taken over", () => ids.every((id) => takenBy(id)), LEASE_MS + 2000 + 1000, 10);
    const ms = Date.now() - t0;
    assert.ok(ms <= LEASE_MS + 2000, `taken over in ${ms} ms`);
    for (const id of ids) {
      assert.equal(reaccepts(id).length, 1, `one reaccept for ${id}`);
      const holders = [b, c].filter((x) => x.reg.get(id));
      assert.deepEqual(
        holders.map((x) => x.name),
        [takenBy(id)?.name],
        `${id} held by exactly one survivor`,
      );
      const holder = holders[0] as Instance;
      assert.equal(sim.getCall(id)?.controller, holder.conn);
      const res = [...b.resumed, ...c.resumed].filter(([call]) => call.ivrid === id);
      assert.equal(res.length, 1, `${id} resumed once`);
      assert.deepEqual(res[0]?.[1], { why: "failover" });
      assert.equal(res[0]?.[0].start.callid, sim.getCall(id)?.callid);
    }
    await until("Redis names the new owners", async () => {
      for (const id of ids) if ((await ownerOf(id)) !== (b.reg.get(id) ? "B" : "C")) return false;
      return true;
    });
    assert.equal(await redis.command("HEXISTS", `${P}owners`, "A"), 0, "the dead instance is gone from Redis");
    assert.equal(await redis.command("EXISTS", `${P}owned:A`), 0);
    // The survivor drives the call: its first apply goes through (whatever may have run before was terminated first).
    const id = ids[0] as string;
    const holder = b.reg.get(id) ? b : c;
    const played = holder.reg.apply(id, { oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: (x) => x.result === "ok" });
    sim.finishComponent(id);
    assert.equal((await played).transferKey, "transfer");
  });

  it("calls leave Redis when they end: api_stop, abort, and an api_stop after their owner died", async () => {
    const a = await instance("A", { keys: ["a"] });
    const b = await instance("B");
    b.canTake = () => false; // nobody takes the dead instance's call: it stays until its api_stop
    const [hung, aborted, left] = await hold(a, "a", 3);
    sim.hangup(hung as string);
    await a.reg.abort(aborted as string);
    await until("ended calls gone from Redis", async () => {
      const held = (await redis.command("SMEMBERS", `${P}owned:A`)) as string[];
      return held.length === 1 && held[0] === left && (await ownerOf(hung as string)) === null;
    });
    assert.equal(await ownerOf(aborted as string), null);
    await a.kill();
    await until("A's lease ran out", async () => (await redis.command("EXISTS", `${P}lease:A`)) === 0, LEASE_MS + 1000);
    assert.equal(await ownerOf(left as string), "A");
    sim.hangup(left as string);
    await until("the dead instance's ended call gone", async () => (await ownerOf(left as string)) === null);
    assert.equal(await redis.command("HEXISTS", `${P}owners`, "A"), 0);
    assert.equal(frames(sim, "ivrapi_reaccept", "in").length, 0);
  });

  it("an instance that comes back after its lease ran out does not take its calls back (Redis back, socket kept)", async () => {
    const link = await tcpProxy(redis.port);
    proxies.push(link);
    const a = await instance("A", { keys: ["a"], redisPort: link.port });
    const b = await instance("B");
    const ids = await hold(a, "a", 5);
    await armed(b);
    link.cut(); // A can no longer renew: to the others it is dead, though it still runs and keeps its socket
    await until("B took every call", () => ids.every((id) => b.reg.get(id)), LEASE_MS + 3000, 10);
    await until("warned once", () => a.log.lines.some((l) => l.startsWith("warn:") && l.includes("unreachable")));
    // A still believes it controls them; the platform refuses it.
    assert.equal(a.reg.size, 5);
    await assert.rejects(a.reg.apply(ids[0] as string, { oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" }));
    const aFrom = sim.log.length;
    link.restore();
    await until("A let the calls go", () => a.reg.size === 0, LEASE_MS + 2000, 10);
    for (const id of ids) {
      assert.ok(a.ends.some(([call, end]) => call.ivrid === id && end.reason === "taken_over"));
      assert.equal(sim.getCall(id)?.controller, b.conn);
      assert.equal(await ownerOf(id), "B");
      assert.equal(reaccepts(id).length, 1);
    }
    const sentByA = sim.log.slice(aFrom).filter((e) => e.dir === "in" && e.conn === a.conn);
    assert.deepEqual(
      sentByA.map((e) => e.name),
      [],
      "A sent nothing for them",
    );
    assert.equal(a.log.lines.filter((l) => l.startsWith("warn:") && l.includes("unreachable")).length, 1);
  });

  it("an instance whose socket comes back after its lease ran out, with Redis still out of reach, does not reaccept", async () => {
    const link = await tcpProxy(redis.port);
    proxies.push(link);
    const a = await instance("A", { keys: ["a"], redisPort: link.port });
    const b = await instance("B");
    const ids = await hold(a, "a", 4);
    await armed(b);
    link.cut();
    await until("B took every call", () => ids.every((id) => b.reg.get(id)), LEASE_MS + 3000, 10);
    const ended = until("A ended them as taken over", () => a.reg.size === 0, LEASE_MS * 2 + 2000, 10);
    const back = once(a.client, "ready", () => true, 5000);
    sim.dropConnections([a.conn]);
    await back;
    await ended;
    for (const id of ids) {
      assert.ok(a.ends.some(([call, end]) => call.ivrid === id && end.reason === "taken_over"));
      assert.equal(reaccepts(id).length, 1, "only B's");
      assert.equal(sim.getCall(id)?.controller, b.conn);
    }
    // B, reconnecting in turn, takes its own calls back (rule 7): the store says they are B's.
    const bBack = once(b.client, "ready", () => true, 5000);
    sim.dropConnections([b.conn]);
    await bBack;
    await until("B reaccepted", () => ids.every((id) => reaccepts(id).length === 2), 5000, 10);
    for (const id of ids) assert.equal(sim.getCall(id)?.controller, b.conn);
  });

  it("Redis restarted mid-run: calls go on, and every instance writes what it holds again within one lease", async () => {
    const a = await instance("A", { keys: ["a"] });
    const b = await instance("B", { keys: ["b"] });
    const idsA = await hold(a, "a", 6);
    const idsB = await hold(b, "b", 6);
    await redis.kill();
    // While Redis is away: a new call is taken, a component runs and ends.
    const late = sim.placeCall({ key: "a" }).ivrid;
    await until("the new call taken without Redis", () => a.reg.get(late) !== undefined, 5000, 10);
    const played = b.reg.apply(idsB[0] as string, { oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result", where: (x) => x.result === "ok" });
    sim.finishComponent(idsB[0] as string);
    assert.equal((await played).transferKey, "transfer");
    await redis.start();
    const t0 = Date.now();
    const all = [...idsA, late, ...idsB];
    await until(
      "every held call in Redis again",
      async () => {
        for (const id of all) if ((await ownerOf(id)) !== (idsB.includes(id) ? "B" : "A")) return false;
        return (await redis.command("EXISTS", `${P}lease:A`, `${P}lease:B`)) === 2;
      },
      LEASE_MS + 1000,
      20,
    );
    const ms = Date.now() - t0;
    assert.ok(ms <= LEASE_MS, `written again ${ms} ms after Redis came back`);
    assert.equal(frames(sim, "ivrapi_reaccept", "in").length, 0, "nobody took anything over");
    for (const x of [a, b]) {
      assert.equal(x.log.lines.filter((l) => l.startsWith("warn:")).length, 1, `${x.name}: one warning`);
      assert.equal(x.log.lines.filter((l) => l.startsWith("info:") && l.includes("answers again")).length, 1);
    }
  });

  it("without a Redis URL nothing loads the Redis client", () => {
    const script = `
      require("./src/index");
      require("./src/nodes/ivrapi-connection");
      process.stdout.write(String(Object.keys(require.cache).filter((k) => k.includes("@redis")).length));`;
    const out = execFileSync(process.execPath, ["--require", "tsx/cjs", "-e", script], {
      cwd: path.join(__dirname, "..", ".."),
      encoding: "utf8",
    });
    assert.equal(out, "0");
  });

  it("close() releases every timer, listener and socket", async () => {
    const a = await instance("A", { keys: ["a"] });
    await hold(a, "a", 2);
    const before = {
      reg: a.reg.listenerCount("session_start") + a.reg.listenerCount("session_end"),
      client: a.client.listenerCount("api_stop") + a.client.listenerCount("state"),
    };
    const clients = () => redis.command("CLIENT", "LIST").then((t) => String(t).trim().split("\n").length);
    const withA = await clients();
    await a.fo.close();
    assert.equal(a.reg.listenerCount("session_start") + a.reg.listenerCount("session_end"), before.reg - 2);
    assert.equal(a.client.listenerCount("api_stop") + a.client.listenerCount("state"), before.client - 2);
    assert.equal(await clients(), withA - 1, "its Redis connection is closed");
    assert.equal(a.fo.armed, false);
  });
});

/** A TCP proxy to Redis that the test can cut (connections dropped, new ones refused) and restore. */
async function tcpProxy(targetPort: number): Promise<{
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}> {
  let open = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    if (!open) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(targetPort, "127.0.0.1");
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", drop);
      s.on("close", drop);
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close() {
      open = false;
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
