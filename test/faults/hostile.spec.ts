// Fault 4: hostile frames. Thousands of generated frames (fast-check) reach the client while a normal call runs:
// invalid JSON, wrong shapes and types, deep nesting, `__proto__`/`constructor` keys, unknown frame names, answers
// to qids never sent, stop events for oIds never given, events for calls nobody holds, api_start params that are
// not JSON, text frames that are not UTF-8, binary frames; then a handful of very large ones (2 MB to 8 MB).
// The call completes, nothing throws out of the socket handler, no prototype is polluted, and the socket stays up
// (the same connection from start to end; no reconnect). Then the same kinds at node level: Node-RED carries on.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { IvrApiClient } from "../../src/client";
import type { SessionRegistry } from "../../src/session";
import type { Simulator } from "../../src/simulator";
import { frames, type Harness, harness, once, recordingLogger } from "../helpers/runtime";
import {
  collect,
  connectionDef,
  eachWithSimulator,
  type FlowNode,
  helper,
  hub,
  load,
  nextMsg,
  node,
  placeAccepted,
  ready,
  startWired,
  statuses,
} from "../nodes/harness";
import { assertNotPolluted, figure, nextFrame, prototypeKeys, watchCrashes } from "./support";

type Hostile =
  | { kind: "text"; text: string }
  | { kind: "bytes"; data: Uint8Array }
  | { kind: "binary"; data: Uint8Array };

// ---------------------------------------------------------------------------------------------
// What a hostile server sends. Correlating values (ivrids, qids, oIds) are drawn so that they can never be the
// normal call's: the frames are junk for this client, not a legitimate event of its call in disguise.

const json = fc.jsonValue({ maxDepth: 3 });
/** Never the simulator's (rDlg-006-…). */
const strangerIvrid = fc.string({ minLength: 0, maxLength: 16 }).map((s) => `x-${s}`);
/** Never a qid or oId the client made (qids count up from 1; oIds stay between 2^20 and 2^30, see OID_LIMIT). */
const strangerId = fc.oneof(
  fc.integer({ min: 2 ** 30 }),
  fc.string().map((s) => `q${s}`),
  fc.double({ noNaN: false }).filter((d) => !Number.isInteger(d)),
  fc.constantFrom(null, true, [], {}, -1, 0.5),
);
const FRAME_NAMES = [
  "notify",
  "ivrapi_component_stopped",
  "ivrapi_dtmf",
  "connection_info_result",
  "subscribe_result",
  "ivrapi_accept_result",
  "ivrapi_component_apply_result",
  "ivrapi_abort_result",
  "file_upload_static_result",
  "whatever",
  "__proto__",
  "constructor",
  "",
];
/** Keys that mean something somewhere (qid, oId and ivrid left out: they would aim at the normal call). */
const KEYS = ["class", "type", "data", "key", "params", "result", "reason", "error", "transferKey", "results", "dtmf"];
const looseBody = fc.dictionary(fc.constantFrom(...KEYS, "__proto__", "constructor", "prototype", "x"), json, {
  maxKeys: 6,
});
const paramsArb = fc.oneof(
  fc.string(),
  fc.constantFrom("{not json", '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', "[", ""),
  json,
);
const apiData = fc.record(
  {
    ivrid: fc.oneof(strangerIvrid, json),
    key: fc.oneof(fc.string(), json),
    params: paramsArb,
    state: json,
    componentname: json,
    callid: json,
    ivrts: json,
    reason: json,
  },
  { requiredKeys: [] },
);
const text = (v: unknown): Hostile => ({ kind: "text", text: typeof v === "string" ? v : JSON.stringify(v) });

const VALID = JSON.stringify(["notify", { class: "ivrevents", type: "api_start", data: { ivrid: "x-1", key: "k" } }]);

