#!/usr/bin/env node
// `npm run sim` (or `ivrapi-sim` from an installed package): runs the platform simulator in the foreground and says how to use it.
import { parseArgs } from "node:util";
import { Simulator } from "./simulator";

const USAGE = `usage: npm run sim -- [--port N] [--host H] [--token T] [--accept-timeout MS] [--quiet]
  --port            default 8765 (env IVRAPI_SIM_PORT)
  --host            default 127.0.0.1
  --token           default env IVRAPI_SIM_TOKEN, else "sim-token"
  --accept-timeout  ms to wait for ivrapi_accept after api_start (default 30000)
  --quiet           do not print every frame`;

function fail(message: string): never {
  process.stderr.write(`ivrapi simulator: ${message}\n`);
  process.exit(1);
}

function parse(): { port: number; host: string; token: string; acceptTimeoutMs: number; quiet: boolean } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        token: { type: "string" },
        "accept-timeout": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (raw: string | boolean | undefined, fallback: number, what: string): number => {
    if (raw === undefined || typeof raw === "boolean") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) fail(`${what} must be a non-negative integer, not "${raw}"`);
    return n;
  };
  const envPort = process.env.IVRAPI_SIM_PORT;
  const port = int(values.port ?? envPort, 8765, "--port");
  if (port > 65535) fail(`--port ${port} is out of range`);
  return {
    port,
    host: typeof values.host === "string" ? values.host : "127.0.0.1",
    token: typeof values.token === "string" ? values.token : (process.env.IVRAPI_SIM_TOKEN ?? "sim-token"),
    acceptTimeoutMs: int(values["accept-timeout"], 30_000, "--accept-timeout"),
    quiet: values.quiet === true,
  };
}

async function main(): Promise<void> {
  const args = parse();
  const stamp = (): string => new Date().toISOString().slice(11, 23);
  let sim: Simulator;
  try {
    sim = await Simulator.start({
      host: args.host,
      port: args.port,
      token: args.token,
      acceptTimeoutMs: args.acceptTimeoutMs,
      log: (line) => {
        if (!args.quiet || !/^(<-|->) /.test(line)) process.stdout.write(`${stamp()} ${line}\n`);
      },
    });
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === "EADDRINUSE";
    fail(`${(err as Error).message}${inUse ? " (pick another with --port or IVRAPI_SIM_PORT)" : ""}`);
  }
  const { httpUrl } = sim;
  process.stdout.write(
    [
      "",
      "ivrapi platform simulator",
      `  WebSocket: ${sim.wsUrl}/<token>   (or ${sim.wsUrl} with "Authorization: Bearer <token>")`,
      `  HTTP:      ${httpUrl}`,
      `  Softphone: ${httpUrl}/softphone   (place calls, press keys, watch the frames)`,
      `  token:     ${sim.token}`,
      "",
      "Place a call (api_start goes to every subscriber of ivrevents.api_start):",
      `  curl -X POST ${httpUrl}/sim/calls -H 'content-type: application/json' -d '{"key":"demo"}'`,
      `Press keys / hang up:   curl -X POST ${httpUrl}/sim/calls/<ivrid>/dtmf -H 'content-type: application/json' -d '{"digits":"12#"}'`,
      `                        curl -X POST ${httpUrl}/sim/calls/<ivrid>/hangup`,
      `List calls:             curl ${httpUrl}/sim/calls`,
      `Test audio for uploads: ${httpUrl}/media/tone.wav?sec=2&hz=440`,
      "Ctrl-C stops.",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${stamp()} ${signal}: stopping\n`);
    // Should a handle linger anyway, do not hang the terminal.
    setTimeout(() => process.exit(0), 3000).unref();
    sim.stop().then(
      () => {
        process.exitCode = 0;
      },
      (err: unknown) => {
        process.stderr.write(`ivrapi simulator: stop failed: ${(err as Error).message}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

void main();
