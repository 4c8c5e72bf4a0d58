// The platform downloads upload URLs itself; the simulator does the same for real, with the limits a
// server would have (time, size, redirects), so clients meet genuine failures (404, unreachable host…).

import http from "node:http";
import https from "node:https";
import { checkHttpUrl } from "../protocol";

export const DOWNLOAD_TIMEOUT_MS = 15_000;
export const DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;
export const DOWNLOAD_MAX_REDIRECTS = 3;

export class DownloadError extends Error {
  constructor(
    message: string,
    /** "invalid": the URL itself is unusable; "failed": fetching it went wrong. */
    readonly kind: "invalid" | "failed",
  ) {
    super(message);
  }
}

export interface DownloadOptions {
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export function parseHttpUrl(raw: string): URL {
  const checked = checkHttpUrl(raw);
  if (!checked.ok) throw new DownloadError(checked.message, "invalid");
  return checked.url;
}

/** Fetches a URL whole into memory (bounded by maxBytes). Rejects with DownloadError. */
export async function download(raw: string, opts: DownloadOptions = {}): Promise<Buffer> {
  let url = parseHttpUrl(raw);
  const maxRedirects = opts.maxRedirects ?? DOWNLOAD_MAX_REDIRECTS;
  for (let hop = 0; ; hop++) {
    const r = await fetchOnce(url, opts);
    if (r.kind === "data") return r.data;
    if (hop >= maxRedirects) throw new DownloadError(`too many redirects (more than ${maxRedirects})`, "failed");
    try {
      url = parseHttpUrl(new URL(r.location, url).toString());
    } catch (err) {
      throw new DownloadError(`bad redirect: ${(err as Error).message}`, "failed");
    }
  }
}

function fetchOnce(
  url: URL,
  opts: DownloadOptions,
): Promise<{ kind: "data"; data: Buffer } | { kind: "redirect"; location: string }> {
  const maxBytes = opts.maxBytes ?? DOWNLOAD_MAX_BYTES;
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    // agent:false: a pooled keep-alive socket would outlive the simulator and keep test processes alive.
    const req = lib.get(url, { agent: false, timeout: opts.timeoutMs ?? DOWNLOAD_TIMEOUT_MS, signal: opts.signal });
    const fail = (message: string): void => {
      req.destroy();
      reject(new DownloadError(message, "failed"));
    };
    req.on("timeout", () => fail(`download of ${url.href} timed out`));
    req.on("error", (err) => reject(new DownloadError(`download of ${url.href} failed: ${err.message}`, "failed")));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        resolve({ kind: "redirect", location: res.headers.location });
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        fail(`download of ${url.href} answered HTTP ${status}`);
        return;
      }
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) {
        fail(`file at ${url.href} is larger than ${maxBytes} bytes`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) fail(`file at ${url.href} is larger than ${maxBytes} bytes`);
        else chunks.push(chunk);
      });
      res.on("end", () => {
        if (size <= maxBytes) resolve({ kind: "data", data: Buffer.concat(chunks) });
      });
      res.on("error", (err) => fail(`download of ${url.href} failed: ${err.message}`));
    });
  });
}

/** A safe file name from a URL's last path segment ("file" when there is none). */
export function nameFromUrl(raw: string): string {
  let last = "";
  try {
    const segs = new URL(raw).pathname.split("/").filter(Boolean);
    last = decodeURIComponent(segs[segs.length - 1] ?? "");
  } catch {
    last = "";
  }
  const clean = last
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^\.+/, "")
    .slice(-100);
  return clean === "" ? "file" : clean;
}
