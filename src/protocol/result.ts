// How a `_result` is read as success or failure. PROTOCOL.md marks these rules ASSUMED, so every marker is a
// setting (ResultRules), and an answer that fits none of them is handed on whole as "unclassified".

export interface ResultRules {
  /** The `result` value that means success. */
  okValue: string;
  /** Body fields that hold an error text when `result` is not the ok value. */
  reasonFields: string[];
  /** Body fields whose presence alone marks an error (string or object). */
  errorFields: string[];
}

export const DEFAULT_RESULT_RULES: ResultRules = {
  okValue: "ok",
  reasonFields: ["reason", "message", "error_text"],
  errorFields: ["error"],
};

export type ResultOutcome =
  | { status: "ok" }
  /** `code` is a machine-readable code when the answer carries one (`code`, or `error.code`). */
  | { status: "error"; reason: string; code?: string }
  /** Neither ok nor a recognisable error: the caller gets the body whole and decides. */
  | { status: "unclassified" };

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    for (const k of ["message", "reason", "text", "error_text", "code"]) {
      if (typeof v[k] === "string" || typeof v[k] === "number") return String(v[k]);
    }
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function codeOf(body: Record<string, unknown>, marker: unknown): string | undefined {
  const c = body.code ?? (marker && typeof marker === "object" ? (marker as Record<string, unknown>).code : undefined);
  return typeof c === "string" || typeof c === "number" ? String(c) : undefined;
}

function error(body: Record<string, unknown>, marker: unknown): ResultOutcome {
  const code = codeOf(body, marker);
  return code === undefined
    ? { status: "error", reason: describe(marker) }
    : { status: "error", reason: describe(marker), code };
}

export function classifyResult(body: Record<string, unknown>, rules: Partial<ResultRules> = {}): ResultOutcome {
  const r = { ...DEFAULT_RESULT_RULES, ...rules };
  for (const f of r.errorFields) {
    const v = body[f];
    if (v !== undefined && v !== null && v !== false && v !== "") return error(body, v);
  }
  const result = body.result;
  if (result === r.okValue) return { status: "ok" };
  if (result !== undefined) {
    for (const f of r.reasonFields) {
      const v = body[f];
      if (v !== undefined && v !== null && v !== "") return error(body, v);
    }
  }
  // A string result with no error marker is data (file_upload_static_result carries the stored path there).
  if (result === undefined || typeof result === "string") return { status: "ok" };
  return { status: "unclassified" };
}
