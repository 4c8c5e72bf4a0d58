// The softphone page in a real browser (Debian's chromium driven by playwright-core), against the simulator and a
// small IVR written with the project's runtime: place a call, watch it play, press 1, see the transfer, hang up.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { IvrApiClient } from "../../src/client";
import { type CallInfo, SessionRegistry } from "../../src/session";
import { Simulator, sendJson } from "../../src/simulator";
import { DOCS, launchChromium, requireChromium, VIEWPORT, WAIT } from "./support";

const SCREENSHOT = path.join(DOCS, "softphone.png");

/** The IVR under test: plays a menu; "1" stops it and transfers to 101. Failures are kept for the test to check. */
function menuIvr(reg: SessionRegistry, failures: string[]): void {
  const fail = (what: string) => (err: Error) => failures.push(`${what}: ${err.message}`);
  reg.on("api_start", (call: CallInfo) => {
    reg
      .accept(call)
      .then((o) =>
        o.accepted
          ? reg.apply(call.ivrid, { oType: 204, mode: 0, file: ":GS_PUB/menu.wav" }).then(() => {})
          : undefined,
      )
      .catch((err: Error) => {
        // The caller may hang up in the middle of the menu: that is how the call ends, not a failure.
        if (!/session_ended|ended/.test(`${(err as { code?: string }).code} ${err.message}`)) fail("menu")(err);
      });
  });
  reg.on("dtmf", (call, body) => {
    if (body.dtmf !== "1") return;
    (async () => {
      if (reg.isBusy(call.ivrid)) await reg.terminate(call.ivrid);
      await reg.apply(call.ivrid, { oType: 203, number: "101" });
    })().catch(fail("transfer"));
  });
}

describe("softphone page (browser)", function () {
  this.timeout(120_000);
  let sim: Simulator;
  let client: IvrApiClient;
  let browser: Browser;
  let page: Page;
  const failures: string[] = [];
  const pageErrors: string[] = [];

  before(async function () {
    requireChromium(this);
    // The menu plays until a key stops it; the transfer lasts long enough to be seen, then ends the call.
    sim = await Simulator.start({ durations: { 204: 120_000, 203: 3000, default: 50 } });
    client = new IvrApiClient({
      url: sim.wsUrl,
      token: sim.token,
      requestTimeoutMs: 5000,
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
      pingIntervalMs: 0,
    });
    const reg = new SessionRegistry(client);
    menuIvr(reg, failures);
    const ready = new Promise((resolve) => client.once("ready", resolve));
    client.start();
    await ready;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: VIEWPORT });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (msg) => {
      // The browser notes every HTTP error; the one the test provokes (409) is expected.
      if (msg.type() === "error" && !/status of 409/.test(msg.text())) pageErrors.push(msg.text());
    });
  });

  after(async () => {
    await browser?.close();
    await client?.close();
    await sim?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) {
      // What the page showed when it failed, for whoever reads the CI log.
      const shot = path.join(os.tmpdir(), "softphone-failure.png");
      await page.screenshot({ path: shot }).catch(() => {});
      const screen = await page
        .getByTestId("screen")
        .textContent()
        .catch(() => "(no page)");
      console.log(`      failure screenshot: ${shot}\n      phone screen: ${screen}\n      page errors: ${pageErrors}`);
    }
  });

  const row = (testid: string, text: string | RegExp) => page.getByTestId(testid).filter({ hasText: text });

  it("places a call, shows the menu playing, sends 1, shows the transfer and the frames", async () => {
    await page.goto(`${sim.httpUrl}/softphone`);
    await page.getByTestId("feed-status").filter({ hasText: "live" }).waitFor(WAIT);
    await page.getByTestId("apps").filter({ hasText: "IVR apps connected: 1" }).waitFor(WAIT);

    // A bad params text is refused before anything is sent.
    await page.getByLabel(/Params/).fill("{lang: en}");
    await page.getByTestId("call-button").click();
    await page.getByTestId("params-error").filter({ hasText: "Not valid JSON" }).waitFor(WAIT);
    assert.equal(sim.calls().length, 0);

    await page.getByLabel("API component key").fill("menu");
    await page.getByLabel(/Params/).fill('{"lang": "en"}');
    await page.getByLabel("SIP state").selectOption("dialog");
    await page.getByLabel("Caller number").fill("+15550123");
    await page.getByTestId("call-button").click();

    await page.getByTestId("current-component").filter({ hasText: "playing :GS_PUB/menu.wav" }).waitFor(WAIT);
    const [call] = sim.calls();
    assert.ok(call);
    assert.equal(call.key, "menu");
    assert.equal(call.params, '{"lang": "en"}');
    assert.equal(call.from, "+15550123");
    await page.getByTestId("call-phase").filter({ hasText: "controlled" }).waitFor(WAIT);
    await page.getByTestId("call-item").filter({ hasText: "+15550123 → menu" }).waitFor(WAIT);

    await page.getByTestId("key-1").click();
    await row("frame-row", "ivrapi_dtmf").first().waitFor(WAIT);
    await row("history-row", "transferring to 101 started").waitFor(WAIT);
    await page.getByTestId("current-component").filter({ hasText: "transferring to 101" }).waitFor(WAIT);
    await row("history-row", /playing :GS_PUB\/menu\.wav ended → transferKey\s*terminated/).waitFor(WAIT);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    await row("history-row", /transferring to 101 ended → transferKey\s*transfer/).waitFor(WAIT);
    await page.getByTestId("call-phase").filter({ hasText: "ended" }).waitFor(WAIT);
    await page.getByTestId("current-component").filter({ hasText: "Call ended (script)" }).waitFor(WAIT);
    assert.equal(await page.getByTestId("hangup").isDisabled(), true);
    assert.equal(await page.getByTestId("key-5").isDisabled(), true);

    // The frame log: arrows, names, compact JSON, expandable.
    const dtmf = row("frame-row", "ivrapi_dtmf").first();
    assert.match((await dtmf.textContent()) ?? "", /←[^→]*ivrapi_dtmf[\s\S]*"dtmf":"1"/);
    await dtmf.locator("summary").click();
    await dtmf.locator("pre").filter({ hasText: '"mode": "component"' }).waitFor(WAIT);
    await row("frame-row", "ivrapi_component_apply").first().waitFor(WAIT);
    await row("frame-row", "ivrapi_component_stopped").first().waitFor(WAIT);
    assert.ok(fs.statSync(SCREENSHOT).size > 10_000);
    assert.equal((await page.content()).includes(sim.token), false, "the token never shows");
    assert.deepEqual(failures, []);
    assert.deepEqual(pageErrors, []);
  });

  it("types keys on the keyboard, shows a failed request plainly, and hangs up", async () => {
    await page.getByLabel("Caller number").fill("+15550999");
    await page.getByTestId("call-button").click();
    await page.getByTestId("call-who").filter({ hasText: "+15550999" }).waitFor(WAIT);
    await page.getByTestId("current-component").filter({ hasText: "playing :GS_PUB/menu.wav" }).waitFor(WAIT);
    // Live calls are listed first.
    await page.getByTestId("call-item").first().filter({ hasText: "+15550999" }).waitFor(WAIT);

    await page.locator("body").click({ position: { x: 5, y: 400 } });
    await page.keyboard.press("7");
    await page.getByTestId("dtmf-buffer").filter({ hasText: "keys so far: 7" }).waitFor(WAIT);
    await row("history-row", /caller pressed\s*7/).waitFor(WAIT);

    // A request the simulator refuses: the page says what failed and why.
    sim.addRoute("POST", /^\/sim\/calls\/[^/]+\/dtmf$/, (_req, res) =>
      sendJson(res, 409, { error: "injected refusal" }),
    );
    await page.getByTestId("key-hash").click();
    await page.getByTestId("error").filter({ hasText: "Could not press #: injected refusal (HTTP 409)" }).waitFor(WAIT);
    await page.getByRole("button", { name: "Dismiss the error" }).click();
    await page.getByTestId("error").waitFor({ state: "hidden", ...WAIT });

    await page.getByTestId("hangup").click();
    await page.getByTestId("call-phase").filter({ hasText: "ended" }).waitFor(WAIT);
    await row("history-row", "caller hung up").waitFor(WAIT);
    assert.equal(sim.calls().find((c) => c.from === "+15550999")?.phase, "ended");
    assert.deepEqual(failures, []);
    assert.deepEqual(pageErrors, []);
  });
});

