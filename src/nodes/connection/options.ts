// Small helpers of the connection node kept apart from its module (which may only `export =`).
import { maskToken } from "../../client/errors";
import type { ClientOptionsInput } from "../../client/options";

/**
 * Client options from settings.js (`ivrapiClient: {...}`): the ASSUMED protocol defaults (result markers,
 * keep-alive, backoff) a user may need to match a real server, without a field in every editor dialog.
 */
export function advancedOptions(settings: unknown): Partial<ClientOptionsInput> {
  const raw = (settings as { ivrapiClient?: unknown } | undefined)?.ivrapiClient;
  if (!raw || typeof raw !== "object") return {};
  const { url: _u, token: _t, ...rest } = raw as Record<string, unknown>;
  return rest as Partial<ClientOptionsInput>;
}

/** Session settings from settings.js (`ivrapiClient: { maxQueue }`): they belong to the registry, not the socket. */
export function queueLimit(settings: unknown): number | undefined {
  const raw = (settings as { ivrapiClient?: { maxQueue?: unknown } } | undefined)?.ivrapiClient?.maxQueue;
  return raw === undefined ? undefined : (raw as number);
}

export function tokenMask(token: string | undefined): (text: string) => string {
  return (text) => maskToken(text, token);
}
