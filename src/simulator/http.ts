// The HTTP side: one router that later pieces (the softphone page) extend with addRoute, the media and
// link routes, and a small JSON control API for humans.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { DTMF_DIGITS, finishRunning, hangup, placeCall, pressKeys, SimError, say } from "./calls";
import { type Engine, snapshot } from "./engine";
import { contentTypeOf } from "./files";
import { toneWav } from "./wav";

export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: string[],
  url: URL,
) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
}

const BODY_LIMIT = 64 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value, null, 2);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON body (empty = {}) and validates it; failures become HttpError 400/413. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.output<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new HttpError(413, `request body larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  let value: unknown = {};
  if (text !== "") {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
    }
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    throw new HttpError(400, `invalid body: ${issues}`);
  }
  return r.data;
}

export class Router {
  private readonly routes: Route[] = [];

  /** Routes added later win over earlier ones with the same pattern, so a page can replace a default. */
  add(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.routes.unshift({ method: method.toUpperCase(), pattern, handler });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://sim.invalid");
    } catch {
      // A request target such as `//[` is no URL: a 400, not an exception in the server's callback.
      sendText(res, 400, "malformed request target\n");
      return;
    }
    if (url.pathname.startsWith("/sim/")) {
      const refused = refuseForeign(req);
      if (refused) {
        sendJson(res, refused.status, { error: refused.message });
        return;
      }
    }
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method && !(route.method === "GET" && req.method === "HEAD")) continue;
      // Decoding inside the chain: a bad %-escape becomes a 400, not an exception in the server's callback.
      Promise.resolve()
        .then(() => {
          let params: string[];
          try {
            params = m.slice(1).map((p) => decodeURIComponent(p ?? ""));
          } catch {
            throw new HttpError(400, "malformed %-escape in the path");
          }
          return route.handler(req, res, params, url);
        })
        .catch((err: unknown) => fail(res, err));
      return;
    }
    sendText(res, pathMatched ? 405 : 404, pathMatched ? "method not allowed\n" : "not found\n");
  }
}

/**
 * The control API places calls and hangs them up: a web page in the user's browser must not reach it. A
 * browser names the page's origin in `Origin` on cross-origin requests (and on same-origin POSTs); it must be
 * this server (the `Host` the request was sent to). Bodies must be JSON: a cross-origin `text/plain` or form
 * POST needs no preflight, an `application/json` one does (and gets no CORS answer from here).
 */
function refuseForeign(req: IncomingMessage): HttpError | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && !sameHost(origin, req.headers.host)) {
    return new HttpError(403, `cross-origin request refused (Origin ${origin}, Host ${req.headers.host ?? "none"})`);
  }
  if (req.method !== "GET" && req.method !== "HEAD" && hasBody(req)) {
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") {
      return new HttpError(415, `request body must be application/json (got ${type || "no content-type"})`);
    }
  }
  return undefined;
}

/** Whether the Origin header's host:port is the Host header's (default ports compared as such). */
function sameHost(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    if (o.protocol !== "http:" && o.protocol !== "https:") return false; // "null" or any other scheme
    return new URL(`${o.protocol}//${host}`).host === o.host;
  } catch {
    return false;
  }
}

/** A body that is announced as non-empty (a chunked one counts: its length is unknown until read). */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = Number(req.headers["content-length"] ?? 0);
  return !Number.isFinite(length) || length > 0;
}

function fail(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof HttpError || err instanceof SimError) sendJson(res, err.status, { error: err.message });
  else sendJson(res, 500, { error: (err as Error)?.message ?? String(err) });
}

const PlaceCallBody = z.strictObject({
  key: z.string().min(1).optional(),
  params: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  state: z.string().min(1).optional(),
  componentName: z.string().optional(),
  componentId: z.number().int().optional(),
  callid: z.string().optional(),
  cid: z.string().optional(),
  from: z.string().optional(),
});
const DtmfBody = z.strictObject({ digits: z.string().regex(DTMF_DIGITS, "digits must be DTMF symbols 0-9 * # A-D") });
const SayBody = z.strictObject({ text: z.string().trim().min(1, "text is empty").max(2000) });
const FinishBody = z.strictObject({
  transferKey: z.string().min(1).optional(),
  results: z.record(z.string(), z.unknown()).optional(),
});
const ToneQuery = z.object({
  sec: z.coerce.number().positive().max(30).default(1),
  hz: z.coerce.number().min(0).max(3999).default(440),
});

export function installRoutes(router: Router, engine: Engine, info: () => Record<string, unknown>): void {
  const view = (ivrid: string): unknown => {
    const call = engine.calls.get(ivrid);
    if (!call) throw new HttpError(404, `no call ${ivrid}`);
    return snapshot(call);
  };
  router.add("GET", /^\/media\/tone\.wav$/, (_req, res, _p, url) => {
    const q = ToneQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!q.success) throw new HttpError(400, "tone.wav takes sec (0 < sec ≤ 30) and hz (0 ≤ hz < 4000)");
    const wav = toneWav(q.data.sec, q.data.hz);
    res.writeHead(200, { "content-type": "audio/wav", "content-length": wav.length });
    res.end(wav);
  });
  router.add("GET", /^\/files\/([0-9a-f]+)\/[^/]+$/, (_req, res, [id]) => {
    const link = engine.files.serveLink(id ?? "");
    if (link.status !== 200) {
      sendText(res, link.status, link.status === 410 ? "link expired\n" : "no such link\n");
      return;
    }
    res.writeHead(200, { "content-type": contentTypeOf(link.name), "content-length": link.data.length });
    res.end(link.data);
  });
  router.add("GET", /^\/sim\/info$/, (_req, res) => sendJson(res, 200, info()));
  router.add("GET", /^\/sim\/calls$/, (_req, res) => sendJson(res, 200, [...engine.calls.values()].map(snapshot)));
  router.add("POST", /^\/sim\/calls$/, async (req, res) => {
    const body = await readJson(req, PlaceCallBody);
    const opts = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    sendJson(res, 201, snapshot(placeCall(engine, opts)));
  });
  router.add("GET", /^\/sim\/calls\/([^/]+)$/, (_req, res, [ivrid = ""]) => sendJson(res, 200, view(ivrid)));
  router.add("POST", /^\/sim\/calls\/([^/]+)\/dtmf$/, async (req, res, [ivrid = ""]) => {
    const { digits } = await readJson(req, DtmfBody);
    pressKeys(engine, ivrid, digits);
    sendJson(res, 200, view(ivrid));
  });
  router.add("POST", /^\/sim\/calls\/([^/]+)\/say$/, async (req, res, [ivrid = ""]) => {
    const { text } = await readJson(req, SayBody);
    say(engine, ivrid, text);
    sendJson(res, 200, view(ivrid));
  });
  router.add("POST", /^\/sim\/calls\/([^/]+)\/hangup$/, async (req, res, [ivrid = ""]) => {
    await readJson(req, z.object({}));
    hangup(engine, ivrid);
    sendJson(res, 200, view(ivrid));
  });
  router.add("POST", /^\/sim\/calls\/([^/]+)\/finish$/, async (req, res, [ivrid = ""]) => {
    const { transferKey, results } = await readJson(req, FinishBody);
    finishRunning(engine, ivrid, transferKey, results);
    sendJson(res, 200, view(ivrid));
  });
}
