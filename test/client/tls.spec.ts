// wss:// as on an HTTPS platform: the client's TLS settings (verification, custom CA) against a simulator
// serving a self-signed certificate for 127.0.0.1.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { StateChange } from "../../src/client";
import { type Harness, harness, once } from "../helpers/runtime";

const dir = path.join(__dirname, "..", "fixtures", "tls");
const cert = fs.readFileSync(path.join(dir, "cert.pem"));
const key = fs.readFileSync(path.join(dir, "key.pem"));

describe("client over wss", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it("refuses a certificate it cannot verify, and says why", async () => {
    h = await harness({ tls: { key, cert } });
    assert.match(h.sim.wsUrl, /^wss:\/\//);
    const c = h.client();
    c.start();
    const [down] = await once<[StateChange]>(c, "state", (s) => s.state === "disconnected");
    assert.match(down.error ?? "", /self[- ]signed|certificate/i);
  });

  it("connects when the certificate's CA is given", async () => {
    h = await harness({ tls: { key, cert } });
    const { client } = await h.ready({ ca: cert });
    assert.equal(client.state, "ready");
  });

  it("connects without verification when told to (a test server)", async () => {
    h = await harness({ tls: { key, cert } });
    const { client } = await h.ready({ rejectUnauthorized: false });
    assert.equal(client.state, "ready");
  });
});
