// The saved shape of each node (what the editor writes into flows.json), its migrations, and the zod schema
// that turns it into typed settings. The editor writes numbers as strings and old flows may lack fields:
// both are handled here, once, so a node never crashes on its own config.
import { z } from "zod";
import { MAX_TIMER_MS, MAX_TIMER_S } from "../../client/options";
import { BUSY_POLICIES } from "../../session/types";
import { type Migration, migrate, type RawConfig, withDefaults } from "./migrate";

const text = z.preprocess((v) => (v === undefined || v === null ? "" : String(v)), z.string());
const flag = (def: boolean) =>
  z.preprocess(
    (v) => (v === "true" ? true : v === "false" ? false : v === undefined || v === "" ? def : v),
    z.boolean(),
  );
const num = (def: number, min: number) =>
  z.preprocess((v) => (v === undefined || v === null || v === "" ? def : Number(v)), z.number().min(min));
/** Node timers fire at once beyond 2^31-1 ms: no duration setting may go past it. */
const TIMER_LIMIT = `must be at most ${MAX_TIMER_S} s (about 24.8 days; longer waits overflow Node's timers)`;
const TIMER_LIMIT_MS = `must be at most ${MAX_TIMER_MS} ms (about 24.8 days; longer waits overflow Node's timers)`;
const typed = <const T extends readonly [string, ...string[]]>(types: T, def: T[number]) =>
  z.preprocess((v) => (v === undefined || v === "" ? def : v), z.enum(types));

/** Value types a typedInput of the file node may hold. */
export const PROPERTY_TYPES = ["str", "msg", "flow", "global", "env", "jsonata"] as const;

// ---------------------------------------------------------------------------------------------

export const CONNECTION_DEFAULTS = {
  url: "ws://127.0.0.1:8765/ws/token/v1",
  tokenMode: "path",
  requestTimeout: 10000,
  subscriptionTtl: 3600,
  reaccept: true,
  rejectUnauthorized: true,
  keepCallsOnDeploy: true,
  idleGuard: 10,
  redisUrl: "",
  leaseS: 10,
};
export const ConnectionConfig = z.object({
  name: text,
  url: text.pipe(z.string().min(1, "url is empty")),
  tokenMode: z.enum(["path", "header"]),
  requestTimeout: num(CONNECTION_DEFAULTS.requestTimeout, 1).pipe(z.number().int().max(MAX_TIMER_MS, TIMER_LIMIT_MS)),
  subscriptionTtl: num(CONNECTION_DEFAULTS.subscriptionTtl, 1).pipe(z.number().int().max(MAX_TIMER_S, TIMER_LIMIT)),
  reaccept: flag(true),
  rejectUnauthorized: flag(true),
  /** A deploy that leaves the connection's settings unchanged keeps its socket and calls (off: the old behaviour). */
  keepCallsOnDeploy: flag(true),
  /** Seconds a controlled call may sit with nothing running and nothing asked before it is handed back; 0 = off. */
  idleGuard: num(CONNECTION_DEFAULTS.idleGuard, 0).pipe(z.number().int().max(MAX_TIMER_S, TIMER_LIMIT)),
  /** Redis for failover between instances; empty = off. */
  redisUrl: text.pipe(
    z
      .string()
      .trim()
      .refine((u) => u === "" || /^rediss?:\/\/\S+$/i.test(u), "redisUrl must be empty or redis://… / rediss://…"),
  ),
  /** Seconds an instance's hold on its calls lasts without renewal (failover). */
  leaseS: num(CONNECTION_DEFAULTS.leaseS, 2).pipe(z.number().int().max(3600)),
});
export type ConnectionConfig = z.output<typeof ConnectionConfig>;

export const StartConfig = z.object({ name: text, key: text, componentName: text });
export type StartConfig = z.output<typeof StartConfig>;

export const APPLY_DATA_TYPES = ["json", "msg", "jsonata"] as const;
/** A form field's value types: plain (str, num, bool, opt = one of the field's options) or read per msg. */
export const FIELD_TYPES = ["str", "num", "bool", "opt", "msg", "flow", "global", "env", "jsonata"] as const;
export const FormField = z.object({ value: text, type: typed(FIELD_TYPES, "str") });
export type FormField = z.output<typeof FormField>;
export const ApplyConfig = z.object({
  name: text,
  data: text,
  dataType: typed(APPLY_DATA_TYPES, "json"),
  /** "custom": `data`/`dataType` as written; an oType ("206"): a form, built from `fields` (data is then only a view). */
  component: z.preprocess(
    (v) => (v === undefined || v === null || v === "" ? "custom" : String(v)),
    z.string().regex(/^(custom|\d+)$/, 'must be "custom" or an oType'),
  ),
  fields: z.preprocess((v) => v ?? {}, z.record(z.string(), FormField)),
  transferKeys: z.array(z.string().trim().min(1, "a transferKey is empty")),
  busy: typed(BUSY_POLICIES, "reject"),
  /** Seconds; 0 = no limit. */
  timeout: num(0, 0).pipe(z.number().max(MAX_TIMER_S, TIMER_LIMIT)),
});
export type ApplyConfig = z.output<typeof ApplyConfig>;

