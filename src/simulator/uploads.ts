// file_upload_* requests: the simulator fetches the URL itself, as the platform does, then files the bytes
// in the call's temp area or in static storage. Answers carry the internal path in `result` (seed shape).
import { type ParsedRequestBody, validateDestpath } from "../protocol";
import { DownloadError, download, nameFromUrl, parseHttpUrl } from "./download";
import { type Engine, errorBody } from "./engine";
import type { Call, Conn } from "./types";

function downloadError(err: unknown): ReturnType<typeof errorBody> {
  if (err instanceof DownloadError)
    return errorBody(err.kind === "invalid" ? "invalid" : "download_failed", err.message);
  return errorBody("download_failed", (err as Error).message ?? String(err));
}

/** The URL is checked before any I/O so an unusable one is answered at once. */
function checkedUrl(engine: Engine, conn: Conn, request: string, qid: unknown, url: string): boolean {
  try {
    parseHttpUrl(url);
    return true;
  } catch (err) {
    engine.answer(conn, request, qid, downloadError(err));
    return false;
  }
}

function gone(call: Call | undefined): boolean {
  return call !== undefined && (call.phase === "ended" || call.phase === "released");
}

/**
 * Downloads an upload's URL; answers the request itself (and returns undefined) when the URL is refused, the
 * download fails, the simulator stops, or the call ended meanwhile (its temp area is gone and must stay gone).
 */
async function fetchFor(
  engine: Engine,
  conn: Conn,
  request: string,
  body: { qid: unknown; url: string },
  call: Call | undefined,
): Promise<Buffer | undefined> {
  if (!checkedUrl(engine, conn, request, body.qid, body.url)) return undefined;
  let data: Buffer;
  try {
    data = await download(body.url, { signal: engine.downloadSignal });
  } catch (err) {
    if (!engine.stopped) engine.answer(conn, request, body.qid, downloadError(err));
    return undefined;
  }
  if (engine.stopped) return undefined;
  if (gone(call)) {
    const which = call ? `call ${call.info.ivrid}` : "the call";
    engine.answer(conn, request, body.qid, errorBody("not_found", `${which} ended during the download`));
    return undefined;
  }
  return data;
}

export async function uploadTemp(
  engine: Engine,
  conn: Conn,
  call: Call,
  body: ParsedRequestBody<"ivrapi_file_upload_temp">,
): Promise<void> {
  const request = "ivrapi_file_upload_temp";
  const data = await fetchFor(engine, conn, request, body, call);
  if (!data) return;
  try {
    const path = engine.files.writeTemp(call.info.ivrid, "", nameFromUrl(body.url), data);
    call.tempFiles.add(path);
    engine.note(call, "file uploaded", { path, url: body.url, bytes: data.length });
    engine.answer(conn, request, body.qid, { result: path });
  } catch (err) {
    engine.answer(conn, request, body.qid, errorBody("download_failed", `storing failed: ${(err as Error).message}`));
  }
}

export async function uploadStatic(
  engine: Engine,
  conn: Conn,
  request: "file_upload_static" | "ivrapi_file_upload_static",
  body: { qid: unknown; url: string; destpath: string },
  call: Call | undefined,
): Promise<void> {
  const dest = validateDestpath(body.destpath);
  if (!dest.ok) {
    engine.answer(conn, request, body.qid, errorBody("bad_path", dest.message));
    return;
  }
  const data = await fetchFor(engine, conn, request, body, call);
  if (!data) return;
  const name = nameFromUrl(body.url);
  // The answer keeps the root spelling the client used (":GS_PUB" stays short); storage uses the long form.
  const internal = `${dest.destpath.replace(/\/+$/, "")}/${name}`;
  const where = engine.files.resolve(internal);
  if (!where.ok) {
    engine.answer(conn, request, body.qid, errorBody("bad_path", where.message));
    return;
  }
  try {
    engine.files.writeStatic(where.file, data);
  } catch (err) {
    engine.answer(conn, request, body.qid, errorBody("download_failed", `storing failed: ${(err as Error).message}`));
    return;
  }
  if (call) engine.note(call, "static file uploaded", { path: internal, url: body.url, bytes: data.length });
  else engine.opts.log(`static file uploaded: ${internal} (${data.length} bytes from ${body.url})`);
  engine.answer(conn, request, body.qid, { result: internal });
}
