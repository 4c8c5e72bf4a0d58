// The simulator's HTTP side against hostile input: a request target that is no URL, and the control API
// (/sim/*) against requests a web page in the user's browser could make (cross-origin, non-JSON bodies).
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { Simulator } from "../src/simulator";
import { httpJson } from "./fixtures/sim-client";

/** Writes `text` over a plain TCP socket and resolves with everything the server sent until it closed. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let got = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      got += d;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(got));
  });
}

/** One request with exactly these headers (fetch would add its own content-type and Origin rules). */
function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("simulator: HTTP side against hostile requests", () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await Simulator.start({ manual: true });
  });
  afterEach(async () => {
    await sim.stop();
  });

  it("answers 400 to a request target that is no URL (GET //[) and keeps serving", async () => {
    const answer = await rawExchange(sim.port, "GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 /);
    const info = await httpJson("GET", `${sim.httpUrl}/sim/info`);
    assert.equal(info.status, 200);
    assert.equal(typeof info.body, "object");
  });

  it("refuses /sim/* requests from another origin (403): a web page cannot place or list calls", async () => {
    const host = `127.0.0.1:${sim.port}`;
    const evil = "http://evil.example:8080";
    const plain = await request(
      `${sim.httpUrl}/sim/calls`,
      "POST",
      { origin: evil, "content-type": "text/plain;charset=UTF-8" },
      '{"key":"demo"}',
    );
    assert.equal(plain.status, 403);
    const json = await request(
      `${sim.httpUrl}/sim/calls`,
      "POST",
      { origin: evil, "content-type": "application/json" },
      '{"key":"demo"}',
    );
    assert.equal(json.status, 403);
    // Same host name, another port: another origin.
    const port = await request(`${sim.httpUrl}/sim/calls`, "GET", { origin: `http://127.0.0.1:${sim.port + 1}` });
    assert.equal(port.status, 403);
    assert.equal((await request(`${sim.httpUrl}/sim/calls`, "GET", { origin: "null" })).status, 403);
    assert.equal(sim.calls().length, 0);

    // The softphone's own page (same origin) still works.
    const placed = await request(
      `${sim.httpUrl}/sim/calls`,
      "POST",
      { origin: `http://${host}`, host, "content-type": "application/json" },
      '{"key":"demo"}',
    );
    assert.equal(placed.status, 201);
    assert.equal(sim.calls().length, 1);
  });

  it("refuses non-JSON bodies on /sim/* (415), takes JSON and empty bodies", async () => {
    for (const type of ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data"]) {
      const r = await request(`${sim.httpUrl}/sim/calls`, "POST", { "content-type": type }, '{"key":"demo"}');
      assert.equal(r.status, 415, type);
      assert.match(r.text, /application\/json/);
    }
    const untyped = await request(`${sim.httpUrl}/sim/calls`, "POST", {}, '{"key":"demo"}');
    assert.equal(untyped.status, 415);
    assert.equal(sim.calls().length, 0);

    const placed = await request(
      `${sim.httpUrl}/sim/calls`,
      "POST",
      { "content-type": "application/json; charset=utf-8" },
      '{"key":"demo"}',
    );
    assert.equal(placed.status, 201);
    const { ivrid } = JSON.parse(placed.text) as { ivrid: string };
    // An empty body needs no content-type (curl -X POST …/hangup).
    const hung = await request(`${sim.httpUrl}/sim/calls/${ivrid}/hangup`, "POST", { "content-length": "0" });
    assert.equal(hung.status, 200);
  });
});
