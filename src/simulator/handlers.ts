// Inbound frames: decoding, logging and one handler per request of PROTOCOL.md. Bad input is logged and,
// when it names a request and a qid, answered with an error; it never closes the socket or throws.
import { decodeRequest, type ParsedRequestBody, type SessionRequestName } from "../protocol";
import { finishComponent, startComponent } from "./components";
import { type Engine, errorBody } from "./engine";
import type { Call, Conn } from "./types";
import { uploadStatic, uploadTemp } from "./uploads";

/** Raw text kept in the log for a malformed frame; a hostile megabyte need not be kept whole. */
const RAW_LOG_LIMIT = 64 * 1024;

export function handleText(engine: Engine, conn: Conn, text: string): void {
  const frame = decodeRequest(text);
  if (frame.kind === "error") {
    const raw = text.length > RAW_LOG_LIMIT ? `${text.slice(0, RAW_LOG_LIMIT)}…` : text;
    engine.record({ at: Date.now(), dir: "in", conn: conn.id, name: "(malformed)", body: raw });
    if (frame.code === "too_large") return;
    const { name, qid } = peek(text);
    if (name !== undefined && qid !== undefined) {
      const code = frame.code === "invalid_body" ? "invalid" : "unknown_request";
      engine.answer(conn, name, qid, errorBody(code, frame.message));
    }
    return;
  }
  // The log keeps the body as sent (decoding normalises e.g. a string oType).
  const rawBody = (JSON.parse(text) as [string, unknown])[1];
  engine.record({ at: Date.now(), dir: "in", conn: conn.id, name: frame.name, body: rawBody });
  const instead = engine.takeInstead(frame.name);
  if (instead) {
    engine.opts.log(`fault: ${frame.name} not carried out, answered with ${JSON.stringify(instead)}`);
    engine.answer(conn, frame.name, frame.body.qid, instead);
    return;
  }
  const capability = frame.name === "subscribe" ? "subscr" : frame.name === "connection_info" ? null : "ivrapi";
  if (capability && !engine.opts.capabilities.includes(capability)) {
    engine.answer(
      conn,
      frame.name,
      frame.body.qid,
      errorBody("forbidden", `capability "${capability}" is not granted`),
    );
    return;
  }
  switch (frame.name) {
    case "connection_info":
      engine.answer(conn, frame.name, frame.body.qid, {
        result: "ok",
        site: "sim",
        domain: "sim.local",
        sessionid: conn.sessionid,
        connectionid: conn.id,
        capabilities: [...engine.opts.capabilities],
        roles: ["integration"],
      });
      return;
    case "subscribe":
      subscribe(engine, conn, frame.body);
      return;
    case "file_upload_static":
      void uploadStatic(engine, conn, frame.name, frame.body, undefined);
      return;
    default:
      session(engine, conn, frame.name, frame.body as ParsedRequestBody<SessionRequestName>);
  }
}

function peek(text: string): { name?: string; qid?: unknown } {
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v) || typeof v[0] !== "string" || v[0] === "") return {};
    const body: unknown = v[1];
    const qid = body && typeof body === "object" ? (body as Record<string, unknown>).qid : undefined;
    return { name: v[0], qid };
  } catch {
    return {};
  }
}

function subscribe(engine: Engine, conn: Conn, body: ParsedRequestBody<"subscribe">): void {
  if (body.expires === 0) conn.subs.delete(body.id);
  else conn.subs.set(body.id, { id: body.id, events: [...body.events], expiresAt: Date.now() + body.expires * 1000 });
  engine.answer(conn, "subscribe", body.qid, { result: "ok" });
}

