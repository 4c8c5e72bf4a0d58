// Which ivr start node gets an offered call. A connection accepts a call once, so when several start nodes
// match, exactly one is chosen: the most specific filter wins (key + componentName > key > componentName >
// none), and among equally specific ones the first registered (the order Node-RED started them in).
import type { CallInfo } from "../../session/types";

export interface StartClaim {
  /** The start node's id. */
  id: string;
  /** "" = any key. */
  key: string;
  /** "" = any component name. */
  componentName: string;
  accepted(call: CallInfo): void;
  /** Another connection took it, or the call is gone: a normal outcome. */
  lost(call: CallInfo, reason: string): void;
  failed(call: CallInfo, err: unknown): void;
}

export function matches(claim: Pick<StartClaim, "key" | "componentName">, call: CallInfo): boolean {
  if (claim.key !== "" && claim.key !== call.key) return false;
  if (claim.componentName !== "" && claim.componentName !== (call.start.componentname ?? "")) return false;
  return true;
}

export function specificity(claim: Pick<StartClaim, "key" | "componentName">): number {
  return (claim.key !== "" ? 2 : 0) + (claim.componentName !== "" ? 1 : 0);
}

export function pickStart<C extends Pick<StartClaim, "key" | "componentName">>(
  claims: readonly C[],
  call: CallInfo,
): C | undefined {
  let best: C | undefined;
  for (const c of claims) {
    if (!matches(c, call)) continue;
    if (!best || specificity(c) > specificity(best)) best = c;
  }
  return best;
}