const hostileArb: fc.Arbitrary<Hostile> = fc.oneof(
  // Not JSON: random text, and valid frames cut short.
  fc.string({ maxLength: 200 }).map(text),
  fc.nat({ max: VALID.length - 1 }).map((n) => text(VALID.slice(0, n))),
  // JSON, but not a frame: any value, arrays of the wrong length, names that are not strings.
  json.map(text),
  fc.tuple(json, json, json).map(text),
  fc.tuple(json, looseBody).map(text),
  // Frames with known and unknown names and bodies of any shape.
  fc.tuple(fc.constantFrom(...FRAME_NAMES), fc.oneof(looseBody, json)).map(text),
  // Notifications, api_start / api_stop for calls nobody holds, params that are not JSON text.
  fc
    .record({
      class: fc.oneof(fc.constant("ivrevents"), json),
      type: fc.oneof(fc.constantFrom("api_start", "api_stop", "other"), json),
      eventts: json,
      data: fc.oneof(apiData, json),
    })
    .map((b) => text(["notify", b])),
  // Answers to qids never sent.
  fc
    .tuple(fc.constantFrom(...FRAME_NAMES.filter((n) => n.endsWith("_result"))), strangerId, json)
    .map(([n, qid, result]) => text([n, { qid, result }])),
  // Stop events for oIds never given, with or without an ivrid nobody holds; dtmf for calls nobody holds.
  fc
    .record(
      { oId: strangerId, ivrid: strangerIvrid, transferKey: json, results: json, key: json },
      { requiredKeys: ["oId"] },
    )
    .map((b) => text(["ivrapi_component_stopped", b])),
  fc
    .record({ ivrid: strangerIvrid, key: json, mode: json, dtmf: fc.oneof(fc.string(), json), oId: strangerId })
    .map((b) => text(["ivrapi_dtmf", b])),
  // Prototype keys spelled in the text itself (JSON.stringify would not write an own __proto__ key).
  fc
    .constantFrom(
      '["notify",{"class":"ivrevents","type":"api_start","data":{"__proto__":{"polluted":1},"ivrid":"x-p","key":"k"}}]',
      '["notify",{"__proto__":{"polluted":1},"class":"ivrevents","type":"api_stop","data":{"ivrid":"x-p"}}]',
      '["ivrapi_component_stopped",{"oId":"x","results":{"__proto__":{"polluted":1}},"constructor":{"prototype":{"polluted":1}}}]',
      '["ivrapi_accept_result",{"qid":"x","__proto__":{"polluted":1},"result":{"__proto__":{"polluted":1}}}]',
      '["__proto__",{"__proto__":{"polluted":1}}]',
      '{"__proto__":{"polluted":1}}',
    )
    .map(text),
  // Deep nesting: bare, and inside a well-formed frame.
  fc
    .tuple(fc.integer({ min: 60, max: 6000 }), fc.constantFrom("[", '{"a":'))
    .map(([d, open]) => text(open.repeat(d) + (open === "[" ? "" : "1") + (open === "[" ? "]" : "}").repeat(d))),
  fc
    .integer({ min: 60, max: 3000 })
    .map((d) =>
      text(
        `["notify",{"class":"ivrevents","type":"api_start","data":{"ivrid":"x-d","key":"k","x":${"[".repeat(d)}${"]".repeat(d)}}}]`,
      ),
    ),
  // Text frames that are not UTF-8; binary frames.
  fc
    .uint8Array({ maxLength: 64 })
    .map((a) => ({ kind: "bytes" as const, data: Uint8Array.from([0xff, 0xfe, ...a, 0xc3]) })),
  fc.uint8Array({ maxLength: 256 }).map((data) => ({ kind: "binary" as const, data })),
);

function send(sim: Simulator, h: Hostile, connId: string): void {
  if (h.kind === "text") sim.faults.sendRaw(h.text, connId);
  else if (h.kind === "bytes") sim.faults.sendRaw(Buffer.from(h.data), connId);
  else sim.faults.sendBinary(Buffer.from(h.data), connId);
}

