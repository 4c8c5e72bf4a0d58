// The failover store on Redis (node-redis's core, @redis/client: the official client, no dependencies of its own).
// Loaded only when a connection names a Redis URL: the single-instance default needs nothing of it.
//
// Keys, all under `ivrapi:{<namespace>}:` (one hash tag, so a Redis Cluster keeps them in one slot and the scripts
// may touch them together); instances share calls when they use the same namespace (by default: the platform URL):
//   owners          hash   owner → {host, pid, since}: every instance that recorded calls
//   lease:<owner>   string that instance's lease, PX = the lease (renewed about every third of it)
//   owned:<owner>    set    the ivrids it controls
//   call:<ivrid>    hash   owner, key, start (the api_start data as JSON: a survivor's msg.ivr is whole)
//   lock:<ivrid>    string the instance taking the call over, PX = the lock (SET NX)
// Every change that must be atomic (take a lock only if the owner's lease ran out, move a call between owners) is one
// Lua script.
import { createHash } from "node:crypto";
import type { ApiStartData } from "../protocol";
import type { ClaimOutcome, FailoverStore, OwnerLease, StoredCall } from "./failover";

export interface RedisStoreOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). */
  url: string;
  /** Instances that share calls use the same namespace (see namespaceFor). */
  namespace: string;
  /** Longest wait between reconnect attempts (ms, default 1000): a restarted Redis is found again within it. */
  reconnectMaxMs?: number;
  /** How long one connect attempt may take (ms, default 2000). */
  connectTimeoutMs?: number;
}

/** The part of node-redis's client used here. */
interface RedisConnection {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  sendCommand<T>(args: readonly string[]): Promise<T>;
  on(event: "ready" | "error" | "end", listener: (err?: Error) => void): unknown;
  removeAllListeners(): unknown;
  close(): Promise<void>;
  destroy(): void;
}

/** A namespace for the instances connected to one platform: a hash of its URL (host, port, path; no token). */
export function namespaceFor(platformUrl: string): string {
  let text = platformUrl.trim();
  try {
    const u = new URL(text);
    text = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    // Not a URL: hash it as it is.
  }
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** Where a Redis URL points, for log lines: no user, no password. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `Redis at ${u.host}${u.pathname && u.pathname !== "/" ? u.pathname : ""}`;
  } catch {
    return "Redis";
  }
}

// Shared by the scripts: a call leaves its owner's set; an owner with no calls and no lease leaves `owners`.
const DETACH = `
local function detach(P, owner, id)
  local owned = P .. 'owned:' .. owner
  redis.call('SREM', owned, id)
  if redis.call('SCARD', owned) == 0 and redis.call('EXISTS', P .. 'lease:' .. owner) == 0 then
    redis.call('HDEL', P .. 'owners', owner)
  end
end
`;

// KEYS: lease:<me>, owners. ARGV: info, leaseMs, me.
const RENEW = `
local had = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return had
`;

// KEYS: call:<id>, owned:<me>, lock:<id>. ARGV: P, me, id, key, start.
const RECORD = `
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'key', ARGV[4], 'start', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
return 1
`;

const PUT = `${DETACH}
local prev = redis.call('HGET', KEYS[1], 'owner')
if prev and prev ~= ARGV[2] then detach(ARGV[1], prev, ARGV[3]) end
${RECORD}`;

const RECLAIM = `${DETACH}
local lock = redis.call('GET', KEYS[3])
if lock and lock ~= ARGV[2] then return 0 end
local prev = redis.call('HGET', KEYS[1], 'owner')
if prev and prev ~= ARGV[2] then
  if redis.call('EXISTS', ARGV[1] .. 'lease:' .. prev) == 1 then return 0 end
  detach(ARGV[1], prev, ARGV[3])
end
${RECORD}`;

// KEYS: call:<id>, lock:<id>. ARGV: P, me, id, mode (mine | ended).
const RELEASE = `${DETACH}
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return 0 end
if owner ~= ARGV[2] then
  if ARGV[4] == 'mine' then return 0 end
  if redis.call('EXISTS', ARGV[1] .. 'lease:' .. owner) == 1 then return 0 end
end
redis.call('DEL', KEYS[1])
detach(ARGV[1], owner, ARGV[3])
return 1
`;

// KEYS: owners. ARGV: P.
const OWNERS = `
local out = {}
for _, o in ipairs(redis.call('HKEYS', KEYS[1])) do
  out[#out + 1] = o
  out[#out + 1] = redis.call('PTTL', ARGV[1] .. 'lease:' .. o)
end
return out
`;

