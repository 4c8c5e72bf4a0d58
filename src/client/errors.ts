// One error type for everything the runtime reports, with a stable code a flow can switch on
// (`msg.error.code` in the nodes) and a text that never holds the token.

export const ERROR_CODES = [
  /** The server answered the request with an error (`serverCode` holds its own code when it sent one). */
  "rejected",
  /** No answer within the request timeout. */
  "timeout",
  /** The socket closed while the request was in flight. */
  "connection_lost",
  /** The client is not connected (connecting, unauthorized, closed…) right now. */
  "not_connected",
  /** The client was closed by its owner. */
  "closed",
  /** A request body or setting failed validation before anything was sent. */
  "invalid",
  /** No controlled session for that ivrid (never accepted, or already ended). */
  "no_session",
  /** A component already runs on that call and the busy policy is `reject`. */
  "busy",
  /** terminate with no component running on that call. */
  "no_component",
  /** The call ended (api_stop, abort, lost control) before the operation finished. */
  "session_ended",
  /**
   * The server refused to terminate a component the client still counted as running: it ended there unseen (its
   * stop event was lost, e.g. while the socket was down). The call is free again.
   */
  "component_lost",
  /** A waiting `replace` apply was overtaken by a newer one before it could run; it was never sent. */
  "superseded",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class IvrApiError extends Error {
  override readonly name = "IvrApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { serverCode?: string; body?: unknown; request?: string; ivrid?: string; reason?: string } = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** Replaces every occurrence of the secret in a text (URLs, library error messages) by `***`. */
export function maskSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join("***");
}

/** Masks a token as it may appear: as is, or URL-encoded in the endpoint's path. */
export function maskToken(text: string, token: string | undefined): string {
  return token ? maskSecret(maskSecret(text, token), encodeURIComponent(token)) : text;
}
