// Schemas for every frame of the ivrapi capability (see PROTOCOL.md). Pure: no I/O.
// Bodies are loose objects: a real server may add fields, and they must reach the flow untouched.
import { z } from "zod";

/** qid may be of any JSON type on the wire; we generate numbers, but match whatever comes back. */
export const Qid = z.union([z.number(), z.string()]);
export type Qid = z.infer<typeof Qid>;

/**
 * SIP state of the call when control is offered (vendor docs: dialog, early, ringing, incoming); unknown states
 * pass through as strings, as do api_stop reasons other than script, timeout and abort.
 */
export const SipState = z.string();

const nonEmpty = z.string().min(1);

/** params as text: a string as is; an object (a server that sends it unencoded) as its JSON. Never throws. */
function paramsText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return undefined;
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

/**
 * An informational field: a value of the wrong type (null from an Erlang encoder, a number as text) reads as
 * absent instead of dropping the whole frame. Fields that correlate (ivrid, key, qid, dtmf) stay strict.
 */
const info = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

// ---------------------------------------------------------------------------------------------
// Server → client

export const ApiStartData = z.looseObject({
  ivrid: nonEmpty,
  key: z.string(),
  callid: info(z.string()),
  cid: info(z.string()),
  componentid: info(z.union([z.number(), z.string()])),
  componentname: info(z.string()),
  ivrts: info(z.number()),
  // A JSON *string* in the seed; kept raw and parsed separately (see parseParams). An object is kept as its JSON.
  params: z.unknown().transform(paramsText).optional(),
  sm_id: info(z.string()),
  state: info(SipState),
});
export type ApiStartData = z.infer<typeof ApiStartData>;

/** api_stop needs only the ivrid (rule 4 must hold even when a server leaves the key out or sends null). */
export const ApiStopData = ApiStartData.extend({ key: info(z.string()), reason: info(z.string()) });
export type ApiStopData = z.infer<typeof ApiStopData>;

export const NotifyBody = z.looseObject({
  class: z.string(),
  type: z.string(),
  eventts: info(z.number()),
  // Subscription id of the client's choosing, echoed by the server (vendor docs).
  id: info(z.union([z.string(), z.number()])),
  data: z.unknown(),
});
export type NotifyBody = z.infer<typeof NotifyBody>;

export const ComponentStoppedBody = z.looseObject({
  // The seed example carries neither ivrid nor key; a real server may add them.
  ivrid: info(nonEmpty),
  key: info(z.string()),
  oId: info(z.union([z.number(), z.string()])),
  transferKey: info(z.string()),
  // An encoder may write "no results" as [] or null: read as {} rather than losing the whole event.
  results: z
    .unknown()
    .transform((v) =>
      v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined,
    )
    .optional(),
});
export type ComponentStoppedBody = z.infer<typeof ComponentStoppedBody>;

export const DtmfBody = z.looseObject({
  key: info(z.string()),
  ivrid: nonEmpty,
  mode: z.string().catch("unknown"),
  oId: info(z.union([z.number(), z.string()])),
  dtmf: z.string().min(1),
});
export type DtmfBody = z.infer<typeof DtmfBody>;

/** Every `<request>_result`: qid plus whatever the answer holds. */
export const ResultBody = z.looseObject({ qid: Qid });
export type ResultBody = z.infer<typeof ResultBody>;

export const ConnectionInfoResult = z.looseObject({
  qid: Qid,
  result: z.unknown().optional(),
  site: z.string().optional(),
  domain: z.string().optional(),
  sessionid: z.unknown().optional(),
  connectionid: z.unknown().optional(),
  // A list of names in the docs' prose; an object keyed by name is accepted too.
  capabilities: z.union([z.array(z.string()), z.record(z.string(), z.unknown())]).optional(),
  roles: z.unknown().optional(),
});
export type ConnectionInfoResult = z.infer<typeof ConnectionInfoResult>;

// ---------------------------------------------------------------------------------------------
// Client → server

const SessionRef = { qid: Qid, key: z.string(), ivrid: nonEmpty };

/**
 * Component settings. Only `oType` is checked (an integer, or a string of digits as the platform's own
 * script JSON sometimes has); everything else goes through as the user wrote it.
 */
export const ComponentData = z.looseObject({
  oType: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]),
  oId: z.union([z.number(), z.string()]).optional(),
  name: z.string().optional(),
});
export type ComponentData = z.output<typeof ComponentData>;

export const REQUEST_SCHEMAS = {
  ivrapi_accept: z.looseObject({ ...SessionRef }),
  ivrapi_reaccept: z.looseObject({ ...SessionRef }),
  ivrapi_abort: z.looseObject({ ...SessionRef }),
  ivrapi_component_apply: z.looseObject({ ...SessionRef, data: ComponentData }),
  ivrapi_component_terminate: z.looseObject({ ...SessionRef }),
  ivrapi_file_get_path: z.looseObject({ ...SessionRef, path: nonEmpty }),
  ivrapi_file_upload_temp: z.looseObject({ ...SessionRef, url: nonEmpty }),
  ivrapi_file_upload_static: z.looseObject({ ...SessionRef, url: nonEmpty, destpath: nonEmpty }),
  file_upload_static: z.looseObject({ qid: Qid, url: nonEmpty, destpath: nonEmpty }),
  connection_info: z.looseObject({ qid: Qid }),
  subscribe: z.looseObject({
    qid: Qid,
    id: z.union([z.string(), z.number()]),
    objects: z.union([z.string(), z.array(z.unknown())]),
    events: z.array(z.string()),
    expires: z.number().int().nonnegative(),
    exargs: z.unknown().optional(),
  }),
} as const;

export type RequestName = keyof typeof REQUEST_SCHEMAS;
export const REQUEST_NAMES = Object.keys(REQUEST_SCHEMAS) as RequestName[];
export type RequestBody<N extends RequestName> = z.input<(typeof REQUEST_SCHEMAS)[N]>;
export type ParsedRequestBody<N extends RequestName> = z.output<(typeof REQUEST_SCHEMAS)[N]>;
/** A request body without its qid: what callers hand to the client's request helper. */
export type RequestParams<N extends RequestName> = Omit<RequestBody<N>, "qid">;

/** Requests that act on a controlled session (carry key + ivrid). */
export const SESSION_REQUESTS = [
  "ivrapi_accept",
  "ivrapi_reaccept",
  "ivrapi_abort",
  "ivrapi_component_apply",
  "ivrapi_component_terminate",
  "ivrapi_file_get_path",
  "ivrapi_file_upload_temp",
  "ivrapi_file_upload_static",
] as const satisfies readonly RequestName[];
export type SessionRequestName = (typeof SESSION_REQUESTS)[number];

/** Parses `params` of api_start: a JSON string holding an object. Never throws. */
export function parseParams(raw: string | undefined): { ok: true; value: unknown } | { ok: false; message: string } {
  if (raw === undefined || raw === "") return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (err) {
    return { ok: false, message: `params is not valid JSON: ${(err as Error).message}` };
  }
}
