// Bounded, token-free copies of what a call's frames and results held, for the call record: a few levels, a few keys,
// a few items, short strings. A summary, never a deep copy: a 1 MiB params text costs the record 200 characters.
import { maskToken } from "../client/errors";

export interface ClipLimits {
  /** Levels of objects and arrays kept; deeper ones become "{…}" / "[…]". */
  depth: number;
  /** Keys kept per object; the rest are counted under "…". */
  keys: number;
  /** Items kept per array; the rest are counted in a last "…+N". */
  items: number;
  /** Characters kept per string (then "…"). */
  chars: number;
}

export const CLIP: ClipLimits = { depth: 3, keys: 16, items: 8, chars: 200 };

/** Field names whose value is a secret whatever it holds. */
const SECRET_KEY = /token|authori[sz]ation|password|secret|credential/i;

/** A string cut to `chars`, with the secret (as is or URL-encoded) replaced by `***`. */
export function clipText(s: string, secret: string | undefined, chars = CLIP.chars): string {
  let out = s;
  if (secret && (out.includes(secret) || out.includes(encodeURIComponent(secret)))) out = maskToken(out, secret);
  return out.length > chars ? `${out.slice(0, chars)}…` : out;
}

/** A bounded copy of a JSON-like value (see ClipLimits), secrets masked. */
export function clip(v: unknown, secret: string | undefined, limits: ClipLimits = CLIP, depth = limits.depth): unknown {
  switch (typeof v) {
    case "string":
      return clipText(v, secret, limits.chars);
    case "number":
    case "boolean":
      return v;
    case "bigint":
      return String(v);
    case "object":
      if (v === null) return null;
      if (Array.isArray(v)) {
        if (depth <= 0) return v.length === 0 ? [] : "[…]";
        const n = Math.min(v.length, limits.items);
        const out: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = clip(v[i], secret, limits, depth - 1);
        if (v.length > n) out.push(`…+${v.length - n}`);
        return out;
      }
      return clipObject(v as Record<string, unknown>, secret, limits, depth);
    default:
      return undefined;
  }
}

function clipObject(
  o: Record<string, unknown>,
  secret: string | undefined,
  limits: ClipLimits,
  depth: number,
): unknown {
  if (depth <= 0) return "{…}";
  const out: Record<string, unknown> = {};
  let kept = 0;
  let more = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    if (kept >= limits.keys) {
      more++;
      continue;
    }
    kept++;
    const v = o[k];
    out[clipText(k, secret, 64)] =
      SECRET_KEY.test(k) && v !== undefined && v !== "" ? "***" : clip(v, secret, limits, depth - 1);
  }
  if (more > 0) out["…"] = `+${more} keys`;
  return out;
}
