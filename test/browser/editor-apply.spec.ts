// The apply component's edit dialog in a real browser, on the keypad-menu example deployed as `npm start` does:
// transferKey rows added, removed and dragged change the node's outputs and port labels, wires of kept rows follow
// them, port labels say what each exit means, a preset fills the component data and adds its exits, and Deploy
// saves it all (checked through the admin API). Also writes docs/editor-apply.png. Then a component form: 206 collect
// digits picked, a field read from msg, its exits added, the custom JSON view, deployed, and a call runs it (also
// docs/editor-apply-form.png).
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

  it("edits transferKeys (add, remove, drag): outputs, port labels and kept wires follow; choosing a component adds its exits", async () => {
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

    // Choosing a component (201 hang up: a form without settings) adds the exits it takes (here `error`;
    // `transfer` is there); the data is then built by the form (checked after the deploy below).
    await page.locator("#node-input-component").selectOption("201");
    await page.locator("#ivrapi-apply-form .form-tips").waitFor(WAIT);
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
    assert.equal(saved.component, "201");
    assert.deepEqual(saved.fields, {});
    // The other nodes of the example are untouched.
    const sales = (await deployedFlows(ed.red.base)).find((n) => n.id === "ex2-sales");
    assert.deepEqual(sales?.wires, [["ex2-bye"], ["ex2-sorry"], []]);
    // The deployed node runs: Node-RED logged no error for it.
    assert.doesNotMatch(ed.red.output(), /\[error\].*ex2-support|\[(error|warn)\] \[ivrapi-apply/);
    assert.deepEqual(ed.errors, []);
    assert.deepEqual(ed.offsite, []);
  });
  it("a form: picks 206 collect digits, a field from msg, exits filled, custom JSON shows the data; deployed, a call runs it", async () => {
    // A call with key "form": ivr start → set msg.max → a new apply node (custom JSON, as from the palette).
    const conn = await page.evaluate(
      () => (window as unknown as { RED: EditorRED }).RED.nodes.node("ex2-start").connection as string,
    );
    await page.evaluate((c) => {
      (window as unknown as { RED: EditorRED }).RED.view.importNodes(
        [
          {
            id: "f-start",
            type: "ivrapi-start",
            z: "ex2-tab",
            connection: c,
            key: "form",
            componentName: "",
            x: 150,
            y: 560,
            wires: [["f-set"], []],
          },
          {
            id: "f-set",
            type: "change",
            z: "ex2-tab",
            rules: [{ t: "set", p: "max", pt: "msg", to: "2", tot: "num" }],
            x: 330,
            y: 560,
            wires: [["f-apply"]],
          },
          {
            id: "f-apply",
            type: "ivrapi-apply",
            z: "ex2-tab",
            connection: c,
            component: "custom",
            fields: {},
            data: '{"oType":204,"mode":0,"file":":SYN_MEDIA/hello.wav"}',
            dataType: "json",
            transferKeys: [],
            busy: "reject",
            timeout: 0,
            outputs: 1,
            version: 2,
            x: 510,
            y: 560,
            wires: [[]],
          },
        ],
        { generateIds: false },
      );
    }, conn);
    await page.evaluate(() => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      RED.editor.edit(RED.nodes.node("f-apply"));
    });
    const picker = page.locator("#node-input-component");
    await picker.locator('option[value="206"]').waitFor({ state: "attached", ...WAIT });
    assert.equal(await picker.inputValue(), "custom");
    await picker.selectOption("206");
    // One row per catalog field, with the catalog's defaults; the exits of 206 in the list.
    const row = (name: string) =>
      page.locator("#ivrapi-apply-form .form-row").filter({ has: page.locator(`label[title="${name}"]`) });
    await row("maxSymbolCount").waitFor(WAIT);
    assert.equal(await page.locator("#ivrapi-apply-form .ivrapi-field").count(), 6);
    assert.deepEqual(await keysInDialog(), ["transfer", "transferTimeout", "error"]);
    const field = (name: string) =>
      page.evaluate((n) => {
        const $ = (window as unknown as { $: EditorRED }).$;
        const input = $("#ivrapi-apply-form .ivrapi-field-value").filter(function (this: unknown) {
          return $(this).data("field") === n;
        });
        return { type: input.typedInput("type") as string, value: String(input.typedInput("value")) };
      }, name);
    assert.deepEqual(await field("timeoutSec"), { type: "num", value: "10" });

    // A value out of range is marked on its row, the message naming the field; then Max digits from msg.max.
    const setField = (name: string, type: string, value: string) =>
      page.evaluate(
        ([n, t, v]) => {
          const $ = (window as unknown as { $: EditorRED }).$;
          const input = $("#ivrapi-apply-form .ivrapi-field-value").filter(function (this: unknown) {
            return $(this).data("field") === n;
          });
          input.typedInput("type", t);
          input.typedInput("value", v);
          input.trigger("change");
        },
        [name, type, value],
      );
    await setField("maxSymbolCount", "num", "500");
    await row("maxSymbolCount")
      .locator(".ivrapi-field-problem")
      .filter({ hasText: "Max digits: must be at most 100" })
      .waitFor(WAIT);
    await setField("maxSymbolCount", "msg", "max");
    await row("maxSymbolCount")
      .locator(".ivrapi-field-problem")
      .waitFor({ state: "hidden", ...WAIT });
    // The type menu offers msg, flow, global, env and JSONata next to the plain value.
    await row("maxSymbolCount").locator(".red-ui-typedInput-type-select").click();
    const menu = page.locator(".red-ui-typedInput-options:visible");
    await menu.waitFor(WAIT);
    for (const t of ["num", "msg", "flow", "global", "env", "jsonata"]) {
      assert.equal(await menu.locator(`[value="${t}"]`).count(), 1, t);
    }
    await page.keyboard.press("Escape");

    const shot = path.join(DOCS, "editor-apply-form.png");
    await page.screenshot({ path: shot });
    assert.ok(fs.statSync(shot).size > 20_000);

    // Custom JSON shows what the form builds: a JSONata expression, since Max digits is read per msg.
    await picker.selectOption("custom");
    const data = await page.evaluate(() => {
      const $ = (window as unknown as { $: EditorRED }).$;
      return { type: $("#node-input-data").typedInput("type"), value: $("#node-input-data").typedInput("value") };
    });
    assert.deepEqual(data, {
      type: "jsonata",
      value:
        '{"oType": 206, "timeoutSec": 10, "symbolTimeoutSec": 5, "interruptSymbols": "#", "clearDtmfBuffer": false, "inband": false, "maxSymbolCount": max}',
    });
    // Back to the form: the values typed are kept.
    await picker.selectOption("206");
    await row("maxSymbolCount").waitFor(WAIT);
    assert.deepEqual(await field("maxSymbolCount"), { type: "msg", value: "max" });
    await page.locator("#node-dialog-ok").click();
    await page.locator("#ivrapi-apply-form").waitFor({ state: "detached", ...WAIT });

    const n = await page.evaluate(() => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      const node = RED.nodes.node("f-apply");
      RED.editor.validateNode(node);
      return {
        valid: node.valid,
        errors: node.validationErrors ?? [],
        outputs: node.outputs,
        label: node._def.label.call(node),
      };
    });
    assert.deepEqual(n, { valid: true, errors: [], outputs: 4, label: "collect digits (206)" });

    await deploy(page);
    const saved = (await deployedFlows(ed.red.base)).find((x) => x.id === "f-apply");
    assert.equal(saved?.component, "206");
    assert.equal(saved?.version, 2);
    assert.deepEqual((saved?.fields as Record<string, unknown> | undefined)?.maxSymbolCount, {
      value: "max",
      type: "msg",
    });
    assert.deepEqual(saved?.transferKeys, ["transfer", "transferTimeout", "error"]);

    // A call runs it: 206 with Max digits 2 from msg.max; two keys end it.
    await page.locator("#f-start .red-ui-flow-node-status-label").filter({ hasText: "connected" }).waitFor(WAIT);
    const call = ed.sim.placeCall({ key: "form" });
    const applied = await ed.sim.waitForFrame(
      { dir: "in", name: "ivrapi_component_apply", where: (b) => b.ivrid === call.ivrid },
      10_000,
    );
    const sent = (applied.body as { data: Record<string, unknown> }).data;
    assert.equal(sent.oType, 206);
    assert.equal(sent.maxSymbolCount, 2);
    assert.equal(sent.timeoutSec, 10);
    ed.sim.pressKeys(call.ivrid, "42");
    const stopped = await ed.sim.waitForFrame(
      { dir: "out", name: "ivrapi_component_stopped", where: (b) => b.oId === sent.oId },
      10_000,
    );
    assert.equal((stopped.body as { results?: { dtmfBuffer?: string } }).results?.dtmfBuffer, "42");
    assert.deepEqual(ed.errors, []);
  });
});
