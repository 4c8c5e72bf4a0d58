// The call record against the real simulator over loopback: a call's timeline says what happened (accept with state
// and params, components with their summary, source, exit, results and duration, keys, errors with their code, the
// stop with its reason), its frames are bounded and never hold the token, ended records are capped (10,000 calls
// leave at most N), and the metrics move as expected and parse as Prometheus text.
import assert from "node:assert/strict";
import type { ClientObserver } from "../../src/client/types";
import { CallRecords, MAX_CHANGED } from "../../src/session/call-records";
import { clip } from "../../src/session/clip";
import type { ComponentEntry, ErrorEntry, TimelineEntry } from "../../src/session/record";
import type { SessionRegistry } from "../../src/session/registry";
import type { CallInfo, RegistryObserver } from "../../src/session/types";
import { parseMetrics } from "../helpers/metrics";
import { type Harness, harness, once } from "../helpers/runtime";
import { until } from "../helpers/wait";

describe("call record (runtime): timeline, frames, bounds, metrics", function () {
  this.timeout(20_000);
  let h: Harness;
  let records: CallRecords;
  let reg: SessionRegistry;
  const token = "s3cr3t-token-that-must-not-leak";

  beforeEach(async () => {
    h = await harness({ token });
    const ready = await h.ready();
    reg = ready.reg;
    records = new CallRecords({ recent: 5, framesPerCall: 30 });
    records.attach({ connection: "conn-1", name: "pbx", secret: token, client: ready.client, registry: reg });
  });

  afterEach(async () => {
    reg.dispose();
    await h.close();
  });

  async function takeCall(params: Record<string, unknown> = { lang: "en" }): Promise<CallInfo> {
    const offered = once<[CallInfo]>(reg, "api_start");
    h.sim.placeCall({ key: "menu", params: JSON.stringify(params), state: "dialog" });
    const [call] = await offered;
    const out = await reg.accept(call);
    assert.ok(out.accepted);
    return call;
  }

  it("takeChanged names a call as soon as it is taken, its summary made when read (no record for a call that only waits)", async () => {
    let signals = 0;
    records.on("changed", () => signals++);
    const call = await takeCall();
    assert.equal(signals, 1, "changed was emitted on the accept");
    const seen = records.takeChanged() ?? [];
    const taken = seen.find((c) => c.ivrid === call.ivrid);
    assert.ok(taken, "takeChanged named the call on its accept");
    assert.deepEqual(records.takeChanged(), [], "taken once");
    // Read later, while it still only waits: a summary of the live call, made now.
    assert.deepEqual(
      { ...taken.summary(), startedAt: 0 },
      { ...records.list().find((c) => c.ivrid === call.ivrid), startedAt: 0 },
    );
    assert.equal(taken.summary().live, true);
    assert.equal(taken.summary().key, "menu");
    // Once the call has a record, the same entry reads it.
    const played = reg.apply(call.ivrid, { oType: 204, mode: 0, file: ":GS_PUB/menu.wav" });
    await until("the component runs", () => answered(records, call.ivrid));
    assert.equal(taken.summary().components, 1);
    h.sim.finishComponent(call.ivrid);
    await played;
    // Its record changed several times since (the apply, its stop): named once, and one more signal.
    assert.equal(signals, 2);
    const again = records.takeChanged() ?? [];
    assert.deepEqual(
      again.map((c) => c.ivrid),
      [call.ivrid],
    );
    assert.equal(again[0]?.summary().components, 1);
  });

  it("takeChanged says reload (undefined) when more calls changed than a batch names, then names them again", async () => {
    records.on("changed", () => {});
    const calls: CallInfo[] = [];
    for (let i = 0; i < MAX_CHANGED + 1; i++) calls.push(await takeCall());
    assert.equal(records.takeChanged(), undefined);
    await reg.abort((calls[0] as CallInfo).ivrid);
    assert.deepEqual(
      (records.takeChanged() ?? []).map((c) => c.ivrid),
      [(calls[0] as CallInfo).ivrid],
    );
  });

  it("a call's timeline: accept, a component with source, exit and results, a key, an error with its code, the stop", async () => {
    const call = await takeCall({ lang: "en", note: `the token ${token} in params` });
    const played = reg.apply(call.ivrid, { oType: 204, mode: 0, file: ":GS_PUB/menu.wav" }, { source: "node-play" });
    await until("the component runs", () => answered(records, call.ivrid));
    h.sim.pressKeys(call.ivrid, "5");
    await until("the key is recorded", () => records.get(call.ivrid)?.digits === "5");
    h.sim.finishComponent(call.ivrid, "transfer", { dtmfBuffer: "5" });
    assert.equal((await played).transferKey, "transfer");
    // A bad apply fails before anything is sent, a second one while one runs is refused: both recorded with a code.
    await assert.rejects(reg.apply(call.ivrid, { oType: "nope" }), { code: "invalid" });
    const running = reg.apply(call.ivrid, { oType: 204, file: ":GS_PUB/a.wav" });
    await assert.rejects(reg.apply(call.ivrid, { oType: 204, file: ":GS_PUB/b.wav" }), { code: "busy" });
    await reg.abort(call.ivrid);
    await running.catch(() => {});

    const d = records.get(call.ivrid);
    assert.ok(d);
    assert.equal(d.live, false);
    assert.equal(d.reason, "aborted");
    assert.equal(d.connection, "conn-1");
    const kinds = d.timeline.map((e: TimelineEntry) => e.kind);
    assert.deepEqual(kinds, ["accept", "component", "dtmf", "error", "component", "error", "stop"]);
    const [accept, play] = d.timeline as [TimelineEntry & { kind: "accept" }, ComponentEntry];
    assert.equal(accept.state, "dialog");
    assert.match(accept.params, /"lang":"en"/);
    assert.equal(play.oType, 204);
    assert.deepEqual(play.summary, { what: "play", arg: ":GS_PUB/menu.wav" });
    assert.equal(play.source, "node-play");
    assert.equal(play.transferKey, "transfer");
    assert.deepEqual(play.results, { dtmfBuffer: "5" });
    assert.ok((play.durationMs ?? -1) >= 0 && play.end !== undefined);
    const errors = d.timeline.filter((e): e is ErrorEntry => e.kind === "error").map((e) => e.code);
    assert.deepEqual(errors, ["invalid", "busy"]);
    assert.equal((d.timeline.at(-1) as { reason: string }).reason, "aborted");

    // Frames: both ways, api_start and the accept included, bounded copies, the token nowhere.
    const names = d.frames.map((f) => `${f.dir} ${f.name}`);
    for (const n of [
      "in ivrevents.api_start",
      "out ivrapi_accept",
      "in ivrapi_accept_result",
      "out ivrapi_component_apply",
      "in ivrapi_component_apply_result",
      "in ivrapi_dtmf",
      "in ivrapi_component_stopped",
      "out ivrapi_abort",
    ]) {
      assert.ok(names.includes(n), `${n} among ${names.join(", ")}`);
    }
    const all = JSON.stringify([records.list(), d]);
    assert.ok(!all.includes(token), "the token is masked");
    assert.match(all, /\*\*\*/);
  });

  it("keeps a component's results as the platform sent them, whatever a flow later does with them", async () => {
    const call = await takeCall();
    const played = reg.apply(call.ivrid, { oType: 208, recTimeSec: 5 });
    await until("the component runs", () => answered(records, call.ivrid));
    h.sim.finishComponent(call.ivrid, "transfer", { recordPath: ":TEMP/a.wav", dtmfBuffer: "1" });
    const result = await played;
    // The apply node hands this very object to the flow as msg.payload; a flow may change it.
    (result.results as Record<string, unknown>).recordPath = "changed by a flow";
    delete (result.results as Record<string, unknown>).dtmfBuffer;
    const entry = records.get(call.ivrid)?.timeline.find((e) => e.kind === "component") as ComponentEntry;
    assert.deepEqual(entry.results, { recordPath: ":TEMP/a.wav", dtmfBuffer: "1" });
    assert.equal("resultsAt" in entry, false, "the record's own field stays inside it");
  });

  it("a call whose frames later traffic overwrote in the frame log: they count as dropped, its timeline stays", async () => {
    const small = new CallRecords({ recent: 5, frameLogBytes: 64 * 1024 });
    small.attach({ connection: "c2", secret: token, client: h.clients[0] as never, registry: reg });
    const call = await takeCall();
    const played = reg.apply(call.ivrid, { oType: 208, recTimeSec: 5 });
    await until("the component runs", () => answered(small, call.ivrid));
    h.sim.finishComponent(call.ivrid, "transfer", { recordPath: ":TEMP/a.wav" });
    await played;
    const before = small.get(call.ivrid);
    assert.ok(before && before.frames.length >= 5, JSON.stringify(before?.frames));
    const play = before.timeline.find((e) => e.kind === "component") as ComponentEntry;
    assert.deepEqual(play.results, { recordPath: ":TEMP/a.wav" });

    // 100 calls offered with a kilobyte in each api_start (kept whole: under a 16th of the log): about 100 KB of frames
    // through a 64 KiB log.
    let offered = 0;
    reg.on("api_start", () => offered++);
    for (let i = 0; i < 100; i++) h.sim.placeCall({ key: "menu", params: JSON.stringify({ pad: "p".repeat(600), i }) });
    await until("100 calls offered", () => offered === 100);
    const after = small.get(call.ivrid);
    assert.ok(after);
    assert.equal(after.frames.length, 0);
    assert.equal(after.framesDropped, before.frames.length + before.framesDropped);
    assert.deepEqual(
      after.timeline.map((e) => e.kind),
      before.timeline.map((e) => e.kind),
    );
    const gone = after.timeline.find((e) => e.kind === "component") as ComponentEntry;
    assert.equal(gone.results, undefined, "results no longer kept are left out, never another frame's");
    assert.equal(gone.transferKey, "transfer");
  });

  it("a log resized by configure starts empty: no frame kept from before shows up on another call", () => {
    const store = new CallRecords({ framesPerCall: 30, frameLogBytes: 64 * 1024 });
    const a = fakeConnection(store, "conn-a", "tokA-secret");
    const b = fakeConnection(store, "conn-b", "tokB-secret");
    // call-a's accept goes out before it has a record (an early frame, number 0 of the old log).
    a.observer.frame("out", "ivrapi_accept", { ivrid: "call-a" }, '["ivrapi_accept",{"ivrid":"call-a"}]', "call-a");
    store.configure({ frameLogBytes: 128 * 1024 });
    // The other connection's first frame after the resize, with that connection's token in it.
    const text = '["notify",{"data":{"ivrid":"call-b","params":"pin tokB-secret"}}]';
    b.observer.frame("in", "ivrevents.api_start", { data: { ivrid: "call-b" } }, text);
    // call-a's first event after the accept: its record is made and takes its early frames.
    a.start("call-a");
    const d = store.get("call-a");
    assert.ok(d);
    const json = JSON.stringify(d.frames);
    assert.ok(!json.includes("call-b") && !json.includes("tokB-secret"), json);
  });

  it("results of a stop event too big for the log whole are shown as a normal read shows them", () => {
    const store = new CallRecords({ framesPerCall: 30, frameLogBytes: 64 * 1024 });
    const a = fakeConnection(store, "conn-a", undefined);
    a.start("call-a");
    const results: Record<string, unknown> = { a: { b: { c: 1 } }, pad: "x".repeat(2000) };
    for (let i = 0; i < 40; i++) results[`k${i}`] = i;
    const body = { ivrid: "call-a", oId: 1, transferKey: "t", results };
    a.observer.frame("in", "ivrapi_component_stopped", body, JSON.stringify(["ivrapi_component_stopped", body]));
    a.registry.emit("component_stopped", a.held.get("call-a"), {
      oId: 1,
      transferKey: "t",
      results,
      body,
      data: { oType: 208 },
      timedOut: false,
    });
    const entry = store.get("call-a")?.timeline.find((e) => e.kind === "component") as ComponentEntry;
    assert.deepEqual(entry.results, clip(results, undefined));
  });

  it("a component whose entry the bound dropped while it ran: still shown running, ended by its stop, not made again", () => {
    const store = new CallRecords({ entriesPerCall: 3 });
    const a = fakeConnection(store, "conn-a", undefined);
    a.start("call-a");
    const call = a.held.get("call-a");
    for (const dtmf of "123") a.registry.emit("dtmf", call, { ivrid: "call-a", key: "k", dtmf });
    const during = store.get("call-a");
    assert.deepEqual(
      during?.timeline.map((e) => e.kind),
      ["accept", "dtmf", "dtmf"],
    );
    assert.deepEqual(during?.running?.summary, { what: "record" });
    a.registry.emit("component_stopped", call, {
      oId: 1,
      transferKey: "timeout",
      results: { dtmfBuffer: "123" },
      body: {},
      data: { oType: 208, oId: 1 },
      timedOut: false,
    });
    const after = store.get("call-a");
    assert.equal(after?.running, undefined);
    assert.equal(after?.lastTransferKey, "timeout");
    assert.equal(after?.components, 1);
    assert.deepEqual(
      after?.timeline.map((e) => e.kind),
      ["accept", "dtmf", "dtmf"],
    );
  });

  it("places each stop event that names no call on its own call, even when the registry handles it later", () => {
    // Two stop events in the seed's shape (only the oId) seen by the socket before the registry handles either (held
    // during a handshake, or looked at again a turn later): each call's record gets its own frame and results.
    const { EventEmitter } = require("node:events") as typeof import("node:events");
    const held = new Map<string, CallInfo>();
    const registry = fakeRegistry(held);
    const client = Object.assign(new EventEmitter(), { state: "ready", observer: undefined as never });
    const store = new CallRecords({ recent: 5 });
    store.attach({ connection: "fake", client: client as never, registry: registry as never });
    const observer = client.observer as unknown as {
      frame(dir: string, name: string, body: object, text: string, ivrid?: string): void;
    };
    const calls = ["call-a", "call-b"].map((ivrid, i) => {
      const call = { ivrid, key: "k", params: {}, paramsRaw: "{}", start: { ivrid, key: "k" } } as unknown as CallInfo;
      held.set(ivrid, call);
      registry.emit("session_start", call);
      const data = { oType: 208, oId: 10 + i };
      registry.emit("component_started", call, { oId: 10 + i, data });
      const body = { oId: 10 + i, transferKey: "transfer", results: { recordPath: `${ivrid}.wav` } };
      return { call, data, body };
    });
    for (const { body } of calls) {
      observer.frame("in", "ivrapi_component_stopped", body, JSON.stringify(["ivrapi_component_stopped", body]));
    }
    for (const { call, data, body } of calls) {
      registry.emit("component_stopped", call, {
        oId: body.oId,
        transferKey: "transfer",
        results: body.results,
        body,
        data,
        timedOut: false,
      });
    }
    for (const { call, body } of calls) {
      const d = store.get(call.ivrid);
      const stops = d?.frames.filter((f) => f.name === "ivrapi_component_stopped") ?? [];
      assert.deepEqual(
        stops.map((f) => f.body),
        [body],
        `${call.ivrid} keeps its own stop event`,
      );
      const entry = d?.timeline.find((e) => e.kind === "component") as ComponentEntry;
      assert.deepEqual(entry.results, { recordPath: `${call.ivrid}.wav` });
    }
  });

  it("keeps the last N ended calls and bounded frames; 10,000 calls leave at most N records", async () => {
    const small = new CallRecords({ recent: 3, framesPerCall: 4, entriesPerCall: 5 });
    small.attach({ connection: "c2", client: h.clients[0] as never, registry: reg });
    const call = await takeCall();
    for (const k of "123456789") h.sim.pressKeys(call.ivrid, k);
    await until("nine keys", () => small.get(call.ivrid)?.digits === "123456789");
    const d = small.get(call.ivrid);
    assert.ok(d);
    assert.equal(d.timeline.length, 5);
    assert.equal(d.timeline[0]?.kind, "accept", "the accept stays");
    assert.equal(d.entriesDropped, 5);
    assert.equal(d.frames.length, 4);
    assert.ok(d.framesDropped > 0);

    // 10,000 calls through a store fed directly (the simulator would take minutes): the ended ones are capped.
    const big = new CallRecords({ recent: 200 });
    const fake = fakeFeed(big);
    for (let i = 0; i < 10_000; i++) fake.call(`ivr-${i}`);
    assert.equal(big.list().length, 200);
    assert.equal(big.active, 0);
    assert.ok(big.get("ivr-9999"));
    assert.equal(big.get("ivr-9799"), undefined);
  });

  it("metrics: calls, components by oType and exit, errors, lost accepts, reconnects, request histogram", async () => {
    const call = await takeCall();
    const played = reg.apply(call.ivrid, { oType: 204, file: ":GS_PUB/x.wav" });
    await until("running", () => answered(records, call.ivrid));
    assert.ok(records.get(call.ivrid)?.running, JSON.stringify(records.get(call.ivrid)));
    let m = parseMetrics(records.metricsText());
    assert.equal(m.get("ivrapi_calls_active"), 1);
    assert.equal(m.get("ivrapi_calls_accepted_total"), 1);
    h.sim.finishComponent(call.ivrid, "transfer");
    await played;
    await assert.rejects(reg.terminate(call.ivrid), { code: "no_component" });
    h.sim.hangup(call.ivrid);
    await until("ended", () => records.get(call.ivrid)?.live === false);

    // A lost accept race: another connection takes the call first.
    const other = await h.ready();
    const offered = once<[CallInfo]>(reg, "api_start");
    const offeredOther = once<[CallInfo]>(other.reg, "api_start");
    h.sim.placeCall({ key: "menu" });
    const [[c1], [c2]] = await Promise.all([offered, offeredOther]);
    assert.ok((await other.reg.accept(c2)).accepted);
    assert.equal((await reg.accept(c1)).accepted, false);
    other.reg.dispose();

    // A reconnect: the socket drops and comes back.
    h.sim.dropConnections();
    await once(h.clients[0] as never, "ready");

    m = parseMetrics(records.metricsText());
    assert.equal(m.get("ivrapi_calls_active"), 0);
    assert.equal(m.get("ivrapi_calls_accepted_total"), 1);
    assert.equal(m.get("ivrapi_accept_lost_total"), 1);
    assert.equal(m.get('ivrapi_components_total{otype="204",exit="transfer"}'), 1);
    assert.equal(m.get("ivrapi_reconnects_total"), 1);
    assert.equal(m.get("ivrapi_dtmf_total"), 0);
    assert.equal(m.get('ivrapi_calls_ended_total{reason="script"}'), 1);
    assert.ok((m.get('ivrapi_request_seconds_count{request="ivrapi_accept"}') ?? 0) >= 2);
    assert.equal(
      m.get('ivrapi_request_seconds_bucket{request="ivrapi_accept",le="+Inf"}'),
      m.get('ivrapi_request_seconds_count{request="ivrapi_accept"}'),
    );
    assert.ok((m.get('ivrapi_frames_total{dir="out"}') ?? 0) > 3);
    // no_component is refused before anything is sent: not a call error the platform saw, not counted.
    assert.equal(m.get('ivrapi_errors_total{code="no_component"}'), undefined);
  });

  it("errors_total counts failures by code (a refused apply closes its component entry)", async () => {
    const call = await takeCall();
    h.sim.hangup(call.ivrid);
    await until("ended", () => records.get(call.ivrid)?.live === false);
    await assert.rejects(reg.apply(call.ivrid, { oType: 204 }), { code: "no_session" });
    const call2 = await takeCall();
    await assert.rejects(reg.apply(call2.ivrid, { oType: "x" }), { code: "invalid" });
    // Another connection takes the call over (ivrapi_reaccept), so the platform refuses our apply: the component's
    // entry ends with the error, beside an error entry.
    const other = await h.ready();
    assert.ok((await other.reg.adopt(call2, "test")).accepted);
    await assert.rejects(reg.apply(call2.ivrid, { oType: 204, file: ":GS_PUB/x.wav" }), { code: "rejected" });
    other.reg.dispose();
    const d = records.get(call2.ivrid);
    const refused = d?.timeline.find((e): e is ComponentEntry => e.kind === "component");
    assert.equal(refused?.error, "rejected");
    assert.equal(d?.running, undefined);
    const m = parseMetrics(records.metricsText());
    assert.equal(m.get('ivrapi_errors_total{code="invalid"}'), 1);
    assert.equal(m.get('ivrapi_errors_total{code="rejected"}'), 1);
  });
});

