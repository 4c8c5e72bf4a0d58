// The benchmark's lean ivrapi server: a separate process (forked by bench/run.ts, commands over IPC) that speaks only
// what the call script needs. Every setup connects to it with its own token (`/ws/token/v1/<setup>`), so the four
// setups can stay connected while one of them runs a round.
//
// Call script, per call: notify api_start → ivrapi_accept → ok → component_apply 204 → ok, component_stopped
// (transferKey "transfer", the client's oId, no ivrid, as in the protocol's seed) → component_apply 208 → ok,
// component_stopped → ivrapi_abort → ok, notify api_stop (reason "abort"). A round keeps `concurrency` calls in
// flight: a new api_start goes out whenever a call ends. The server timestamps the frame that triggers each request
// and the request's arrival: that difference is the setup's added latency.
import { performance } from "node:perf_hooks";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { RequestKind, ServerCommand, ServerReport, SetupId } from "./common";

/** A round fails when no call completes for this long (a broken setup must not hang the benchmark). */
const STALL_MS = 20_000;

interface Conn {
  ws: WebSocket;
  /** ws's TCP socket: corked while a turn of the event loop writes, so one turn's frames leave in one write. */
  socket: import("node:net").Socket;
  setup: string;
  /** The subscription id the client chose, as JSON (echoed in every notify). */
  subscriptionJson: string;
  /** When the TCP chunk being handled was read (all requests in it arrived then). */
  rx: number;
  /** Calls whose triggering frame waits in the corked socket: stamped when it is written. */
  stamps: Call[];
  corked: boolean;
}

interface Call {
  ivrid: string;
  key: string;
  conn: Conn;
  /** When the frame that should trigger the next request was sent. */
  t: number;
  step: "offered" | "accepted" | "playing" | "recording" | "aborting" | "held";
  job: Job;
}

interface Job {
  kind: "round" | "hold";
  setup: SetupId;
  total: number;
  concurrency: number;
  componentMs: number;
  started: number;
  done: number;
  t0: number;
  cpu0: NodeJS.CpuUsage;
  lat: Record<RequestKind, number[]>;
  errors: string[];
  lastProgress: number;
  watchdog: NodeJS.Timeout;
}

const conns = new Map<string, Conn>();
const calls = new Map<string, Call>();
const held = new Map<SetupId, Call[]>();
let job: Job | undefined;
let seq = 0;
let connectionSeq = 0;

function report(r: ServerReport): void {
  process.send?.(r);
}

function q(qid: unknown): string {
  return JSON.stringify(qid ?? null);
}

/**
 * Sends one frame. Frames sent in one turn of the event loop are written together (the socket is corked until the
 * turn ends), and `stamp` (the call this frame should make the client answer) is timestamped when that write happens.
 */
function send(c: Conn, text: string, stamp?: Call): void {
  if (!c.corked) {
    c.corked = true;
    c.socket.cork();
    process.nextTick(flush, c);
  }
  c.ws.send(text);
  if (stamp) c.stamps.push(stamp);
}

function flush(c: Conn): void {
  c.corked = false;
  c.socket.uncork();
  const now = performance.now();
  for (const call of c.stamps) call.t = now;
  c.stamps.length = 0;
}

function ok(c: Conn, name: string, qid: unknown, stamp?: Call): void {
  send(c, `["${name}_result",{"qid":${q(qid)},"result":"ok"}]`, stamp);
}

function fail(c: Conn, name: string, qid: unknown, why: string): void {
  send(c, `["${name}_result",{"qid":${q(qid)},"result":"error","error":${JSON.stringify(why)}}]`);
}

/**
 * notify api_start / api_stop, written as text (the server must stay cheap next to the setups it measures). The data
 * holds every field of the platform's api_start; ivrid and key are plain ASCII made here, so no escaping is needed.
 */
function notify(c: Conn, type: "api_start" | "api_stop", call: Call, reason?: string, stamp?: Call): void {
  const now = Date.now();
  send(
    c,
    `["notify",{"class":"ivrevents","type":"${type}","eventts":${now},"id":${c.subscriptionJson},"data":{` +
      `"ivrid":"${call.ivrid}","key":"${call.key}","callid":"${call.ivrid}-sip","cid":"100","componentid":224,` +
      `"componentname":"API","ivrts":${now},"params":"{\\"caller\\":\\"100\\",\\"called\\":\\"200\\"}",` +
      `"sm_id":"bench","state":"dialog"${reason ? `,"reason":"${reason}"` : ""}}}]`,
    stamp,
  );
}

