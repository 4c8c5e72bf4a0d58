// The softphone's side of the simulator: the live feed (GET /sim/events), a call's frames, and the page's static files.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import type { CallInfo } from "../src/session";
import { Simulator } from "../src/simulator";
import { Router } from "../src/simulator/http";
import { LiveFeed, type TaggedFrame } from "../src/simulator/live";
import type { SimCallInfo } from "../src/simulator/types";
import { type Harness, harness, once } from "./helpers/runtime";

interface SseEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are JSON; the tests poke at them freely.
  data: any;
}

/** A Server-Sent Events reader: every event and comment kept, with waits on what arrives. */
class Feed {
  readonly events: SseEvent[] = [];
  comments = 0;
  ended = false;
  private readonly signal = new EventEmitter();
  private buffer = "";

  private constructor(private readonly req: http.ClientRequest) {}

  static open(url: string): Promise<{ feed: Feed; res: http.IncomingMessage }> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, (res) => {
        const feed = new Feed(req);
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => feed.push(chunk));
        res.on("close", () => {
          feed.ended = true;
          feed.signal.emit("change");
        });
        resolve({ feed, res });
      });
      req.on("error", reject);
    });
  }

  private push(chunk: string): void {
    this.buffer += chunk;
    let cut = this.buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) this.comments += 1;
        else if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ event, data: JSON.parse(data.join("\n")) });
      cut = this.buffer.indexOf("\n\n");
    }
    this.signal.emit("change");
  }

  /** Resolves once `test` holds over what arrived so far (now or later); rejects after `ms`. */
  until<T>(test: (f: Feed) => T | undefined | false, what: string, ms = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const v = test(this);
        if (v === undefined || v === false) return false;
        clearTimeout(timer);
        this.signal.off("change", check);
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        this.signal.off("change", check);
        reject(new Error(`feed: no ${what} within ${ms} ms`));
      }, ms);
      if (!check()) this.signal.on("change", check);
    });
  }

  frame(name: string, where: (f: TaggedFrame) => boolean = () => true): Promise<TaggedFrame> {
    return this.until(
      (f) => f.events.find((e) => e.event === "frame" && e.data.name === name && where(e.data))?.data,
      `frame ${name}`,
    );
  }

  close(): void {
    this.req.destroy();
  }
}

