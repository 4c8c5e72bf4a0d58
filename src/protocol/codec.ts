// Encoding and decoding of wire frames. decode*/classify never throw: whatever a peer sends comes back
// as a typed value, hostile input included.
import { isUtf8 } from "node:buffer";
import type { z } from "zod";
import { fastApiStart, fastApiStop, fastComponentStopped, fastDtmf, fastNotify, fastResult } from "./fast";
import {
  ApiStartData,
  ApiStopData,
  ComponentStoppedBody,
  DtmfBody,
  NotifyBody,
  type ParsedRequestBody,
  type Qid,
  REQUEST_NAMES,
  REQUEST_SCHEMAS,
  type RequestName,
  ResultBody,
} from "./frames";
import { classifyResult, type ResultOutcome, type ResultRules } from "./result";

/** Frames larger than this are refused before JSON.parse (a hostile peer must not cost us memory/CPU). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Frames nested deeper than this are refused before JSON.parse: no frame of the protocol needs more than a
 * handful of levels, and deep values make recursive code (JSON.stringify, a log line) overflow the stack.
 */
export const MAX_NESTING_DEPTH = 64;

export type DecodeErrorCode = "too_large" | "not_utf8" | "too_deep" | "not_json" | "not_frame" | "invalid_body";

export interface DecodeError {
  kind: "error";
  code: DecodeErrorCode;
  message: string;
  /** Frame name, when the frame got far enough to have one. */
  name?: string;
}

/** Every decoded frame carries `text`: the frame as it came over the wire (what a record of the traffic keeps). */
export type ServerFrame = (
  | { kind: "api_start"; data: ApiStartData; notify: NotifyBody }
  | { kind: "api_stop"; data: ApiStopData; notify: NotifyBody }
  /** Any other notification (another class/type): passed on, never dropped. */
  | { kind: "notify"; notify: NotifyBody }
  | { kind: "result"; request: string; qid: Qid; body: ResultBody; outcome: ResultOutcome }
  | { kind: "component_stopped"; body: ComponentStoppedBody }
  | { kind: "dtmf"; body: DtmfBody }
  /** A well-formed frame whose name we do not know. */
  | { kind: "unknown"; name: string; body: Record<string, unknown> }
) & { text: string };

export type ClientFrame = {
  [N in RequestName]: { kind: "request"; name: N; body: ParsedRequestBody<N> };
}[RequestName];

export interface DecodeOptions {
  maxFrameBytes?: number;
  resultRules?: Partial<ResultRules>;
}

/**
 * The answer frames of the protocol's requests (`ivrapi_accept_result` → `ivrapi_accept`) and back, as constants:
 * a decoded answer names its request without a string made per frame (a call record keeps the names it sees).
 */
const REQUEST_OF_ANSWER = new Map<string, string>(REQUEST_NAMES.map((n) => [`${n}_result`, n]));
const ANSWER_OF_REQUEST = new Map<string, string>(REQUEST_NAMES.map((n) => [n, `${n}_result`]));

/** The name of the frame that answers a request (`ivrapi_accept` → `ivrapi_accept_result`). */
export function answerName(request: string): string {
  return ANSWER_OF_REQUEST.get(request) ?? `${request}_result`;
}

/** Serialises one frame: `[name, body]` as one JSON text. */
export function encode(name: string, body: Record<string, unknown>): string {
  return JSON.stringify([name, body]);
}

function fail(code: DecodeErrorCode, message: string, name?: string): DecodeError {
  return name === undefined ? { kind: "error", code, message } : { kind: "error", code, message, name };
}

function issuesText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}

/**
 * Whether a JSON text opens more than `max` arrays/objects inside each other. One pass over the characters,
 * skipping string contents; no recursion, so the check itself cannot overflow.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

/**
 * Whether a text opens more than `max` arrays and objects in all: only then can it nest deeper, and only then is
 * the character-by-character scan needed. Native searches, so an everyday frame (a handful of brackets) costs
 * next to nothing.
 */
