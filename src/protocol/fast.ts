// Fast paths for the frames every call brings (results, api_start/stop, component_stopped, dtmf). When a body is
// already exactly what its zod schema would output (every field of the right type), it is used as is; anything
// else goes through zod, which stays the source of truth for the shape. A property test holds the two equal.

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Body => typeof v === "object" && v !== null && !Array.isArray(v);
const optString = (v: unknown) => v === undefined || typeof v === "string";
// zod's z.number() takes finite numbers only (JSON cannot carry others, a msg can).
const optNumber = (v: unknown) => v === undefined || (typeof v === "number" && Number.isFinite(v));
const optId = (v: unknown) => v === undefined || typeof v === "string" || (typeof v === "number" && Number.isFinite(v));
const nonEmpty = (v: unknown) => typeof v === "string" && v.length > 0;

/** A `_result` body: only its qid is checked (ResultBody). */
export function fastResult(b: Body): boolean {
  return (typeof b.qid === "number" && Number.isFinite(b.qid)) || typeof b.qid === "string";
}

export function fastNotify(b: Body): boolean {
  return (
    typeof b.class === "string" &&
    typeof b.type === "string" &&
    optNumber(b.eventts) &&
    optId(b.id) &&
    // zod's z.unknown() key: present with undefined when absent, so only a present data takes the fast path.
    "data" in b
  );
}

export function fastApiStart(d: unknown, keyRequired = true): boolean {
  if (!isObject(d)) return false;
  return (
    nonEmpty(d.ivrid) &&
    (keyRequired ? typeof d.key === "string" : optString(d.key)) &&
    optString(d.callid) &&
    optString(d.cid) &&
    optId(d.componentid) &&
    optString(d.componentname) &&
    optNumber(d.ivrts) &&
    // params: a string as is (null or an object goes through zod's transform).
    optString(d.params) &&
    optString(d.sm_id) &&
    optString(d.state)
  );
}

export function fastApiStop(d: unknown): boolean {
  return fastApiStart(d, false) && optString((d as Body).reason);
}

export function fastComponentStopped(b: Body): boolean {
  return (
    (b.ivrid === undefined || nonEmpty(b.ivrid)) &&
    optString(b.key) &&
    optId(b.oId) &&
    optString(b.transferKey) &&
    (b.results === undefined || isObject(b.results))
  );
}

export function fastDtmf(b: Body): boolean {
  return optString(b.key) && nonEmpty(b.ivrid) && typeof b.mode === "string" && optId(b.oId) && nonEmpty(b.dtmf);
}

/** Component data whose oType is already a whole number: zod's output is its shallow copy. */
export function fastComponentData(d: unknown): d is Body & { oType: number } {
  return (
    isObject(d) &&
    typeof d.oType === "number" &&
    Number.isInteger(d.oType) &&
    d.oType >= 0 &&
    optId(d.oId) &&
    optString(d.name)
  );
}

/**
 * A shallow copy of a body that is to take more fields (a qid, an oId) without getting a hidden class of its own: V8
 * gives a spread's copy its own once a field is added, one per request. A body with an own "__proto__" key (JSON.parse
 * makes one from `"__proto__":`) is spread: Object.assign would make that key the copy's prototype, not copy it.
 */
export function copyBody<T extends object>(b: T): T {
  return Object.hasOwn(b, "__proto__") ? { ...b } : Object.assign({}, b);
}
