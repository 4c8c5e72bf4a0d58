// The CLI in a child process, and the simulator leaving no handles behind after stop().

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { until } from "./helpers/wait";

const ROOT = path.join(__dirname, "..");

function run(
  args: string[],
  env: Record<string, string> = {},
): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn(process.execPath, ["--import=tsx", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { out: () => out, err: () => err });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function freePort(): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, server };
}

describe("simulator: CLI and process hygiene", function () {
  this.timeout(20_000);

  it("starts, prints how to use it, serves, and stops cleanly on SIGTERM", async () => {
    const { port, server } = await freePort();
    await new Promise((r) => server.close(r));
    const child = run(["src/simulator/cli.ts", "--port", String(port)], { IVRAPI_SIM_TOKEN: "t0k3n" });
    try {
      await until("the CLI banner", () => child.out().includes("Ctrl-C stops."), 15_000);
      const out = child.out();
      assert.ok(out.includes(`ws://127.0.0.1:${port}/ws/token/v1`));
      assert.ok(out.includes(`http://127.0.0.1:${port}`));
      assert.ok(out.includes("token:     t0k3n"));
      assert.ok(out.includes(`curl -X POST http://127.0.0.1:${port}/sim/calls`));
      const res = await fetch(`http://127.0.0.1:${port}/sim/calls`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"key":"demo"}',
      });
      assert.equal(res.status, 201);
      await until("the call's log line", () => child.out().includes("placed"), 5000);
      child.kill("SIGTERM");
      assert.equal(await exited(child, 5000), 0);
      assert.ok(child.out().includes("stopped"));
      assert.equal(child.err(), "");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("says in one plain line that the port is taken, and exits 1", async () => {
    const { port, server } = await freePort();
    try {
      const child = run(["src/simulator/cli.ts", "--port", String(port)]);
      assert.equal(await exited(child, 15_000), 1);
      const lines = child.err().trim().split("\n");
      assert.equal(lines.length, 1, child.err());
      assert.match(lines[0] ?? "", /^ivrapi simulator: port \d+ on 127\.0\.0\.1 is already in use/);
      assert.equal(child.out(), "");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("refuses a bad flag value plainly", async () => {
    const child = run(["src/simulator/cli.ts", "--port", "eighty"]);
    assert.equal(await exited(child, 15_000), 1);
    assert.match(child.err(), /--port must be a non-negative integer/);
  });

  it("leaves no handles after stop(): a process exits on its own", async () => {
    const child = run(["test/fixtures/sim-exit.ts"]);
    assert.equal(await exited(child, 15_000), 0, child.err());
    assert.equal(child.out().trim(), "done");
  });
});