/** The very large ones (and the other refusals the contract names), sent while a request waits for its answer. */
function bigOnes(): Hostile[] {
  const pad = (n: number) => "x".repeat(n);
  return [
    text(
      `["notify",{"class":"ivrevents","type":"api_start","data":{"ivrid":"x-big","key":"k","params":"${pad(2 * 1024 * 1024)}"}}]`,
    ),
    text(`["whatever",{"s":"${pad(2 * 1024 * 1024)}"}]`),
    text(`["ivrapi_dtmf",{"ivrid":"x","dtmf":"${pad(8 * 1024 * 1024)}"}]`),
    text(`${"[".repeat(5000)}${"]".repeat(5000)}`),
    text(`${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`),
    { kind: "bytes", data: Uint8Array.from([0x5b, 0x22, 0xff, 0xff, 0x22, 0x5d]) },
    { kind: "binary", data: new Uint8Array(100_000) },
  ];
}

const PLAY = { oType: 204, mode: 0, file: ":SYN_MEDIA/hello.wav" };

describe("faults: hostile frames (runtime, fast-check)", function () {
  this.timeout(90_000);
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it("thousands of junk frames during a call: the call completes, the socket stays, nothing leaks or crashes", async () => {
    const crashes = watchCrashes();
    const protoBefore = prototypeKeys();
    try {
      h = await harness();
      const { sim } = h;
      const log = recordingLogger();
      const { client, reg } = (await h.ready({}, log)) as { client: IvrApiClient; reg: SessionRegistry };
      const connId = sim.connections()[0]?.id as string;
      const states: string[] = [];
      client.on("state", (c) => states.push(c.state));
      const strayCodes = new Map<string, number>();
      let strays = 0;
      client.on("stray", (s) => {
        strays += 1;
        const code = (s.detail as { code?: unknown }).code;
        const k = typeof code === "string" && (s.detail as { kind?: unknown }).kind === "error" ? code : s.what;
        strayCodes.set(k, (strayCodes.get(k) ?? 0) + 1);
      });
      let warnings = 0;
      reg.on("warning", () => {
        warnings += 1;
      });
      const offered: string[] = [];

      // The normal call: accepted, a component running while the junk arrives.
      const placed = sim.placeCall({ key: "normal" });
      reg.on("api_start", (call) => {
        offered.push(call.ivrid);
        if (call.ivrid === placed.ivrid) void reg.accept(call);
      });
      await once(reg, "session_start");
      const applied = reg.apply(placed.ivrid, PLAY);
      await sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });

      let sent = 0;
      const t0 = Date.now();
      await fc.assert(
        fc.asyncProperty(fc.array(hostileArb, { minLength: 150, maxLength: 250 }), async (batch) => {
          for (const x of batch) send(sim, x, connId);
          sent += batch.length;
          // A round trip: the answer comes after every frame of the batch, so all of them have been handled.
          await client.request("connection_info", {});
          assert.equal(client.state, "ready");
          assert.deepEqual(states, [], "the connection never dropped");
          assert.deepEqual(
            sim.connections().map((c) => c.id),
            [connId],
          );
          assertNotPolluted(protoBefore);
          crashes.assertNone();
        }),
        { numRuns: 40, seed: 20_251_127, endOnFailure: true },
      );
      const fcMs = Date.now() - t0;

      // The very large and the very deep, while a request waits for its (delayed) answer: it is unaffected.
      sim.faults.delayAnswers("connection_info", 300);
      const waiting = client.request("connection_info", {});
      const t1 = Date.now();
      for (const x of bigOnes()) send(sim, x, connId);
      assert.equal((await waiting).body.result, "ok");
      const bigMs = Date.now() - t1;
      sim.faults.clear();
      sent += bigOnes().length;

      // The normal call ends normally and is handed back.
      assert.equal(reg.isBusy(placed.ivrid), true, "the junk ended nothing");
      sim.finishComponent(placed.ivrid);
      const result = await applied;
      assert.equal(result.transferKey, "transfer");
      await reg.abort(placed.ivrid);
      assert.equal(sim.getCall(placed.ivrid)?.stopReason, "abort");

      assert.deepEqual(states, []);
      assert.deepEqual(
        sim.connections().map((c) => c.id),
        [connId],
      );
      for (const code of ["not_json", "not_frame", "too_deep", "too_large", "not_utf8"]) {
        assert.ok((strayCodes.get(code) ?? 0) > 0, `a stray event with code ${code}: ${[...strayCodes.keys()]}`);
      }
      assert.ok(
        log.lines.some((l) => l.startsWith("warn:") && /too_deep|deeper|nest/i.test(l)),
        "a warning names the deep frame",
      );
      assert.equal(offered.filter((id) => id === placed.ivrid).length, 1, "the normal call was offered once");
      assert.equal(frames(sim, "ivrapi_accept", "in").length, 1, "only the normal call was accepted");
      assertNotPolluted(protoBefore);
      crashes.assertNone();
      figure("hostile", "frames sent (fast-check, 40 batches + 7 large)", sent);
      figure("hostile", "stray events", strays);
      figure("hostile", "registry warnings", warnings);
      figure("hostile", "time for the generated frames", `${fcMs} ms`);
      figure("hostile", "request answered while 2-8 MB frames were refused", `${bigMs} ms`);
    } finally {
      crashes.stop();
    }
  });
});