function get(url: string, path: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    // http.request sends the path verbatim (no normalising of "..", unlike fetch).
    const req = http.request(`${url}${path}`, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Polls a condition on the simulator's state (its answers are async) until it holds. */
async function eventually(test: () => Promise<boolean> | boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function viewers(sim: Simulator): Promise<number> {
  const res = await fetch(`${sim.httpUrl}/sim/info`);
  return ((await res.json()) as { viewers: number }).viewers;
}

describe("simulator live feed (GET /sim/events)", () => {
  let h: Harness;
  const feeds: Feed[] = [];
  afterEach(async () => {
    for (const f of feeds.splice(0)) f.close();
    await h?.close();
  });

  async function feed(): Promise<Feed> {
    const { feed, res } = await Feed.open(`${h.sim.httpUrl}/sim/events`);
    feeds.push(feed);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
    assert.match(String(res.headers["cache-control"]), /no-cache/);
    return feed;
  }

  it("starts with a snapshot of the calls there are", async () => {
    h = await harness();
    const placed = h.sim.placeCall({ key: "sales", from: "+100" });
    const f = await feed();
    const snap = await f.until((x) => x.events[0], "snapshot");
    assert.equal(snap.event, "snapshot");
    assert.deepEqual(
      snap.data.calls.map((c: SimCallInfo) => [c.ivrid, c.key, c.phase, c.from]),
      [[placed.ivrid, "sales", "waiting", "+100"]],
    );
    assert.equal(snap.data.connections, 0);
  });

  it("streams call updates and frames, each frame tagged with its call", async () => {
    h = await harness();
    const f = await feed();
    const { reg } = await h.ready();
    await f.until((x) => x.events.find((e) => e.event === "connections" && e.data.count === 1), "connections 1");
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall({ key: "k" });
    const [call] = await offered;
    await reg.accept(call);
    const played = reg.apply(ivrid, { oType: 204, mode: 0, file: ":GS_PUB/menu.wav" });
    await f.until(
      (x) => x.events.find((e) => e.event === "call" && e.data.ivrid === ivrid && e.data.component?.oType === 204),
      "call update with the playback running",
    );
    h.sim.pressKeys(ivrid, "5");
    h.sim.finishComponent(ivrid);
    await played;

    const mine = (fr: TaggedFrame) => fr.ivrid === ivrid;
    const start = await f.frame("notify", mine);
    assert.equal(start.dir, "out");
    await f.frame("ivrapi_accept", mine);
    await f.frame("ivrapi_accept_result", mine);
    await f.frame("ivrapi_component_apply_result", mine);
    const dtmf = await f.frame("ivrapi_dtmf", mine);
    assert.equal((dtmf.body as { dtmf: string }).dtmf, "5");
    // The seed's component_stopped names no ivrid: it is matched through the running component's oId.
    const stopped = await f.frame("ivrapi_component_stopped", mine);
    assert.equal((stopped.body as { ivrid?: string }).ivrid, undefined);
    // Frames that concern no call say so.
    const hello = await f.frame("connection_info_result");
    assert.equal(hello.ivrid, null);
    const update = await f.until(
      (x) =>
        x.events.find(
          (e) => e.event === "call" && e.data.history.some((s: { what: string }) => s.what === "component stopped"),
        ),
      "call update with the component stopped",
    );
    assert.equal(update.data.phase, "controlled");
    assert.equal(update.data.controller, "c1");

    const seqs = f.events.filter((e) => e.event === "frame").map((e) => e.data.seq as number);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      "frames in order",
    );
    const res = await fetch(`${h.sim.httpUrl}/sim/calls/${ivrid}/frames`);
    const kept = (await res.json()) as TaggedFrame[];
    assert.ok(kept.every(mine));
    assert.deepEqual(
      kept.map((k) => k.name),
      f.events.filter((e) => e.event === "frame" && mine(e.data)).map((e) => e.data.name),
    );
    assert.equal((await fetch(`${h.sim.httpUrl}/sim/calls/nope/frames`)).status, 404);
  });

  it("leaves a component_stopped untagged when two calls run the same oId on one connection", async () => {
    h = await harness();
    const f = await feed();
    const ws = new WebSocket(`${h.sim.wsUrl}/${h.sim.token}`);
    await new Promise((r) => ws.once("open", r));
    const a = h.sim.placeCall({ key: "k" });
    const b = h.sim.placeCall({ key: "k" });
    let qid = 0;
    for (const c of [a, b]) {
      ws.send(JSON.stringify(["ivrapi_accept", { qid: ++qid, key: "k", ivrid: c.ivrid }]));
      ws.send(
        JSON.stringify([
          "ivrapi_component_apply",
          { qid: ++qid, key: "k", ivrid: c.ivrid, data: { oType: 1, oId: 7 } },
        ]),
      );
    }
    await f.until(
      (x) =>
        x.events.filter((e) => e.event === "frame" && e.data.name === "ivrapi_component_apply_result").length === 2,
      "both apply results",
    );
    h.sim.finishComponent(a.ivrid);
    const stopped = await f.frame("ivrapi_component_stopped");
    assert.equal(stopped.ivrid, null);
    ws.close();
  });

  it("forgets a page that disconnects: no viewer, no extra listener, no timer", async () => {
    h = await harness();
    const base = { call: h.sim.listenerCount("call"), frame: h.sim.listenerCount("frame") };
    const one = await feed();
    const two = await feed();
    await one.until((x) => x.events.length > 0, "snapshot");
    await two.until((x) => x.events.length > 0, "snapshot");
    assert.equal(await viewers(h.sim), 2);
    assert.deepEqual({ call: h.sim.listenerCount("call"), frame: h.sim.listenerCount("frame") }, base);
    one.close();
    await eventually(async () => (await viewers(h.sim)) === 1, "one viewer left");
    h.sim.placeCall();
    await two.until((x) => x.events.find((e) => e.event === "call"), "the other page still gets updates");
    two.close();
    await eventually(async () => (await viewers(h.sim)) === 0, "no viewer left");
  });

  it("ends every feed and lets go of the simulator on stop()", async () => {
    h = await harness();
    const f = await feed();
    await f.until((x) => x.events.length > 0, "snapshot");
    await h.sim.stop();
    await f.until((x) => x.ended, "end of the stream");
    assert.equal(h.sim.listenerCount("call"), 0);
    assert.equal(h.sim.listenerCount("frame"), 0);
    assert.equal(h.sim.listenerCount("connection"), 0);
  });

  it("sends a heartbeat comment while idle, and stops it when the page goes", async () => {
    const source = Object.assign(new EventEmitter(), {
      calls: () => [],
      getCall: () => undefined,
      hasCall: () => false,
      connections: () => [],
    });
    const live = new LiveFeed(source, { heartbeatMs: 30 });
    const router = new Router();
    live.install(router);
    const server = http.createServer((req, res) => router.handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const { feed: f } = await Feed.open(`http://127.0.0.1:${port}/sim/events`);
      await f.until((x) => x.comments >= 2, "two heartbeats");
      assert.equal(live.viewers, 1);
      f.close();
      await eventually(() => live.viewers === 0, "the page forgotten");
    } finally {
      live.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("lets a page opened mid-call read the call's frames so far", async () => {
    h = await harness();
    const { reg } = await h.ready();
    const offered = once<[CallInfo]>(reg, "api_start");
    const { ivrid } = h.sim.placeCall();
    await reg.accept((await offered)[0]);
    const res = await fetch(`${h.sim.httpUrl}/sim/calls/${encodeURIComponent(ivrid)}/frames`);
    const frames = (await res.json()) as TaggedFrame[];
    assert.deepEqual(
      frames.map((x) => `${x.dir} ${x.name}`),
      ["out notify", "in ivrapi_accept", "out ivrapi_accept_result"],
    );
  });
});

describe("softphone page files", () => {
  let sim: Simulator;
  before(async () => {
    sim = await Simulator.start({ token: "page-secret-token" });
  });
  after(async () => {
    await sim.stop();
  });

  it("serves the page at / and /softphone with the right types", async () => {
    for (const path of ["/", "/softphone", "/softphone/"]) {
      const r = await get(sim.httpUrl, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.type, "text/html; charset=utf-8", path);
      assert.match(r.body, /data-testid="call-button"/);
      assert.equal(r.body.includes("page-secret-token"), false);
    }
    const expected: Record<string, RegExp> = {
      "/softphone/softphone.js": /^text\/javascript/,
      "/softphone/describe.js": /^text\/javascript/,
      "/softphone/softphone.css": /^text\/css/,
      "/softphone/icon.svg": /^image\/svg\+xml$/,
      "/softphone/index.html": /^text\/html/,
    };
    for (const [path, type] of Object.entries(expected)) {
      const r = await get(sim.httpUrl, path);
      assert.equal(r.status, 200, path);
      assert.match(r.type, type, path);
    }
    const head = await get(sim.httpUrl, "/softphone/softphone.js", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
  });

  it("sends the page with a content security policy and nosniff", async () => {
    const res = await fetch(`${sim.httpUrl}/softphone`);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  });

  it("refuses anything but a plain file of the page's folder", async () => {
    const refused = [
      "/softphone/..%2Fpage.ts",
      "/softphone/..%2F..%2F..%2Fpackage.json",
      "/softphone/%2e%2e%2fsimulator.ts",
      "/softphone/..%5Cpage.ts",
      "/softphone/sub/softphone.js",
      "/softphone/.hidden.js",
      "/softphone/page.ts",
      "/softphone/%2Fetc%2Fpasswd",
    ];
    for (const path of refused) {
      const r = await get(sim.httpUrl, path);
      assert.equal(r.status, 400, path);
      assert.equal(r.type, "application/json; charset=utf-8", path);
    }
    // Dot segments are resolved by URL parsing before routing: they land outside the page's routes.
    for (const path of ["/softphone/../simulator.ts", "/softphone/../../package.json", "/softphone/nope.js"]) {
      const r = await get(sim.httpUrl, path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body, /import|"name"/, path);
    }
  });
});
