// The simulator's IVR building blocks beyond play and record: collect digits (206), send digits (207), attended
// transfer (217), text to speech (222/226) and speech recognition (223/227). Their waits come from the data
// (timeoutSec, symbolTimeoutSec, maxRecTimeSec); `manual` makes them wait for ever, as every component does then.
import type { Engine } from "./engine";
import { type Data, duration, notAnswered, num, type Plan, symbols } from "./plan-kit";
import type { Call, RunningComponent } from "./types";
import { toneWav } from "./wav";

const SEND_MS_PER_DIGIT = 120;
const TTS_MS_PER_CHAR = 60;

/** A wait the data asked for, in ms (never in manual mode: nothing ends by itself there). */
function wait(engine: Engine, sec: number): number {
  return engine.opts.manual ? Number.POSITIVE_INFINITY : sec * 1000;
}

/** A number of seconds from the data, or the fallback; a text when it is not one. */
function seconds(data: Data, field: string, fallback: number): number | string {
  const v = num(data[field]);
  if (v === undefined) return fallback;
  if (Number.isNaN(v) || v < 0) return `${field} is not a number of seconds`;
  return v;
}

/**
 * The ending sequences of interruptSymbols: "#", "*,#", "##" (the docs: comma-separated sequences). A text
 * without commas is one sequence when it is one symbol, else one sequence per symbol (how 204/208 read it).
 */
export function sequences(v: unknown): string[] {
  const text = (typeof v === "number" ? String(v) : typeof v === "string" ? v : "").toUpperCase().replace(/\s/g, "");
  if (text === "") return [];
  if (text.includes(",")) return text.split(",").filter(Boolean);
  return [...symbols(text)];
}

/** 206: digits from the keypad until a terminator, the maximum, or a timeout (none at all: transferTimeout). */
export function planCollect(engine: Engine, call: Call, data: Data): Plan | string {
  const refused = notAnswered(call.info.state);
  if (refused) return refused;
  const first = seconds(data, "timeoutSec", 10);
  const between = seconds(data, "symbolTimeoutSec", 5);
  const max = num(data.maxSymbolCount) ?? 0;
  if (typeof first === "string") return first;
  if (typeof between === "string") return between;
  if (Number.isNaN(max) || max < 0) return "maxSymbolCount is not a count";
  const ends = sequences(data.interruptSymbols);
  let endedBy = "";
  return {
    duration: wait(engine, first),
    onDigit: () => {
      const comp = call.component as RunningComponent;
      const hit = ends.find((e) => comp.dtmfBuffer.endsWith(e));
      if (hit !== undefined) {
        endedBy = hit;
        return { end: true };
      }
      if (max > 0 && comp.dtmfBuffer.length >= max) return { end: true };
      return { rearmMs: wait(engine, between) };
    },
    // The terminator ends the input; it is not part of it (said apart, in interruptedBy).
    results: (_how, comp) => ({
      dtmfBuffer: endedBy ? comp.dtmfBuffer.slice(0, -endedBy.length) : comp.dtmfBuffer,
      ...(endedBy ? { interruptedBy: endedBy } : {}),
    }),
    exit: (_how, comp) => (comp.dtmfBuffer === "" ? "transferTimeout" : "transfer"),
  };
}

