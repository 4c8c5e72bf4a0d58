// Import ▸ Examples in a real browser, in a Node-RED with no flows yet: the package's examples are listed by file
// name; importing 01-greeting, pointing its connection at a simulator (URL and token typed into the config node's
// dialog, as a user would) and deploying works, and a call into it then plays the greeting and hangs up.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import {
  deploy,
  deployedFlows,
  type EditorRED,
  type EditorSession,
  editorSession,
  ROOT,
  requireChromium,
  until,
  WAIT,
} from "./support";

const MODULE = "node-red-contrib-ivrapi";
const EXAMPLES = fs
  .readdirSync(path.join(ROOT, "examples"))
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.replace(/\.json$/, ""))
  .sort();

describe("Node-RED editor (browser): Import ▸ Examples", function () {
  this.timeout(120_000);
  let ed: EditorSession;
  let page: Page;

  before(async function () {
    requireChromium(this);
    ed = await editorSession({ seed: "empty" });
    page = ed.page;
  });

  after(async () => {
    await ed?.close();
  });

  afterEach(async function () {
    await ed?.reportFailure(this, "editor-import");
  });

  const dialog = () => page.locator("#red-ui-clipboard-dialog");
  const treeItem = (label: string) => dialog().locator(".red-ui-treeList-label").filter({ hasText: label });

  it("lists the package's examples by file name", async () => {
    await page.evaluate(() =>
      (window as unknown as { RED: EditorRED }).RED.actions.invoke("core:show-examples-import-dialog"),
    );
    await treeItem(MODULE).click();
    await treeItem(EXAMPLES[0] ?? "").waitFor(WAIT);
    const listed = await dialog()
      .locator(".red-ui-treeList-label-text")
      .evaluateAll((els) => els.map((e) => e.textContent?.trim() ?? ""));
    const ours = listed.slice(listed.indexOf(MODULE) + 1).filter((l) => /^\d\d-/.test(l));
    assert.deepEqual(ours, EXAMPLES);
    assert.ok(EXAMPLES.length >= 7 && EXAMPLES.includes("01-greeting"));
  });

  it("imports 01-greeting, binds its connection to the simulator in the config dialog, deploys, and it runs", async () => {
    await treeItem("01-greeting").click();
    // Import is enabled once a file (not a folder) is selected.
    await page.locator("#red-ui-clipboard-dialog-ok:not(.ui-state-disabled):not([disabled])").click();
    await dialog().waitFor({ state: "hidden", ...WAIT });
    // The example brings its own tab (and keeps its node ids: nothing clashed); the user opens it.
    await page.locator("#red-ui-workspace-tabs li").filter({ hasText: "ivrapi: greeting" }).click();
    await page.locator("#ex1-start .red-ui-flow-node").waitFor(WAIT);
    const imported = await page.evaluate(() => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      return {
        tab: RED.workspaces.active(),
        ids: ["ex1-start", "ex1-play", "ex1-bye", "ex1-ended", "ex1-comment"].filter((id) => RED.nodes.node(id)),
        conn: RED.nodes.node("ivrapi-example-conn")?.url,
      };
    });
    assert.equal(imported.tab, "ex1-tab");
    assert.equal(imported.ids.length, 5);
    assert.equal(imported.conn, "ws://127.0.0.1:8765/ws/token/v1");

    // What a user does next: the start node's dialog, the connection's pencil, URL and token, Update, Done.
    await page.locator("#ex1-start .red-ui-flow-node").dblclick();
    await page.locator("#node-input-btn-connection-edit").click();
    await page.locator("#node-config-input-url").fill(ed.sim.wsUrl);
    await page.locator("#node-config-input-token").fill(ed.sim.token);
    await page.locator("#node-config-dialog-ok").click();
    await page.locator("#node-config-input-url").waitFor({ state: "detached", ...WAIT });
    await page.locator("#node-dialog-ok").click();
    await page.locator("#node-input-btn-connection-edit").waitFor({ state: "detached", ...WAIT });

    await deploy(page);
    const flows = await deployedFlows(ed.red.base);
    for (const id of ["ex1-tab", "ex1-start", "ex1-play", "ex1-bye", "ex1-ended", "ivrapi-example-conn"]) {
      assert.ok(
        flows.some((n) => n.id === id),
        `${id} deployed`,
      );
    }
    const conn = flows.find((n) => n.id === "ivrapi-example-conn");
    assert.equal(conn?.url, ed.sim.wsUrl);
    assert.equal(JSON.stringify(flows).includes(ed.sim.token), false, "the token stays in the credentials");
    assert.deepEqual(flows.find((n) => n.id === "ex1-play")?.wires, [["ex1-bye"], ["ex1-bye"]]);

    // The deployed example takes a call: greeting, then hang up; the nodes show they are connected.
    await page.locator("#ex1-start .red-ui-flow-node-status-label").filter({ hasText: "connected" }).waitFor(WAIT);
    await until("the connection to subscribe", () => ed.sim.connections().some((c) => c.subscriptions.length > 0));
    const call = ed.sim.placeCall({ key: "greeting" });
    await until("the greeting call to end", () => ed.sim.getCall(call.ivrid)?.phase === "ended");
    const ran = ed.sim
      .getCall(call.ivrid)
      ?.history.filter((h) => h.what === "component started")
      .map((h) => (h.detail as { oType?: number } | undefined)?.oType);
    assert.deepEqual(ran, [204, 201]);
    assert.deepEqual(ed.errors, []);
    assert.deepEqual(ed.offsite, []);
  });
});
