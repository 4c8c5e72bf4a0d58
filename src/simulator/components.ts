// What applied components do. Each oType gets a believable plan: how long it runs, which digits end it,
// what it reports, and what it does to the call afterwards (bye, transfer and SIP rejects end it).
import type { Engine } from "./engine";
import { planAsr, planAttended, planCollect, planSend, planTts } from "./ivr-plans";
import { type Data, duration, notAnswered, num, type Plan, symbols } from "./plan-kit";
import type { Call, ComponentOutcome, EndHow, RunningComponent } from "./types";
import { toneWav } from "./wav";

/** Default run times (ms) when options.durations says nothing. */
export const DEFAULT_DURATIONS = { 201: 50, 202: 50, 203: 300, 204: 1500, default: 500 } as const;
/** A record without an explicit duration ends after recTimeSec, but never later than this. */
export const RECORD_DEFAULT_CAP_MS = 3000;
/** Recorded files stay small whatever the recording took. */
const RECORD_FILE_MAX_SEC = 30;

const UNANSWERED = new Set(["incoming", "ringing", "early"]);

function planFor(engine: Engine, call: Call, data: Data): Plan | string {
  const state = call.info.state;
  const oType = data.oType;
  switch (oType) {
    case 201:
      if (UNANSWERED.has(state)) return `call not answered (state ${state}): reject it with a 202 SIP response instead`;
      return {
        duration: duration(engine, 201, DEFAULT_DURATIONS[201]),
        results: () => ({}),
        after: () => engine.endCall(call, "script"),
      };
    case 202:
      return planSipResponse(engine, call, data);
    case 203: {
      if (UNANSWERED.has(state)) return `call not answered (state ${state}): answer it with a 202 SIP response first`;
      const number = typeof data.number === "number" ? String(data.number) : data.number;
      if (typeof number !== "string" || number.trim() === "") return "transfer needs a number";
      return {
        duration: duration(engine, 203, DEFAULT_DURATIONS[203]),
        results: () => ({ transferTo: number }),
        after: () => engine.endCall(call, "script"),
      };
    }
    case 204:
      return planPlayback(engine, call, data);
    case 208:
      return planRecord(engine, call, data);
    case 206:
      return planCollect(engine, call, data);
    case 207:
      return planSend(engine, call, data);
    case 217:
      return planAttended(engine, call, data);
    case 222:
    case 226:
      return planTts(engine, call, data);
    case 223:
    case 227:
      return planAsr(engine, call, data);
    default:
      return { duration: duration(engine, "default", DEFAULT_DURATIONS.default), results: () => ({}) };
  }
}

function planSipResponse(engine: Engine, call: Call, data: Data): Plan | string {
  if (call.info.state === "dialog") return "the call is already answered (state dialog): a SIP response is too late";
  // `sipCode` is the docs' name; `code` what flows written before the catalog send.
  const code = num(data.sipCode ?? data.code);
  if (code === undefined || !Number.isInteger(code) || code < 100 || code > 699) {
    return "SIP response needs a code between 100 and 699";
  }
  return {
    duration: duration(engine, 202, DEFAULT_DURATIONS[202]),
    results: () => ({}),
    after: () => {
      if (code >= 300) {
        engine.note(call, "rejected", { code, phrase: data.phrase });
        engine.endCall(call, "script");
        return;
      }
      const next = code >= 200 ? "dialog" : code === 183 ? "early" : "ringing";
      if (next !== call.info.state) {
        engine.note(call, "state", { from: call.info.state, to: next });
        call.info.state = next;
        engine.changed(call);
      }
    },
  };
}

function planPlayback(engine: Engine, call: Call, data: Data): Plan | string {
  const refused = notAnswered(call.info.state);
  if (refused) return refused;
  const raw = data.files ?? data.file;
  const list = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw : [];
  if (list.length === 0 || !list.every((f): f is string => typeof f === "string" && f !== "")) {
    return "playback needs file (a path) or files (a list of paths)";
  }
  for (const f of list) {
    const where = engine.files.resolve(f, call.info.ivrid);
    if (!where.ok) return `file "${f}": ${where.message}`;
    if (where.temp && !engine.files.exists(where.file)) return `file "${f}" does not exist in this call's temp area`;
  }
  const played = Array.isArray(raw) ? { files: list } : { file: list[0] };
  return {
    duration: duration(engine, 204, DEFAULT_DURATIONS[204]),
    interrupt: symbols(data.interruptSymbols),
    results: (how, comp) => (how === "natural" ? { ...played } : { ...played, dtmfBuffer: comp.dtmfBuffer }),
  };
}

