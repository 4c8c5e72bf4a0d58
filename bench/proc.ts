// Child processes of the benchmark: the package build it measures, free ports, spawning with an IPC channel, the
// probe (CPU and heap of a child), and the guarantee that no child outlives the orchestrator.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { ProbeAnswer, ProbeExtras, ProbeRequest } from "./common";

export const ROOT = path.join(__dirname, "..");
export const BENCH = __dirname;

const live = new Set<ChildProcess>();

/** SIGKILL every child still running (on exit, on a signal, on a crash). Each child also exits on its own when the
 * IPC channel to the orchestrator closes (bench/probe.cjs, bench/server.ts), which covers a SIGKILLed orchestrator. */
export function killAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  live.clear();
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

const CACHE = path.join(ROOT, "node_modules", ".cache", "ivrapi-bench");
let scratch: string | undefined;

/**
 * A fresh folder for this run (Node-RED user folders), under node_modules/.cache/ivrapi-bench/run-<pid>: removed on
 * exit, and a run killed before it could clean up is swept by the next one (its pid is gone).
 */
export function scratchDir(name: string): string {
  if (!scratch) {
    mkdirSync(CACHE, { recursive: true });
    for (const d of readdirSync(CACHE)) {
      const pid = Number(/^run-(\d+)$/.exec(d)?.[1]);
      if (pid && !alive(pid)) rmSync(path.join(CACHE, d), { recursive: true, force: true });
    }
    const mine = path.join(CACHE, `run-${process.pid}`);
    scratch = mine;
    process.on("exit", () => rmSync(mine, { recursive: true, force: true }));
  }
  const dir = path.join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

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

/**
 * Compiles src/ into a folder of the benchmark's own (node_modules/.cache/ivrapi-bench/run-<pid>/pkg), laid out like the
 * published package (package.json + dist/ with the editor files, catalogs and icons next to the node files), so the
 * benchmark never touches dist/ that tests may be rebuilding at the same time. Setups 2 and 3 load this same build.
 */
export function buildPackage(root = ROOT, name = "pkg"): { dir: string; warnings: string } {
  const dir = scratchDir(name);
  const tsc = path.join(ROOT, "node_modules", ".bin", "tsc");
  let warnings = "";
  try {
    execFileSync(tsc, ["-p", "tsconfig.build.json", "--outDir", path.join(dir, "dist"), "--declaration", "false"], {
      cwd: root,
      stdio: "pipe",
    });
  } catch (err) {
    // Type errors still emit JavaScript; only a missing output is fatal.
    warnings = String((err as { stdout?: Buffer }).stdout ?? err).slice(0, 2000);
    if (!existsSync(path.join(dir, "dist", "index.js"))) throw new Error(`the build failed:\n${warnings}`);
  }
  cpSync(path.join(root, "package.json"), path.join(dir, "package.json"));
  const nodes = path.join(dir, "dist", "nodes");
  for (const f of readdirSync(path.join(root, "nodes"))) {
    if (f.endsWith(".html")) cpSync(path.join(root, "nodes", f), path.join(nodes, f));
  }
  cpSync(path.join(root, "locales"), path.join(nodes, "locales"), { recursive: true });
  cpSync(path.join(root, "icons"), path.join(nodes, "icons"), { recursive: true });
  return { dir, warnings };
}

/**
 * `--ab <git ref>`: that commit's package, built like this one (its files from `git archive`, into the run's scratch
 * folder, where node_modules resolves upward to this checkout's). Returns the build and the commit it is.
 */
export function buildPackageAt(ref: string): { dir: string; commit: string } {
  let commit: string;
  try {
    commit = execFileSync("git", ["-C", ROOT, "rev-parse", "--verify", "--short", `${ref}^{commit}`], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  } catch {
    throw new Error(`--ab ${ref}: not a commit of this repository`);
  }
  const tree = scratchDir("ab-src");
  const tar = execFileSync("git", ["-C", ROOT, "archive", "--format=tar", commit], { maxBuffer: 512 * 1024 * 1024 });
  execFileSync("tar", ["-x", "-C", tree], { input: tar });
  return { dir: buildPackage(tree, "ab-pkg").dir, commit };
}

/**
 * Compiles the benchmark's own processes (the server and the two plain clients) to JavaScript, so that none of the
 * measured processes runs under tsx: its loader turns source maps on, which made the runtime client ~15% slower.
 * Returns the folder that mirrors the repository (`<dir>/bench/server.js`, `<dir>/bench/clients/bare.js`, …).
 */
export function buildBenchProcesses(): string {
  const dir = scratchDir("js");
  const files = ["server.ts", "clients/bare.ts", "clients/runtime.ts"].map((f) => path.join(BENCH, f));
  const args = ["--ignoreConfig", "--outDir", dir, "--rootDir", ROOT, "--module", "node16", "--moduleResolution"];
  args.push("node16", "--target", "es2022", "--types", "node", "--skipLibCheck", "--esModuleInterop", "--noCheck");
  try {
    execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), [...args, ...files], { cwd: ROOT, stdio: "pipe" });
  } catch (err) {
    if (!existsSync(path.join(dir, "bench", "server.js"))) {
      throw new Error(
        `compiling the benchmark's processes failed:\n${String((err as { stdout?: Buffer }).stdout ?? err)}`,
      );
    }
  }
  return dir;
}

