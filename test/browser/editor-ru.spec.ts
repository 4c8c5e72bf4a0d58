// The editor in Russian (a ru-RU browser), with every example deployed as `npm start` does: one call goes through the
// keypad menu and one through the error example, and nothing an ivrapi node shows is English — statuses (the
// connection's, counts, the running component, the last key, a failed msg), every edit dialog (labels, options,
// tips, placeholders, port and canvas labels), validation messages and Test connection results. Protocol names
// (`transfer`, `oType`, `ivrid`, error codes…) are allowed: they are what the user types or reads in msg.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { SHOWN_ERROR_CODES } from "../../src/nodes/common/status";
import {
  cancelEditDialog,
  catalog,
  type EditorRED,
  type EditorSession,
  editorSession,
  FLOW_TYPES,
  requireChromium,
  shownSidebarTab,
  truncatedOptions,
  until,
  WAIT,
} from "./support";

/** Names from the protocol, the platform and Node-RED that stay as they are in every language. */
const PROTOCOL = new Set(
  [
    ...SHOWN_ERROR_CODES,
    ...[
      "transfer",
      "transferTimeout",
      "transferError",
      "error",
      "timeout",
      "terminated",
      "transferKey",
      "oType",
      "ivrid",
      "msg",
      "ivr",
      "key",
      "payload",
    ],
    ...["dialog", "incoming", "ringing", "early", "idle", "component", "reason", "script", "reaccept", "ivrapi"],
    ...["subscr", "URL", "JSON", "JSONata", "SIP", "DTMF", "IVR", "API", "TLS", "HTTP", "HTTPS", "WebSocket"],
    ...["ws", "wss", "http", "https", "Authorization", "Bearer", "Catch", "Node", "RED", "ca", "OK", "Redis"],
  ].map((w) => w.toLowerCase()),
);

/** The English words in a text, protocol names, identifiers (msg.ivr.key, token_local), URLs and paths aside. */
function englishWords(text: string): string[] {
  const plain = text
    .replace(/\b[a-z]+:\/\/\S*/gi, " ") // URLs
    .replace(/(^|\s)[:/]\S*/g, " ") // storage paths (:TEMP/…) and paths
    .replace(/\S+\/\S+/g, " ")
    .replace(/[\w-]+(?:[._][\w-]+)+/g, " "); // identifiers: msg.ivr.key, token_local, settings.js, no_call
  return (plain.match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !PROTOCOL.has(w.toLowerCase()));
}

const RU = {
  conn: catalog("ru", "ivrapi-connection") as unknown as {
    status: Record<string, string>;
    failure: Record<string, string>;
    test: Record<string, string>;
    errors: Record<string, string>;
  },
  apply: catalog("ru", "ivrapi-apply") as unknown as { errors: Record<string, string>; short: Record<string, string> },
  file: catalog("ru", "ivrapi-file") as unknown as { errors: Record<string, string> },
};

