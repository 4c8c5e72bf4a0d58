// Options with their defaults, and the small conversions the server needs.
import { randomBytes } from "node:crypto";
import type { RawData } from "ws";
import type { ResolvedOptions, SimulatorOptions } from "./types";

export function resolveOptions(o: SimulatorOptions): ResolvedOptions {
  return {
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 0,
    token: o.token ?? randomBytes(16).toString("hex"),
    acceptTimeoutMs: o.acceptTimeoutMs ?? 30_000,
    linkTtlMs: o.linkTtlMs ?? 300_000,
    capabilities: [...(o.capabilities ?? ["ivrapi", "subscr"])],
    componentStoppedIvrid: o.componentStoppedIvrid ?? false,
    stoppedBeforeAnswer: o.stoppedBeforeAnswer ?? false,
    durations: { ...(o.durations ?? {}) },
    manual: o.manual ?? false,
    log: o.log ?? (() => {}),
    logging: o.log !== undefined,
    ...(o.tls ? { tls: o.tls } : {}),
  };
}

export function rawText(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
