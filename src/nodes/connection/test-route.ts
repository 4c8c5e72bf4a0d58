// "Test connection" in the config dialog: the browser sends the settings it shows, the runtime connects with
// the token from the credentials store (or one just typed in), and answers with the outcome: a code the editor
// translates into the user's language (with the English text alongside, for logs and API users). The token never
// travels to the browser, and the route needs the flows write permission.
import type { NodeAPI } from "node-red";
import { z } from "zod";
import { IvrApiClient, type StateChange } from "../../client/client";
import { FAILURE_CODES, urlProblem } from "../../client/failure";
import { advancedOptions, tokenMask } from "./options";

const TestRequest = z.object({
  id: z.string().optional(),
  url: z.string().min(1),
  tokenMode: z.enum(["path", "header"]).default("path"),
  rejectUnauthorized: z.boolean().default(true),
  /** Only when typed into the dialog; the editor's placeholder for a stored password means "use the stored one". */
  token: z.string().optional(),
});

/** What a test found: each is a key under `ivrapi-connection.test.` in the catalogs. */
export const TEST_CODES = [
  "ok",
  "no_token",
  "token_other_node",
  "token_other_url",
  "invalid",
  "no_answer",
  ...FAILURE_CODES,
] as const;
export type TestCode = (typeof TEST_CODES)[number];

export interface TestOutcome {
  ok: boolean;
  state: string;
  code: TestCode;
  /** The same in English, never holding the token (the editor shows the translated code instead). */
  message?: string;
  /** For the translated text: the HTTP status of a refused upgrade, the capabilities the token lacks. */
  status?: number;
  missing?: string[];
  capabilities?: string[];
  site?: string;
  domain?: string;
}

const PLACEHOLDER = "__PWRD__";

export async function testConnection(
  input: z.input<typeof TestRequest>,
  storedToken: string | undefined,
  extra: Record<string, unknown> = {},
  timeoutMs = 8000,
): Promise<TestOutcome> {
  const req = TestRequest.parse(input);
  const token = req.token && req.token !== PLACEHOLDER ? req.token : storedToken;
  if (!token) return { ok: false, state: "invalid", code: "no_token", message: "no token: enter one and try again" };
  const mask = tokenMask(token);
  // Mistakes seen in the URL itself are named without trying it (a URL carrying a token would send it twice).
  const problem = urlProblem(req.url);
  if (problem) return { ok: false, state: "invalid", code: problem.code, message: mask(problem.text) };
  let client: IvrApiClient;
  try {
    client = new IvrApiClient({
      ...extra,
      url: req.url,
      token,
      tokenMode: req.tokenMode,
      rejectUnauthorized: req.rejectUnauthorized,
    });
  } catch (err) {
    return { ok: false, state: "invalid", code: "invalid", message: mask((err as Error).message) };
  }
  try {
    return await new Promise<TestOutcome>((resolve) => {
      const timer = setTimeout(
        () => resolve({ ok: false, state: client.state, code: "no_answer", message: "no answer in time" }),
        timeoutMs,
      );
      client.on("state", (c: StateChange) => {
        if (c.state === "ready") {
          clearTimeout(timer);
          const info = client.info;
          const out: TestOutcome = {
            ok: true,
            state: "connected",
            code: "ok",
            capabilities: info?.capabilities ?? [],
          };
          if (info?.site !== undefined) out.site = info.site;
          if (info?.domain !== undefined) out.domain = info.domain;
          resolve(out);
        } else if (c.state === "unauthorized" || c.state === "disconnected") {
          clearTimeout(timer);
          const out: TestOutcome = {
            ok: false,
            state: c.state,
            code: c.failure?.code ?? "other",
            message: mask(c.error ?? c.state),
          };
          if (c.failure?.status !== undefined) out.status = c.failure.status;
          if (c.failure?.missing !== undefined) out.missing = c.failure.missing;
          resolve(out);
        }
      });
      client.start();
    });
  } finally {
    await client.close();
  }
}

/** What a deployed connection node keeps for this route: the URL it was deployed with. */
export interface DeployedConnection {
  type: string;
  /** The `url` of the deployed config, as saved. */
  savedUrl?: string;
}

/** Two URLs as the dialog and the saved config hold them: trimmed, trailing slashes ignored. */
export function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, "");
  return norm(a) === norm(b);
}

/**
 * The stored token may only go where the node that holds it goes: to that deployed ivrapi-connection node's
 * saved URL. Otherwise any id (another node's credentials) or any URL (a server of the caller's choosing)
 * would make the runtime send a stored secret elsewhere.
 */
export function storedTokenFor(
  node: DeployedConnection | null | undefined,
  credentials: { token?: unknown } | undefined,
  url: unknown,
): { ok: true; token: string | undefined } | { ok: false; code: TestCode; message: string } {
  if (node?.type !== "ivrapi-connection") {
    return {
      ok: false,
      code: "token_other_node",
      message: "the stored token is used only for a deployed connection node: type the token to test this one",
    };
  }
  if (typeof url !== "string" || node.savedUrl === undefined || !sameUrl(url, node.savedUrl)) {
    return {
      ok: false,
      code: "token_other_url",
      message: "the stored token is used only with the deployed URL: type the token to test another URL",
    };
  }
  const token = credentials?.token;
  return { ok: true, token: typeof token === "string" && token !== "" ? token : undefined };
}

export function registerTestRoute(RED: NodeAPI): void {
  RED.httpAdmin.post("/ivrapi-connection/test", RED.auth.needsPermission("flows.write"), (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const id = typeof body.id === "string" && body.id !== "" ? body.id : undefined;
    const typed = typeof body.token === "string" && body.token !== "" && body.token !== PLACEHOLDER;
    let stored: string | undefined;
    if (!typed && id) {
      const found = storedTokenFor(
        RED.nodes.getNode(id) as DeployedConnection | null,
        RED.nodes.getCredentials(id) as { token?: unknown } | undefined,
        body.url,
      );
      if (!found.ok) {
        res.json({ ok: false, state: "invalid", code: found.code, message: found.message } satisfies TestOutcome);
        return;
      }
      stored = found.token;
    }
    testConnection(body as z.input<typeof TestRequest>, stored, advancedOptions(RED.settings)).then(
      (out) => res.json(out),
      (err: unknown) =>
        res.status(400).json({
          ok: false,
          state: "invalid",
          code: "invalid",
          message: String((err as Error).message),
        } satisfies TestOutcome),
    );
  });
}
