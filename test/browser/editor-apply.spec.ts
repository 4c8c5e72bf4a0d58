// The apply component's edit dialog in a real browser, on the keypad-menu example deployed as `npm start` does:
// transferKey rows added, removed and dragged change the node's outputs and port labels, wires of kept rows follow
// them, port labels say what each exit means, a preset fills the component data and adds its exits, and Deploy
// saves it all (checked through the admin API). Also writes docs/editor-apply.png.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import {
  catalog,
  DOCS,
  deploy,
  deployedFlows,
  type EditorRED,
  type EditorSession,
  editorSession,
  requireChromium,
  WAIT,
} from "./support";

/** "2: support" of the keypad menu: exits transfer → hang up, error → sorry, and the "other" port unwired. */
const NODE = "ex2-support";

interface PortView {
  outputs: number;
  transferKeys: string[];
  labels: string[];
  links: Array<{ port: number; target: string }>;
}

/** The node as the editor holds it: outputs, keys, each port's label (the node's label function) and wires. */
function portView(page: Page, id: string): Promise<PortView> {
  return page.evaluate((nodeId) => {
    const RED = (window as unknown as { RED: EditorRED }).RED;
    const n = RED.nodes.node(nodeId);
    const labels: string[] = [];
    for (let i = 0; i < n.outputs; i++) labels.push(n._def.outputLabels.call(n, i));
    const links = RED.nodes
      .filterLinks({ source: n })
      .map((l: EditorRED) => ({ port: Number(l.sourcePort), target: l.target.id as string }))
      .sort((a: { port: number }, b: { port: number }) => a.port - b.port);
    return { outputs: n.outputs, transferKeys: [...n.transferKeys], labels, links };
  }, id);
}

