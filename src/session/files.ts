// File requests: public links, uploads into the call's temp area and into static storage. Inputs are checked
// here so a bad path or URL is a clear error before anything is sent.
import type { Answer } from "../client/client";
import { IvrApiError } from "../client/errors";
import { checkHttpUrl, checkInternalPath, validateDestpath } from "../protocol";
import type { SessionRegistry } from "./registry";
import type { FileAnswer } from "./types";

export interface FileRequestOptions {
  /** Downloads can take longer than plain requests. */
  timeoutMs?: number;
}

/** The path or link an answer carries: `result` (the seed's shape) unless it is the ok marker, else a named field. */
function fileAnswer(answer: Answer, okValue: string): FileAnswer {
  const body = answer.body as Record<string, unknown>;
  for (const field of ["result", "path", "link", "url", "file"]) {
    const v = body[field];
    if (typeof v === "string" && v !== "" && v !== okValue) return { value: v, body };
  }
  return { value: undefined, body };
}

function checkUrl(url: string): string {
  const checked = checkHttpUrl(url);
  if (!checked.ok) throw new IvrApiError("invalid", checked.message);
  return checked.url.toString();
}

/** A public REST link to an internal file (valid 5 minutes on the platform). */
export async function getFileLink(
  reg: SessionRegistry,
  ivrid: string,
  path: string,
  opts: FileRequestOptions = {},
): Promise<FileAnswer> {
  // Syntax only: the platform has storage roots beyond the known aliases, and it answers for those it lacks.
  const checked = checkInternalPath(path);
  if (!checked.ok) throw new IvrApiError("invalid", `path: ${checked.message}`, { ivrid });
  const answer = await reg.sessionRequest(ivrid, "ivrapi_file_get_path", { path }, opts);
  return fileAnswer(answer, reg.client.options.okValue);
}

/** The server downloads `url` into the call's temp folder (deleted when the script ends). */
export async function uploadTemp(
  reg: SessionRegistry,
  ivrid: string,
  url: string,
  opts: FileRequestOptions = {},
): Promise<FileAnswer> {
  const answer = await reg.sessionRequest(ivrid, "ivrapi_file_upload_temp", { url: checkUrl(url) }, opts);
  return fileAnswer(answer, reg.client.options.okValue);
}

/**
 * The server downloads `url` into static storage under `destpath`; with a call, through that session
 * (`ivrapi_file_upload_static`), without one through the session-less `file_upload_static`.
 */
export async function uploadStatic(
  reg: SessionRegistry,
  ivrid: string | undefined,
  url: string,
  destpath: string,
  opts: FileRequestOptions = {},
): Promise<FileAnswer> {
  const dest = validateDestpath(destpath);
  if (!dest.ok) throw new IvrApiError("invalid", dest.message, ivrid === undefined ? {} : { ivrid });
  const params = { url: checkUrl(url), destpath: dest.destpath };
  const answer =
    ivrid === undefined
      ? await reg.client.request("file_upload_static", params, opts)
      : await reg.sessionRequest(ivrid, "ivrapi_file_upload_static", params, opts);
  return fileAnswer(answer, reg.client.options.okValue);
}
