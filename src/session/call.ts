// A call as api_start offered it: what the registry holds per call, read from the api_start data itself.
import type { ApiStartData } from "../protocol";
// From the module, not the index (see the client): read for every call that starts.
import { parseParams } from "../protocol/frames";
import type { CallInfo } from "./types";

export function isCall(v: ApiStartData | CallInfo): v is CallInfo {
  return "paramsRaw" in v && "start" in v;
}

export function toCall(d: ApiStartData): CallInfo {
  return new Call(d);
}

/**
 * A call as api_start offered it. Everything is read from the api_start data itself, so a held call costs that data
 * and little more; `params` is parsed from its text on each read, a fresh copy for whoever reads it (a flow that
 * changes its msg's params cannot change the next msg's).
 */
export class Call implements CallInfo {
  /** When control was taken here (ms epoch). */
  acceptedAt: number | undefined;

  /** Whether params parse (found out on the first read, not before: many calls never read them). */
  private paramsProblem: string | null | undefined;

  constructor(readonly start: ApiStartData) {}

  get paramsError(): string | undefined {
    if (this.paramsProblem === undefined) {
      const parsed = parseParams(this.start.params);
      this.paramsProblem = parsed.ok ? null : parsed.message;
    }
    return this.paramsProblem ?? undefined;
  }

  get ivrid(): string {
    return this.start.ivrid;
  }

  get key(): string {
    return this.start.key;
  }

  get state(): string | undefined {
    return this.start.state;
  }

  get paramsRaw(): string {
    return this.start.params ?? "";
  }

  get params(): unknown {
    if (this.paramsProblem) return this.paramsRaw;
    const parsed = parseParams(this.start.params);
    this.paramsProblem = parsed.ok ? null : parsed.message;
    return parsed.ok ? parsed.value : this.paramsRaw;
  }

  /** What JSON.stringify, debug output and deepEqual see: the fields, not the getters. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ivrid: this.ivrid, key: this.key, params: this.params };
    out.paramsRaw = this.paramsRaw;
    if (this.paramsError !== undefined) out.paramsError = this.paramsError;
    if (this.state !== undefined) out.state = this.state;
    out.start = this.start;
    return out;
  }
}
