// A real redis-server for the failover tests: on a free loopback port, no persistence, in its own temp folder; stopped
// (and restarted on the same port) by the test. .ci/run installs Debian's redis-server when it is missing.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./node-red";

export interface RedisServer {
  port: number;
  url: string;
  /** Runs one command with a short-lived connection (RESP over a plain socket: no client library involved). */
  command(...args: string[]): Promise<unknown>;
  /** Stops it (SIGKILL: a crash, nothing saved) and starts a new, empty one on the same port. */
  restart(downMs?: number): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-redis-"));
  let child: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    output = "";
    const c = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    child = c;
    c.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    c.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const failed = new Promise<never>((_, reject) => {
      c.once("error", (e) => reject(new Error(`redis-server did not start (${e.message}): is it installed?`)));
      c.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
    });
    failed.catch(() => {});
    const end = Date.now() + 10_000;
    for (;;) {
      const ok = await Promise.race([
        ping(port).then(
          () => true,
          () => false,
        ),
        failed,
      ]);
      if (ok) return;
      if (Date.now() > end) throw new Error(`redis-server did not answer within 10 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    command: (...args) => command(port, args),
    start,
    kill,
    async restart(downMs = 100) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ping(port: number): Promise<void> {
  const r = await command(port, ["PING"]);
  if (r !== "PONG") throw new Error(`PING answered ${String(r)}`);
}

/** One command over a fresh socket; enough RESP2 for the replies tests read (strings, numbers, arrays, nil). */
export function command(port: number, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer to ${args[0]} within 5 s`));
    }, 5000);
    sock.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const parsed = parse(buf, 0);
      if (!parsed) return;
      clearTimeout(timer);
      sock.destroy();
      if (parsed.value instanceof Error) reject(parsed.value);
      else resolve(parsed.value);
    });
    sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  });
}

function parse(buf: Buffer, at: number): { value: unknown; next: number } | undefined {
  const eol = buf.indexOf("\r\n", at);
  if (eol < 0) return undefined;
  const line = buf.toString("utf8", at + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[at] as number)) {
    case "+":
      return { value: line, next };
    case "-":
      return { value: new Error(line), next };
    case ":":
      return { value: Number(line), next };
    case "$": {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      if (buf.length < next + n + 2) return undefined;
      return { value: buf.toString("utf8", next, next + n), next: next + n + 2 };
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const out: unknown[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos);
        if (!item) return undefined;
        out.push(item.value);
        pos = item.next;
      }
      return { value: out, next: pos };
    }
    default:
      return { value: new Error(`unexpected reply: ${line}`), next };
  }
}
