// The Node-RED editor in a real browser, set up the way `npm start` does it (the built package loaded from the
// checkout, every example deployed and bound to the simulator): the palette's labels, icons and help in en-US and
// ru, the docs screenshot of the keypad-menu example, and a call placed from the softphone page into that example.
// The apply component's editor has its own file (editor-apply.spec.ts); Import ▸ Examples too (editor-import.spec.ts);
// the Russian editor's every text too (editor-ru.spec.ts). Last here: the one vocabulary of the English editor.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import {
  cancelEditDialog,
  catalog,
  DOCS,
  type EditorRED,
  type EditorSession,
  editorSession,
  FLOW_TYPES,
  helpLead,
  newContext,
  nodeDef,
  openEditor,
  ROOT,
  requireChromium,
  setSidebar,
  squash,
  truncatedOptions,
  until,
  WAIT,
  watchErrors,
} from "./support";

const MODULE = "node-red-contrib-ivrapi";

describe("Node-RED editor (browser): palette, help, languages, the newcomer's call", function () {
  this.timeout(120_000);
  let ed: EditorSession;
  let page: Page;

  before(async function () {
    requireChromium(this);
    // The menu prompt and the routed playback run until a key or the hang-up stops them: nothing races the clicks.
    ed = await editorSession({ seed: "examples", sim: { durations: { 204: 60_000 } } });
    page = ed.page;
  });

  after(async () => {
    await ed?.close();
  });

  afterEach(async function () {
    await ed?.reportFailure(this, "editor");
  });

  const paletteNode = (p: Page, type: string) =>
    p.locator(`#red-ui-palette-container-ivr_api .red-ui-palette-node[data-palette-type="${type}"]`);

  /** Clicks a palette entry, waits for its popover (first help paragraph), then opens the full help from it. */
  async function helpFromPalette(p: Page, type: string, lang: string): Promise<void> {
    await paletteNode(p, type).click();
    const popover = p.locator(".red-ui-popover").filter({ hasText: helpLead(lang, type) });
    await popover.waitFor(WAIT);
    await popover.locator("button:has(i.fa-book)").click();
    await p
      .locator(".red-ui-help")
      .filter({ hasText: helpLead(lang, type) })
      .first()
      .waitFor(WAIT);
    await p.keyboard.press("Escape");
  }

  it("shows the package's category with the six flow nodes, labelled from the en-US catalog, with their icons", async () => {
    const categories = new Set(FLOW_TYPES.map((t) => nodeDef(t).category));
    assert.deepEqual([...categories], ["ivr api"], "one palette category in nodes/*.html");
    await page.locator("#red-ui-palette-header-ivr_api").filter({ hasText: "ivr api" }).waitFor(WAIT);
    const shown = await page
      .locator("#red-ui-palette-container-ivr_api .red-ui-palette-node")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-palette-type")));
    assert.deepEqual(shown.sort(), [...FLOW_TYPES].sort());
    for (const type of FLOW_TYPES) {
      const entry = paletteNode(page, type);
      const label = catalog("en-US", type).paletteLabel;
      assert.equal(await entry.getAttribute("data-palette-label"), label, type);
      // What the user reads: the label as rendered (Node-RED wraps long labels with <br>).
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
      assert.equal(squash(await entry.locator(".red-ui-palette-label").innerText()), label, type);
      // The node's own icon, as the browser fetches it (Node-RED answers an unknown icon with its default one).
      const icon = nodeDef(type).icon;
      const style = (await entry.locator(".red-ui-palette-icon").getAttribute("style")) ?? "";
      assert.ok(style.includes(`icons/${MODULE}/${icon}`), `${type} palette icon: ${style}`);
      const svg = await page.evaluate(async (u) => (await fetch(u)).text(), `icons/${MODULE}/${icon}`);
      assert.equal(svg, fs.readFileSync(path.join(ROOT, "icons", icon), "utf8"), `${type} icon served`);
    }
    assert.deepEqual(ed.errors, []);
  });

  it("shows each node's en-US help from the palette, and the help of a node selected in the workspace", async () => {
    for (const type of FLOW_TYPES) await helpFromPalette(page, type, "en-US");
    // The help tab stays open and follows the selection in the workspace.
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.workspaces.show("ex2-tab"));
    await page.locator("#ex2-dtmf .red-ui-flow-node").click();
    await page
      .locator(".red-ui-help")
      .filter({ hasText: helpLead("en-US", "ivrapi-dtmf") })
      .first()
      .waitFor(WAIT);
    await page.locator("#ex2-sales .red-ui-flow-node").click();
    await page
      .locator(".red-ui-help")
      .filter({ hasText: helpLead("en-US", "ivrapi-apply") })
      .first()
      .waitFor(WAIT);
    assert.deepEqual(ed.errors, []);
  });

  it("speaks Russian when the browser does (ru-RU): palette labels, help and the edit dialog from locales/ru", async () => {
    // Seen once while writing this suite (not reproduced in 16 later tries): ivr start's label came back in English.
    // Node-RED's runtime answers a catalog request by switching its one global i18next language, and the editor
    // asks for ru-RU, ru and en-US at once, so the first load of a language can race. Loading it once before the
    // editor does takes that race (Node-RED's, not this package's) out; the page still gets its labels from Node-RED.
    for (const lng of ["ru-RU", "ru"])
      assert.equal((await fetch(`${ed.red.base}/nodes/messages?lng=${lng}`)).status, 200);
    const ruContext = await newContext(ed.browser, ed.offsite, { locale: "ru-RU" });
    try {
      const ru = await ruContext.newPage();
      watchErrors(ru, ed.errors);
      await openEditor(ru, ed.red.base);
      for (const type of FLOW_TYPES) {
        const label = catalog("ru", type).paletteLabel;
        assert.equal(await paletteNode(ru, type).getAttribute("data-palette-label"), label, type);
      }
      await helpFromPalette(ru, "ivrapi-apply", "ru");
      await helpFromPalette(ru, "ivrapi-start", "ru");
      // The edit dialog's template strings come from the ru catalog too.
      await ru.evaluate(() => {
        const RED = (window as unknown as { RED: EditorRED }).RED;
        RED.workspaces.show("ex2-tab");
        RED.editor.edit(RED.nodes.node("ex2-sales"));
      });
      const labels = catalog("ru", "ivrapi-apply").label as Record<string, string>;
      await ru.locator("#dialog-form").filter({ hasText: labels.transferKeys }).waitFor(WAIT);
      await ru.locator("#dialog-form").filter({ hasText: labels.busy }).waitFor(WAIT);
      await cancelEditDialog(ru);
    } finally {
      await ruContext.close();
    }
    assert.deepEqual(ed.errors, []);
  });

  it("writes docs/editor.png: the keypad-menu example's tab next to the palette's ivr api category", async () => {
    await page.evaluate(() => {
      const { RED, $ } = window as unknown as { RED: EditorRED; $: EditorRED };
      RED.workspaces.show("ex2-tab");
      RED.view.select("");
      $("#red-ui-workspace-chart").scrollLeft(0).scrollTop(0);
    });
    // The whole flow fits without the sidebar; the palette stays.
    await setSidebar(page, false);
    await page.locator("#ex2-bye .red-ui-flow-node").waitFor(WAIT);
    // Nodes show the connection state once the deployed flows are connected to the simulator.
    for (const id of ["ex2-start", "ex2-bye"]) {
      await page.locator(`#${id} .red-ui-flow-node-status-label`).filter({ hasText: "connected" }).waitFor(WAIT);
    }
    await page.locator("#red-ui-palette-container-ivr_api").scrollIntoViewIfNeeded();
    const file = path.join(DOCS, "editor.png");
    fs.mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: file });
    await setSidebar(page, true);
    assert.ok(fs.statSync(file).size > 20_000);
  });

  it("the newcomer's call: softphone page → keypad-menu example → key 1 → sales, seen in the editor's debug", async () => {
    // A call placed before the flows subscribe reaches nobody.
    await until("the example connection to subscribe", () => ed.sim.connections().some((c) => c.subscriptions.length));
    const phone = await ed.context.newPage();
    watchErrors(phone, ed.errors);
    try {
      await phone.goto(`${ed.sim.httpUrl}/`);
      await phone.getByTestId("feed-status").filter({ hasText: "live" }).waitFor(WAIT);
      await phone.getByTestId("key-input").fill("menu");
      await phone.getByTestId("call-button").click();
      const now = phone.getByTestId("current-component");
      await now.filter({ hasText: "playing :GS_PUB/demo/menu.wav" }).waitFor(WAIT);
      await phone.getByTestId("call-phase").filter({ hasText: "controlled" }).waitFor(WAIT);

      await phone.getByTestId("key-1").click();
      await now.filter({ hasText: "playing :GS_PUB/demo/sales.wav" }).waitFor(WAIT);
      const history = phone.getByTestId("history-row");
      await history.filter({ hasText: /caller pressed\s*1/ }).waitFor(WAIT);
      // busy "replace": the prompt was terminated, then sales started.
      await history
        .filter({ hasText: /playing :GS_PUB\/demo\/menu\.wav ended → transferKey\s*terminated/ })
        .waitFor(WAIT);
      await history.filter({ hasText: "playing :GS_PUB/demo/sales.wav started" }).waitFor(WAIT);

      await phone.getByTestId("hangup").click();
      await phone.getByTestId("call-phase").filter({ hasText: "ended" }).waitFor(WAIT);
    } finally {
      await phone.close();
    }
    // The example's "call ended" debug node reports the hang-up in the editor's debug sidebar.
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.sidebar.show("debug"));
    await page.locator(".red-ui-debug-msg").filter({ hasText: "call ended" }).first().waitFor(WAIT);
    assert.deepEqual(ed.errors, []);
    assert.deepEqual(ed.offsite, []);
  });

  it("speaks one vocabulary: API component key, Component name, Component data, controlled; short labels; selects fit", async () => {
    const en = (type: string) => catalog("en-US", type) as unknown as Record<string, Record<string, string>>;
    /** The dialog's labels, as the user reads them. */
    async function dialogLabels(id: string): Promise<string[]> {
      await page.evaluate((i) => {
        const RED = (window as unknown as { RED: EditorRED }).RED;
        RED.editor.edit(RED.nodes.node(i));
      }, id);
      await page.locator("#dialog-form").waitFor(WAIT);
      const labels = await page.locator("#dialog-form .form-row > label").allInnerTexts();
      // biome-ignore lint/performance/useDomNodeTextContent: what the user reads (hidden rows aside) is the point
      const text = await page.locator("#dialog-form").innerText();
      assert.doesNotMatch(text, /Call key|\bheld\b|\bKey\b/, `${id}: ${text}`);
      return labels.map(squash).filter((l) => l !== "");
    }
    const closeDialog = () => cancelEditDialog(page);
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.workspaces.show("ex2-tab"));

    const start = await dialogLabels("ex2-start");
    assert.ok(start.includes("API component key") && start.includes("Component name"), start.join(" | "));
    await closeDialog();
    const dtmf = await dialogLabels("ex2-dtmf");
    assert.ok(dtmf.includes("API component key"), dtmf.join(" | "));
    assert.deepEqual(await truncatedOptions(page, "#node-input-mode"), []);
    await closeDialog();
    const apply = await dialogLabels("ex2-sales");
    assert.ok(apply.includes("Component data"), apply.join(" | "));
    assert.ok(!apply.includes("Component"), "no bare 'Component' label for the data");
    for (const sel of ["#node-input-component", "#node-input-busy"])
      assert.deepEqual(await truncatedOptions(page, sel), []);
    await closeDialog();
    for (const [t, key] of [
      ["ivrapi-start", "key"],
      ["ivrapi-dtmf", "key"],
    ] as const) {
      assert.equal(en(t).label?.[key], "API component key");
    }
    assert.equal(en("ivrapi-apply").label?.data, "Component data");
    assert.match(en("ivrapi-connection").label?.reaccept ?? "", /controlled/);

    // Short canvas labels, and ports that say what an exit means.
    const shown = await page.evaluate(() => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      RED.view.importNodes(
        [
          {
            id: "v-bye",
            type: "ivrapi-apply",
            z: "ex2-tab",
            x: 200,
            y: 520,
            data: '{"oType":201}',
            dataType: "json",
            transferKeys: [],
            outputs: 1,
          },
          { id: "v-dtmf", type: "ivrapi-dtmf", z: "ex2-tab", x: 400, y: 520, mode: "idle" },
          { id: "v-file", type: "ivrapi-file", z: "ex2-tab", x: 600, y: 520, action: "temp" },
        ],
        { generateIds: false },
      );
      // No named function in here: the runner would carry its helpers along into the page.
      const sales = RED.nodes.node("ex2-sales");
      const bye = RED.nodes.node("v-bye");
      const out = {
        labels: ["v-bye", "v-dtmf", "v-file"].map((id) => {
          const n = RED.nodes.node(id);
          return String(n._def.label.call(n));
        }),
        salesPorts: [0, 1, 2].map((i) => String(sales._def.outputLabels.call(sales, i))),
        byePort: String(bye._def.outputLabels.call(bye, 0)),
      };
      for (const id of ["v-bye", "v-dtmf", "v-file"]) RED.nodes.remove(id);
      RED.view.redraw(true);
      return out;
    });
    assert.deepEqual(shown.labels, ["hang up (201)", "on dtmf (idle)", "upload to :TEMP"]);
    assert.deepEqual(shown.salesPorts, ["transfer: ended normally", "error: could not run", "any other transferKey"]);
    assert.equal(shown.byePort, "any transferKey");
    assert.deepEqual(ed.errors, []);
  });
});
