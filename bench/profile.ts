// Reads the .cpuprofile Node wrote (`node --cpu-prof`, see `npm run bench -- --profile`) and summarises where the
// Node-RED process spent its CPU: by library, and the top self-time functions overall and in this package's code.
import { readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function category(url: string, fn: string, pkgDir: string): string {
  if (fn === "(idle)") return "(idle)";
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)" || fn === "(root)") return "V8/native (program)";
  if (url.includes(pkgDir)) return "ivrapi package (ours)";
  if (url.includes("ivrapi-bench")) return "benchmark client";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.replace(/\\/g, "/"));
  if (m) return m[1]?.startsWith("@node-red/") || m[1] === "node-red" ? "Node-RED" : (m[1] as string);
  if (url.startsWith("node:") || url === "") return "Node.js internals / builtins";
  return "other";
}

export function summariseProfile(file: string, pkgDir: string): string {
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const byCat = new Map<string, number>();
  const byFn = new Map<string, { us: number; cat: string }>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const cat = category(url, functionName, pkgDir);
    byCat.set(cat, (byCat.get(cat) ?? 0) + us);
    if (cat === "(idle)") continue;
    busy += us;
    const where = url.includes(pkgDir)
      ? path.relative(path.join(pkgDir, "dist"), url.replace(/^file:\/\//, ""))
      : url.replace(/^file:\/\//, "").replace(/^.*node_modules\//, "");
    const key = `${functionName || "(anonymous)"}  ${where}${url ? `:${lineNumber + 1}` : ""}`;
    const e = byFn.get(key) ?? { us: 0, cat };
    e.us += us;
    byFn.set(key, e);
  }
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const lines = [`CPU profile: ${(busy / 1e6).toFixed(2)} s busy (idle left out); self time`, "  by library:"];
  let small = 0;
  for (const [cat, us] of [...byCat].filter(([c]) => c !== "(idle)").sort((a, b) => b[1] - a[1])) {
    if (us / busy >= 0.005) lines.push(`    ${pct(us)}  ${cat}`);
    else small += us;
  }
  if (small) lines.push(`    ${pct(small)}  (other libraries, each < 0.5%)`);
  const top = [...byFn].sort((a, b) => b[1].us - a[1].us);
  lines.push("  top self time:");
  for (const [k, v] of top.slice(0, 25)) lines.push(`    ${pct(v.us)}  ${k}  [${v.cat}]`);
  lines.push("  top self time in this package:");
  for (const [k, v] of top.filter(([, v]) => v.cat === "ivrapi package (ours)").slice(0, 20)) {
    lines.push(`    ${pct(v.us)}  ${k}`);
  }
  return lines.join("\n");
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * Reads a sampling heap profile taken over a round with collected objects included (`--profile --heap`): the bytes
 * allocated per call, by the function that allocated them and by the chain of its callers.
 */
export function summariseHeapProfile(file: string, calls: number): string {
  const prof = JSON.parse(readFileSync(file, "utf8")) as { head: HeapNode };
  const bySite = new Map<string, number>();
  const byStack = new Map<string, number>();
  let total = 0;
  const name = (n: HeapNode) => {
    const where = n.callFrame.url
      .replace(/^file:\/\//, "")
      .replace(/^.*node_modules\//, "")
      .replace(/^.*\/dist\//, "");
    return `${n.callFrame.functionName || "(anonymous)"} ${where}${where ? `:${n.callFrame.lineNumber + 1}` : ""}`;
  };
  const walk = (n: HeapNode, stack: string[]) => {
    const here = [...stack, name(n)];
    if (n.selfSize > 0) {
      total += n.selfSize;
      bySite.set(here.at(-1) as string, (bySite.get(here.at(-1) as string) ?? 0) + n.selfSize);
      const key = here.slice(-4).join(" < ");
      byStack.set(key, (byStack.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(prof.head, []);
  const per = (b: number) => `${(b / calls).toFixed(0).padStart(7)} B/call`;
  const lines = [`heap profile: ${(total / 1048576).toFixed(1)} MiB allocated, ${per(total)} (sampled)`, "  by site:"];
  for (const [k, b] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 40)) lines.push(`  ${per(b)}  ${k}`);
  lines.push("  by stack (innermost first):");
  for (const [k, b] of [...byStack].sort((a, b) => b[1] - a[1]).slice(0, 40))
    lines.push(`  ${per(b)}  ${k.split(" < ").reverse().join(" < ")}`);
  return lines.join("\n");
}

/** Object kinds of a heap snapshot: count and bytes by type and name. */
function snapshotKinds(file: string): Map<string, { n: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [ti, ni, si] = [f.indexOf("type"), f.indexOf("name"), f.indexOf("self_size")];
  const out = new Map<string, { n: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += f.length) {
    const type = types[snap.nodes[i + ti] as number] as string;
    let name = snap.strings[snap.nodes[i + ni] as number] as string;
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "";
    const key = `${type} ${name.slice(0, 60)}`;
    const e = out.get(key) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += snap.nodes[i + si] as number;
    out.set(key, e);
  }
  return out;
}

/** The difference between a snapshot with `calls` calls in flight and one without, per call. */
export function summariseSnapshots(busyFile: string, idleFile: string, calls: number): string {
  const busy = snapshotKinds(busyFile);
  const idle = snapshotKinds(idleFile);
  const rows: Array<[string, number, number]> = [];
  let total = 0;
  for (const [k, b] of busy) {
    const a = idle.get(k) ?? { n: 0, bytes: 0 };
    const bytes = (b.bytes - a.bytes) / calls;
    total += bytes;
    rows.push([k, (b.n - a.n) / calls, bytes]);
  }
  const lines = [
    `heap held per call in flight: ${total.toFixed(0)} B (${calls} calls, snapshots ${busyFile}, ${idleFile})`,
  ];
  for (const [k, n, bytes] of rows.sort((x, y) => y[2] - x[2]).slice(0, 45)) {
    lines.push(`  ${bytes.toFixed(0).padStart(7)} B  ${n.toFixed(2).padStart(6)} ×  ${k}`);
  }
  return lines.join("\n");
}