export const MENU_DEFAULTS = {
  prompt: '{"oType":204,"mode":0,"file":":SYN_MEDIA/menu.wav"}',
  promptType: "json",
  choices: ["1", "2"],
  maxDigits: 1,
  timeout: 5,
  interDigitTimeout: 3,
  terminator: "#",
  retries: 2,
  retryPrompt: "",
  retryPromptType: "json",
  noMatchPrompt: "",
  noMatchPromptType: "json",
  bargeIn: true,
  busy: "reject",
};
const MENU_SECONDS = z.number().min(0.1, "must be at least 0.1 s").max(3600, "must be at most 3600 s");
export const MenuConfig = z.object({
  name: text,
  prompt: text.pipe(z.string().trim().min(1, "the prompt is empty")),
  promptType: typed(APPLY_DATA_TYPES, "json"),
  choices: z
    .array(
      z.preprocess((v) => String(v ?? "").trim(), z.string().regex(/^[0-9*#A-D]+$/, "a choice must be DTMF digits")),
    )
    .min(1, "the menu has no choice"),
  maxDigits: num(MENU_DEFAULTS.maxDigits, 1).pipe(z.number().int().max(32)),
  timeout: num(MENU_DEFAULTS.timeout, 0).pipe(MENU_SECONDS),
  interDigitTimeout: num(MENU_DEFAULTS.interDigitTimeout, 0).pipe(MENU_SECONDS),
  terminator: text.pipe(z.string().regex(/^[0-9*#A-D]?$/, "the terminator is one DTMF symbol or none")),
  retries: num(MENU_DEFAULTS.retries, 0).pipe(z.number().int().max(10)),
  retryPrompt: text,
  retryPromptType: typed(APPLY_DATA_TYPES, "json"),
  noMatchPrompt: text,
  noMatchPromptType: typed(APPLY_DATA_TYPES, "json"),
  bargeIn: flag(true),
  busy: typed(BUSY_POLICIES, "reject"),
});
export type MenuConfig = z.output<typeof MenuConfig>;

export const DTMF_MODES = ["any", "idle", "component"] as const;
/** `key`: only calls with this api_start key ("" = any), so that flows for different keys do not see each other's digits. */
export const DtmfConfig = z.object({ name: text, mode: typed(DTMF_MODES, "any"), key: text });
export type DtmfConfig = z.output<typeof DtmfConfig>;

export const FILE_ACTIONS = ["temp", "static", "link"] as const;
/** Seconds the file node waits for an answer: the server may still be downloading a big file. */
export const FILE_TIMEOUT_S = 120;
export const FileConfig = z.object({
  name: text,
  action: typed(FILE_ACTIONS, "temp"),
  url: text,
  urlType: typed(PROPERTY_TYPES, "str"),
  destpath: text,
  destpathType: typed(PROPERTY_TYPES, "str"),
  path: text,
  pathType: typed(PROPERTY_TYPES, "str"),
  /** Seconds; flows saved before it existed get the default. */
  timeout: num(FILE_TIMEOUT_S, 1).pipe(z.number().max(MAX_TIMER_S, TIMER_LIMIT)),
});
export type FileConfig = z.output<typeof FileConfig>;

export const PlainConfig = z.object({ name: text });

// ---------------------------------------------------------------------------------------------
// Migrations (index i: version i → i + 1). Version 1 is the first released shape; version 0 is a config
// written by hand or by a pre-release, which may lack fields or hold transferKeys as one comma-separated text.

const transferKeysAsList: Migration = (c) => {
  const keys = c.transferKeys;
  if (typeof keys === "string") {
    return {
      ...c,
      transferKeys: keys
        .split(",")
        .map((k) => k.trim())
        .filter(Boolean),
    };
  }
  if (Array.isArray(keys)) return { ...c, transferKeys: keys.map((k) => (typeof k === "object" && k ? k.k : k)) };
  return { ...c, transferKeys: [] };
};

export const MIGRATIONS: Record<string, readonly Migration[]> = {
  "ivrapi-connection": [withDefaults(CONNECTION_DEFAULTS)],
  // Version 2 added the third output (resumed): nothing to change in the saved shape, its wire is simply absent.
  "ivrapi-start": [withDefaults({ key: "", componentName: "" }), (c) => c],
  "ivrapi-apply": [
    (c) => transferKeysAsList(withDefaults({ data: '{"oType":201}', dataType: "json", busy: "reject", timeout: 0 })(c)),
    // Version 2 added the component forms: every flow saved before is "custom JSON", its data as it was.
    withDefaults({ component: "custom", fields: {} }),
  ],
  "ivrapi-terminate": [withDefaults({})],
  "ivrapi-dtmf": [withDefaults({ mode: "any", key: "" })],
  "ivrapi-file": [
    withDefaults({
      action: "temp",
      urlType: "str",
      destpathType: "str",
      pathType: "str",
      url: "",
      destpath: "",
      path: "",
    }),
  ],
  "ivrapi-abort": [withDefaults({})],
  "ivrapi-menu": [withDefaults(MENU_DEFAULTS)],
};

/** Each type's current config version: the length of its migration chain (the editor saves the same number). */
export const CURRENT_VERSIONS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(MIGRATIONS).map(([type, chain]) => [type, chain.length]),
);

/** Migrates a node's saved config and parses it; throws a readable message on a config it cannot use. */
export function readConfig<S extends z.ZodType>(type: string, raw: RawConfig, schema: S): z.output<S> {
  const { config } = migrate(raw, MIGRATIONS[type] ?? []);
  const parsed = schema.safeParse(config);
  if (!parsed.success) {
    throw new Error(
      `invalid settings: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}
