// Storage roots ("path aliases") for destpath and file paths, long and short forms (PROTOCOL.md).

/** Long form → short form. */
export const ROOT_ALIASES: Readonly<Record<string, string>> = {
  ":SYNC_COMMON": ":SYN_MEDIA",
  ":SYNC_DOMAIN_DATA": ":SYN_DOM",
  ":SYNC_DOMAIN_COMMON": ":SYN_DOM_MEDIA",
  ":SITESHARE_PUBLIC": ":SS_PUB",
  ":SITESHARE_DOMAIN_DATA": ":SS_DOM",
  ":GLOBALSHARE_PUBLIC": ":GS_PUB",
  ":GLOBALSHARE_DOMAIN_DATA": ":GS_DOM",
};

/** The root a destpath without one is stored under. */
export const DEFAULT_ROOT = ":SYNC_DOMAIN_DATA";
/** The call's temp area; files there are deleted when the script ends. */
export const TEMP_ROOT = ":TEMP";

const SHORT_TO_LONG: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ROOT_ALIASES).map(([long, short]) => [short, long]),
);

/** The long form of a root in either form, or undefined when it is not a storage root. */
export function canonicalRoot(root: string): string | undefined {
  const upper = root.toUpperCase();
  if (upper in ROOT_ALIASES) return upper;
  return SHORT_TO_LONG[upper];
}

export interface SplitPath {
  /** Long form of the root, or ":TEMP". */
  root: string;
  /** The part after the root, without leading slash. */
  rest: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses.
const BAD_CHARS = /[\u0000-\u001f\\]/;

/** Splits an internal path like `:GS_PUB/x/y/14.mp3` or `:TEMP/14.mp3`. Never throws. */
export function splitPath(path: string): { ok: true; value: SplitPath } | { ok: false; message: string } {
  if (typeof path !== "string" || path.length === 0) return { ok: false, message: "path is empty" };
  if (BAD_CHARS.test(path)) return { ok: false, message: "path holds control characters or backslashes" };
  if (!path.startsWith(":")) return { ok: false, message: `path "${path}" does not start with a root such as :TEMP` };
  const slash = path.indexOf("/");
  const head = slash < 0 ? path : path.slice(0, slash);
  const rest = slash < 0 ? "" : path.slice(slash + 1).replace(/^\/+/, "");
  const root = head.toUpperCase() === TEMP_ROOT ? TEMP_ROOT : canonicalRoot(head);
  if (!root) return { ok: false, message: `unknown storage root "${head}"` };
  if (rest.split("/").some((seg) => seg === "..")) return { ok: false, message: 'path must not contain ".."' };
  return { ok: true, value: { root, rest } };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses.
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f-\u009f\\]/;

/**
 * Checks the syntax of an internal file path (`:ROOT/dir/file.wav`) without judging its root: the platform
 * has more storage roots than ROOT_ALIASES lists, and the server says which it knows. Non-empty, a root
 * after the leading `:`, no `..` segment, no control characters or backslashes. Never throws.
 */
export function checkInternalPath(path: string): { ok: true; path: string } | { ok: false; message: string } {
  if (typeof path !== "string" || path.length === 0) return { ok: false, message: "path is empty" };
  if (CONTROL_OR_BACKSLASH.test(path)) return { ok: false, message: "path holds control characters or backslashes" };
  if (!path.startsWith(":") || path.length === 1 || path[1] === "/") {
    return { ok: false, message: `path "${path}" does not start with a root such as :TEMP` };
  }
  if (path.split("/").some((seg) => seg === "..")) return { ok: false, message: 'path must not contain ".."' };
  return { ok: true, path };
}

/**
 * Checks a `destpath` for static uploads. A path without a root goes under the default root, as the
 * platform does; :TEMP is refused (static storage outlives the call). Returns the path to send.
 */
export function validateDestpath(destpath: string): { ok: true; destpath: string } | { ok: false; message: string } {
  const trimmed = typeof destpath === "string" ? destpath.trim() : "";
  if (trimmed === "") return { ok: false, message: "destpath is empty" };
  const full = trimmed.startsWith(":") ? trimmed : `${DEFAULT_ROOT}/${trimmed.replace(/^\/+/, "")}`;
  const split = splitPath(full);
  if (!split.ok) return { ok: false, message: `destpath: ${split.message}` };
  if (split.value.root === TEMP_ROOT) return { ok: false, message: "destpath must be a static root, not :TEMP" };
  return { ok: true, destpath: full };
}

/** An http(s) URL, as uploads take (the server downloads it). Never throws. */
export function checkHttpUrl(raw: string): { ok: true; url: URL } | { ok: false; message: string } {
  let url: URL;
  try {
    url = new URL(String(raw).trim());
  } catch {
    return { ok: false, message: `url "${raw}" is not a valid URL` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, message: `url "${raw}" is not http or https` };
  }
  return { ok: true, url };
}
