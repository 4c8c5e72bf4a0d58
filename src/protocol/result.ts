// How a `_result` is read as success or failure. PROTOCOL.md marks these rules ASSUMED, so every marker is a
// setting (ResultRules). A control answer succeeds only on the ok marker: a failure must never pass as success
// (a lost accept race read as "accepted" would let two instances drive one call, rule 6). Only the file
// requests carry data in `result` (the stored path, the link).

export interface ResultRules {
  /** The `result` value that means success. */
  okValue: string;
  /** Body fields that hold an error text when `result` is not the ok value. */
  reasonFields: string[];
  /** Body fields whose presence alone marks an error (string or object). */
  errorFields: string[];
  /** An answer with no `result` field at all (and no error marker) counts as success. */
  okWithoutResult: boolean;
}

export const DEFAULT_RESULT_RULES: ResultRules = {
  okValue: "ok",
  reasonFields: ["reason", "message", "error_text"],
  errorFields: ["error"],
  okWithoutResult: true,
};

/** Requests whose answer carries data (a path or a link) in a string `result`. */
export const DATA_RESULT_REQUESTS: ReadonlySet<string> = new Set([
  "ivrapi_file_get_path",
  "ivrapi_file_upload_temp",
  "ivrapi_file_upload_static",
  "file_upload_static",
]);

export type ResultOutcome =
  | { status: "ok" }
  /** `code` is a machine-readable code when the answer carries one (`code`, or `error.code`). */
  | { status: "error"; reason: string; code?: string };

const OK: ResultOutcome = Object.freeze({ status: "ok" }) as ResultOutcome;

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    for (const k of ["message", "reason", "text", "error_text", "code"]) {
      if (typeof v[k] === "string" || typeof v[k] === "number") return String(v[k]);
    }
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function codeOf(body: Record<string, unknown>, marker: unknown): string | undefined {
  const c = body.code ?? (marker && typeof marker === "object" ? (marker as Record<string, unknown>).code : undefined);
  return typeof c === "string" || typeof c === "number" ? String(c) : undefined;
}

function error(body: Record<string, unknown>, reason: string, marker?: unknown): ResultOutcome {
  const code = codeOf(body, marker);
  return code === undefined ? { status: "error", reason } : { status: "error", reason, code };
}

/** The client hands in its full rules once made: no copy per answer. */
function isComplete(r: Partial<ResultRules>): r is ResultRules {
  return (
    r.okValue !== undefined &&
    r.reasonFields !== undefined &&
    r.errorFields !== undefined &&
    r.okWithoutResult !== undefined
  );
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== "";
}

/**
 * Reads an answer. `request` is the request it answers (its name without `_result`): only the file requests
 * read a string `result` as data; for every other request anything but the ok marker is an error.
 */
export function classifyResult(
  body: Record<string, unknown>,
  rules: Partial<ResultRules> = {},
  request = "",
): ResultOutcome {
  const r = isComplete(rules) ? rules : { ...DEFAULT_RESULT_RULES, ...rules };
  for (const f of r.errorFields) {
    const v = body[f];
    if (present(v) && v !== false) return error(body, describe(v), v);
  }
  const result = body.result;
  if (result === r.okValue) return OK;
  // No ok marker: a reason (or a code) makes it a refusal even without a result field, so a lost race can never read
  // as control through okWithoutResult.
  for (const f of r.reasonFields) {
    const v = body[f];
    if (present(v)) return error(body, describe(v), v);
  }
  if (result === undefined) {
    if (present(body.code)) return error(body, `code ${describe(body.code)}`);
    return r.okWithoutResult ? OK : error(body, "the answer has no result");
  }
  // A path or link in `result` is data, unless the answer also names an error code.
  if (typeof result === "string" && result !== "" && DATA_RESULT_REQUESTS.has(request) && !present(body.code)) {
    return OK;
  }
  return error(body, `result ${describe(result)}`);
}