function mayNestDeeperThan(text: string, max: number): boolean {
  if (text.length <= 2 * max) return false;
  let n = 0;
  for (let i = text.indexOf("{"); i >= 0; i = text.indexOf("{", i + 1)) if (++n > max) return true;
  for (let i = text.indexOf("["); i >= 0; i = text.indexOf("[", i + 1)) if (++n > max) return true;
  return false;
}

/** Splits a text frame into name and body: the envelope check shared by both directions. */
function envelope(
  raw: string | Buffer,
  maxFrameBytes: number,
  /** raw's text, when the caller has decoded it already. */
  decoded?: string,
): { name: string; body: Record<string, unknown>; text: string } | DecodeError {
  const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
  if (size > maxFrameBytes) return fail("too_large", `frame of ${size} bytes exceeds the limit of ${maxFrameBytes}`);
  const text = decoded ?? (typeof raw === "string" ? raw : raw.toString("utf8"));
  // The socket hands text frames over unchecked (so a bad one costs one frame, not the connection): check here.
  // Decoding replaces invalid bytes with U+FFFD, so only a text holding one needs the full check.
  if (typeof raw !== "string" && text.includes("\uFFFD") && !isUtf8(raw)) {
    return fail("not_utf8", "text frame is not valid UTF-8");
  }
  if (mayNestDeeperThan(text, MAX_NESTING_DEPTH) && nestedDeeperThan(text, MAX_NESTING_DEPTH)) {
    return fail("too_deep", `frame nests values deeper than ${MAX_NESTING_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail("not_json", `frame is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || value.length !== 2) {
    return fail("not_frame", "frame is not a JSON array of two items [name, body]");
  }
  const [name, body] = value as [unknown, unknown];
  if (typeof name !== "string" || name.length === 0) return fail("not_frame", "frame name is not a non-empty string");
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail("not_frame", `body of "${name}" is not an object`, name);
  }
  return { name, body: body as Record<string, unknown>, text };
}

function isError(v: unknown): v is DecodeError {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "error";
}

/** A body the fast path takes as it is, or zod's verdict on it (`name`: the frame's, for the error). */
function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  fast: (v: never) => boolean,
  name: string,
): z.output<S> | DecodeError {
  if (fast(value as never)) return value as z.output<S>;
  const r = schema.safeParse(value);
  return r.success ? r.data : fail("invalid_body", `${what}: ${issuesText(r.error)}`, name);
}

const ANSWER_MIDDLE = '_result",{"qid":';
const ANSWER_OK_END = ',"result":"ok"}]';
/** Longer than this, a frame is no everyday answer (a request name and a qid of 15 digits fit in far less). */
const ANSWER_MAX_CHARS = 128;

/**
 * The everyday answer, `["<request>_result",{"qid":<n>,"result":"ok"}]` written without spaces, read without
 * JSON.parse: half of every call's frames are such answers, and parsing each cost several times this. Only a text
 * whose meaning is beyond doubt is taken: a name of lowercase letters, digits and underscores (no escapes), a qid
 * of 1 to 15 digits without a leading zero (a safe integer, the number JSON.parse would make). Anything else, a space
 * included, goes the general way. Returns the name and the body JSON.parse would have made, or undefined.
 */
function plainAnswer(text: string): { name: string; body: ResultBody } | undefined {
  const length = text.length;
  if (length > ANSWER_MAX_CHARS || text.charCodeAt(0) !== 91 /* [ */ || text.charCodeAt(1) !== 34 /* " */) return;
  if (!text.endsWith(ANSWER_OK_END)) return;
  const middle = text.indexOf(ANSWER_MIDDLE, 2);
  if (middle < 3) return;
  for (let i = 2; i < middle; i++) {
    const c = text.charCodeAt(i);
    // a-z, 0-9, _
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) return;
  }
  const from = middle + ANSWER_MIDDLE.length;
  const to = length - ANSWER_OK_END.length;
  if (to - from < 1 || to - from > 15 || (text.charCodeAt(from) === 48 /* 0 */ && to - from > 1)) return;
  let qid = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return;
    qid = qid * 10 + d;
  }
  // From `{}`, keys in the order JSON.parse makes them.
  const body = {} as ResultBody;
  body.qid = qid;
  body.result = "ok";
  return { name: text.slice(2, middle + "_result".length), body };
}

