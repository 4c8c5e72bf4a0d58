// The "ivr calls" sidebar in a real editor (chromium, a real Node-RED with every example deployed, the simulator): a
// call appears live without a reload, a click shows its timeline and frames, a click on a component entry shows (and
// highlights) the apply node that ran it, the call turns ended when the caller hangs up; docs/calls-sidebar.png.
import assert from "node:assert/strict";
import path from "node:path";
import type { Page } from "playwright-core";
import {
  DOCS,
  type EditorRED,
  type EditorSession,
  editorSession,
  requireChromium,
  shownSidebarTab,
  until,
  WAIT,
} from "./support";

describe("Node-RED editor (browser): the ivr calls sidebar", function () {
  this.timeout(120_000);
  let ed: EditorSession;
  let page: Page;

  before(async function () {
    requireChromium(this);
    ed = await editorSession({ seed: "examples", sim: { durations: { 204: 60_000 } } });
    page = ed.page;
  });

  after(async () => {
    await ed?.close();
  });

  afterEach(async function () {
    await ed?.reportFailure(this, "calls-sidebar");
  });

  it("lists a live call, shows its timeline and frames, and a component click highlights its apply node", async () => {
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.sidebar.show("ivrapi-calls"));
    await page.getByTestId("ivrapi-calls").waitFor(WAIT);
    const tab = await shownSidebarTab(page, "ivrapi-calls");
    assert.equal(tab.text, tab.field === "label" ? "ivr calls" : "IVR calls");
    await until("the example connection to subscribe", () =>
      ed.sim.connections().some((c) => c.subscriptions.length > 0),
    );

    const call = ed.sim.placeCall({ key: "menu" });
    const row = page.locator(`[data-testid="ivrapi-call"][data-ivrid="${call.ivrid}"]`);
    await row.and(page.locator('[data-live="true"]')).waitFor(WAIT);
    await row.click();
    const entries = page.getByTestId("ivrapi-entry");
    await entries.and(page.locator('[data-kind="component"][data-source="ex2-prompt"]')).waitFor(WAIT);
    // Live: a key press runs the next component, and the open timeline follows without a click.
    ed.sim.pressKeys(call.ivrid, "1");
    await entries.and(page.locator('[data-kind="dtmf"]')).waitFor(WAIT);
    await entries.and(page.locator('[data-source="ex2-sales"]')).waitFor(WAIT);
    const kinds = await entries.evaluateAll((els) => els.map((e) => e.getAttribute("data-kind")));
    assert.deepEqual(kinds.slice(0, 4), ["accept", "component", "dtmf", "component"]);
    assert.ok((await page.getByTestId("ivrapi-frame").count()) >= 4, "frames listed");
    const prompt = page.locator('[data-testid="ivrapi-entry"][data-source="ex2-prompt"]');
    const texts = await page.getByTestId("ivrapi-call-detail").textContent();
    assert.doesNotMatch(texts ?? "", /null|undefined|object HTMLElement|\+-/);
    assert.match((await prompt.textContent()) ?? "", /play :GS_PUB\/demo\/menu\.wav ended, exit transfer|terminated/);

    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.workspaces.show("ex2-tab"));
    await page.screenshot({ path: path.join(DOCS, "calls-sidebar.png") });

    // Another flow tab on show: the click brings the apply node's tab back and highlights the node.
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.workspaces.show("ex1-tab"));
    await page.locator('[data-testid="ivrapi-entry"][data-source="ex2-sales"]').click();
    await page.waitForFunction(
      () => (window as unknown as { RED: EditorRED }).RED.workspaces.active() === "ex2-tab",
      undefined,
      WAIT,
    );
    // The node's shape carries the highlight in Node-RED 3 and 4, the node's own group in Node-RED 5.
    await page
      .locator("#ex2-sales.red-ui-flow-node-highlighted, #ex2-sales .red-ui-flow-node-highlighted")
      .first()
      .waitFor({ state: "attached", ...WAIT });

    ed.sim.hangup(call.ivrid);
    await row.and(page.locator('[data-live="false"]')).waitFor(WAIT);
    await entries.and(page.locator('[data-kind="stop"]')).waitFor(WAIT);
    assert.deepEqual(ed.errors, []);
    assert.deepEqual(ed.offsite, []);
  });
});