/** The simulator answered the call's apply (the component runs there). */
function answered(records: CallRecords, ivrid: string): boolean {
  return records.get(ivrid)?.frames.some((f) => f.name === "ivrapi_component_apply_result") ?? false;
}

/** Drives a store through a registry-shaped emitter (what attach listens to), without a socket. */
/** A connection fed by hand (observer and registry events), for what the simulator cannot stage. */
function fakeConnection(store: CallRecords, id: string, secret: string | undefined) {
  const { EventEmitter } = require("node:events") as typeof import("node:events");
  const held = new Map<string, CallInfo>();
  const registry = fakeRegistry(held);
  const client = Object.assign(new EventEmitter(), { state: "ready", observer: undefined });
  store.attach({ connection: id, secret, client: client as never, registry: registry as never });
  const observer = client.observer as unknown as ClientObserver;
  return {
    held,
    registry,
    observer,
    /** The call is held and its first component starts: its record is made. */
    start(ivrid: string) {
      const call = { ivrid, key: "k", params: {}, paramsRaw: "{}", start: { ivrid, key: "k" } } as unknown as CallInfo;
      held.set(ivrid, call);
      registry.emit("component_started", call, { oId: 1, data: { oType: 208, oId: 1 } });
    },
  };
}

function fakeFeed(records: CallRecords): { call(ivrid: string): void } {
  const { EventEmitter } = require("node:events") as typeof import("node:events");
  // What the store reads of a registry besides its events: the calls it holds.
  const held = new Map<string, unknown>();
  const registry = fakeRegistry(held);
  const client = Object.assign(new EventEmitter(), { state: "ready", observer: undefined });
  records.attach({ connection: "fake", client: client as never, registry: registry as never });
  return {
    call(ivrid) {
      const call = { ivrid, key: "k", params: {}, paramsRaw: "{}", start: { ivrid, key: "k" } };
      held.set(ivrid, call);
      registry.emit("session_start", call);
      registry.emit("component_started", call, { oId: 1, data: { oType: 204, file: "a.wav", oId: 1 } });
      registry.emit("component_stopped", call, {
        oId: 1,
        transferKey: "transfer",
        results: {},
        body: {},
        data: { oType: 204 },
        timedOut: false,
      });
      held.delete(ivrid);
      registry.emit("session_end", call, { reason: "script" });
    },
  };
}

/**
 * What the record reads of a registry: the calls it holds, and its events, told to its observer (the record) as
 * SessionRegistry tells them.
 */
function fakeRegistry(held: Map<string, unknown>) {
  const methods: Record<string, keyof RegistryObserver> = {
    session_start: "sessionStart",
    session_end: "sessionEnd",
    component_started: "componentStarted",
    component_stopped: "componentStopped",
    dtmf: "dtmf",
    reaccepted: "reaccepted",
    resumed: "resumed",
    failed: "failed",
    accept_lost: "acceptLost",
  };
  const registry = {
    observer: undefined as RegistryObserver | undefined,
    get: (ivrid: string) => held.get(ivrid),
    list: () => [...held.values()],
    get size() {
      return held.size;
    },
    emit(event: string, call: unknown, arg?: unknown): void {
      const tell = registry.observer?.[methods[event] as keyof RegistryObserver] as
        | ((call: unknown, arg?: unknown) => void)
        | undefined;
      tell?.(call, arg);
    },
  };
  return registry;
}
