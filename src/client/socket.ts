// Opening the socket (where the token goes) and reading the hello answer (which capabilities the token has).
import WebSocket from "ws";
import { ConnectionInfoResult } from "../protocol";
import { IvrApiError } from "./errors";
import { type ClientOptions, TRANSPORT_MAX_BYTES } from "./options";
import type { Answer } from "./requests";
import type { ConnectionInfo } from "./types";

/** A socket to the token API: token in the path (`/ws/token/v1/TOKEN`) or as a Bearer header. */
export function createSocket(o: ClientOptions): WebSocket {
  const base = o.url.replace(/\/+$/, "");
  const header = o.tokenMode === "header";
  return new WebSocket(header ? base : `${base}/${encodeURIComponent(o.token)}`, {
    headers: header ? { Authorization: `Bearer ${o.token}` } : {},
    handshakeTimeout: o.handshakeTimeoutMs,
    // Frames over maxFrameBytes are refused one by one by the decoder (the connection and what is in flight
    // survive); only beyond the transport's cap does the socket close.
    maxPayload: TRANSPORT_MAX_BYTES,
    // Invalid UTF-8 would close the whole connection (1007); the decoder refuses that one frame instead.
    skipUTF8Validation: true,
    rejectUnauthorized: o.rejectUnauthorized,
    ...(o.ca ? { ca: o.ca } : {}),
  });
}

/**
 * Reads connection_info's answer; `missing` is a sentence for the user when the token lacks a capability we
 * need (its integration point's roles decide that, so the fix is on the platform side).
 */
export function readConnectionInfo(hello: Answer, required: string[]): { info: ConnectionInfo } | { missing: string } {
  const parsed = ConnectionInfoResult.safeParse(hello.body);
  if (!parsed.success || hello.outcome.status === "error") {
    throw new IvrApiError("rejected", "connection_info was refused or malformed", { body: hello.body });
  }
  const caps = parsed.data.capabilities;
  const capabilities = Array.isArray(caps) ? caps : caps ? Object.keys(caps) : [];
  const missing = required.filter((c) => !capabilities.includes(c));
  if (missing.length > 0) {
    const which = `capabilit${missing.length > 1 ? "ies" : "y"} ${missing.join(", ")}`;
    return {
      missing: `the token's integration point lacks the ${which} (has: ${capabilities.join(", ") || "none"}); give its role access to them`,
    };
  }
  const info: ConnectionInfo = { capabilities, raw: parsed.data };
  if (parsed.data.site !== undefined) info.site = parsed.data.site;
  if (parsed.data.domain !== undefined) info.domain = parsed.data.domain;
  return { info };
}

/** Closes politely (a close frame), but never waits more than a second for a peer that does not answer. */
export async function closeSocket(ws: WebSocket): Promise<void> {
  ws.removeAllListeners();
  ws.on("error", () => {}); // a close during CONNECTING reports an error nobody cares about any more
  if (ws.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((resolve) => {
    const done = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1000);
    ws.once("close", () => {
      clearTimeout(done);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000, "closing");
  });
}

/**
 * Pings every `everyMs` (0 = off); a ping still unanswered when the next one is due means the peer is gone even if
 * TCP has not noticed, so the socket is terminated (and reopened by its owner). A peer that goes silent is thus
 * found within two intervals. Returns the timer for the owner to clear.
 */
export function keepAlive(ws: WebSocket, everyMs: number, warn: (text: string) => void): NodeJS.Timeout | undefined {
  if (everyMs <= 0) return undefined;
  let unanswered = false;
  ws.on("pong", () => {
    unanswered = false;
  });
  return setInterval(() => {
    if (unanswered) {
      warn(`no pong within ${everyMs} ms of a ping: the connection is dead, reopening`);
      ws.terminate();
      return;
    }
    unanswered = true;
    ws.ping();
  }, everyMs);
}

/**
 * Frames sent together leave in one TCP write: the socket is corked at the first send and uncorked after `most`
 * frames or once the turn is over, whichever comes first (a busy connection answers many calls per read; one syscall
 * each is waste). Not the whole turn: a read of hundreds of frames would then hold every answer until the last was
 * handled, and the server, with nothing to do meanwhile, would answer them all only after: the two sides taking turns
 * instead of working at once.
 */
export function coalescedSender(ws: WebSocket, most = FRAMES_PER_WRITE): (text: string) => void {
  // ws keeps its net.Socket private; without one (not open yet) frames simply go out one by one.
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  if (!socket) return (text) => ws.send(text);
  /** Frames written since the socket was corked (0: not corked). */
  let held = 0;
  let scheduled = false;
  const uncork = () => {
    scheduled = false;
    if (held === 0) return;
    held = 0;
    socket.uncork();
  };
  return (text) => {
    if (held === 0) {
      socket.cork();
      if (!scheduled) {
        scheduled = true;
        setImmediate(uncork);
      }
    }
    ws.send(text);
    if (++held >= most) {
      held = 0;
      socket.uncork();
    }
  };
}

/** Frames one write carries at most (see coalescedSender). */
export const FRAMES_PER_WRITE = 16;
