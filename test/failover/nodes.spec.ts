// A connection node with Redis set, in node-red-node-test-helper: its calls are recorded in Redis, deploys neither
// leak Redis connections nor lose the records (an unchanged connection keeps its coordinator; a changed one records
// the moved calls under its new name), and closing releases the Redis connection.
import assert from "node:assert/strict";
import { namespaceFor } from "../../src/session/redis-store";
import type { Simulator } from "../../src/simulator";
import { type RedisServer, startRedis } from "../helpers/redis";
import { frames } from "../helpers/runtime";
import { until } from "../helpers/wait";
import {
  collect,
  connectionDef,
  credentials,
  eachWithSimulator,
  type FlowNode,
  helper,
  hub,
  load,
  onTab,
  ready,
  startWired,
} from "../nodes/harness";

describe("failover (nodes): a connection node with Redis", function () {
  this.timeout(20_000);
  let sim: Simulator;
  let redis: RedisServer;
  eachWithSimulator((s) => {
    sim = s;
  });
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    await redis.command("FLUSHALL");
  });

  const flow = (extra: Record<string, unknown> = {}): FlowNode[] => [
    connectionDef(sim, { redisUrl: redis.url, leaseS: 2, idleGuard: 0, ...extra }),
    ...startWired(),
  ];
  const key = (suffix: string) => `ivrapi:{${namespaceFor(sim.wsUrl)}}:${suffix}`;
  /** Redis connections other than the one asking. */
  const redisClients = async () =>
    String(await redis.command("CLIENT", "LIST"))
      .trim()
      .split("\n").length - 1;
  const owners = async () => (await redis.command("HKEYS", key("owners"))) as string[];
  const ownerOf = async (ivrid: string) =>
    (await redis.command("HGET", key(`call:${ivrid}`), "owner")) as string | null;

  async function holdCalls(n: number): Promise<string[]> {
    const msgs = collect("call");
    const ids = Array.from({ length: n }, () => sim.placeCall({ key: "k" }).ivrid);
    await until(`${n} calls accepted`, () => msgs.length === n, 5000, 10);
    await until("recorded in Redis", async () => {
      const [owner] = await owners();
      if (!owner) return false;
      for (const id of ids) if ((await ownerOf(id)) !== owner) return false;
      return true;
    });
    return ids;
  }

  it("records calls; a deploy that keeps the connection keeps its Redis connection and records", async () => {
    await load(sim, flow());
    await ready();
    const ids = await holdCalls(4);
    const [owner] = await owners();
    assert.equal(await redisClients(), 1);
    const h = hub();
    await helper.setFlows(onTab(flow()), "full", credentials(sim));
    assert.equal(hub(), h, "same hub");
    assert.equal(await redisClients(), 1, "no second Redis connection");
    for (const id of ids) assert.equal(await ownerOf(id), owner);
    await helper.unload();
    // Node-RED stopping hands the calls back: their records go, and so does the Redis connection.
    await until("Redis connection closed", async () => (await redisClients()) === 0);
    for (const id of ids) assert.equal(await ownerOf(id), null);
  });

  it("a deploy that changes the connection records the moved calls under the new coordinator and closes the old one", async () => {
    await load(sim, flow());
    await ready();
    const ids = await holdCalls(4);
    const [old] = await owners();
    await helper.setFlows(onTab(flow({ leaseS: 3 })), "full", credentials(sim));
    await until("calls moved", () => frames(sim, "ivrapi_reaccept", "in").length === ids.length, 5000, 10);
    await until("recorded under the new coordinator", async () => {
      for (const id of ids) {
        const o = await ownerOf(id);
        if (o === null || o === old) return false;
      }
      return true;
    });
    await until("one Redis connection left", async () => (await redisClients()) === 1);
    assert.equal(await redis.command("SCARD", key(`owned:${old}`)), 0);
  });
});