describe("softphone page (browser): a key nobody takes", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let client: IvrApiClient;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    requireChromium(this);
    // A short accept timeout: the page must say soon that nobody took the call.
    sim = await Simulator.start({ acceptTimeoutMs: 400 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: VIEWPORT });
    page.on("pageerror", (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    await client?.close();
    await sim?.stop();
  });

  it("defaults to an example's key, and says when no app is there or none accepts the key", async () => {
    await page.goto(`${sim.httpUrl}/`);
    await page.getByTestId("feed-status").filter({ hasText: "live" }).waitFor(WAIT);
    assert.equal(await page.getByLabel("API component key").inputValue(), "menu");
    const notice = page.getByTestId("no-taker");

    // Nobody connected: the call reaches no one, and the page says so at once.
    await page.getByTestId("call-button").click();
    await notice.filter({ hasText: "No IVR app is connected and subscribed" }).waitFor(WAIT);

    // An app that subscribes but takes no call with this key: said once the accept timeout has passed.
    client = new IvrApiClient({ url: sim.wsUrl, token: sim.token, pingIntervalMs: 0 });
    const ready = new Promise((resolve) => client.once("ready", resolve));
    client.start();
    await ready;
    await page.getByLabel("API component key").fill("nobody-takes-this");
    await page.getByTestId("call-button").click();
    await page.getByTestId("call-who").filter({ hasText: "nobody-takes-this" }).waitFor(WAIT);
    await notice.filter({ hasText: 'No IVR app accepted key "nobody-takes-this" in time' }).waitFor(WAIT);
    await page.getByTestId("history-row").filter({ hasText: "nobody accepted key nobody-takes-this" }).waitFor(WAIT);
    assert.deepEqual(pageErrors, []);
  });
});