function offer(j: Job): void {
  const conn = conns.get(j.setup);
  if (!conn) {
    j.errors.push(`${j.setup} is not connected`);
    return;
  }
  const n = ++seq;
  const call: Call = {
    ivrid: `${j.kind === "hold" ? "hold" : "call"}-${j.setup}-${n}`,
    key: j.kind === "hold" ? "hold" : "bench",
    conn,
    t: 0,
    step: "offered",
    job: j,
  };
  calls.set(call.ivrid, call);
  j.started++;
  notify(conn, "api_start", call, undefined, call);
}

function startJob(kind: Job["kind"], setup: SetupId, total: number, concurrency: number, componentMs = 0): void {
  const now = performance.now();
  const j: Job = {
    kind,
    setup,
    total,
    concurrency,
    componentMs,
    started: 0,
    done: 0,
    t0: now,
    cpu0: process.cpuUsage(),
    lat: { accept: [], apply204: [], apply208: [], abort: [] },
    errors: [],
    lastProgress: now,
    watchdog: setInterval(() => {
      if (performance.now() - j.lastProgress > STALL_MS) finishJob(j, true);
    }, 1000),
  };
  job = j;
  const first = Math.min(total, concurrency);
  if (componentMs > 0) {
    // Paced: the first calls start spread over one call's length, so the calls do not move in lockstep.
    for (let i = 0; i < first; i++)
      setTimeout(() => job === j && j.started < first && offer(j), (i * 2 * componentMs) / first);
  } else while (j.started < first) offer(j);
}

function progress(j: Job): void {
  j.done++;
  j.lastProgress = performance.now();
  if (j.done === j.total) finishJob(j, false);
  else if (j.started < j.total) offer(j);
}

function finishJob(j: Job, stalled: boolean): void {
  if (job !== j) return;
  job = undefined;
  clearInterval(j.watchdog);
  const ms = performance.now() - j.t0;
  if (stalled) {
    j.errors.push(`stalled: ${j.done} of ${j.total} done, nothing completed for ${STALL_MS} ms`);
    for (const [ivrid, c] of calls) if (c.job === j && c.step !== "held") calls.delete(ivrid);
  }
  if (j.kind === "round") {
    const cpu = process.cpuUsage(j.cpu0);
    report({
      type: "roundDone",
      setup: j.setup,
      calls: j.total,
      completed: j.done,
      ms,
      lat: j.lat,
      serverCpuUs: cpu.user + cpu.system,
      errors: j.errors.slice(0, 20),
      stalled,
    });
  } else {
    report({ type: "held", setup: j.setup, held: j.done, errors: j.errors.slice(0, 20), stalled });
  }
}

function err(j: Job | undefined, text: string): void {
  if (j && j.errors.length < 1000) j.errors.push(text);
}

