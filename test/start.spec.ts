// `npm start` as a newcomer runs it: simulator + real Node-RED with the examples, two URLs printed, a call
// through an example works, Ctrl-C stops both; a second run keeps the user's flows; a taken port is a plain message.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { build, freePort, ROOT } from "./helpers/node-red";
import { until } from "./helpers/wait";

const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

interface Run {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function launch(env: Record<string, string>): Run {
  const child = spawn(TSX, ["scripts/start.ts"], { cwd: ROOT, env: { ...process.env, ...env }, stdio: "pipe" });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, out: () => out, exited };
}

/** Waits on the launched process; on a timeout the error carries its output. */
function waitFor(what: string, run: Run, pred: () => boolean | Promise<boolean>): Promise<void> {
  return until(() => `${what}; output:\n${run.out()}`, pred, 40_000, 100);
}

describe("npm start", function () {
  this.timeout(120_000);
  let userDir = "";
  let run: Run | undefined;

  before(() => {
    build();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-start-"));
  });
  afterEach(async () => {
    if (run && run.child.exitCode === null) {
      run.child.kill("SIGINT");
      await run.exited;
    }
    run = undefined;
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  it("starts both, prints the URLs, runs an example call, and stops cleanly on Ctrl-C", async () => {
    const simPort = await freePort();
    const redPort = await freePort();
    const r = launch({ IVRAPI_SIM_PORT: String(simPort), NODE_RED_PORT: String(redPort), IVRAPI_USERDIR: userDir });
    run = r;
    await waitFor("Ready", r, () => r.out().includes("Ready."));
    assert.match(r.out(), new RegExp(`Node-RED editor:\\s+http://127\\.0\\.0\\.1:${redPort}/`));
    assert.match(r.out(), new RegExp(`Softphone:\\s+http://127\\.0\\.0\\.1:${simPort}/`));
    assert.match(r.out(), /example flows were deployed/);

    const flows = (await (await fetch(`http://127.0.0.1:${redPort}/flows`)).json()) as Array<{ type: string }>;
    assert.ok(flows.filter((n) => n.type === "tab").length >= 5, "the examples are deployed, one tab each");

    const sim = `http://127.0.0.1:${simPort}`;
    // The connection subscribes shortly after the flows start; a call placed before that reaches nobody.
    await waitFor("the connection to subscribe", r, async () => {
      const info = (await (await fetch(`${sim}/sim/info`)).json()) as { subscribed?: number };
      return (info.subscribed ?? 0) > 0;
    });
    const placed = (await (
      await fetch(`${sim}/sim/calls`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: "greeting" }),
      })
    ).json()) as { ivrid: string };
    await waitFor("the greeting call to end", r, async () => {
      const call = (await (await fetch(`${sim}/sim/calls/${placed.ivrid}`)).json()) as { phase: string };
      return call.phase === "ended";
    });
    const call = (await (await fetch(`${sim}/sim/calls/${placed.ivrid}`)).json()) as {
      history: Array<{ what: string; detail?: { oType?: number } }>;
    };
    const ran = call.history.filter((h) => h.what === "component started").map((h) => h.detail?.oType);
    assert.deepEqual(ran, [204, 201]);

    r.child.kill("SIGINT");
    assert.equal(await r.exited, 0);
    for (const p of [simPort, redPort]) {
      await new Promise<void>((ok, fail) => {
        const probe = net.createServer().once("error", fail);
        probe.listen(p, "127.0.0.1", () => probe.close(() => ok()));
      });
    }
  });

  it("keeps the user's flows on the next run", async () => {
    const flowsFile = path.join(userDir, "flows.json");
    const flows = JSON.parse(fs.readFileSync(flowsFile, "utf8")) as Array<Record<string, unknown>>;
    flows.push({ id: "users-own-comment", type: "comment", z: flows.find((n) => n.type === "tab")?.id, name: "mine" });
    fs.writeFileSync(flowsFile, JSON.stringify(flows));
    const r = launch({
      IVRAPI_SIM_PORT: String(await freePort()),
      NODE_RED_PORT: String(await freePort()),
      IVRAPI_USERDIR: userDir,
    });
    run = r;
    await waitFor("Ready", r, () => r.out().includes("Ready."));
    assert.match(r.out(), /Your flows were kept/);
    const kept = JSON.parse(fs.readFileSync(flowsFile, "utf8")) as Array<{ id: string }>;
    assert.ok(kept.some((n) => n.id === "users-own-comment"));
  });

  it("says plainly when a port is taken", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const r = launch({
        IVRAPI_SIM_PORT: String(taken),
        NODE_RED_PORT: String(await freePort()),
        IVRAPI_USERDIR: userDir,
      });
      run = r;
      assert.equal(await r.exited, 1);
      assert.match(
        r.out(),
        new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is already in use; choose another with IVRAPI_SIM_PORT`),
      );
      assert.doesNotMatch(r.out(), /\n\s+at /, "no stack trace");
    } finally {
      blocker.close();
    }
  });
});
