// The failover coordinator of a connection node whose settings name a Redis (redisUrl): instances connected to the
// same platform URL share one namespace in Redis. The Redis client itself is loaded only here, on first use.
import type { Logger } from "../../client/options";
import { Failover } from "../../session/failover";
import { describeRedisUrl, namespaceFor, RedisStore } from "../../session/redis-store";
import type { SessionRegistry } from "../../session/registry";

export function openFailover(
  cfg: { url: string; redisUrl: string; leaseS: number },
  registry: SessionRegistry,
  log: Logger,
): Failover {
  const leaseMs = cfg.leaseS * 1000;
  return new Failover({
    store: new RedisStore({
      url: cfg.redisUrl,
      namespace: namespaceFor(cfg.url),
      // A restarted Redis is found again well within a lease: the calls are written again in time.
      reconnectMaxMs: Math.min(1000, Math.floor(leaseMs / 4)),
    }),
    registry,
    leaseMs,
    log,
    where: describeRedisUrl(cfg.redisUrl),
  });
}