describe("faults: hostile frames (node level)", function () {
  this.timeout(30_000);
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  function flow(): FlowNode[] {
    return [
      connectionDef(sim),
      ...startWired(),
      {
        id: "apply",
        type: "ivrapi-apply",
        connection: "conn",
        data: JSON.stringify(PLAY),
        dataType: "json",
        transferKeys: ["transfer"],
        busy: "reject",
        timeout: 0,
        wires: [["played"], ["played"]],
      },
      { id: "played", type: "helper" },
      { id: "keys", type: "ivrapi-dtmf", connection: "conn", mode: "any", wires: [["digits"]] },
      { id: "digits", type: "helper" },
      { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ];
  }

  it("Node-RED carries on: the flow's call completes, no Catch, the status never leaves connected", async () => {
    const crashes = watchCrashes();
    const protoBefore = prototypeKeys();
    try {
      await load(sim, flow());
      await ready();
      const { ivrid, msg } = await placeAccepted(sim, "call", { key: "normal" });
      const calls = collect("call");
      const caught = collect("caught");
      const digits = collect("digits");
      const played = nextMsg("played", 10_000);
      const started = nextFrame(sim, { dir: "out", name: "ivrapi_component_apply_result" });
      node("apply").receive({ ivr: msg.ivr });
      await started;
      const connId = sim.connections()[0]?.id as string;
      const junk = [
        ...fc.sample(hostileArb, { numRuns: 400, seed: 7 }),
        ...bigOnes(),
        // A stop event for an oId this client never gave, on a call it does not hold: a warning, not an error.
        text(["ivrapi_component_stopped", { oId: "server-77", transferKey: "transfer" }]),
      ];
      for (const x of junk) send(sim, x, connId);
      const client = hub().client as IvrApiClient;
      await client.request("connection_info", {});
      // The unmatched stop event is looked at once more after pending callbacks, then reported.
      await new Promise((r) => setImmediate(r));
      sim.pressKeys(ivrid, "5");
      sim.finishComponent(ivrid);
      assert.equal((await played).ivr.ivrid, ivrid);
      assert.deepEqual(
        digits.map((m) => m.payload),
        ["5"],
      );
      assert.equal(caught.length, 0, JSON.stringify(caught.map((m) => m.error)));
      assert.equal(calls.length, 0, "no junk api_start was accepted");
      assert.ok(
        statuses("start").every((s) => s.fill !== "red"),
        JSON.stringify(statuses("start")),
      );
      assert.deepEqual(
        sim.connections().map((c) => c.id),
        [connId],
      );
      const warns = helper
        .log()
        .getCalls()
        .map((c) => c.args[0] as { level: number; msg: unknown })
        .filter((r) => r.level === 30);
      assert.ok(
        warns.some((r) => /component_stopped/.test(String(r.msg))),
        `the unmatched stop event is a warning; warnings: ${warns.map((r) => String(r.msg).slice(0, 80))}`,
      );
      assertNotPolluted(protoBefore);
      crashes.assertNone();
      figure("hostile", "node level: frames sent during one flow's call", junk.length);
    } finally {
      crashes.stop();
    }
  });
});