function onRequest(c: Conn, name: string, body: Record<string, unknown>): void {
  const now = c.rx;
  const qid = body.qid;
  switch (name) {
    case "connection_info":
      send(
        c,
        JSON.stringify([
          "connection_info_result",
          {
            qid,
            result: "ok",
            site: "bench",
            domain: "bench.local",
            sessionid: `s-${connectionSeq}`,
            connectionid: connectionSeq,
            capabilities: ["ivrapi", "subscr"],
            roles: ["ivrapi"],
          },
        ]),
      );
      return;
    case "subscribe":
      c.subscriptionJson = JSON.stringify(body.id ?? null);
      ok(c, name, qid);
      report({ type: "ready", setup: c.setup });
      return;
  }
  const ivrid = typeof body.ivrid === "string" ? body.ivrid : "";
  const call = calls.get(ivrid);
  if (!call || call.conn !== c) {
    err(job, `${name} for an unknown call ${ivrid}`);
    fail(c, name, qid, "unknown call");
    return;
  }
  if (body.key !== call.key) {
    err(call.job, `${name} with a wrong key on ${ivrid}`);
    fail(c, name, qid, "wrong key");
    return;
  }
  const j = call.job;
  const added = now - call.t;
  switch (name) {
    case "ivrapi_accept": {
      if (call.step !== "offered") break;
      j.lat.accept.push(added);
      if (j.kind === "hold") {
        ok(c, name, qid);
        call.step = "held";
        const list = held.get(j.setup) ?? [];
        held.set(j.setup, list);
        list.push(call);
        progress(j);
        return;
      }
      call.step = "accepted";
      ok(c, name, qid, call);
      return;
    }
    case "ivrapi_component_apply": {
      const data = body.data as { oType?: unknown; oId?: unknown } | undefined;
      const oType = Number(data?.oType);
      const expected = call.step === "accepted" ? 204 : call.step === "playing" ? 208 : undefined;
      if (oType !== expected) break;
      j.lat[oType === 204 ? "apply204" : "apply208"].push(added);
      call.step = oType === 204 ? "playing" : "recording";
      ok(c, name, qid);
      const results = oType === 204 ? {} : { recordPath: `:TEMP/${ivrid}.wav`, dtmfBuffer: "" };
      const stopped = JSON.stringify([
        "ivrapi_component_stopped",
        { oId: data?.oId, transferKey: "transfer", results },
      ]);
      if (j.componentMs > 0) {
        // Component lengths vary ±50% around componentMs (real prompts differ), which also keeps calls out of step.
        setTimeout(
          () => {
            if (calls.get(ivrid) === call && c.ws.readyState === c.ws.OPEN) send(c, stopped, call);
          },
          j.componentMs * (0.5 + Math.random()),
        );
      } else send(c, stopped, call);
      return;
    }
    case "ivrapi_abort": {
      if (call.step !== "recording") break;
      j.lat.abort.push(added);
      ok(c, name, qid);
      calls.delete(ivrid);
      notify(c, "api_stop", call, "abort");
      progress(j);
      return;
    }
  }
  err(j, `unexpected ${name} on ${ivrid} (step ${call.step})`);
  fail(c, name, qid, `unexpected ${name}`);
}

function release(setup: SetupId): void {
  const list = held.get(setup) ?? [];
  held.delete(setup);
  for (const call of list) {
    calls.delete(call.ivrid);
    if (call.conn.ws.readyState === call.conn.ws.OPEN) notify(call.conn, "api_stop", call, "script");
  }
  report({ type: "released", setup, released: list.length });
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("connection", (ws, req) => {
  const m = /^\/ws\/token\/v1\/([^/?]+)/.exec(req.url ?? "");
  if (!m?.[1]) {
    ws.close(1008, "no token");
    return;
  }
  connectionSeq++;
  const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
  const c: Conn = {
    ws,
    socket,
    setup: decodeURIComponent(m[1]),
    subscriptionJson: "null",
    rx: 0,
    stamps: [],
    corked: false,
  };
  // Runs before ws parses the chunk: every request in it is stamped with the time it was read.
  socket.prependListener("data", () => {
    c.rx = performance.now();
  });
  conns.get(c.setup)?.ws.terminate();
  conns.set(c.setup, c);
  ws.on("message", (data: RawData, isBinary) => {
    if (isBinary) return;
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      err(job, `${c.setup} sent a frame that is not JSON`);
      return;
    }
    if (!Array.isArray(frame) || typeof frame[0] !== "string" || typeof frame[1] !== "object" || frame[1] === null) {
      err(job, `${c.setup} sent a frame that is not [name, body]`);
      return;
    }
    onRequest(c, frame[0], frame[1] as Record<string, unknown>);
  });
  ws.on("close", () => {
    if (conns.get(c.setup) === c) conns.delete(c.setup);
    report({ type: "closed", setup: c.setup });
  });
  ws.on("error", () => {});
});
wss.on("listening", () => {
  const addr = wss.address();
  if (typeof addr === "object" && addr) report({ type: "listening", port: addr.port });
});

process.on("message", (cmd: ServerCommand) => {
  if ("bench" in cmd) return; // a probe (bench/probe.cjs) when the server is profiled
  if (cmd.type === "release") return release(cmd.setup);
  if (job) {
    process.send?.({
      type: "roundDone",
      setup: cmd.setup,
      calls: 0,
      completed: 0,
      ms: 0,
      lat: {},
      serverCpuUs: 0,
      errors: ["busy"],
      stalled: true,
    });
    return;
  }
  startJob(cmd.type, cmd.setup, cmd.calls, cmd.concurrency, cmd.type === "round" ? cmd.componentMs : 0);
});
// The orchestrator is gone (even killed): so is this process.
process.on("disconnect", () => process.exit(0));
