// "Test connection" in the config dialog: the browser sends the settings it shows, the runtime connects with
// the token from the credentials store (or one just typed in), and answers with the outcome. The token never
// travels to the browser, and the route needs the flows write permission.
import type { NodeAPI } from "node-red";
import { z } from "zod";
import { IvrApiClient, type StateChange } from "../../client/client";
import { advancedOptions, tokenMask } from "./options";

const TestRequest = z.object({
  id: z.string().optional(),
  url: z.string().min(1),
  tokenMode: z.enum(["path", "header"]).default("path"),
  rejectUnauthorized: z.boolean().default(true),
  /** Only when typed into the dialog; the editor's placeholder for a stored password means "use the stored one". */
  token: z.string().optional(),
});

export interface TestOutcome {
  ok: boolean;
  state: string;
  message?: string;
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
  if (!token) return { ok: false, state: "invalid", message: "no token: enter one and try again" };
  const mask = tokenMask(token);
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
    return { ok: false, state: "invalid", message: mask((err as Error).message) };
  }
  try {
    return await new Promise<TestOutcome>((resolve) => {
      const timer = setTimeout(
        () => resolve({ ok: false, state: client.state, message: "no answer in time" }),
        timeoutMs,
      );
      client.on("state", (c: StateChange) => {
        if (c.state === "ready") {
          clearTimeout(timer);
          const info = client.info;
          const out: TestOutcome = { ok: true, state: "connected", capabilities: info?.capabilities ?? [] };
          if (info?.site !== undefined) out.site = info.site;
          if (info?.domain !== undefined) out.domain = info.domain;
          resolve(out);
        } else if (c.state === "unauthorized" || c.state === "disconnected") {
          clearTimeout(timer);
          resolve({ ok: false, state: c.state, message: mask(c.error ?? c.state) });
        }
      });
      client.start();
    });
  } finally {
    await client.close();
  }
}

export function registerTestRoute(RED: NodeAPI): void {
  RED.httpAdmin.post("/ivrapi-connection/test", RED.auth.needsPermission("flows.write"), (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const id = typeof body.id === "string" ? body.id : undefined;
    const stored = id ? (RED.nodes.getCredentials(id) as { token?: string } | undefined)?.token : undefined;
    testConnection(body as z.input<typeof TestRequest>, stored, advancedOptions(RED.settings)).then(
      (out) => res.json(out),
      (err: unknown) => res.status(400).json({ ok: false, state: "invalid", message: String((err as Error).message) }),
    );
  });
}
