import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { IvrApiError } from "../../src/client";
import { type CallInfo, getFileLink, uploadStatic, uploadTemp } from "../../src/session";
import { type Harness, harness, once } from "../helpers/runtime";

describe("files", () => {
  let h: Harness;
  let origin: Server | undefined;
  afterEach(async () => {
    await h?.close();
    await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
    origin = undefined;
  });

  async function held() {
    const { client, reg } = await h.ready();
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    await reg.accept((await offered)[0]);
    return { client, reg, ivrid };
  }

  /** A test-local HTTP server: proves the server really downloads from the URL it is given. */
  async function serve(body: Buffer): Promise<string> {
    origin = createServer((req, res) => {
      if (req.url === "/prompt.wav") res.writeHead(200, { "content-type": "audio/wav" }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => origin?.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  }

  it("uploads from a URL into the call's temp area, links it, and the link serves the same bytes", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const bytes = Buffer.from("RIFF-test-bytes-0123456789");
    const base = await serve(bytes);
    const up = await uploadTemp(reg, ivrid, `${base}/prompt.wav`);
    assert.match(up.value ?? "", /^:TEMP\/.+/);
    assert.ok(h.sim.getCall(ivrid)?.tempFiles.includes(up.value as string));
    const link = await getFileLink(reg, ivrid, up.value as string);
    assert.match(link.value ?? "", /^http:\/\//);
    const res = await fetch(link.value as string);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
  });

  it("plays an uploaded temp file, and links a recording made on the call", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const up = await uploadTemp(reg, ivrid, `${h.sim.httpUrl}/media/tone.wav?sec=1`);
    const played = reg.apply(ivrid, { oType: 204, mode: 0, file: up.value });
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.finishComponent(ivrid);
    assert.equal((await played).transferKey, "transfer");
    h.sim.clearLog();
    const rec = reg.apply(ivrid, { oType: 208, recTimeSec: "5", maxSymbolCount: "1" });
    await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    h.sim.pressKeys(ivrid, "1");
    const file = String((await rec).results.recordFile);
    const link = await getFileLink(reg, ivrid, file);
    const res = await fetch(link.value as string);
    assert.equal(
      Buffer.from(await res.arrayBuffer())
        .subarray(0, 4)
        .toString(),
      "RIFF",
    );
  });

  it("reports a failed download as a refused request", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const base = await serve(Buffer.from("x"));
    await assert.rejects(
      uploadTemp(reg, ivrid, `${base}/missing.wav`),
      (e: IvrApiError) => e.code === "rejected" && e.details.serverCode === "download_failed",
    );
  });

  it("refuses a bad URL or path locally", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    await assert.rejects(uploadTemp(reg, ivrid, "ftp://x/y.wav"), (e: IvrApiError) => e.code === "invalid");
    await assert.rejects(getFileLink(reg, ivrid, "/etc/passwd"), (e: IvrApiError) => e.code === "invalid");
    await assert.rejects(
      uploadStatic(reg, ivrid, `${h.sim.httpUrl}/media/tone.wav`, ":TEMP/x"),
      (e: IvrApiError) => e.code === "invalid",
    );
  });

  it("sends a link request for a root it does not know; the server judges the root", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const path = ":SOME_OTHER_ROOT/a.wav";
    const asked = h.sim.waitForFrame({ dir: "in", name: "ivrapi_file_get_path", where: (b) => b.path === path });
    // The simulator knows only the listed roots and refuses it; the point is that the request went out.
    await assert.rejects(getFileLink(reg, ivrid, path), (e: IvrApiError) => e.code === "rejected");
    assert.equal(((await asked).body as { ivrid?: string }).ivrid, ivrid);
  });

  it("uploads into static storage through a call and without one", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    const src = `${h.sim.httpUrl}/media/tone.wav?sec=1`;
    const withCall = await uploadStatic(reg, ivrid, src, ":GS_PUB/x/y/");
    assert.match(withCall.value ?? "", /^:GS_PUB\/x\/y\/.+\.wav$/);
    const without = await uploadStatic(reg, undefined, src, ":GLOBALSHARE_PUBLIC/a/b/c");
    assert.match(without.value ?? "", /^:GLOBALSHARE_PUBLIC\/a\/b\/c\/.+\.wav$/);
    const link = await getFileLink(reg, ivrid, without.value as string);
    assert.equal((await fetch(link.value as string)).status, 200);
  });

  it("deletes the call's temp files when the call ends", async () => {
    h = await harness();
    const { reg, ivrid } = await held();
    await uploadTemp(reg, ivrid, `${h.sim.httpUrl}/media/tone.wav`);
    assert.equal(h.sim.getCall(ivrid)?.tempFiles.length, 1);
    const ended = once(reg, "session_end");
    h.sim.hangup(ivrid);
    await ended;
    assert.equal(h.sim.getCall(ivrid)?.tempFiles.length ?? 0, 0);
  });
});
