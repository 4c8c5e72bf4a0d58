// A real Node-RED as a child process, for the suites that need the whole runtime (the package loaded from the
// checkout or from an installed tarball, the editor in a browser): one way to start, wait for and stop it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

export const ROOT = path.join(__dirname, "..", "..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** `npm run build`: Node-RED loads the package from dist/. */
export function build(): void {
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe" });
}

export interface RunningNodeRed {
  child: ChildProcess;
  output(): string;
  /** SIGINT (Node-RED closes its nodes), SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `red.js` with `args` and resolves once its output matches `readyWhen`. NODE_RED_PATH
 * (…/node-red/lib/red.js, as for the test helper) picks another Node-RED; by default this repo's.
 */
export async function spawnNodeRed(
  args: string[],
  o: { cwd: string; readyWhen?: RegExp; timeoutMs?: number } = { cwd: ROOT },
): Promise<RunningNodeRed> {
  const bin = process.env.NODE_RED_PATH
    ? path.join(path.dirname(process.env.NODE_RED_PATH), "..", "red.js")
    : require.resolve("node-red/red.js");
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: o.cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" },
  });
  let output = "";
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const readyWhen = o.readyWhen ?? /Server now running at/;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL"); // a Node-RED that never got ready must not outlive the suite
      reject(new Error(`Node-RED did not start:\n${output}`));
    }, o.timeoutMs ?? 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (readyWhen.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Node-RED exited (${code}):\n${output}`));
    });
  });
  return {
    child,
    output: () => output,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT");
      const force = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(force);
    },
  };
}
