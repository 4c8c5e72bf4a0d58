// Files through the simulator: real downloads into temp and static storage, public links, cleanup.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Simulator } from "../src/simulator";
import { controlledCall, httpJson, localServer, RawClient } from "./fixtures/sim-client";

describe("simulator: files", () => {
  let sim: Simulator;
  let c: RawClient;
  let ivrid: string;
  let key: string;
  let filesDir: string;
  const req = (name: string, body: Record<string, unknown>) => c.request(name, { key, ivrid, ...body });

  beforeEach(async () => {
    filesDir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-files-test-"));
    sim = await Simulator.start({ manual: true, filesDir, linkTtlMs: 150 });
    c = await RawClient.open(sim);
    await c.subscribe();
    ({ ivrid, key } = await controlledCall(sim, c));
  });
  afterEach(async () => {
    await c.close();
    await sim.stop();
    fs.rmSync(filesDir, { recursive: true, force: true });
  });

  it("serves a real tone WAV and refuses bad parameters", async () => {
    const r = await httpJson("GET", `${sim.httpUrl}/media/tone.wav?sec=0.5&hz=600`);
    assert.equal(r.status, 200);
    assert.equal(r.type, "audio/wav");
    assert.equal(r.bytes.length, 44 + 4000 * 2);
    assert.equal((await httpJson("GET", `${sim.httpUrl}/media/tone.wav?sec=99`)).status, 400);
  });

  it("uploads to the temp area from its own /media/tone.wav, plays it, deletes it at call end", async () => {
    const url = `${sim.httpUrl}/media/tone.wav?sec=1`;
    const r = await req("ivrapi_file_upload_temp", { url });
    assert.equal(r.result, ":TEMP/tone.wav");
    const again = await req("ivrapi_file_upload_temp", { url });
    assert.equal(again.result, ":TEMP/tone-1.wav", "a second upload of the same name gets a unique name");
    assert.deepEqual(sim.getCall(ivrid)?.tempFiles, [":TEMP/tone.wav", ":TEMP/tone-1.wav"]);
    const onDisk = path.join(filesDir, "temp", ivrid, "tone.wav");
    assert.equal(fs.statSync(onDisk).size, 44 + 8000 * 2);

    await req("ivrapi_component_apply", { data: { oType: 204, mode: 0, file: ":TEMP/tone.wav" } });
    sim.finishComponent(ivrid);
    const s = await c.next("ivrapi_component_stopped");
    assert.deepEqual([s.transferKey, s.results], ["transfer", { file: ":TEMP/tone.wav" }]);

    sim.hangup(ivrid);
    await c.next("notify", (b) => b.type === "api_stop");
    assert.equal(fs.existsSync(onDisk), false);
    assert.deepEqual(sim.getCall(ivrid)?.tempFiles, []);
  });

  it("downloads from another server, following a redirect; 404 and junk URLs fail plainly", async () => {
    const server = await localServer((rq, rs) => {
      if (rq.url === "/old/greeting.mp3") {
        rs.writeHead(302, { location: "/media/greeting%20v2.mp3" }).end();
      } else if (rq.url === "/media/greeting%20v2.mp3") {
        rs.writeHead(200, { "content-type": "audio/mpeg" }).end(Buffer.from("ID3-fake-mp3"));
      } else if (rq.url === "/loop") {
        rs.writeHead(302, { location: "/loop" }).end();
      } else rs.writeHead(404).end("nope");
    });
    try {
      const ok = await req("ivrapi_file_upload_temp", { url: `${server.url}/old/greeting.mp3` });
      assert.equal(ok.result, ":TEMP/greeting.mp3");
      const missing = await req("ivrapi_file_upload_temp", { url: `${server.url}/none.wav` });
      assert.deepEqual([missing.result, missing.code], ["error", "download_failed"]);
      assert.match(missing.reason, /404/);
      assert.equal((await req("ivrapi_file_upload_temp", { url: `${server.url}/loop` })).code, "download_failed");
      assert.equal((await req("ivrapi_file_upload_temp", { url: "ftp://host/x.wav" })).code, "invalid");
      assert.equal((await req("ivrapi_file_upload_temp", { url: "not a url" })).code, "invalid");
    } finally {
      await server.close();
    }
  });

  it("gives a public link that serves a snapshot, survives the call, then expires", async () => {
    const up = await req("ivrapi_file_upload_temp", { url: `${sim.httpUrl}/media/tone.wav?sec=0.25` });
    const link = await req("ivrapi_file_get_path", { path: up.result });
    assert.match(link.result, new RegExp(`^${sim.httpUrl}/files/[0-9a-f]+/tone\\.wav$`));
    sim.hangup(ivrid);
    const served = await httpJson("GET", link.result);
    assert.equal(served.status, 200);
    assert.equal(served.type, "audio/wav");
    assert.equal(served.bytes.length, 44 + 2000 * 2);
    // linkTtlMs is 150 here: wait it out.
    await new Promise((r) => setTimeout(r, 200));
    assert.ok([404, 410].includes((await httpJson("GET", link.result)).status));
  });

  it("answers get_path for missing files with not_found and for bad paths with bad_path", async () => {
    assert.equal((await req("ivrapi_file_get_path", { path: ":TEMP/nothing.wav" })).code, "not_found");
    assert.equal((await req("ivrapi_file_get_path", { path: ":GS_PUB/nothing.wav" })).code, "not_found");
    assert.equal((await req("ivrapi_file_get_path", { path: ":TEMP/../x" })).code, "bad_path");
    assert.equal((await req("ivrapi_file_get_path", { path: "relative.wav" })).code, "bad_path");
  });

  it("uploads to static storage under either root form; both forms name the same file", async () => {
    const url = `${sim.httpUrl}/media/tone.wav?sec=0.1`;
    const short = await req("ivrapi_file_upload_static", { url, destpath: ":GS_PUB/x/y/" });
    assert.equal(short.result, ":GS_PUB/x/y/tone.wav");
    const long = await req("ivrapi_file_upload_static", { url, destpath: ":GLOBALSHARE_PUBLIC/a/b/c" });
    assert.equal(long.result, ":GLOBALSHARE_PUBLIC/a/b/c/tone.wav");
    const bare = await req("ivrapi_file_upload_static", { url, destpath: "media/hold" });
    assert.equal(bare.result, ":SYNC_DOMAIN_DATA/media/hold/tone.wav");
    assert.ok(fs.existsSync(path.join(filesDir, "static", "GLOBALSHARE_PUBLIC", "x", "y", "tone.wav")));
    assert.ok(fs.existsSync(path.join(filesDir, "static", "SYNC_DOMAIN_DATA", "media", "hold", "tone.wav")));
    const link = await req("ivrapi_file_get_path", { path: ":GLOBALSHARE_PUBLIC/x/y/tone.wav" });
    assert.equal((await httpJson("GET", link.result)).status, 200);
    assert.equal((await req("ivrapi_file_upload_static", { url, destpath: ":TEMP/x" })).code, "bad_path");
    assert.equal((await req("ivrapi_file_upload_static", { url, destpath: ":BOGUS/x" })).code, "bad_path");
    sim.hangup(ivrid);
    await c.next("notify", (b) => b.type === "api_stop");
    assert.ok(fs.existsSync(path.join(filesDir, "static", "GLOBALSHARE_PUBLIC", "x", "y", "tone.wav")));
  });

  it("uploads to static storage without a session (file_upload_static)", async () => {
    const other = await RawClient.open(sim);
    const r = await other.request("file_upload_static", {
      url: `${sim.httpUrl}/media/tone.wav`,
      destpath: ":SS_PUB/prompts",
    });
    assert.equal(r.result, ":SS_PUB/prompts/tone.wav");
    assert.ok(fs.existsSync(path.join(filesDir, "static", "SITESHARE_PUBLIC", "prompts", "tone.wav")));
    await other.close();
  });

  it("keeps static storage of a given filesDir on stop, and removes its temp areas", async () => {
    await req("ivrapi_file_upload_temp", { url: `${sim.httpUrl}/media/tone.wav?sec=0.1` });
    await req("ivrapi_file_upload_static", { url: `${sim.httpUrl}/media/tone.wav?sec=0.1`, destpath: ":GS_DOM/k" });
    await sim.stop();
    assert.equal(fs.existsSync(path.join(filesDir, "temp")), false);
    assert.ok(fs.existsSync(path.join(filesDir, "static", "GLOBALSHARE_DOMAIN_DATA", "k", "tone.wav")));
  });
});

describe("simulator: own files dir", () => {
  it("removes the temp dir it created on stop", async () => {
    const sim = await Simulator.start({ manual: true });
    const c = await RawClient.open(sim);
    const { ivrid, key } = await controlledCall(sim, c);
    const r = await c.request("ivrapi_file_get_path", { key, ivrid, path: ":TEMP/none" });
    assert.equal(r.code, "not_found");
    assert.ok(fs.existsSync(sim.filesDir));
    await c.close();
    await sim.stop();
    assert.equal(fs.existsSync(sim.filesDir), false);
  });
});
