// The Node-RED user folder `npm start` runs with: settings written each run (ports may change), flows seeded from
// examples/ on the first run only, so a user's edits survive the next `npm start`.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The one connection node every seeded example is bound to. */
export const SIM_CONNECTION_ID = "ivrapi-simulator-connection";

export interface UserDirOptions {
  userDir: string;
  packageRoot: string;
  host: string;
  redPort: number;
  simUrl: string;
  token: string;
}

type FlowNode = { id: string; type: string; [k: string]: unknown };

function settings(o: UserDirOptions): string {
  return `// Written by npm start on every run; edit scripts/userdir.ts instead.
module.exports = {
  uiHost: ${JSON.stringify(o.host)},
  uiPort: ${o.redPort},
  flowFile: "flows.json",
  // A local demo folder (git-ignored): credentials stay readable so the simulator token can be seeded.
  credentialSecret: false,
  // Loads this package from the checkout, the way the palette would after an install.
  nodesDir: [${JSON.stringify(o.packageRoot)}],
  // No palette catalogue: the demo must not reach out to the internet (an offline browser would log failures).
  editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
  diagnostics: { enabled: false },
  telemetry: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
};
`;
}

/** One exported flow file: a JSON array of nodes. */
export function readFlowFile(file: string): FlowNode[] {
  return JSON.parse(readFileSync(file, "utf8")) as FlowNode[];
}

/** Every example flow, in file-name order (folders included), as one list of nodes. */
export function readExamples(examplesDir: string): FlowNode[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith(".json")) files.push(join(dir, e.name));
    }
  };
  if (existsSync(examplesDir)) walk(examplesDir);
  return files.flatMap(readFlowFile);
}

/** Replaces the examples' own connection nodes by one bound to the simulator. */
export function bindToSimulator(nodes: FlowNode[], simUrl: string): FlowNode[] {
  const connections = new Set(nodes.filter((n) => n.type === "ivrapi-connection").map((n) => n.id));
  const kept = nodes
    .filter((n) => !connections.has(n.id))
    .map((n) =>
      typeof n.connection === "string" && connections.has(n.connection) ? { ...n, connection: SIM_CONNECTION_ID } : n,
    );
  const template = nodes.find((n) => n.type === "ivrapi-connection") ?? {};
  return [{ ...template, id: SIM_CONNECTION_ID, type: "ivrapi-connection", name: "simulator", url: simUrl }, ...kept];
}

/** Writes settings; seeds flows on the first run (returns true then), else only rebinds the simulator connection. */
export function prepareUserDir(o: UserDirOptions): boolean {
  mkdirSync(o.userDir, { recursive: true });
  writeFileSync(join(o.userDir, "settings.js"), settings(o));
  const flowsFile = join(o.userDir, "flows.json");
  const credFile = join(o.userDir, "flows_cred.json");
  const creds: Record<string, Record<string, unknown>> = existsSync(credFile)
    ? JSON.parse(readFileSync(credFile, "utf8"))
    : {};
  creds[SIM_CONNECTION_ID] = { ...creds[SIM_CONNECTION_ID], token: o.token };
  let seeded = false;
  if (!existsSync(flowsFile)) {
    const flows = bindToSimulator(readExamples(join(o.packageRoot, "examples")), o.simUrl);
    writeFileSync(flowsFile, `${JSON.stringify(flows, null, 2)}\n`);
    seeded = true;
  } else {
    // The simulator's port may have changed since the flows were written.
    const flows = JSON.parse(readFileSync(flowsFile, "utf8")) as FlowNode[];
    const conn = flows.find((n) => n.id === SIM_CONNECTION_ID);
    if (conn && conn.url !== o.simUrl) {
      conn.url = o.simUrl;
      writeFileSync(flowsFile, `${JSON.stringify(flows, null, 2)}\n`);
    }
  }
  writeFileSync(credFile, `${JSON.stringify(creds, null, 2)}\n`);
  return seeded;
}