describe("Node-RED editor (browser) in Russian: a call, every dialog, validation and Test connection, no English", function () {
  this.timeout(180_000);
  let ed: EditorSession;
  let page: Page;
  /** Every text read, by where it came from, for one English check at the end (and a readable failure). */
  const seen: Array<{ where: string; text: string }> = [];
  const read = (where: string, text: string) => seen.push({ where, text });

  before(async function () {
    requireChromium(this);
    ed = await editorSession({ seed: "examples", sim: { durations: { 204: 60_000 } }, locale: "ru-RU" });
    page = ed.page;
    // Every status an ivrapi node gets, as the editor shows it (translated by its own handler, which runs first).
    await page.evaluate(() => {
      const w = window as unknown as { RED: EditorRED; ivrStatuses: Array<{ id: string; text: string }> };
      w.ivrStatuses = [];
      w.RED.comms.subscribe("status/#", (topic: string, msg: { text?: unknown }) => {
        const id = topic.split("/")[1] ?? "";
        const n = w.RED.nodes.node(id);
        if (n && /^ivrapi-/.test(n.type) && typeof msg?.text === "string") w.ivrStatuses.push({ id, text: msg.text });
      });
    });
  });

  after(async () => {
    await ed?.close();
  });

  afterEach(async function () {
    await ed?.reportFailure(this, "editor-ru");
  });

  const statusOf = (id: string) => page.locator(`#${id} .red-ui-flow-node-status-label`);
  const show = (tab: string) =>
    page.evaluate((t) => (window as unknown as { RED: EditorRED }).RED.workspaces.show(t), tab);

  it("shows every status in Russian or language-neutral: connected, calls, running component, last key, a failure", async () => {
    await show("ex2-tab");
    await statusOf("ex2-start").filter({ hasText: RU.conn.status.connected }).waitFor(WAIT);
    await until("the example connection to subscribe", () =>
      ed.sim.connections().some((c) => c.subscriptions.length > 0),
    );
    const call = ed.sim.placeCall({ key: "menu" });
    await statusOf("ex2-start").filter({ hasText: "☎ 1" }).waitFor(WAIT);
    await statusOf("ex2-prompt").filter({ hasText: "▶ 204" }).waitFor(WAIT);
    ed.sim.pressKeys(call.ivrid, "1");
    await statusOf("ex2-dtmf").filter({ hasText: "⌨ 1" }).waitFor(WAIT);
    await statusOf("ex2-sales").filter({ hasText: "▶ 204" }).waitFor(WAIT);
    ed.sim.hangup(call.ivrid);
    await statusOf("ex2-start").filter({ hasText: RU.conn.status.connected }).waitFor(WAIT);

    // The error example: its upload fails, and the node says so in red, with the code, in Russian.
    await show("ex7-tab");
    ed.sim.placeCall({ key: "errors" });
    await statusOf("ex7-upload").filter({ hasText: RU.conn.failure.rejected }).waitFor(WAIT);
    assert.match(RU.conn.failure.rejected ?? "", /^✖ rejected: [а-яё]/i);
    await statusOf("ex7-upload").filter({ hasText: RU.conn.status.connected }).waitFor(WAIT);

    const statuses = await page.evaluate(
      () => (window as unknown as { ivrStatuses: Array<{ id: string; text: string }> }).ivrStatuses,
    );
    for (const s of statuses) read(`status of ${s.id}`, s.text);
    const texts = new Set(statuses.map((s) => s.text));
    for (const t of [RU.conn.status.connected, "☎ 1", "▶ 204", "⌨ 1", RU.conn.failure.rejected]) {
      assert.ok(texts.has(t ?? ""), `status "${t}" seen: ${[...texts].join(" | ")}`);
    }
    assert.deepEqual(ed.errors, []);
  });

  /** What a dialog shows: its text without <code> (protocol names), its placeholders, minus the user's own data. */
  async function dialogText(form: string): Promise<string> {
    return page.evaluate((sel) => {
      const el = document.querySelector(sel);
      if (!el) throw new Error(`no ${sel}`);
      const copy = el.cloneNode(true) as HTMLElement;
      // The connection picker lists the user's connections by name; <code> holds protocol names.
      for (const x of copy.querySelectorAll("code, select#node-input-connection, .red-ui-typedInput-container")) {
        x.remove();
      }
      const placeholders = [...el.querySelectorAll("[placeholder]")].map((e) => e.getAttribute("placeholder"));
      return [copy.textContent ?? "", ...placeholders].join("\n");
    }, form);
  }

  it("the ivr calls sidebar speaks Russian: its tab, the calls listed and a call's timeline", async () => {
    await page.evaluate(() => (window as unknown as { RED: EditorRED }).RED.sidebar.show("ivrapi-calls"));
    const tab = await shownSidebarTab(page, "ivrapi-calls");
    const label = tab.text;
    assert.equal(label, (catalog("ru", "ivrapi-calls") as unknown as { label: string; name: string })[tab.field]);
    read("calls sidebar tab", label);
    // The calls placed above: the menu call (components, a key) is the older one.
    const row = page.getByTestId("ivrapi-call").last();
    await row.waitFor(WAIT);
    await row.click();
    await page.locator('[data-testid="ivrapi-entry"][data-kind="stop"]').waitFor(WAIT);
    // Protocol values (ivrid, key, transferKey, reasons, frame names and bodies) are in <code> and <pre>.
    const text = await page.getByTestId("ivrapi-calls").evaluate((el) => {
      const copy = el.cloneNode(true) as HTMLElement;
      for (const x of copy.querySelectorAll("code, pre")) x.remove();
      return copy.textContent ?? "";
    });
    read("calls sidebar", text);
    assert.match(text, /Управление получено/);
  });

  it("speaks Russian in every ivrapi dialog, port label and canvas label", async () => {
    // Nodes without a name show their own label; the examples name theirs (the user's words), so add some.
    await show("ex2-tab");
    // Positions made here: a function declared inside evaluate() would carry the test runner's helpers along.
    const at = (i: number) => ({ z: "ex2-tab", x: 200 + 170 * (i % 4), y: 520 + 60 * Math.floor(i / 4) });
    const conn = "ivrapi-example-conn";
    const nodes = [
      { id: "ru-start", type: "ivrapi-start", connection: conn, key: "", componentName: "", ...at(0) },
      { id: "ru-dtmf", type: "ivrapi-dtmf", connection: conn, mode: "idle", key: "", ...at(1) },
      {
        id: "ru-bye",
        type: "ivrapi-apply",
        connection: conn,
        data: '{"oType":201}',
        dataType: "json",
        transferKeys: [],
        outputs: 1,
        ...at(2),
      },
      {
        id: "ru-play",
        type: "ivrapi-apply",
        connection: conn,
        data: '{"oType":204}',
        dataType: "json",
        transferKeys: ["transfer", "error", "terminated", "timeout"],
        outputs: 5,
        ...at(3),
      },
      { id: "ru-term", type: "ivrapi-terminate", connection: conn, ...at(4) },
      { id: "ru-abort", type: "ivrapi-abort", connection: conn, ...at(5) },
      { id: "ru-file", type: "ivrapi-file", connection: conn, action: "link", ...at(6) },
      { id: "ru-menu", type: "ivrapi-menu", connection: conn, choices: ["1", "2"], outputs: 4, ...at(7) },
      // A component form (collect digits): its rows are the catalog's labels, in Russian.
      {
        id: "ru-collect",
        type: "ivrapi-apply",
        connection: conn,
        component: "206",
        fields: { maxSymbolCount: { value: "500", type: "num" } },
        transferKeys: ["transfer", "transferTimeout", "error"],
        outputs: 4,
        version: 2,
        ...at(8),
      },
    ];
    await page.evaluate((list) => {
      (window as unknown as { RED: EditorRED }).RED.view.importNodes(list, { generateIds: false });
    }, nodes);
    const labels = await page.evaluate(() => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      const out: Record<string, { label: string; ports: string[] }> = {};
      RED.nodes.eachNode((n: EditorRED) => {
        if (!/^ivrapi-/.test(n.type)) return;
        const ports: string[] = [];
        for (let i = 0; i < (n.outputs ?? 0); i++) ports.push(String(n._def.outputLabels?.call(n, i) ?? ""));
        out[n.id] = { label: n.name ? "" : String(n._def.label.call(n)), ports };
      });
      return out;
    });
    for (const [id, l] of Object.entries(labels)) {
      read(`canvas label of ${id}`, l.label);
      for (const p of l.ports) read(`port label of ${id}`, p);
    }
    assert.equal(labels["ru-bye"]?.label, `${RU.apply.short["201"]} (201)`);
    assert.deepEqual(labels["ru-bye"]?.ports, [(catalog("ru", "ivrapi-apply").outputs as Record<string, string>).any]);

    // Every flow node type's dialog.
    for (const id of ["ru-start", "ru-dtmf", "ex2-sales", "ru-collect", "ru-term", "ru-abort", "ru-file", "ru-menu"]) {
      await page.evaluate((i) => {
        const RED = (window as unknown as { RED: EditorRED }).RED;
        RED.editor.edit(RED.nodes.node(i));
      }, id);
      await page.locator("#dialog-form").waitFor(WAIT);
      // The form's rows come with the catalog; the out-of-range value shows its problem (Russian, naming the field).
      if (id === "ru-collect") await page.locator("#ivrapi-apply-form .ivrapi-field-problem:visible").waitFor(WAIT);
      // No option is cut off (Russian texts run longer).
      for (const sel of ["#node-input-component", "#node-input-busy", "#node-input-mode", "#node-input-action"]) {
        if ((await page.locator(sel).count()) > 0)
          assert.deepEqual(await truncatedOptions(page, sel), [], `${id} ${sel}`);
      }
      if (id === "ru-file") {
        // Each action's fields.
        for (const a of ["temp", "static", "link"]) {
          await page.locator("#node-input-action").selectOption(a);
          read(`dialog of ${id} (${a})`, await dialogText("#dialog-form"));
        }
      } else read(`dialog of ${id}`, await dialogText("#dialog-form"));
      await cancelEditDialog(page);
    }
    const types = await page.evaluate(
      (ids) => ids.map((i) => (window as unknown as { RED: EditorRED }).RED.nodes.node(i).type),
      ["ru-start", "ru-dtmf", "ex2-sales", "ru-term", "ru-abort", "ru-file", "ru-menu"],
    );
    assert.deepEqual([...new Set(types)].sort(), [...FLOW_TYPES].sort(), "a dialog of every flow node type");
    assert.deepEqual(ed.errors, []);
  });

  it("the connection dialog and its Test connection results are Russian: connected, and a wrong path", async () => {
    await page.evaluate(() => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      RED.editor.edit(RED.nodes.node("ex2-start"));
    });
    await page.locator("#node-input-btn-connection-edit").click();
    const url = page.locator("#node-config-input-url");
    await url.waitFor(WAIT);
    const form = "#node-config-dialog-edit-form";
    read("connection dialog", await dialogText(form));
    assert.deepEqual(await truncatedOptions(page, "#node-config-input-tokenMode"), []);
    const result = page.getByTestId("test-result");
    const test = async () => {
      await result.evaluate((e) => {
        e.textContent = "";
      });
      await page.locator("#node-config-ivrapi-test").click();
      await page.waitForFunction(
        (running) => {
          const t = document.querySelector('[data-testid="test-result"]')?.textContent ?? "";
          return t !== "" && t !== running;
        },
        RU.conn.test.running,
        WAIT,
      );
      return (await result.textContent()) ?? "";
    };
    // The deployed connection, with its stored token.
    const ok = await test();
    read("Test connection (ok)", ok);
    assert.match(ok, /^подключено; возможности: ivrapi/);
    // A path the platform does not serve, with the token typed in: the 404 is explained.
    await url.fill(ed.sim.wsUrl.replace("/ws/token/v1", "/ws/token"));
    await page.locator("#node-config-input-token").fill(ed.sim.token);
    const notFound = await test();
    read("Test connection (404)", notFound);
    assert.equal(notFound, RU.conn.test.not_found);
    // The stored token is never sent to another URL: typed nothing, the answer says to type it.
    await page.locator("#node-config-input-token").fill("__PWRD__");
    const other = await test();
    read("Test connection (other URL)", other);
    assert.equal(other, RU.conn.test.token_other_url);
    await page.locator("#node-config-dialog-cancel").click();
    await url.waitFor({ state: "detached", ...WAIT });
    await cancelEditDialog(page);
    assert.deepEqual(ed.errors, []);
  });

  it("says in Russian why settings cannot work, before deploy (the warning triangle's reasons)", async () => {
    const at = (i: number) => ({ z: "ex2-tab", x: 200 + 170 * i, y: 700 });
    const bad = [
      {
        id: "bad-conn",
        type: "ivrapi-connection",
        url: "http://pbx.example.com/ws/token/v1",
        tokenMode: "path",
        requestTimeout: "0",
        subscriptionTtl: "3600",
        hasToken: false,
      },
      {
        id: "bad-apply",
        type: "ivrapi-apply",
        connection: "bad-conn",
        data: '{"oType": 204,',
        dataType: "json",
        transferKeys: ["transfer", "transfer"],
        timeout: "-1",
        outputs: 3,
        ...at(0),
      },
      { id: "bad-file", type: "ivrapi-file", connection: "bad-conn", action: "temp", url: "", timeout: "0", ...at(1) },
      { id: "bad-pasted", type: "ivrapi-connection", url: "wss://pbx/ws/token/v1/abc", hasToken: true },
    ];
    const errors = await page.evaluate((list) => {
      const RED = (window as unknown as { RED: EditorRED }).RED;
      RED.view.importNodes(list, { generateIds: false });
      const out: Record<string, string[]> = {};
      for (const id of ["bad-conn", "bad-apply", "bad-file", "bad-pasted"]) {
        const n = RED.nodes.node(id);
        RED.editor.validateNode(n);
        out[id] = (n.validationErrors ?? []).map(String);
      }
      return out;
    }, bad);
    const want = {
      "bad-conn": [RU.conn.errors.urlHttp, RU.conn.errors.requestTimeout, RU.conn.errors.token],
      "bad-apply": [RU.apply.errors.keyTwice],
      "bad-file": [RU.file.errors.urlEmpty, RU.file.errors.timeoutMin],
      "bad-pasted": [RU.conn.errors.urlToken],
    };
    for (const [id, list] of Object.entries(errors)) {
      for (const e of list) read(`validation of ${id}`, e);
      for (const w of want[id as keyof typeof want]) {
        const head = (w ?? "").split("__")[0] ?? "";
        assert.ok(
          list.some((e) => e.startsWith(head)),
          `${id}: "${head}…" among ${JSON.stringify(list)}`,
        );
      }
    }
    assert.ok(errors["bad-apply"]?.includes((RU.apply.errors.jsonAt ?? "?").replace("__at__", "15")));
    assert.ok(errors["bad-apply"]?.some((e) => e.startsWith(RU.apply.errors.timeout?.split("__")[0] ?? "?")));
    // A flow node whose connection cannot work says so too.
    assert.ok(errors["bad-file"]?.includes(RU.conn.errors.connectionInvalid ?? "?"), JSON.stringify(errors));
    assert.deepEqual(ed.errors, []);
  });

  it("none of it is English (protocol names aside)", () => {
    assert.ok(seen.length > 40, `${seen.length} texts read`);
    const english = seen
      .map((s) => ({ ...s, words: englishWords(s.text) }))
      .filter((s) => s.words.length > 0)
      .map((s) => `${s.where}: ${s.words.join(", ")} in "${s.text.replace(/\s+/g, " ").slice(0, 300)}"`);
    assert.deepEqual(english, []);
  });
});