// KEYS: owned:<owner>, owners. ARGV: P, owner. Members whose record moved on are dropped from the set.
const CALLS_OF = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local r = redis.call('HMGET', ARGV[1] .. 'call:' .. id, 'owner', 'start')
  if r[1] == ARGV[2] then
    out[#out + 1] = id
    out[#out + 1] = r[2]
  else
    redis.call('SREM', KEYS[1], id)
  end
end
if #out == 0 and redis.call('EXISTS', ARGV[1] .. 'lease:' .. ARGV[2]) == 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return out
`;

// KEYS: call:<id>, lock:<id>. ARGV: P, me, from, lockMs.
const CLAIM = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return 'gone' end
if owner == ARGV[2] then return 'mine' end
if owner ~= ARGV[3] or redis.call('EXISTS', ARGV[1] .. 'lease:' .. owner) == 1 then return 'alive' end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[4]) then return 'locked' end
return 'claimed'
`;

// KEYS: lock:<id>. ARGV: me.
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class RedisStore implements FailoverStore {
  /** The key prefix: `ivrapi:{namespace}:`. */
  readonly prefix: string;
  private readonly options: RedisStoreOptions;
  private conn: RedisConnection | undefined;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    this.options = options;
    this.prefix = `ivrapi:{${options.namespace}}:`;
  }

  open(onState: (up: boolean, why?: string) => void): void {
    if (this.conn || this.closed) return;
    // Loaded here, not at the top: a connection without Redis never loads the client.
    const { createClient } = require("@redis/client") as typeof import("@redis/client");
    const maxMs = this.options.reconnectMaxMs ?? 1000;
    const conn = createClient({
      url: this.options.url,
      // Fail at once while disconnected (the coordinator writes everything again when Redis is back) rather than
      // queue commands without bound.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.options.connectTimeoutMs ?? 2000,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), maxMs),
      },
    }) as unknown as RedisConnection;
    this.conn = conn;
    conn.on("ready", () => onState(true));
    conn.on("error", (err) => onState(false, err?.message ?? "error"));
    conn.on("end", () => {
      if (!this.closed) onState(false, "connection closed");
    });
    // The first connect retries by itself (reconnectStrategy); its failures arrive as "error" events.
    conn.connect().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (conn.isOpen) {
        await Promise.race([
          conn.close(),
          new Promise((r) => {
            timer = setTimeout(r, 1000);
          }),
        ]);
      }
    } catch {
      // Closing a connection that is already gone.
    } finally {
      clearTimeout(timer);
      if (conn.isOpen) conn.destroy();
      conn.removeAllListeners();
    }
  }

  async renew(owner: string, info: string, leaseMs: number): Promise<boolean> {
    const had = await this.eval<number>(
      RENEW,
      [this.key("lease", owner), this.key("owners")],
      [info, String(Math.ceil(leaseMs)), owner],
    );
    return Number(had) === 1;
  }

  async put(owner: string, call: StoredCall): Promise<void> {
    await this.eval(PUT, this.callKeys(owner, call.ivrid), this.callArgs(owner, call));
  }

  async reclaim(owner: string, call: StoredCall): Promise<boolean> {
    return Number(await this.eval(RECLAIM, this.callKeys(owner, call.ivrid), this.callArgs(owner, call))) === 1;
  }

  async release(owner: string, ivrid: string, mode: "mine" | "ended"): Promise<void> {
    await this.eval(RELEASE, [this.key("call", ivrid), this.key("lock", ivrid)], [this.prefix, owner, ivrid, mode]);
  }

  owned(owner: string): Promise<string[]> {
    return this.command<string[]>(["SMEMBERS", this.key("owned", owner)]);
  }

  async owners(): Promise<OwnerLease[]> {
    const flat = await this.eval<Array<string | number>>(OWNERS, [this.key("owners")], [this.prefix]);
    const out: OwnerLease[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const ttl = Number(flat[i + 1]);
      // PTTL: -2 no such key (the lease ran out), -1 a key without expiry (not ours to judge: never taken).
      out.push({ owner: String(flat[i]), ttlMs: ttl === -1 ? Number.POSITIVE_INFINITY : Math.max(0, ttl) });
    }
    return out;
  }

  async callsOf(owner: string): Promise<StoredCall[]> {
    const flat = await this.eval<string[]>(
      CALLS_OF,
      [this.key("owned", owner), this.key("owners")],
      [this.prefix, owner],
    );
    const out: StoredCall[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const start = parseStart(flat[i + 1]);
      if (start && start.ivrid === flat[i]) out.push({ ivrid: start.ivrid, start });
    }
    return out;
  }

  async claim(owner: string, ivrid: string, from: string, lockMs: number): Promise<ClaimOutcome> {
    const out = await this.eval<string>(
      CLAIM,
      [this.key("call", ivrid), this.key("lock", ivrid)],
      [this.prefix, owner, from, String(Math.ceil(lockMs))],
    );
    return String(out) as ClaimOutcome;
  }

  async unlock(owner: string, ivrid: string): Promise<void> {
    await this.eval(UNLOCK, [this.key("lock", ivrid)], [owner]);
  }

  // -------------------------------------------------------------------------------------------

  private key(kind: "owners" | "lease" | "owned" | "call" | "lock", id = ""): string {
    return kind === "owners" ? `${this.prefix}owners` : `${this.prefix}${kind}:${id}`;
  }

  private callKeys(owner: string, ivrid: string): string[] {
    return [this.key("call", ivrid), this.key("owned", owner), this.key("lock", ivrid)];
  }

  private callArgs(owner: string, call: StoredCall): string[] {
    return [this.prefix, owner, call.ivrid, call.start.key, JSON.stringify(call.start)];
  }

  private eval<T>(script: string, keys: string[], args: string[]): Promise<T> {
    return this.command<T>(["EVAL", script, String(keys.length), ...keys, ...args]);
  }

  private command<T>(args: string[]): Promise<T> {
    const conn = this.conn;
    if (!conn || this.closed) return Promise.reject(new Error("the Redis connection is closed"));
    return conn.sendCommand<T>(args);
  }
}

function parseStart(text: string | undefined): ApiStartData | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v && typeof v === "object" && typeof v.ivrid === "string" && typeof v.key === "string") {
      return v as unknown as ApiStartData;
    }
  } catch {
    // A record this version cannot read is left alone.
  }
  return undefined;
}
