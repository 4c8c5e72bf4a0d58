// The softphone page's static files (plain HTML/JS/CSS in ./softphone, no build step): `/` and `/softphone` serve
// the page, `/softphone/<file>` its assets. Found next to this module, so it works from src (tsx) and from dist
// (scripts/copy-softphone.js copies the folder there). Only plain file names of that one folder are served.
import fs from "node:fs/promises";
import type { ServerResponse } from "node:http";
import path from "node:path";
import { HttpError, type Router } from "./http";

export const SOFTPHONE_DIR = path.join(__dirname, "softphone");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** A plain name of a known kind: no separators, no dot files, no "..". */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

const HEADERS = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};
/** The page loads only its own files and talks only to the simulator. */
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

async function serveFile(name: string, method: string | undefined, res: ServerResponse): Promise<void> {
  const type = TYPES[path.extname(name).toLowerCase()];
  if (!SAFE_NAME.test(name) || name.includes("..") || type === undefined) {
    throw new HttpError(400, "not a file of the softphone page");
  }
  const file = path.join(SOFTPHONE_DIR, name);
  let data: Buffer;
  try {
    data = await fs.readFile(file);
  } catch {
    throw new HttpError(404, `no ${name} in the softphone page`);
  }
  const headers: Record<string, string | number> = { ...HEADERS, "content-type": type, "content-length": data.length };
  if (type.startsWith("text/html")) headers["content-security-policy"] = CSP;
  res.writeHead(200, headers);
  res.end(method === "HEAD" ? undefined : data);
}

export function installPage(router: Router): void {
  router.add("GET", /^\/(?:softphone\/?)?$/, (req, res) => serveFile("index.html", req.method, res));
  router.add("GET", /^\/softphone\/(.+)$/, (req, res, [name = ""]) => serveFile(name, req.method, res));
}
