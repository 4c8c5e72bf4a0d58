// The caller's side of a call: it arrives at the API component, presses keys, hangs up. Used by the
// programmatic API and by the HTTP control API alike.
import { randomBytes, randomUUID } from "node:crypto";
import { feedDigit, finishComponent } from "./components";
import type { Engine } from "./engine";
import { isAsr } from "./ivr-plans";
import type { Call, PlaceCallOptions } from "./types";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const DTMF_DIGITS = /^[0-9*#A-D]+$/;

function randomAlnum(n: number): string {
  return [...randomBytes(n)].map((b) => ALNUM[b % ALNUM.length]).join("");
}

let callSeq = 0;

export function placeCall(engine: Engine, opts: PlaceCallOptions = {}): Call {
  let ivrid = `rDlg-006-${randomAlnum(6)}`;
  while (engine.calls.has(ivrid)) ivrid = `rDlg-006-${randomAlnum(6)}`;
  callSeq += 1;
  const params =
    opts.params === undefined ? "{}" : typeof opts.params === "string" ? opts.params : JSON.stringify(opts.params);
  const call: Call = {
    info: {
      ivrid,
      key: opts.key ?? "demo",
      params,
      state: opts.state ?? "dialog",
      callid: opts.callid ?? `rB2-002-${randomAlnum(6)}-01-${1_000_000_000 + callSeq}@127.0.0.1`,
      cid: opts.cid ?? randomUUID(),
      componentid: opts.componentId ?? 14,
      componentname: opts.componentName ?? "External control via API",
      sm_id: randomUUID(),
      ivrts: Date.now(),
      from: opts.from ?? "sim-caller",
    },
    phase: "waiting",
    controller: null,
    component: null,
    history: [],
    tempFiles: new Set(),
    nextOId: 0,
    acceptTimer: null,
  };
  engine.calls.set(ivrid, call);
  call.acceptTimer = engine.timer(engine.opts.acceptTimeoutMs, () => {
    call.acceptTimer = null;
    if (call.phase !== "waiting") return;
    // Said in the history, so the softphone can tell the user that no flow takes this key.
    engine.note(call, "nobody accepted", { key: call.info.key, waitedMs: engine.opts.acceptTimeoutMs });
    engine.endCall(call, "timeout");
  });
  // How many apps got api_start: with none, the softphone says at once that nobody can take the call.
  call.offeredTo = engine.notify("ivrevents", "api_start", engine.eventData(call));
  engine.note(call, "placed", { key: call.info.key, state: call.info.state, from: call.info.from });
  return call;
}

export class SimError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
  }
}

export function liveCall(engine: Engine, ivrid: string): Call {
  const call = engine.calls.get(ivrid);
  if (!call) throw new SimError(`no call ${ivrid}`, 404);
  if (call.phase === "ended") throw new SimError(`call ${ivrid} has ended`, 409);
  return call;
}

export function pressKeys(engine: Engine, ivrid: string, digits: string): void {
  const call = liveCall(engine, ivrid);
  if (!DTMF_DIGITS.test(digits)) throw new SimError(`digits "${digits}" are not DTMF symbols (0-9 * # A-D)`, 400);
  for (const dtmf of digits) {
    if (call.phase === "ended") break;
    engine.note(call, "dtmf", { dtmf });
    // Only a controlled call reports keys: ivrapi_dtmf exists "only within the captured control".
    if (call.phase === "controlled") {
      const comp = call.component;
      const body: Record<string, unknown> = comp
        ? { key: call.info.key, ivrid, mode: "component", oId: comp.oId, dtmf }
        : { key: call.info.key, ivrid, mode: "idle", dtmf };
      engine.send(engine.controllerConn(call), "ivrapi_dtmf", body);
    }
    feedDigit(engine, call, dtmf);
  }
}

/** The caller says something: a running speech recognition hears it and ends with it as its text. */
export function say(engine: Engine, ivrid: string, text: string): void {
  const call = liveCall(engine, ivrid);
  engine.note(call, "caller said", { text });
  const comp = call.component;
  if (!comp || !isAsr(comp.oType)) return;
  comp.heard = text;
  finishComponent(engine, call, "natural");
}

export function hangup(engine: Engine, ivrid: string): void {
  const call = liveCall(engine, ivrid);
  engine.note(call, "caller hung up");
  if (call.phase === "released") {
    call.phase = "ended";
    engine.files.removeTemp(ivrid);
    call.tempFiles.clear();
    engine.changed(call);
    return;
  }
  engine.endCall(call, "script");
}

export function finishRunning(
  engine: Engine,
  ivrid: string,
  transferKey?: string,
  results?: Record<string, unknown>,
): void {
  const call = liveCall(engine, ivrid);
  const override: { transferKey?: string; results?: Record<string, unknown> } = {};
  if (transferKey !== undefined) override.transferKey = transferKey;
  if (results !== undefined) override.results = results;
  if (!finishComponent(engine, call, "natural", override)) {
    throw new SimError(`call ${ivrid} runs no component`, 409);
  }
}