function planRecord(engine: Engine, call: Call, data: Data): Plan | string {
  const refused = notAnswered(call.info.state);
  if (refused) return refused;
  const recTimeSec = num(data.recTimeSec);
  const maxSymbols = num(data.maxSymbolCount);
  if (Number.isNaN(recTimeSec) || (recTimeSec ?? 0) < 0) return "recTimeSec is not a number of seconds";
  if (Number.isNaN(maxSymbols) || (maxSymbols ?? 0) < 0) return "maxSymbolCount is not a count";
  const natural = recTimeSec ? Math.min(recTimeSec * 1000, RECORD_DEFAULT_CAP_MS) : RECORD_DEFAULT_CAP_MS;
  return {
    duration: duration(engine, 208, natural),
    interrupt: symbols(data.interruptSymbols),
    maxSymbols: maxSymbols ?? 0,
    results: (_how, comp) => ({ recordFile: writeRecording(engine, call, comp), dtmfBuffer: comp.dtmfBuffer }),
  };
}

export function writeRecording(engine: Engine, call: Call, comp: RunningComponent): string {
  engine.recordSeq += 1;
  const sec = Math.min(Math.max((Date.now() - comp.startedAt) / 1000, 0.2), RECORD_FILE_MAX_SEC);
  const name = `ivr_${String(engine.recordSeq).padStart(6, "0")}_${Date.now()}.wav`;
  const path = engine.files.writeTemp(call.info.ivrid, "ivr_records", name, toneWav(sec, 330, 0.1));
  call.tempFiles.add(path);
  return path;
}

/** Starts a component on a call with none running; returns its oId. */
export function startComponent(engine: Engine, call: Call, data: Data): number | string {
  let oId: number | string;
  if (typeof data.oId === "number" || typeof data.oId === "string") oId = data.oId;
  else {
    oId = call.nextOId;
    call.nextOId += 1;
  }
  const plan = planFor(engine, call, data);
  const failed = typeof plan === "string";
  const comp: RunningComponent = {
    oId,
    oType: data.oType,
    data: { ...data },
    startedAt: Date.now(),
    dtmfBuffer: "",
    timer: null,
    interrupt: failed ? new Set() : (plan.interrupt ?? new Set()),
    maxSymbols: failed ? 0 : (plan.maxSymbols ?? 0),
    outcome: (how): ComponentOutcome => {
      if (failed) return { transferKey: "error", results: { error: plan } };
      const key = how === "terminated" ? "terminated" : (plan.exit?.(how, comp) ?? "transfer");
      return { transferKey: key, results: plan.results(how, comp) };
    },
  };
  if (!failed && plan.after) comp.after = plan.after;
  if (!failed && plan.onDigit) comp.onDigit = plan.onDigit;
  call.component = comp;
  engine.note(call, "component started", { oId, oType: data.oType, data: comp.data });
  // A refused component still "runs" for a moment: its _result goes out first, then the error exit.
  comp.timer = engine.timer(failed ? 0 : plan.duration, () => finishComponent(engine, call, "natural"));
  return oId;
}

/** Ends the running component: sends ivrapi_component_stopped to the controller, then applies its effect. */
export function finishComponent(
  engine: Engine,
  call: Call,
  how: EndHow,
  override?: { transferKey?: string; results?: Record<string, unknown> },
): boolean {
  const comp = call.component;
  if (!comp) return false;
  engine.clearTimer(comp.timer);
  call.component = null;
  const natural = comp.outcome(how);
  const outcome = {
    transferKey: override?.transferKey ?? natural.transferKey,
    results: override?.results ?? natural.results,
  };
  const body: Record<string, unknown> = { oId: comp.oId, transferKey: outcome.transferKey, results: outcome.results };
  if (engine.opts.componentStoppedIvrid) Object.assign(body, { ivrid: call.info.ivrid, key: call.info.key });
  engine.send(engine.controllerConn(call), "ivrapi_component_stopped", body);
  engine.note(call, "component stopped", { oId: comp.oId, oType: comp.oType, ...outcome });
  if (outcome.transferKey === "transfer") comp.after?.(outcome);
  return true;
}

/** A caller's key press reaching the running component (buffer, interrupt symbols, symbol count). */
export function feedDigit(engine: Engine, call: Call, digit: string): void {
  const comp = call.component;
  if (!comp) return;
  comp.dtmfBuffer += digit;
  engine.changed(call);
  if (comp.onDigit) {
    const next = comp.onDigit(digit);
    if (next && "end" in next) finishComponent(engine, call, "digit");
    else if (next) {
      engine.clearTimer(comp.timer);
      comp.timer = engine.timer(next.rearmMs, () => finishComponent(engine, call, "natural"));
    }
    return;
  }
  if (comp.interrupt.has(digit) || (comp.maxSymbols > 0 && comp.dtmfBuffer.length >= comp.maxSymbols)) {
    finishComponent(engine, call, "digit");
  }
}