/** Decodes a frame the server sent. Never throws. */
export function decode(text: string | Buffer, options: DecodeOptions = {}): ServerFrame | DecodeError {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let short: string | undefined;
  if (text.length <= ANSWER_MAX_CHARS) {
    short = typeof text === "string" ? text : text.toString("utf8");
    // plainAnswer takes pure ASCII only (bytes that are not UTF-8 read as U+FFFD, never taken), so its length in
    // characters is its size in bytes.
    const answer = short.length <= maxFrameBytes ? plainAnswer(short) : undefined;
    if (answer !== undefined) return answerFrame(answer.name, answer.body, options, short);
  }
  const env = envelope(text, maxFrameBytes, short);
  if (isError(env)) return env;
  const { name, body, text: wire } = env;

  if (name === "notify") {
    const notify = parse(NotifyBody, body, "notify", fastNotify, name);
    if (isError(notify)) return notify;
    if (notify.class === "ivrevents" && notify.type === "api_start") {
      const data = parse(ApiStartData, notify.data, "ivrevents.api_start data", fastApiStart, name);
      return isError(data) ? data : { kind: "api_start", data, notify, text: wire };
    }
    if (notify.class === "ivrevents" && notify.type === "api_stop") {
      const data = parse(ApiStopData, notify.data, "ivrevents.api_stop data", fastApiStop, name);
      return isError(data) ? data : { kind: "api_stop", data, notify, text: wire };
    }
    return { kind: "notify", notify, text: wire };
  }
  if (name === "ivrapi_component_stopped") {
    const parsed = parse(ComponentStoppedBody, body, name, fastComponentStopped, name);
    return isError(parsed) ? parsed : { kind: "component_stopped", body: parsed, text: wire };
  }
  if (name === "ivrapi_dtmf") {
    const parsed = parse(DtmfBody, body, name, fastDtmf, name);
    return isError(parsed) ? parsed : { kind: "dtmf", body: parsed, text: wire };
  }
  if (name.endsWith("_result")) {
    const parsed = parse(ResultBody, body, name, fastResult, name);
    return isError(parsed) ? parsed : answerFrame(name, parsed, options, wire);
  }
  return { kind: "unknown", name, body, text: wire };
}

function answerFrame(name: string, body: ResultBody, options: DecodeOptions, text: string): ServerFrame {
  const request = REQUEST_OF_ANSWER.get(name) ?? name.slice(0, -"_result".length);
  return {
    kind: "result",
    request,
    qid: body.qid,
    body,
    outcome: classifyResult(body, options.resultRules, request),
    text,
  };
}

/** Decodes a frame a client sent (the simulator's side). Never throws. */
export function decodeRequest(
  text: string | Buffer,
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
): ClientFrame | DecodeError {
  const env = envelope(text, maxFrameBytes);
  if (isError(env)) return env;
  const { name, body } = env;
  if (!Object.hasOwn(REQUEST_SCHEMAS, name)) return fail("not_frame", `unknown request "${name}"`, name);
  const schema = REQUEST_SCHEMAS[name as RequestName];
  const r = schema.safeParse(body);
  if (!r.success) return fail("invalid_body", `${name}: ${issuesText(r.error)}`, name);
  return { kind: "request", name, body: r.data } as ClientFrame;
}

/** Validates an outgoing request body (so a bad msg field is refused before anything is sent). */
export function checkRequest<N extends RequestName>(
  name: N,
  body: Record<string, unknown>,
): { ok: true; body: ParsedRequestBody<N> } | { ok: false; message: string } {
  const r = REQUEST_SCHEMAS[name].safeParse(body);
  return r.success
    ? { ok: true, body: r.data as ParsedRequestBody<N> }
    : { ok: false, message: `${name}: ${issuesText(r.error)}` };
}
