// Why a connection attempt failed: a code a user interface can translate (the editor's Test connection does), and
// an English sentence for the log that says what to do. The usual mistakes are named for what they are: a wrong
// path, wss:// against a server without TLS, a token pasted into the URL, http:// where ws:// belongs.

/** Where the platform serves the token API; the connection adds `/TOKEN` (or a Bearer header) itself. */
export const TOKEN_API_PATH = "/ws/token/v1";

/** Every code a failure may carry (the editor has a text for each, in every language). */
export const FAILURE_CODES = [
  /** http:// or https:// given: the token API is a WebSocket (ws://, wss://). */
  "http_url",
  /** Not a ws:// or wss:// URL naming a host. */
  "bad_url",
  /** The URL goes on past /ws/token/v1: a token pasted into it. */
  "token_in_url",
  /** HTTP 404 on the upgrade: no token API at that path. */
  "not_found",
  /** HTTP 401/403 on the upgrade: the token was refused. */
  "unauthorized",
  /** Another HTTP status on the upgrade. */
  "http_status",
  /** connection_info lacks a capability the nodes need. */
  "missing_capability",
  /** wss:// to a server that does not speak TLS there. */
  "tls_plain",
  /** The server's certificate is not trusted. */
  "tls_certificate",
  /** The server hung up during the handshake (ws:// to a TLS port does that). */
  "reset",
  /** Nothing listens at host:port. */
  "refused",
  /** The host name does not resolve. */
  "host_not_found",
  /** No answer in time. */
  "timeout",
  /** connection_info or subscribe failed. */
  "handshake",
  /** The socket closed. */
  "closed",
  "other",
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface Failure {
  code: FailureCode;
  /** What went wrong and what to do, in English (the caller masks the token out of it). */
  text: string;
  /** The HTTP status of a refused upgrade. */
  status?: number;
  /** The capabilities the token lacks. */
  missing?: string[];
}

const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REVOKED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

const isTls = (url: string) => /^wss:/i.test(url.trim());

/** True when the URL's path goes on past /ws/token/v1 (the connection would add the token a second time). */
export function tokenInUrl(url: string): boolean {
  let path: string;
  try {
    path = new URL(url.trim()).pathname;
  } catch {
    return false;
  }
  const at = path.indexOf(`${TOKEN_API_PATH}/`);
  return at >= 0 && path.slice(at + TOKEN_API_PATH.length).replace(/\/+/g, "") !== "";
}

/** What is wrong with a URL before anything is tried, if anything. */
export function urlProblem(url: string): Failure | undefined {
  const u = url.trim();
  if (/^https?:\/\//i.test(u)) {
    return {
      code: "http_url",
      text: `${u.split(":")[0]}:// is not the token API's scheme: it is a WebSocket, so write ws://… (wss://… where the platform runs HTTPS), ending at ${TOKEN_API_PATH}`,
    };
  }
  if (!/^wss?:\/\/[^/\s]+/i.test(u)) {
    return {
      code: "bad_url",
      text: `the URL must start with ws:// or wss:// and name a host, e.g. wss://pbx.example.com${TOKEN_API_PATH}`,
    };
  }
  if (tokenInUrl(u)) return tokenInUrlFailure();
  return undefined;
}

function tokenInUrlFailure(status?: number): Failure {
  const f: Failure = {
    code: "token_in_url",
    text: `the URL already carries something after ${TOKEN_API_PATH} (a token?): end the URL at ${TOKEN_API_PATH} and put the token in the Token field`,
  };
  if (status !== undefined) f.status = status;
  return f;
}

/** The server answered the WebSocket upgrade with an HTTP status instead of switching protocols. */
export function upgradeFailure(status: number, url: string): Failure {
  if ((status === 401 || status === 403 || status === 404) && tokenInUrl(url)) return tokenInUrlFailure(status);
  if (status === 401 || status === 403) {
    return { code: "unauthorized", status, text: `the server refused the token (HTTP ${status})` };
  }
  if (status === 404) {
    return {
      code: "not_found",
      status,
      text: `the server answered the upgrade with HTTP 404: there is no token API at this path; the URL must end at ${TOKEN_API_PATH}`,
    };
  }
  return { code: "http_status", status, text: `the server answered the upgrade with HTTP ${status}` };
}

/** A socket-level error (TLS, DNS, TCP), as ws reports it; `text` holds the library's own words too. */
export function socketFailure(err: Error & { code?: unknown }, url: string): Failure {
  const code = typeof err.code === "string" ? err.code : "";
  const msg = err.message;
  if (CERTIFICATE_CODES.has(code) || /certificate/i.test(msg)) {
    return {
      code: "tls_certificate",
      text: `the server's TLS certificate is not trusted (${msg}): give its CA (ca in settings.js), or for a test server turn off certificate verification`,
    };
  }
  if (isTls(url) && (code === "EPROTO" || /wrong version number|packet length too long|unknown protocol/i.test(msg))) {
    return {
      code: "tls_plain",
      text: `TLS failed (${msg}): the server does not speak TLS on this port; use ws:// instead of wss://, or the platform's HTTPS port`,
    };
  }
  if (code === "ECONNREFUSED")
    return { code: "refused", text: `nothing accepts connections there (${msg}): check host and port` };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return { code: "host_not_found", text: `the host name does not resolve (${msg})` };
  if (code === "ETIMEDOUT" || /timed out/i.test(msg)) return { code: "timeout", text: `no answer in time (${msg})` };
  if (code === "ECONNRESET" || /socket hang up/i.test(msg)) {
    return {
      code: "reset",
      text: isTls(url)
        ? `the server hung up during the handshake (${msg})`
        : `the server hung up during the handshake (${msg}); if the platform serves HTTPS on this port, use wss://`,
    };
  }
  return { code: "other", text: msg };
}

/** The capabilities `required` that connection_info's answer does not list. */
export function missingCapabilities(body: unknown, required: readonly string[]): string[] {
  const caps = (body as { capabilities?: unknown } | null)?.capabilities;
  const has = Array.isArray(caps) ? caps.map(String) : caps && typeof caps === "object" ? Object.keys(caps) : [];
  return required.filter((c) => !has.includes(c));
}
