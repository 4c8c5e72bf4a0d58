// The built package in a real Node-RED 4.1 (a child process, nodesDir = the repo root): the seven types load,
// with their help and labels in en-US and ru (what the editor fetches: GET /nodes and /nodes/messages), their icons are served, and a deployed flow takes a call.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Simulator } from "../../src/simulator";
import { build, freePort, type RunningNodeRed, spawnNodeRed } from "../helpers/node-red";
import { type Msg, NODE_TYPES, startSim } from "./harness";

const ROOT = path.join(__dirname, "..", "..");
const MODULE = "node-red-contrib-ivrapi";
const TYPES = NODE_TYPES;

describe("nodes: in a real Node-RED 4.1", function () {
  this.timeout(90_000);
  let red: RunningNodeRed | undefined;
  let base = "";
  let userDir = "";
  let sim: Simulator;

  before(async () => {
    build();
    sim = await startSim();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-nr-"));
    const port = await freePort();
    const settings = {
      uiHost: "127.0.0.1",
      uiPort: port,
      userDir,
      flowFile: "flows.json",
      credentialSecret: "test-only-secret",
      nodesDir: [ROOT],
      logging: { console: { level: "info" } },
      editorTheme: { tours: false, projects: { enabled: false }, palette: { editable: false } },
      diagnostics: { enabled: false },
      telemetry: { enabled: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
    };
    fs.writeFileSync(path.join(userDir, "settings.js"), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    fs.writeFileSync(path.join(userDir, "flows.json"), "[]\n");
    red = await spawnNodeRed(["--settings", path.join(userDir, "settings.js")], { cwd: userDir });
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    await sim?.stop();
  });

  const get = async (p: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${p}`, { headers });
    assert.equal(res.status, 200, `${p}: HTTP ${res.status}`);
    return res;
  };

  it("registers the seven types, enabled and without load errors", async () => {
    const sets = (await (await get("/nodes", { Accept: "application/json" })).json()) as Array<{
      module: string;
      types: string[];
      enabled: boolean;
      err?: string;
    }>;
    const ours = sets.filter((s) => s.module === MODULE);
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...TYPES].sort());
    for (const s of ours) {
      assert.equal(s.err, undefined, `${s.types}: ${s.err}`);
      assert.equal(s.enabled, true);
    }
  });

  for (const [lng, help, label, palette] of [
    ["en-US", "Takes control of calls", "Exits (transferKey)", "apply component"],
    ["ru", "Берёт управление звонками", "Выходы (transferKey)", "применить компонент"],
  ] as const) {
    it(`serves help and message catalogs in ${lng}`, async () => {
      const html = await (await get("/nodes", { Accept: "text/html", "Accept-Language": lng })).text();
      for (const t of TYPES) {
        assert.ok(html.includes(`data-template-name="${t}"`), `${t} editor template`);
        assert.ok(html.includes(`data-help-name="${t}"`), `${t} help`);
      }
      assert.ok(html.includes(help), `help text in ${lng}`);
      const catalogs = (await (
        await get(`/nodes/messages?lng=${lng}`, { Accept: "application/json" })
      ).json()) as Record<string, Record<string, Msg>>;
      for (const t of TYPES) {
        const cat = catalogs[`${MODULE}/${t}`]?.[t];
        assert.ok(cat?.paletteLabel, `${t} palette label in ${lng}`);
      }
      assert.equal(catalogs[`${MODULE}/ivrapi-apply`]?.["ivrapi-apply"]?.paletteLabel, palette);
      assert.equal(catalogs[`${MODULE}/ivrapi-apply`]?.["ivrapi-apply"]?.label.transferKeys, label);
    });
  }

  it("serves the icons", async () => {
    for (const icon of ["ivrapi-call", "ivrapi-apply", "ivrapi-stop", "ivrapi-dtmf", "ivrapi-file", "ivrapi-abort"]) {
      const res = await get(`/icons/${MODULE}/${icon}.svg`);
      // Node-RED answers an unknown icon with its own default SVG: only the file's own bytes prove it is ours.
      assert.equal(await res.text(), fs.readFileSync(path.join(ROOT, "icons", `${icon}.svg`), "utf8"));
    }
  });

  it("runs a deployed flow: the start node accepts a call from the simulator", async () => {
    const flows = [
      { id: "t1", type: "tab", label: "ivr" },
      {
        id: "c1",
        type: "ivrapi-connection",
        url: sim.wsUrl,
        tokenMode: "header",
        requestTimeout: 5000,
        subscriptionTtl: 3600,
        reaccept: true,
        rejectUnauthorized: true,
        version: 1,
        credentials: { token: sim.token },
      },
      {
        id: "s1",
        type: "ivrapi-start",
        z: "t1",
        x: 100,
        y: 100,
        connection: "c1",
        key: "",
        componentName: "",
        version: 1,
        wires: [[], []],
      },
    ];
    const res = await fetch(`${base}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flows),
    });
    assert.equal(res.status, 204);
    await sim.waitForFrame({ dir: "in", name: "subscribe" }, 20_000);
    await sim.waitForFrame({ dir: "out", name: "subscribe_result" }, 20_000);
    const call = sim.placeCall();
    await sim.waitForFrame({ dir: "out", name: "ivrapi_accept_result", where: (b) => b.result === "ok" }, 10_000);
    assert.equal(sim.getCall(call.ivrid)?.phase, "controlled");
    assert.equal(sim.connections()[0]?.authorizedBy, "header");
    assert.ok(!red?.output().includes(sim.token), "the token reached Node-RED's log");
  });
});
