// Shared by the browser suites: Debian's chromium through playwright-core (skipped only when chromium is absent and
// CI is unset), a real Node-RED child process set up the way `npm start` does it, and small waits on editor state.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { prepareUserDir } from "../../scripts/userdir";
import { Simulator, type SimulatorOptions } from "../../src/simulator";
import { build, freePort, spawnNodeRed } from "../helpers/node-red";

export { build, freePort } from "../helpers/node-red";

import { until } from "../helpers/wait";

export { until };

export const ROOT = path.join(__dirname, "..", "..");
export const DOCS = path.join(ROOT, "docs");
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const VIEWPORT = { width: 1280, height: 800 };
/** Generous: a cold chromium on a busy CI machine; every wait is on page state, never a fixed sleep. */
export const WAIT = { timeout: 20_000 };

/** Call first in a suite's `before`: skips when chromium is missing locally, fails in CI (which must install it). */
export function requireChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install chromium (see .ci/run)`);
  console.log(`      (skipped: ${CHROMIUM} is not installed; apt-get install chromium runs these tests)`);
  ctx.skip();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * A context at 1280x800 that stays on this machine: the editor asks catalogue.nodered.org for the palette
 * manager's list, answered here with an empty one; any other request off loopback is refused and recorded.
 */
export async function newContext(
  browser: Browser,
  offsite: string[],
  options: { locale?: string } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: VIEWPORT, ...options });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
    const url = route.request().url();
    if (url.startsWith("https://catalogue.nodered.org/")) return route.fulfill({ json: { modules: [] } });
    offsite.push(url);
    return route.abort();
  });
  return context;
}

/** Collects uncaught page errors and console errors; `ignore` filters out the ones a test provokes on purpose. */
export function watchErrors(page: Page, errors: string[], ignore?: RegExp): void {
  page.on("pageerror", (err) => errors.push(`${page.url()}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !ignore?.test(msg.text())) errors.push(`${page.url()}: ${msg.text()}`);
  });
}

export interface NodeRed {
  base: string;
  userDir: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * A real Node-RED with the settings `npm start` writes (scripts/userdir.ts) in a fresh temp userDir. `seed`:
 * "examples" deploys every example bound to the simulator, as `npm start` does; "empty" starts with no flows.
 */
export async function startNodeRed(o: { simUrl: string; token: string; seed: "examples" | "empty" }): Promise<NodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "ivrapi-editor-"));
  const port = await freePort();
  if (o.seed === "empty") fs.writeFileSync(path.join(userDir, "flows.json"), "[]\n");
  const seeded = prepareUserDir({
    userDir,
    packageRoot: ROOT,
    host: "127.0.0.1",
    redPort: port,
    simUrl: o.simUrl,
    token: o.token,
  });
  assert.equal(seeded, o.seed === "examples");
  const red = await spawnNodeRed(["--userDir", userDir, "--settings", path.join(userDir, "settings.js")], {
    cwd: userDir,
    readyWhen: /Started flows/,
  }).catch((err: Error) => {
    fs.rmSync(userDir, { recursive: true, force: true });
    throw err;
  });
  return {
    base: `http://127.0.0.1:${port}`,
    userDir,
    output: red.output,
    stop: async () => {
      await red.stop(5000);
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

export type FlowNode = { id: string; type: string; z?: string; wires?: string[][]; [k: string]: unknown };

/** The deployed flows, through the admin API. */
export async function deployedFlows(base: string): Promise<FlowNode[]> {
  const res = await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { flows: FlowNode[] }).flows;
}

/**
 * Node-RED's runtime answers a catalog request by switching its one global i18next language, and the editor asks
 * for several languages at once, so the first load of a language can race (seen once: a label came back in
 * English). Loading the language once before the editor does takes that race (Node-RED's, not this package's) out.
 */
export async function preloadCatalogs(base: string, locale: string): Promise<void> {
  const short = locale.split("-")[0] ?? locale;
  for (const lng of new Set([locale, short])) {
    assert.equal((await fetch(`${base}/nodes/messages?lng=${lng}`)).status, 200);
  }
}

/** Opens the editor and waits until the flows are loaded and this package's palette entries are drawn. */
export async function openEditor(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.waitForFunction(
    () => {
      const red = (window as unknown as { RED?: EditorRED }).RED;
      return !!red?.nodes?.version?.() && !!red.nodes.getType("ivrapi-apply");
    },
    undefined,
    WAIT,
  );
  await page.locator('.red-ui-palette-node[data-palette-type="ivrapi-apply"]').waitFor(WAIT);
  await page.locator("#red-ui-loader").waitFor({ state: "hidden", ...WAIT });
}

/** Clicks Deploy and waits for the editor's own verdict: clean (not dirty) with a success notification. */
export async function deploy(page: Page): Promise<void> {
  const dirty = await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.nodes.dirty());
  assert.equal(dirty, true, "nothing to deploy");
  await page.locator("#red-ui-header-button-deploy").click();
  await page.locator(".red-ui-notification-success").first().waitFor(WAIT);
  await page.waitForFunction(() => !(window as unknown as { RED: EditorRED }).RED.nodes.dirty(), undefined, WAIT);
  assert.equal(await page.locator(".red-ui-notification-error").count(), 0, "an error notification after deploy");
}