export interface Child {
  name: string;
  proc: ChildProcess;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  /** CPU time and memory of the child (after two full GCs when `gc`); with extras, a profile started or stopped, or a heap snapshot written. */
  probe(gc?: boolean, extras?: ProbeExtras): Promise<ProbeAnswer>;
  /** Resolves when it exits. */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/**
 * Starts `node <args>` with an IPC channel (the probe's, or the server's commands). `wrap`: a command the node process
 * runs under (valgrind, for `--count`), its arguments before node's.
 */
export function spawnNode(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
  wrap: string[] = [],
): Child {
  const [cmd, ...cmdArgs] = wrap.length ? [...wrap, process.execPath, ...args] : [process.execPath, ...args];
  const proc = spawn(cmd as string, cmdArgs, {
    cwd,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, ...env, NODE_RED_ENABLE_PROJECTS: "false" },
  });
  live.add(proc);
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-65536);
  };
  proc.stdout?.on("data", keep);
  if (process.env.BENCH_OUT_DIR) {
    // Made here, so a diagnosis needs no mkdir first.
    mkdirSync(process.env.BENCH_OUT_DIR, { recursive: true });
    const file = path.join(process.env.BENCH_OUT_DIR, `${name}-${proc.pid}.log`);
    proc.stdout?.on("data", (d: Buffer) => appendFileSync(file, d));
  }
  proc.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (code) => {
      live.delete(proc);
      resolve(code);
    });
  });
  let probeId = 0;
  const waiting = new Map<number, (a: ProbeAnswer) => void>();
  proc.on("message", (m: unknown) => {
    const a = m as ProbeAnswer;
    if (a && a.bench === "probe") {
      waiting.get(a.id)?.(a);
      waiting.delete(a.id);
    }
  });
  return {
    name,
    proc,
    output: () => out,
    exited,
    probe: (gc = false, extras) =>
      new Promise<ProbeAnswer>((resolve, reject) => {
        const id = ++probeId;
        const timer = setTimeout(() => reject(new Error(`${name} did not answer the probe`)), 30_000);
        waiting.set(id, (a) => {
          clearTimeout(timer);
          resolve(a);
        });
        const req: ProbeRequest = { bench: "probe", id, gc };
        if (extras?.action) req.profile = extras.action;
        if (extras?.file) req.file = extras.file;
        if (extras?.live) req.live = true;
        if (extras?.snapshot) req.snapshot = extras.snapshot;
        proc.send(req);
      }),
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** Node's own flags for a measured client (compiled by buildBenchProcesses): GC access and the probe. */
export function clientArgs(entry: string): string[] {
  return ["--expose-gc", ...nodeFlags(), "--require", path.join(BENCH, "probe.cjs"), entry];
}

/** BENCH_NODE_FLAGS (diagnosis: `--trace-gc-nvp`, a young generation's size), for every measured process. */
function nodeFlags(): string[] {
  return process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
}

export function nodeRedArgs(userDir: string): string[] {
  return [
    "--expose-gc",
    ...nodeFlags(),
    "--require",
    path.join(BENCH, "probe.cjs"),
    require.resolve("node-red/red.js"),
    "--userDir",
    userDir,
  ];
}
