// Connection failures say what is wrong and what to do, as a code (that the editor translates) and an English
// sentence: a wrong path, TLS against a plain server, a token pasted into the URL, http:// for ws://. And a failure
// that repeats on every retry is logged as a warning once, not every ~30 s forever.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { StateChange } from "../../src/client";
import { socketFailure, tokenInUrl, upgradeFailure, urlProblem } from "../../src/client/failure";
import { Simulator } from "../../src/simulator";
import { type Harness, harness, once, recordingLogger } from "../helpers/runtime";

const TLS = path.join(__dirname, "..", "fixtures", "tls");

describe("client: connection failures explained", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it("names the URL's mistakes before anything is tried", () => {
    assert.equal(urlProblem("http://pbx:8080/ws/token/v1")?.code, "http_url");
    assert.match(urlProblem("https://pbx/ws/token/v1")?.text ?? "", /wss:\/\//);
    assert.equal(urlProblem("pbx.example.com/ws/token/v1")?.code, "bad_url");
    assert.equal(urlProblem("wss://pbx/ws/token/v1/abc123")?.code, "token_in_url");
    assert.equal(urlProblem("wss://pbx/ws/token/v1/")?.code, undefined);
    assert.equal(urlProblem(" ws://127.0.0.1:8765/ws/token/v1 "), undefined);
    assert.equal(tokenInUrl("wss://pbx/ws/token/v1//"), false);
    assert.equal(tokenInUrl("wss://pbx/proxy/ws/token/v1/tok"), true);
  });

  it("explains refused upgrades: 404 wants /ws/token/v1, 401 a token, a token in the URL is named", () => {
    const nf = upgradeFailure(404, "ws://pbx/ws/token");
    assert.equal(nf.code, "not_found");
    assert.match(nf.text, /must end at \/ws\/token\/v1/);
    assert.equal(upgradeFailure(401, "ws://pbx/ws/token/v1").code, "unauthorized");
    assert.equal(upgradeFailure(401, "ws://pbx/ws/token/v1/pasted").code, "token_in_url");
    assert.deepEqual(
      { code: upgradeFailure(502, "ws://pbx/ws/token/v1").code, status: upgradeFailure(502, "ws://x").status },
      { code: "http_status", status: 502 },
    );
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    assert.equal(socketFailure(refused, "ws://127.0.0.1:9").code, "refused");
    const dns = Object.assign(new Error("getaddrinfo ENOTFOUND nope"), { code: "ENOTFOUND" });
    assert.equal(socketFailure(dns, "ws://nope").code, "host_not_found");
  });

  it("a wrong path (HTTP 404) says the URL must end at /ws/token/v1", async () => {
    h = await harness();
    const c = h.client({ url: h.sim.wsUrl.replace("/ws/token/v1", "/ws/token") });
    c.start();
    const [change] = await once<[StateChange]>(c, "state", (s) => s.state === "disconnected");
    assert.equal(change.failure?.code, "not_found");
    assert.equal(change.failure?.status, 404);
    assert.match(change.error ?? "", /must end at \/ws\/token\/v1/);
  });

  it("a token pasted into the URL is named as such", async () => {
    h = await harness();
    const c = h.client({ url: `${h.sim.wsUrl}/${h.sim.token}` });
    c.start();
    const [change] = await once<[StateChange]>(c, "state", (s) => s.state === "unauthorized");
    assert.equal(change.failure?.code, "token_in_url");
    assert.ok(!(change.error ?? "").includes(h.sim.token), "the token never shows");
  });

  it("wss:// to a server without TLS, and ws:// to a TLS server, say which scheme to use", async () => {
    h = await harness();
    const wss = h.client({ url: h.sim.wsUrl.replace("ws://", "wss://") });
    wss.start();
    const [plain] = await once<[StateChange]>(wss, "state", (s) => s.state === "disconnected");
    assert.equal(plain.failure?.code, "tls_plain");
    assert.match(plain.error ?? "", /use ws:\/\//);
    const tls = await Simulator.start({
      tls: { key: fs.readFileSync(path.join(TLS, "key.pem")), cert: fs.readFileSync(path.join(TLS, "cert.pem")) },
    });
    try {
      const ws = h.client({ url: tls.wsUrl.replace("wss://", "ws://"), token: tls.token });
      ws.start();
      const [reset] = await once<[StateChange]>(ws, "state", (s) => s.state === "disconnected");
      assert.equal(reset.failure?.code, "reset");
      assert.match(reset.error ?? "", /use wss:\/\//);
      const untrusted = h.client({ url: tls.wsUrl, token: tls.token });
      untrusted.start();
      const [cert] = await once<[StateChange]>(untrusted, "state", (s) => s.state === "disconnected");
      assert.equal(cert.failure?.code, "tls_certificate");
      await ws.close();
      await untrusted.close();
    } finally {
      await tls.stop();
    }
  });

  it("a missing capability is named, with the list of what is missing", async () => {
    h = await harness({ capabilities: ["subscr"] });
    const c = h.client();
    c.start();
    const [change] = await once<[StateChange]>(c, "state", (s) => s.state === "unauthorized");
    assert.equal(change.failure?.code, "missing_capability");
    assert.deepEqual(change.failure?.missing, ["ivrapi"]);
  });

  it("logs a failure as a warning once per change of state or reason, its repeats at debug level", async () => {
    h = await harness();
    const log = recordingLogger();
    h.sim.faults.rejectUpgrades(503);
    const c = h.client({ reconnectMinMs: 5, reconnectMaxMs: 10 }, log);
    let failures = 0;
    c.on("state", (s) => {
      if (s.state === "disconnected") failures++;
    });
    c.start();
    await once(c, "state", () => failures >= 4);
    const warned = () => log.lines.filter((l) => l.startsWith("warn:") && l.includes("HTTP 503"));
    assert.equal(warned().length, 1, log.lines.join("\n"));
    assert.ok(log.lines.filter((l) => l.startsWith("debug:") && l.includes("HTTP 503")).length >= 3);
    // Another reason is worth a warning again; so is the same one after the connection came back.
    h.sim.faults.rejectUpgrades(404);
    await once(c, "state", (s: StateChange) => s.failure?.code === "not_found");
    assert.equal(log.lines.filter((l) => l.startsWith("warn:") && l.includes("HTTP 404")).length, 1);
    h.sim.faults.clear();
    await once(c, "ready");
    h.sim.faults.rejectUpgrades(503);
    h.sim.dropConnections();
    await once(c, "state", (s: StateChange) => s.failure?.status === 503);
    assert.equal(warned().length, 2, log.lines.join("\n"));
  });
});