/** The node types a flow uses (ivrapi-connection is a config node outside the palette). */
export const FLOW_TYPES = [
  "ivrapi-start",
  "ivrapi-apply",
  "ivrapi-terminate",
  "ivrapi-dtmf",
  "ivrapi-file",
  "ivrapi-abort",
  "ivrapi-menu",
] as const;

/** What a node's editor template registers: its palette category and icon file, read from nodes/<type>.html. */
export function nodeDef(type: string): { category: string; icon: string } {
  const html = fs.readFileSync(path.join(ROOT, "nodes", `${type}.html`), "utf8");
  const category = /\bcategory:\s*"([^"]+)"/.exec(html)?.[1];
  const icon = /\bicon:\s*"([^"]+)"/.exec(html)?.[1];
  assert.ok(category && icon, `category and icon in nodes/${type}.html`);
  return { category, icon };
}

/** The first paragraph of a help file, as plain text: a distinctive sentence to look for in the sidebar. */
export function helpLead(lang: string, type: string): string {
  const html = fs.readFileSync(path.join(ROOT, "locales", lang, `${type}.html`), "utf8");
  const p = /<p>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? "";
  const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', nbsp: " " };
  return squash(p.replace(/<[^>]+>/g, "").replace(/&(\w+);/g, (m, e: string) => entities[e] ?? m));
}

/** One locale's message catalog for one node type. */
export function catalog(lang: string, type: string): { paletteLabel: string; [k: string]: unknown } {
  const file = path.join(ROOT, "locales", lang, `${type}.json`);
  return (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { paletteLabel: string }>)[type] as {
    paletteLabel: string;
  };
}

export const squash = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * The options of a select in the open dialog whose text does not fit its box (what the user would see cut off),
 * measured with the select's own font; the room left of the drop-down arrow is what counts.
 */
export function truncatedOptions(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel) as HTMLSelectElement | null;
    if (!el) throw new Error(`no ${sel}`);
    const cs = getComputedStyle(el);
    const ctx = document.createElement("canvas").getContext("2d");
    if (!ctx) throw new Error("no canvas");
    ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const arrow = 20;
    const room = el.clientWidth - Number.parseFloat(cs.paddingLeft) - Number.parseFloat(cs.paddingRight) - arrow;
    return [...el.options].filter((o) => ctx.measureText(o.text).width > room).map((o) => o.text);
  }, selector);
}

/**
 * What the editor shows of a sidebar tab the test has just shown (RED.sidebar.show), and which of the tab's texts it
 * is: the tab's `label` on the tab itself in Node-RED 3 and 4; its `name` in Node-RED 5, whose sidebar tabs are icon
 * buttons (the name is their accessible label and heads the section that shows the tab). Waits for it.
 */
