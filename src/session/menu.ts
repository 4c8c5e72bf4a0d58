// An IVR menu on one call: a prompt, then digits, with retries. Built only from the platform's own components,
// applied through the registry one at a time (rule 2): the prompt with `interruptSymbols` (barge-in), then a
// 206 collect. Key presses are also followed through `ivrapi_dtmf` events, which is what keeps a digit pressed
// during the prompt (or between the prompt and the 206) from being lost: the platform's DTMF buffer is the 206's
// own (it starts cleared), the events see every key while control is held.
import { IvrApiError } from "../client/errors";
import type { DtmfBody } from "../protocol";
import { copyBody } from "../protocol/fast";
import type { SessionRegistry } from "./registry";
import type { ApplyOptions } from "./session";
import type { CallInfo, ComponentResult } from "./types";

/** Every DTMF symbol, as the platform's comma-separated interruptSymbols. */
export const ALL_DTMF = "0,1,2,3,4,5,6,7,8,9,*,#";

type Data = Record<string, unknown>;

export interface MenuOptions {
  prompt: Data;
  /** Played before the prompt on a retry after no input (optional). */
  retryPrompt?: Data | undefined;
  /** Played before the prompt on a retry after digits that match no choice (optional). */
  noMatchPrompt?: Data | undefined;
  /** Digit strings, one or more digits each. */
  choices: readonly string[];
  maxDigits: number;
  /** Seconds to wait for the first digit. */
  timeoutS: number;
  /** Seconds to wait between digits. */
  interDigitS: number;
  /** Ends the input early ("" = none). */
  terminator: string;
  /** Times the prompt is played again after no input or no match. */
  retries: number;
  /** A key interrupts the prompt. */
  bargeIn: boolean;
  busy?: ApplyOptions["busy"];
  /** Aborted: no further component is applied (the node closed: a deploy). */
  signal?: AbortSignal;
  /** Told before each attempt (1-based), for a status. */
  onAttempt?: (attempt: number) => void;
}

export type MenuOutcome =
  | { kind: "choice"; index: number; digits: string; attempts: number }
  | { kind: "noInput" | "noMatch"; index: -1; digits: string; attempts: number };

/** The 206 that collects what the prompt did not already get. */
function collectData(o: MenuOptions, typed: string): Data {
  return {
    oType: 206,
    // Once the caller started typing (during the prompt), only the gap between digits is waited for.
    timeoutSec: typed === "" ? o.timeoutS : o.interDigitS,
    symbolTimeoutSec: o.interDigitS,
    maxSymbolCount: Math.max(1, o.maxDigits - typed.length),
    interruptSymbols: o.terminator,
    // The digits typed before it are already counted from the dtmf events: the buffer must not count them twice.
    clearDtmfBuffer: true,
  };
}

/** The prompt as applied: with barge-in, any key interrupts it unless the data names its own symbols. */
function promptData(p: Data, bargeIn: boolean): Data {
  // Not a spread (see copyBody): the oId the runtime adds would give a spread's copy a hidden class of its own.
  const out = copyBody(p);
  if (!bargeIn) out.interruptSymbols = "";
  else if (p.interruptSymbols === undefined || p.interruptSymbols === "") out.interruptSymbols = ALL_DTMF;
  return out;
}

export class Menu {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly ivrid: string,
    private readonly o: MenuOptions,
  ) {}

  /** Whether the digits so far settle the answer (no 206 needed). */
  private complete(typed: string): boolean {
    const o = this.o;
    if (typed === "") return false;
    if (o.terminator !== "" && typed.includes(o.terminator)) return true;
    if (typed.length >= o.maxDigits) return true;
    // Nothing longer could still match: what was typed is the answer (a choice, or no match).
    return !o.choices.some((c) => c !== typed && c.startsWith(typed));
  }

  private clean(digits: string): string {
    const o = this.o;
    const cut =
      o.terminator !== "" && digits.includes(o.terminator) ? digits.slice(0, digits.indexOf(o.terminator)) : digits;
    return cut.slice(0, Math.max(o.maxDigits, 1));
  }

  private async apply(data: Data): Promise<ComponentResult> {
    if (this.o.signal?.aborted) {
      throw new IvrApiError("closed", "menu: stopped before it ended (its node was closed)", { ivrid: this.ivrid });
    }
    const r = await this.registry.apply(this.ivrid, data, { busy: this.o.busy ?? "reject" });
    if (r.transferKey === "error") {
      const why = typeof r.results.error === "string" ? `: ${r.results.error}` : "";
      throw new IvrApiError("rejected", `menu: component ${String(data.oType)} could not run${why}`, {
        ivrid: this.ivrid,
        reason: "error",
      });
    }
    if (r.transferKey === "terminated") {
      throw new IvrApiError("superseded", `menu: component ${String(data.oType)} was terminated`, {
        ivrid: this.ivrid,
        reason: "terminated",
      });
    }
    return r;
  }

  /** One attempt: the prompts, then the 206 when still needed; the digits the caller gave. */
  private async attempt(prompts: Data[]): Promise<string> {
    const presses: Array<{ oId: number | string | undefined; dtmf: string }> = [];
    const onDtmf = (call: CallInfo, body: DtmfBody) => {
      if (call.ivrid === this.ivrid) presses.push({ oId: body.oId, dtmf: body.dtmf });
    };
    this.registry.on("dtmf", onDtmf);
    try {
      let typed = "";
      for (const p of prompts) {
        const before = presses.length;
        const r = await this.apply(promptData(p, this.o.bargeIn));
        // Events first; a platform that reports the interrupting key only in the results is read from those.
        const seen = presses
          .slice(before)
          .map((e) => e.dtmf)
          .join("");
        const buffer = typeof r.results.dtmfBuffer === "string" ? r.results.dtmfBuffer : "";
        typed += seen !== "" ? seen : buffer;
        if (typed !== "" && this.o.bargeIn) break;
      }
      if (this.complete(typed)) return this.clean(typed);
      const before = presses.length;
      const r = await this.apply(collectData(this.o, typed));
      const gap = presses
        .slice(before)
        .filter((e) => e.oId !== r.oId)
        .map((e) => e.dtmf)
        .join("");
      const collected = typeof r.results.dtmfBuffer === "string" ? r.results.dtmfBuffer : "";
      return this.clean(typed + gap + collected);
    } finally {
      this.registry.off("dtmf", onDtmf);
    }
  }

  async run(): Promise<MenuOutcome> {
    const o = this.o;
    let last: "noInput" | "noMatch" = "noInput";
    let digits = "";
    const tries = Math.max(0, Math.floor(o.retries)) + 1;
    for (let n = 1; n <= tries; n++) {
      o.onAttempt?.(n);
      const extra = n === 1 ? undefined : last === "noMatch" ? o.noMatchPrompt : o.retryPrompt;
      digits = await this.attempt(extra ? [extra, o.prompt] : [o.prompt]);
      const index = o.choices.indexOf(digits);
      if (index >= 0) return { kind: "choice", index, digits, attempts: n };
      last = digits === "" ? "noInput" : "noMatch";
    }
    return { kind: last, index: -1, digits, attempts: tries };
  }
}
