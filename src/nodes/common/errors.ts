// How a node reports a failed message: through done(err) with an Error that carries its own `code`, which
// Node-RED copies into the Catch node's msg.error (next to message and source). Texts never hold the token:
// the runtime masks its own, and every text passes the connection's mask once more on the way out.
import { IvrApiError } from "../../client/errors";

export class FlowError extends Error {
  override readonly name = "IvrApiError";
  declare readonly code: string;
  declare readonly cause?: Record<string, unknown>;

  constructor(code: string, message: string, cause?: Record<string, unknown>) {
    super(message);
    // Own properties on purpose: Flow.handleError copies only own `code`/`cause` into msg.error.
    Object.defineProperty(this, "code", { value: code, enumerable: true });
    if (cause && Object.keys(cause).length > 0)
      Object.defineProperty(this, "cause", { value: cause, enumerable: true });
  }

  /** What Node-RED copies into msg.error.message: the text alone (the code has its own msg.error.code). */
  override toString(): string {
    return this.message;
  }
}

/** Any thrown value as a FlowError, with its text masked. */
export function toFlowError(err: unknown, mask: (s: string) => string = (s) => s): FlowError {
  if (err instanceof FlowError) return err;
  if (err instanceof IvrApiError) {
    const cause: Record<string, unknown> = {};
    if (err.details.serverCode !== undefined) cause.serverCode = err.details.serverCode;
    if (err.details.request !== undefined) cause.request = err.details.request;
    if (err.details.reason !== undefined) cause.reason = err.details.reason;
    return new FlowError(err.code, mask(err.message), cause);
  }
  const text = err instanceof Error ? err.message : String(err);
  return new FlowError("internal", mask(text));
}