describe("Node-RED editor (browser): the apply component's edit dialog", function () {
  this.timeout(120_000);
  let ed: EditorSession;
  let page: Page;

  before(async function () {
    requireChromium(this);
    ed = await editorSession({ seed: "examples" });
    page = ed.page;
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.workspaces.show("ex2-tab"));
  });

  after(async () => {
    await ed?.close();
  });

  afterEach(async function () {
    await ed?.reportFailure(this, "editor-apply");
  });

  const rows = () => page.locator("#node-input-key-container > li");
  const keysInDialog = () =>
    page
      .locator("#node-input-key-container input.ivrapi-key")
      .evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
  const cat = catalog("en-US", "ivrapi-apply") as unknown as {
    outputs: { other: string };
    exit: Record<string, string>;
  };
  const other = cat.outputs;
  /** A port's label: the exit, and what it means when it is one every component shares. */
  const port = (key: string) => (cat.exit[key] ? `${key}: ${cat.exit[key]}` : key);

  it("edits transferKeys (add, remove, drag): outputs, port labels and kept wires follow; a preset fills the data", async () => {
    assert.deepEqual(await portView(page, NODE), {
      outputs: 3,
      transferKeys: ["transfer", "error"],
      labels: [port("transfer"), port("error"), other.other],
      links: [
        { port: 0, target: "ex2-bye" },
        { port: 1, target: "ex2-sorry" },
      ],
    });

    await page.locator(`#${NODE} .red-ui-flow-node`).dblclick();
    await page.locator("#node-input-key-container").waitFor(WAIT);
    assert.deepEqual(await keysInDialog(), ["transfer", "error"]);

    // Two new exits.
    const add = page.locator(".red-ui-editableList-addButton");
    await add.click();
    await rows().nth(2).locator("input.ivrapi-key").fill("terminated");
    await add.click();
    await rows().nth(3).locator("input.ivrapi-key").fill("timeout");
    // Remove "error": its wire (to "sorry") must go.
    await rows().nth(1).locator(".red-ui-editableList-item-remove").click();
    await page.waitForFunction(() => document.querySelectorAll("#node-input-key-container > li").length === 3);
    assert.deepEqual(await keysInDialog(), ["transfer", "terminated", "timeout"]);

    // Drag "terminated" above "transfer" by its handle (jQuery UI sortable wants real, stepped mouse moves).
    const handle = rows().nth(1).locator(".red-ui-editableList-item-handle");
    const from = await handle.boundingBox();
    const to = await rows().nth(0).boundingBox();
    assert.ok(from && to);
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2, to.y + 2, { steps: 12 });
    await page.mouse.move(from.x + from.width / 2, to.y + 1, { steps: 2 });
    await page.mouse.up();
    await page.waitForFunction(
      () => {
        const first = document.querySelector("#node-input-key-container > li input.ivrapi-key") as HTMLInputElement;
        return first?.value === "terminated";
      },
      undefined,
      WAIT,
    );
    assert.deepEqual(await keysInDialog(), ["terminated", "transfer", "timeout"]);
    // The row numbers follow the order.
    const numbers = await page.locator("#node-input-key-container .ivrapi-key-index").allTextContents();
    assert.deepEqual(numbers, ["1", "2", "3"]);

    // docs/editor-apply.png: the dialog with its exit list. Same picture every run: no rotating sidebar tips, and
    // the flow behind the dialog connected.
    await page.evaluate(() =>
      (window as unknown as { RED: EditorRED }).RED.actions.invoke("core:toggle-show-tips", false),
    );
    await page.locator(".red-ui-sidebar-info.show-tips").waitFor({ state: "detached", ...WAIT });
    await page.locator("#ex2-start .red-ui-flow-node-status-label").filter({ hasText: "connected" }).waitFor(WAIT);
    const file = path.join(DOCS, "editor-apply.png");
    fs.mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: file });
    assert.ok(fs.statSync(file).size > 20_000);

    // A preset replaces the component data, adds the exits its component takes (here `error`; `transfer` is there),
    // and the select goes back to its prompt.
    await page.locator("#node-input-preset").selectOption("201");
    await page.waitForFunction(
      () => (window as unknown as { $: EditorRED }).$("#node-input-data").typedInput("value") === '{"oType":201}',
      undefined,
      WAIT,
    );
    assert.equal(await page.locator("#node-input-dataType").inputValue(), "json");
    assert.equal(await page.locator("#node-input-preset").inputValue(), "");
    assert.deepEqual(await keysInDialog(), ["terminated", "transfer", "timeout", "error"]);

    await page.locator("#node-dialog-ok").click();
    await page.locator("#node-input-key-container").waitFor({ state: "detached", ...WAIT });

    // One port per exit plus "other"; the kept exit's wire moved with it (port 0 → 1), the removed one's is gone.
    assert.deepEqual(await portView(page, NODE), {
      outputs: 5,
      transferKeys: ["terminated", "transfer", "timeout", "error"],
      labels: [port("terminated"), port("transfer"), port("timeout"), port("error"), other.other],
      links: [{ port: 1, target: "ex2-bye" }],
    });
    // The workspace draws five output ports, and hovering one shows its label.
    const ports = page.locator(`#${NODE} .red-ui-flow-port-output`);
    assert.equal(await ports.count(), 5);
    await ports.nth(4).hover();
    await page.locator(".red-ui-flow-port-tooltip").filter({ hasText: other.other }).waitFor(WAIT);
    await ports.nth(0).hover();
    await page
      .locator(".red-ui-flow-port-tooltip")
      .filter({ hasText: port("terminated") })
      .waitFor(WAIT);
    assert.equal(await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.nodes.dirty()), true);
    assert.deepEqual(ed.errors, []);
  });

  it("deploys the edited node: the runtime's flows have the new transferKeys, outputs, wires and data", async () => {
    await deploy(page);
    const saved = (await deployedFlows(ed.red.base)).find((n) => n.id === NODE);
    assert.ok(saved);
    assert.deepEqual(saved.transferKeys, ["terminated", "transfer", "timeout", "error"]);
    assert.equal(saved.outputs, 5);
    assert.deepEqual(saved.wires, [[], ["ex2-bye"], [], [], []]);
    assert.equal(saved.data, '{"oType":201}');
    assert.equal(saved.dataType, "json");
    // The other nodes of the example are untouched.
    const sales = (await deployedFlows(ed.red.base)).find((n) => n.id === "ex2-sales");
    assert.deepEqual(sales?.wires, [["ex2-bye"], ["ex2-sorry"], []]);
    // The deployed node runs: Node-RED logged no error for it.
    assert.doesNotMatch(ed.red.output(), /\[error\].*ex2-support|\[(error|warn)\] \[ivrapi-apply/);
    assert.deepEqual(ed.errors, []);
    assert.deepEqual(ed.offsite, []);
  });
});
