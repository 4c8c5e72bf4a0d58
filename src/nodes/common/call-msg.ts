// msg.ivr: the call as it travels through a flow. Start and dtmf nodes make it; action nodes read the ivrid
// from it to find the live call on their connection.
import { z } from "zod";
import type { CallInfo, ComponentResult } from "../../session/types";
import { FlowError } from "./errors";

export interface IvrMsg {
  ivrid: string;
  key: string;
  callid?: string;
  cid?: string;
  componentid?: number | string;
  componentname?: string;
  state?: string;
  /** api_start params, parsed (the raw string when it was not JSON). */
  params: unknown;
  paramsRaw: string;
  ivrts?: number;
  sm_id?: string;
  /** Id of the ivrapi-connection node that controls the call. */
  connection: string;
  transferKey?: string;
  oId?: number | string;
  timedOut?: boolean;
  reason?: string;
}

/**
 * The call's params for one msg: a copy of its own, so a flow that changes msg.payload or msg.ivr.params cannot
 * change what later msgs of the same call (dtmf, stop) carry.
 */
export function paramsOf(call: CallInfo): unknown {
  // A call's params are parsed from their text on each read: already a copy of their own.
  return call.params;
}

/**
 * The msg of a call's start: `{ _msgid, payload, ivr }`, a plain object like every msg.
 *
 * Built from an empty `{}` on purpose, like msg.ivr (toIvr). V8 watches the objects each `{ a: …, b: … }` literal
 * makes: once nearly all of them outlive a young-generation collection (200 calls starting together are enough), it
 * makes that literal's next objects straight in the old generation, for the life of the process. A call's msg lives
 * as long as the call, and dead in the old generation it keeps what it points to (params, strings) alive until the next
 * full collection: each young collection copies and promotes them. `{}` gives V8 no such place to watch, and the msg is
 * the same plain object with the same properties in the same order (see docs/performance.md, "Made where they die").
 */
export function startMsg(msgid: string, call: CallInfo, connection: string): Record<string, unknown> {
  const msg: Record<string, unknown> = {};
  msg._msgid = msgid;
  msg.payload = paramsOf(call);
  msg.ivr = toIvr(call, connection);
  return msg;
}

/** Where a msg id's eight random bytes are written before they are read out as hex (one buffer, reused). */
const ID_BYTES = Buffer.alloc(8);

/**
 * A msg id as Node-RED makes them (`RED.util.generateId`: 16 hex digits, from Math.random), in about a third of the
 * time: two random 32-bit numbers read out as hex at once, where generateId formats eight numbers and joins them (0.7
 * µs, once per call taken). One flat string: joined from pieces, a held call's msg would keep a tree of them.
 */
export function msgId(): string {
  ID_BYTES.writeUInt32LE((Math.random() * 0x100000000) >>> 0, 0);
  ID_BYTES.writeUInt32LE((Math.random() * 0x100000000) >>> 0, 4);
  return ID_BYTES.toString("hex", 0, 8);
}

export function toIvr(call: CallInfo, connection: string): IvrMsg {
  const s = call.start;
  // From `{}`, not a literal: see startMsg.
  const ivr = {} as IvrMsg;
  ivr.ivrid = call.ivrid;
  ivr.key = call.key;
  ivr.params = paramsOf(call);
  ivr.paramsRaw = call.paramsRaw;
  ivr.connection = connection;
  if (s.callid !== undefined) ivr.callid = s.callid;
  if (s.cid !== undefined) ivr.cid = s.cid;
  if (s.componentid !== undefined) ivr.componentid = s.componentid;
  if (s.componentname !== undefined) ivr.componentname = s.componentname;
  if (call.state !== undefined) ivr.state = call.state;
  if (s.ivrts !== undefined) ivr.ivrts = s.ivrts;
  if (s.sm_id !== undefined) ivr.sm_id = s.sm_id;
  return ivr;
}

/** msg.ivr after a component stopped: the same call plus how the component ended (set on it, as nodes do). */
export function withResult(ivr: IvrMsg, result: ComponentResult): IvrMsg {
  ivr.transferKey = result.transferKey;
  ivr.oId = result.oId;
  ivr.timedOut = result.timedOut;
  return ivr;
}

const IvrRef = z.looseObject({ ivrid: z.string().min(1), connection: z.string().optional() });

/** The ivrid a msg names, or a clear error when it names none. */
export function ivridOf(msg: Record<string, unknown>): string {
  // The everyday msg (made by ivr start or on dtmf) needs no schema to read its ivrid; anything else goes to zod.
  const ivr = msg.ivr as { ivrid?: unknown; connection?: unknown } | null | undefined;
  if (
    typeof ivr === "object" &&
    ivr !== null &&
    typeof ivr.ivrid === "string" &&
    ivr.ivrid !== "" &&
    (ivr.connection === undefined || typeof ivr.connection === "string")
  ) {
    return ivr.ivrid;
  }
  const parsed = IvrRef.safeParse(msg.ivr);
  if (!parsed.success) {
    throw new FlowError(
      "no_call",
      "msg.ivr does not name a call (msg.ivr.ivrid missing): wire this node after an ivr start or on dtmf node",
    );
  }
  return parsed.data.ivrid;
}

/** Whether the msg carries msg.ivr at all (the file node works without a call for static uploads). */
export function hasIvr(msg: Record<string, unknown>): boolean {
  return msg.ivr !== undefined && msg.ivr !== null;
}