/** 207: the digits go out one by one (a comma waits 1 s); the history says what was sent and how. */
export function planSend(engine: Engine, call: Call, data: Data): Plan | string {
  const refused = notAnswered(call.info.state);
  if (refused) return refused;
  const dtmf = typeof data.dtmf === "number" ? String(data.dtmf) : data.dtmf;
  if (typeof dtmf !== "string" || !/^[0-9*#A-Da-d,]+$/.test(dtmf))
    return "dtmf must be DTMF symbols (0-9 * # A-D, comma = 1 s pause)";
  const proto = num(data.proto) ?? 1;
  if (![1, 2, 3].includes(proto)) return "proto must be 1 (RFC 2833), 2 (SIP INFO) or 3 (in-band)";
  const pauses = [...dtmf].filter((c) => c === ",").length;
  const natural = (dtmf.length - pauses) * SEND_MS_PER_DIGIT + pauses * 1000;
  const how = ["", "RFC 2833", "SIP INFO", "in-band"][proto];
  return {
    duration: duration(engine, 207, natural),
    results: () => ({ dtmf }),
    after: () => engine.note(call, "digits sent", { dtmf, proto: how }),
  };
}

/** 217: the second leg is called, answers, and both are joined; the call leaves the IVR. */
export function planAttended(engine: Engine, call: Call, data: Data): Plan | string {
  if (notAnswered(call.info.state) || call.info.state === "early") {
    return `call not answered (state ${call.info.state}): answer it with a 202 SIP response first`;
  }
  const number = typeof data.number === "number" ? String(data.number) : data.number;
  if (typeof number !== "string" || number.trim() === "") return "attended transfer needs a number";
  return {
    duration: duration(engine, 217, 1200),
    results: () => ({ transferTo: number }),
    after: () => {
      engine.note(call, "legs joined", { a: call.info.from, b: number });
      engine.endCall(call, "script");
    },
  };
}

/** 222/226: speaks the text (for as long as reading it takes), or saves it to a :TEMP file (mode 1). */
export function planTts(engine: Engine, call: Call, data: Data): Plan | string {
  const save = num(data.mode) === 1;
  if (!save) {
    const refused = notAnswered(call.info.state);
    if (refused) return refused;
  }
  const text = data.text;
  if (typeof text !== "string" || text.trim() === "") return "text to speech needs a text";
  if (data.oType === 226 && data.contentType !== undefined && !["TEXT", "SSML"].includes(String(data.contentType))) {
    return "contentType must be TEXT or SSML";
  }
  const spoken = String(data.contentType) === "SSML" ? text.replace(/<[^>]*>/g, "") : text;
  if (save) {
    return {
      duration: duration(engine, data.oType, 200),
      results: () => {
        engine.recordSeq += 1;
        const name = `tts_${String(engine.recordSeq).padStart(6, "0")}.wav`;
        const sec = Math.min(Math.max(spoken.length * 0.06, 0.5), 10);
        const path = engine.files.writeTemp(call.info.ivrid, "tts", name, toneWav(sec, 520, 0.1));
        call.tempFiles.add(path);
        return { file: path };
      },
    };
  }
  const natural = Math.min(Math.max(spoken.length * TTS_MS_PER_CHAR, 800), 8000);
  return {
    duration: duration(engine, data.oType, natural),
    interrupt: symbols(data.interruptSymbols),
    results: (how, comp) => (how === "digit" ? { dtmfBuffer: comp.dtmfBuffer } : {}),
  };
}

/**
 * 223/227: listens until the caller says something (the softphone's "say" box), presses keys (DTMF detection:
 * maxSymbolCount or an interrupt symbol), or maxRecTimeSec passes in silence (transferTimeout, empty text).
 */
export function planAsr(engine: Engine, call: Call, data: Data): Plan | string {
  const refused = notAnswered(call.info.state);
  if (refused) return refused;
  const max = seconds(data, "maxRecTimeSec", 10);
  if (typeof max === "string") return max;
  const maxSymbols = num(data.maxSymbolCount) ?? 0;
  if (Number.isNaN(maxSymbols) || maxSymbols < 0) return "maxSymbolCount is not a count";
  const lang = typeof data.lang === "string" && data.lang !== "" ? data.lang : data.oType === 227 ? "ru" : "ru-RU";
  return {
    duration: wait(engine, max),
    interrupt: symbols(data.interruptSymbols),
    maxSymbols,
    results: (_how, comp) => {
      const text = comp.heard ?? "";
      const out: Record<string, unknown> = { text, lang };
      if (text !== "") out.confidence = 0.93;
      if (comp.dtmfBuffer !== "") out.dtmfBuffer = comp.dtmfBuffer;
      return out;
    },
    exit: (_how, comp) => (comp.heard === undefined && comp.dtmfBuffer === "" ? "transferTimeout" : "transfer"),
  };
}

/** Whether the component listens for speech. */
export function isAsr(oType: number): boolean {
  return oType === 223 || oType === 227;
}