function session(
  engine: Engine,
  conn: Conn,
  name: SessionRequestName,
  body: ParsedRequestBody<SessionRequestName>,
): void {
  const fail = (code: Parameters<typeof errorBody>[0], reason: string): void =>
    engine.answer(conn, name, body.qid, errorBody(code, reason));
  const call = engine.calls.get(body.ivrid);
  if (!call || call.phase === "ended" || call.phase === "released") {
    fail("not_found", `no call ${body.ivrid} under API control (unknown, ended or given back)`);
    return;
  }
  if (body.key !== call.info.key) {
    fail("wrong_key", `key does not match the api_start of ${body.ivrid}`);
    return;
  }
  if (name === "ivrapi_accept" || name === "ivrapi_reaccept") {
    if (name === "ivrapi_accept" && call.controller !== null) {
      fail("already_accepted", `${body.ivrid} is already controlled by another accept`);
      return;
    }
    take(engine, call, conn, name === "ivrapi_accept" ? "accepted" : "reaccepted");
    engine.answer(conn, name, body.qid, { result: "ok" });
    return;
  }
  if (call.controller !== conn.id) {
    fail("not_controller", `this connection does not control ${body.ivrid}`);
    return;
  }
  controlled(engine, conn, call, name, body);
}

function take(engine: Engine, call: Call, conn: Conn, how: string): void {
  engine.clearTimer(call.acceptTimer);
  call.acceptTimer = null;
  const from = call.controller;
  call.controller = conn.id;
  call.phase = "controlled";
  engine.note(call, how, from === null ? { by: conn.id } : { by: conn.id, from });
}

function controlled(
  engine: Engine,
  conn: Conn,
  call: Call,
  name: Exclude<SessionRequestName, "ivrapi_accept" | "ivrapi_reaccept">,
  body: ParsedRequestBody<SessionRequestName>,
): void {
  const { qid } = body;
  switch (name) {
    case "ivrapi_abort":
      engine.answer(conn, name, qid, { result: "ok" });
      engine.endCall(call, "abort");
      return;
    case "ivrapi_component_apply": {
      const { data } = body as ParsedRequestBody<"ivrapi_component_apply">;
      const running = call.component;
      if (running) {
        engine.answer(conn, name, qid, errorBody("busy", `component ${running.oId} still runs; wait for its stop`));
        return;
      }
      const oId = startComponent(engine, call, data as Record<string, unknown> & { oType: number });
      engine.answer(conn, name, qid, { result: "ok", oId });
      return;
    }
    case "ivrapi_component_terminate":
      if (!call.component) {
        engine.answer(conn, name, qid, errorBody("no_component", `no component runs on ${call.info.ivrid}`));
        return;
      }
      if (engine.opts.stoppedBeforeAnswer) finishComponent(engine, call, "terminated");
      engine.answer(conn, name, qid, { result: "ok" });
      if (!engine.opts.stoppedBeforeAnswer) finishComponent(engine, call, "terminated");
      return;
    case "ivrapi_file_get_path":
      getPath(engine, conn, call, body as ParsedRequestBody<"ivrapi_file_get_path">);
      return;
    case "ivrapi_file_upload_temp":
      void uploadTemp(engine, conn, call, body as ParsedRequestBody<"ivrapi_file_upload_temp">);
      return;
    case "ivrapi_file_upload_static":
      void uploadStatic(engine, conn, name, body as ParsedRequestBody<"ivrapi_file_upload_static">, call);
      return;
  }
}

function getPath(engine: Engine, conn: Conn, call: Call, body: ParsedRequestBody<"ivrapi_file_get_path">): void {
  const where = engine.files.resolve(body.path, call.info.ivrid);
  if (!where.ok) {
    engine.answer(conn, "ivrapi_file_get_path", body.qid, errorBody("bad_path", where.message));
    return;
  }
  if (!engine.files.exists(where.file)) {
    engine.answer(conn, "ivrapi_file_get_path", body.qid, errorBody("not_found", `no file at ${body.path}`));
    return;
  }
  const link = engine.files.createLink(where.file, engine.opts.linkTtlMs);
  engine.note(call, "link created", { path: body.path });
  engine.answer(conn, "ivrapi_file_get_path", body.qid, { result: `${engine.httpUrl()}${link}` });
}
