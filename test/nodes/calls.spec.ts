// on dtmf (modes, wired straight into apply), upload file (temp, static with and without a call, link; real
// HTTP downloads from the simulator), abort (control back, stopped output).
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import {
  collect,
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  load,
  nextMsg,
  node,
  placeAccepted,
  ready,
  startWired,
} from "./harness";

const PLAY = JSON.stringify({ oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" });

function flow(sim: Simulator, extra: FlowNode[] = []): FlowNode[] {
  return [
    connectionDef(sim),
    ...startWired(),
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
    ...extra,
  ];
}

const file = (id: string, props: Record<string, unknown>): FlowNode[] => [
  {
    id,
    type: "ivrapi-file",
    connection: "conn",
    action: "temp",
    url: "",
    urlType: "str",
    destpath: "",
    destpathType: "str",
    path: "",
    pathType: "str",
    version: 1,
    wires: [[`${id}-out`]],
    ...props,
  },
  { id: `${id}-out`, type: "helper" },
];

describe("nodes: on dtmf, upload file, abort", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it("on dtmf: filters by mode, payload = digit, msg.ivr = the call (with oId while a component runs)", async () => {
    await load(
      sim,
      flow(sim, [
        { id: "any", type: "ivrapi-dtmf", connection: "conn", mode: "any", wires: [["any-out"]] },
        { id: "idle", type: "ivrapi-dtmf", connection: "conn", mode: "idle", wires: [["idle-out"]] },
        { id: "comp", type: "ivrapi-dtmf", connection: "conn", mode: "component", wires: [["comp-out"]] },
        { id: "any-out", type: "helper" },
        { id: "idle-out", type: "helper" },
        { id: "comp-out", type: "helper" },
        {
          id: "apply",
          type: "ivrapi-apply",
          connection: "conn",
          data: PLAY,
          dataType: "json",
          transferKeys: [],
          busy: "reject",
          timeout: 0,
          wires: [[]],
        },
      ]),
    );
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const any = collect("any-out");
    const idle = collect("idle-out");
    const comp = collect("comp-out");

    let lastAny = nextMsg("any-out");
    const idleGot = nextMsg("idle-out");
    sim.pressKeys(ivrid, "1");
    assert.equal((await idleGot).payload, "1");
    await lastAny;

    node("apply").receive({ ivr: msg.ivr });
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    lastAny = nextMsg("any-out");
    const compGot = nextMsg("comp-out");
    sim.pressKeys(ivrid, "#");
    const c = await compGot;
    await lastAny;
    assert.equal(c.payload, "#");
    assert.equal(c.ivr.ivrid, ivrid);
    assert.equal(c.ivr.connection, "conn");
    assert.equal(c.dtmf.mode, "component");
    assert.ok(c.ivr.oId !== undefined);
    assert.deepEqual(
      [any.map((m) => m.payload), idle.map((m) => m.payload), comp.map((m) => m.payload)],
      [["1", "#"], ["1"], ["#"]],
    );
  });

  it("on dtmf with a call key sees only that key's calls", async () => {
    await load(
      sim,
      flow(sim, [
        { id: "menu", type: "ivrapi-dtmf", connection: "conn", mode: "any", key: "menu", wires: [["menu-out"]] },
        { id: "menu-out", type: "helper" },
      ]),
    );
    await ready();
    const other = await placeAccepted(sim, "call", { key: "greeting" });
    const menu = await placeAccepted(sim, "call", { key: "menu" });
    const seen = collect("menu-out");
    const got = nextMsg("menu-out");
    sim.pressKeys(other.ivrid, "9");
    sim.pressKeys(menu.ivrid, "1");
    assert.equal((await got).payload, "1");
    assert.deepEqual(
      seen.map((m) => m.ivr.key),
      ["menu"],
    );
  });

  it("on dtmf's msg wires straight into apply component", async () => {
    await load(
      sim,
      flow(sim, [
        { id: "keys", type: "ivrapi-dtmf", connection: "conn", mode: "idle", wires: [["apply"]] },
        {
          id: "apply",
          type: "ivrapi-apply",
          connection: "conn",
          data: PLAY,
          dataType: "json",
          transferKeys: ["transfer"],
          busy: "reject",
          timeout: 0,
          wires: [["played"], []],
        },
        { id: "played", type: "helper" },
      ]),
    );
    await ready();
    const { ivrid } = await placeAccepted(sim, "call");
    sim.pressKeys(ivrid, "5");
    await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
    const played = nextMsg("played");
    sim.finishComponent(ivrid);
    const m = await played;
    assert.equal(m.payload.file, ":SYN_MEDIA/hello.wav");
    assert.equal(m.ivr.transferKey, "transfer");
  });

  it("upload file temp: the server downloads the URL into the call's temp area; payload = its path", async () => {
    await load(sim, flow(sim, file("f", { action: "temp", url: `${sim.httpUrl}/media/tone.wav?sec=1` })));
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const out = nextMsg("f-out");
    node("f").receive({ ivr: msg.ivr });
    const got = await out;
    assert.match(got.payload, /^:TEMP\//);
    assert.ok(sim.getCall(ivrid)?.tempFiles.includes(got.payload));
    assert.equal(got.ivrFile.result, got.payload);
  });

  it("upload file static with a call, and without one (session-less), destpath from msg", async () => {
    await load(
      sim,
      flow(
        sim,
        file("f", {
          action: "static",
          url: `${sim.httpUrl}/media/tone.wav?sec=1`,
          destpath: "dest",
          destpathType: "msg",
        }),
      ),
    );
    await ready();
    const { msg } = await placeAccepted(sim, "call");
    let out = nextMsg("f-out");
    node("f").receive({ ivr: msg.ivr, dest: ":GS_PUB/prompts" });
    assert.match((await out).payload, /^:GS_PUB\/prompts\/.+/);
    assert.ok(sim.log.some((e) => e.dir === "in" && e.name === "ivrapi_file_upload_static"));

    out = nextMsg("f-out");
    node("f").receive({ dest: ":SS_PUB/greetings" });
    assert.match((await out).payload, /^:SS_PUB\/greetings\/.+/);
    assert.ok(sim.log.some((e) => e.dir === "in" && e.name === "file_upload_static"));
  });

  it("upload file link: a public link to an internal file that really serves it", async () => {
    await load(
      sim,
      flow(sim, [
        ...file("up", { action: "temp", url: `${sim.httpUrl}/media/tone.wav?sec=1`, wires: [["link"]] }),
        ...file("link", { action: "link", path: "payload", pathType: "msg" }),
      ]),
    );
    await ready();
    const { msg } = await placeAccepted(sim, "call");
    const out = nextMsg("link-out");
    node("up").receive({ ivr: msg.ivr });
    const link = (await out).payload as string;
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\//);
    const res = await fetch(link);
    assert.equal(res.status, 200);
    assert.equal(
      Buffer.from(await res.arrayBuffer())
        .subarray(0, 4)
        .toString("latin1"),
      "RIFF",
    );
  });

  it("upload file errors reach the Catch node: no call for temp, a failed download, an empty url", async () => {
    await load(sim, flow(sim, [...file("f", { action: "temp", url: "url", urlType: "msg" })]));
    await ready();
    const { msg } = await placeAccepted(sim, "call");
    let caught = nextMsg("caught");
    node("f").receive({ url: `${sim.httpUrl}/media/tone.wav` });
    assert.equal((await caught).error.code, "no_call");
    caught = nextMsg("caught");
    node("f").receive({ ivr: msg.ivr, url: `${sim.httpUrl}/no/such/file.wav` });
    const failed = await caught;
    assert.equal(failed.error.code, "rejected");
    assert.equal(failed.error.cause.serverCode, "download_failed");
    caught = nextMsg("caught");
    node("f").receive({ ivr: msg.ivr });
    assert.equal((await caught).error.code, "invalid");
  });

  it("upload file waits for its own timeout, not the connection's answer timeout (a slow download succeeds)", async () => {
    await load(sim, [
      // The connection gives up on plain requests after 200 ms; the server needs 500 ms for this download.
      ...flow(sim).map((n) => (n.id === "conn" ? connectionDef(sim, { requestTimeout: 200 }) : n)),
      ...file("f", { action: "temp", url: `${sim.httpUrl}/media/tone.wav?sec=1`, timeout: "2" }),
    ]);
    await ready();
    const { msg } = await placeAccepted(sim, "call");
    sim.faults.delayAnswers("ivrapi_file_upload_temp", 500);
    const caught = collect("caught");
    const out = nextMsg("f-out");
    node("f").receive({ ivr: msg.ivr });
    assert.match((await out).payload, /^:TEMP\//);
    assert.deepEqual(caught, []);
  });

  it("upload file fails with timeout once its own timeout runs out, even if the connection would wait longer", async () => {
    await load(sim, flow(sim, file("f", { action: "temp", url: `${sim.httpUrl}/media/tone.wav?sec=1`, timeout: 1 })));
    await ready();
    const { msg } = await placeAccepted(sim, "call");
    sim.faults.delayAnswers("ivrapi_file_upload_temp", 1500);
    const sent = collect("f-out");
    const caught = nextMsg("caught");
    const t0 = Date.now();
    node("f").receive({ ivr: msg.ivr });
    const err = (await caught).error;
    assert.equal(err.code, "timeout", JSON.stringify(err));
    // The node's 1 s ran out (the connection's own answer timeout is 3 s, and the answer came at 1.5 s).
    assert.ok(Date.now() - t0 >= 900, `failed after ${Date.now() - t0} ms`);
    assert.deepEqual(sent, []);
  });

  it("abort gives control back: the msg goes on, ivr start reports the call stopped (reason aborted)", async () => {
    await load(
      sim,
      flow(sim, [
        { id: "abort", type: "ivrapi-abort", connection: "conn", wires: [["aborted"]] },
        { id: "aborted", type: "helper" },
      ]),
    );
    await ready();
    const { ivrid, msg } = await placeAccepted(sim, "call");
    const passed = nextMsg("aborted");
    const stopped = nextMsg("stopped");
    node("abort").receive({ ivr: msg.ivr, topic: "done" });
    assert.equal((await passed).topic, "done");
    const s = await stopped;
    assert.equal(s.ivr.ivrid, ivrid);
    // The platform's api_stop says "abort"; when our answer comes first the runtime says "aborted".
    assert.match(s.ivr.reason, /^abort(ed)?$/);
    assert.notEqual(sim.getCall(ivrid)?.phase, "controlled");
    const caught = nextMsg("caught");
    node("abort").receive({ ivr: msg.ivr });
    assert.equal((await caught).error.code, "no_session");
    // A msg that names no call fails at once, before anything is asked of the connection.
    const noCall = nextMsg("caught");
    node("abort").receive({ payload: "no ivr here" });
    assert.equal((await noCall).error.code, "no_call");
  });
});
