// Client settings. Every default PROTOCOL.md marks ASSUMED is one of these, so a user can match a real server
// without a code change. Parsed with zod: a bad setting is a clear error at construction, never a late crash.
import { ZodError, z } from "zod";
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_RESULT_RULES, type ResultRules } from "../protocol";
import { IvrApiError, maskSecret } from "./errors";

export const TOKEN_MODES = ["path", "header"] as const;
export type TokenMode = (typeof TOKEN_MODES)[number];

/** Node's timers fire after 1 ms for any delay above 2^31-1 ms: every duration is bounded by this. */
export const MAX_TIMER_MS = 2_147_483_647;
/** The longest duration in whole seconds that a timer can still wait (about 24.8 days). */
export const MAX_TIMER_S = Math.floor(MAX_TIMER_MS / 1000);

/** The most one frame may hold before the socket itself gives up (a frame must fit in memory to be refused). */
export const TRANSPORT_MAX_BYTES = 64 * 1024 * 1024;

const ms = z.number().int().nonnegative().max(MAX_TIMER_MS, "must be at most 2147483647 ms (about 24.8 days)");

export const ClientOptionsSchema = z.object({
  /** Base endpoint, e.g. `wss://pbx.example.com/ws/token/v1` (no token in it). */
  url: z
    .string()
    .trim()
    .refine((u) => /^wss?:\/\/[^/\s]+/i.test(u), { message: "url must start with ws:// or wss:// and name a host" }),
  token: z.string().min(1, "token is empty"),
  /** `path`: `/ws/token/v1/TOKEN` (vendor default); `header`: `Authorization: Bearer TOKEN`. */
  tokenMode: z.enum(TOKEN_MODES).default("path"),
  /** A request with no `_result` within this fails with a timeout error. */
  requestTimeoutMs: ms.min(1).default(10_000),
  /** Lifetime asked for the ivrevents subscription; renewed at `renewAt` of it (vendor: 3600 s, renew ~3000 s). */
  subscriptionTtlS: z.number().int().min(1).max(MAX_TIMER_S, `must be at most ${MAX_TIMER_S} s`).default(3600),
  renewAt: z
    .number()
    .gt(0)
    .lt(1)
    .default(5 / 6),
  /** Subscription id of our choosing (echoed in notifications). */
  subscriptionId: z.string().min(1).optional(),
  events: z.array(z.string().min(1)).min(1).default(["ivrevents.api_start", "ivrevents.api_stop"]),
  requiredCapabilities: z.array(z.string()).default(["ivrapi", "subscr"]),
  /** Reconnect backoff: min·factor^n, capped at max, ± jitter (a fraction of the delay). */
  reconnectMinMs: ms.min(1).default(1000),
  reconnectMaxMs: ms.min(1).default(30_000),
  reconnectFactor: z.number().min(1).default(2),
  reconnectJitter: z.number().min(0).max(1).default(0.3),
  /** After 401/403 or a missing capability: retried this slowly, never in a tight loop. */
  unauthorizedRetryMs: ms.min(1).default(60_000),
  /** WebSocket ping every this many ms (0 = off); no pong within two intervals = dead socket, reopened. */
  pingIntervalMs: ms.default(30_000),
  handshakeTimeoutMs: ms.min(1).default(10_000),
  /** TLS for wss: custom CA (PEM) and whether to verify the server certificate. */
  ca: z.union([z.string(), z.instanceof(Buffer)]).optional(),
  rejectUnauthorized: z.boolean().default(true),
  /** Larger frames are refused one by one (up to TRANSPORT_MAX_BYTES, where the socket itself closes). */
  maxFrameBytes: z.number().int().min(1024).max(TRANSPORT_MAX_BYTES).default(DEFAULT_MAX_FRAME_BYTES),
  /** ASSUMED result markers (see protocol/result.ts). */
  okValue: z.string().default(DEFAULT_RESULT_RULES.okValue),
  okWithoutResult: z.boolean().default(DEFAULT_RESULT_RULES.okWithoutResult),
  reasonFields: z.array(z.string()).default(DEFAULT_RESULT_RULES.reasonFields),
  errorFields: z.array(z.string()).default(DEFAULT_RESULT_RULES.errorFields),
});

export type ClientOptionsInput = z.input<typeof ClientOptionsSchema>;
export type ClientOptions = z.output<typeof ClientOptionsSchema>;

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Parses the options; a bad one is an IvrApiError `invalid` whose text never echoes the token. */
export function parseClientOptions(input: ClientOptionsInput): ClientOptions {
  try {
    return ClientOptionsSchema.parse(input);
  } catch (err) {
    const text =
      err instanceof ZodError ? err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : String(err);
    throw new IvrApiError("invalid", `invalid client options: ${maskSecret(text, input.token)}`);
  }
}

export function resultRulesOf(o: ClientOptions): ResultRules {
  return {
    okValue: o.okValue,
    reasonFields: o.reasonFields,
    errorFields: o.errorFields,
    okWithoutResult: o.okWithoutResult,
  };
}