export async function shownSidebarTab(page: Page, id: string): Promise<{ text: string; field: "label" | "name" }> {
  let shown: { text: string; field: "label" | "name" } = { text: "", field: "label" };
  await until(`the sidebar tab ${id} to show`, async () => {
    shown = await page.evaluate((tab) => {
      const label = document.querySelector(`#red-ui-sidebar .red-ui-tab[id="red-ui-tab-${tab}"]`);
      if (label) return { text: label.textContent?.trim() ?? "", field: "label" as const };
      const name = document.querySelector(`[data-tab-id="${tab}"]`)?.getAttribute("aria-label") ?? "";
      const heads = [...document.querySelectorAll<HTMLElement>("#red-ui-sidebar .red-ui-sidebar-banner-label")];
      const heading = heads.some((h) => h.offsetParent !== null && h.textContent?.trim() === name);
      return { text: heading ? name : "", field: "name" as const };
    }, id);
    return shown.text !== "";
  });
  return shown;
}

/**
 * Shows or hides the right-hand sidebar and waits until it is: the View menu's toggle in Node-RED 3 and 4; Node-RED 5
 * has no such menu item, and its toggle action, which both have, collapses the sidebar to no width.
 */
export async function setSidebar(page: Page, shown: boolean): Promise<void> {
  await page.evaluate((on) => {
    const { RED } = window as unknown as { RED: EditorRED };
    RED.menu.setSelected("menu-item-sidebar", on);
    RED.actions.invoke("core:toggle-sidebar", on);
  }, shown);
  await page.locator("#red-ui-sidebar").waitFor({ state: shown ? "visible" : "hidden", ...WAIT });
}

/** The parts of the editor's global `RED` the tests touch (typed loosely: it is the editor's own API). */
// biome-ignore lint/suspicious/noExplicitAny: the editor's API is untyped
export type EditorRED = any;

/** One editor under test: a simulator, a real Node-RED bound to it, and a browser page with the editor open. */
export interface EditorSession {
  sim: Simulator;
  red: NodeRed;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far. */
  errors: string[];
  /** Requests that tried to leave the machine. */
  offsite: string[];
  close(): Promise<void>;
  /** For an afterEach: screenshots of every page, the errors and the tail of Node-RED's log, on failure. */
  reportFailure(ctx: Mocha.Context, name: string): Promise<void>;
}

export async function editorSession(o: {
  seed: "examples" | "empty";
  sim?: SimulatorOptions;
  /** The browser's language (en-US when not given). */
  locale?: string;
}): Promise<EditorSession> {
  build();
  const sim = await Simulator.start(o.sim);
  let red: NodeRed | undefined;
  let browser: Browser | undefined;
  const offsite: string[] = [];
  const errors: string[] = [];
  let context: BrowserContext;
  let page: Page;
  try {
    red = await startNodeRed({ simUrl: sim.wsUrl, token: sim.token, seed: o.seed });
    if (o.locale) await preloadCatalogs(red.base, o.locale);
    browser = await launchChromium();
    context = await newContext(browser, offsite, o.locale ? { locale: o.locale } : {});
    page = await context.newPage();
    watchErrors(page, errors);
    await openEditor(page, red.base);
  } catch (err) {
    // Whatever did start must not outlive a failed set-up.
    await browser?.close().catch(() => {});
    await red?.stop().catch(() => {});
    await sim.stop();
    throw err;
  }
  return {
    sim,
    red,
    browser,
    context,
    page,
    errors,
    offsite,
    async close() {
      await browser?.close();
      await red?.stop();
      await sim.stop();
    },
    async reportFailure(ctx, name) {
      if (ctx.currentTest?.state !== "failed") return;
      for (const [i, p] of context.pages().entries()) {
        const shot = path.join(os.tmpdir(), `${name}-failure-${i}.png`);
        await p.screenshot({ path: shot }).catch(() => {});
        console.log(`      failure screenshot: ${shot} (${p.url()})`);
      }
      console.log(`      page errors: ${errors}\n      Node-RED log tail:\n${red.output().slice(-3000)}`);
    },
  };
}

/**
 * Closes the node's edit dialog with Cancel and waits until it is gone. On a loaded machine the click can land while
 * the editor is still opening the tray and be lost (the dialog then stays open for good), so it is clicked again when
 * the dialog is still there a few seconds later; the wait itself is never skipped.
 */
export async function cancelEditDialog(page: Page): Promise<void> {
  const form = page.locator("#dialog-form");
  for (let attempt = 1; attempt <= 3; attempt++) {
    await page.locator("#node-dialog-cancel").click();
    try {
      await form.waitFor({ state: "detached", timeout: attempt < 3 ? 5000 : WAIT.timeout });
      return;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}
