// `npm start`: the platform simulator (with its softphone page) and a real Node-RED that loads this package from
// the checkout, with the example flows deployed and bound to the simulator. Ctrl-C stops both.
//
// Settings (environment): IVRAPI_SIM_PORT (8765), NODE_RED_PORT (1880), IVRAPI_HOST (127.0.0.1),
// IVRAPI_SIM_TOKEN ("sim-token"), IVRAPI_USERDIR (.userdir, git-ignored).
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { Simulator } from "../src/simulator";
import { prepareUserDir } from "./userdir";

const root = resolve(__dirname, "..");

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name}=${raw} is not a port number`);
  return n;
}

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

/** A plain message for a taken port beats a stack trace from deep inside Node-RED. */
function ensureFree(host: string, p: number, setting: string): Promise<void> {
  return new Promise((ok) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "is already in use" : `cannot be opened (${err.code ?? err.message})`;
      fail(`port ${p} on ${host} ${why}; choose another with ${setting}=<port>`);
    });
    probe.listen(p, host, () => probe.close(() => ok()));
  });
}

async function main(): Promise<void> {
  const host = process.env.IVRAPI_HOST || "127.0.0.1";
  const simPort = port("IVRAPI_SIM_PORT", 8765);
  const redPort = port("NODE_RED_PORT", 1880);
  const token = process.env.IVRAPI_SIM_TOKEN || "sim-token";
  const userDir = resolve(root, process.env.IVRAPI_USERDIR || ".userdir");
  if (simPort === redPort) fail("IVRAPI_SIM_PORT and NODE_RED_PORT must differ");
  await ensureFree(host, simPort, "IVRAPI_SIM_PORT");
  await ensureFree(host, redPort, "NODE_RED_PORT");

  // What happens to calls (placed, accepted, components, hang-ups) is worth seeing; every frame is not.
  const log = (line: string) => {
    if (!/^(<-|->) /.test(line)) process.stdout.write(`[simulator] ${line}\n`);
  };
  const sim = await Simulator.start({ host, port: simPort, token, log });
  const seeded = prepareUserDir({ userDir, packageRoot: root, host, redPort, simUrl: sim.wsUrl, token });

  const red: ChildProcess = spawn(
    process.execPath,
    [require.resolve("node-red/red.js"), "--userDir", userDir, "--settings", join(userDir, "settings.js")],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      // IVRAPI_MEDIA_URL: where the dynamic-prompt example downloads its default prompt from (this simulator).
      env: {
        ...process.env,
        NODE_RED_ENABLE_PROJECTS: "false",
        IVRAPI_MEDIA_URL: `${sim.httpUrl}/media/tone.wav?sec=2`,
      },
    },
  );
  const editor = `http://${host}:${redPort}/`;
  let announced = false;
  const relay = (chunk: Buffer) => {
    const text = chunk.toString();
    process.stdout.write(text.replace(/^(?=.)/gm, "[node-red] "));
    if (!announced && /Started flows/.test(text)) {
      announced = true;
      process.stdout.write(
        [
          "",
          "  Ready.",
          `  Node-RED editor:  ${editor}`,
          `  Softphone:        ${sim.httpUrl}/`,
          `  Simulator:        ${sim.wsUrl}  (token: ${token})`,
          seeded ? "  The example flows were deployed, bound to the simulator." : "  Your flows were kept.",
          "  Stop with Ctrl-C.",
          "",
          "",
        ].join("\n"),
      );
    }
  };
  red.stdout?.on("data", relay);
  red.stderr?.on("data", relay);

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping Node-RED and the simulator…\n");
    if (red.exitCode === null && red.signalCode === null) {
      const exited = new Promise<void>((r) => red.once("exit", () => r()));
      red.kill("SIGINT");
      const force = setTimeout(() => red.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(force);
    }
    await sim.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  red.on("exit", (code) => {
    if (stopping) return;
    process.stderr.write(`npm start: Node-RED exited (code ${code}); stopping the simulator\n`);
    void stop(code || 1);
  });
}

main().catch((err) => fail((err as Error).message));
