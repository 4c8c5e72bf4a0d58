// Who may open the token API: the token in the path (/ws/token/v1/TOKEN) or in an Authorization: Bearer
// header on /ws/token/v1. No login frame exists; a refused upgrade is a plain HTTP answer, no socket.
import { timingSafeEqual } from "node:crypto";
import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";

export const WS_BASE_PATH = "/ws/token/v1";

export type UpgradeVerdict =
  | { ok: true; by: "path" | "header" }
  | { ok: false; status: 401 | 404; text: string; why: string };

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function authorize(req: IncomingMessage, expected: string): UpgradeVerdict {
  const { pathname } = new URL(req.url ?? "/", "http://sim.invalid");
  let token: string | undefined;
  let by: "path" | "header";
  if (pathname.startsWith(`${WS_BASE_PATH}/`) && pathname.length > WS_BASE_PATH.length + 1) {
    by = "path";
    try {
      token = decodeURIComponent(pathname.slice(WS_BASE_PATH.length + 1));
    } catch {
      token = undefined;
    }
  } else if (pathname === WS_BASE_PATH || pathname === `${WS_BASE_PATH}/`) {
    by = "header";
    token = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim();
  } else {
    return { ok: false, status: 404, text: "not found: the token API lives at /ws/token/v1/TOKEN\n", why: "path" };
  }
  if (token === undefined || !sameToken(token, expected)) {
    return {
      ok: false,
      status: 401,
      text: "unauthorized: missing or wrong token\n",
      why: `${token === undefined ? "no token" : "wrong token"} (${by})`,
    };
  }
  return { ok: true, by };
}

/** Answers an upgrade request with a plain HTTP status and closes the socket. */
export function refuse(socket: Socket, status: number, text: string): void {
  const reason = STATUS_CODES[status] ?? "Error";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
