// The coalesced sender: frames sent together share a TCP write, but never a whole turn's worth (the server would wait
// for the last of them before it could start on the first). Over a real loopback socket; how much this saves is
// measured by the benchmark, not here.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { coalescedSender, FRAMES_PER_WRITE } from "../../src/client/socket";

describe("coalescedSender: frames sent together leave together, a bounded number at a time", () => {
  let server: WebSocketServer;
  let client: WebSocket;
  const received: string[] = [];

  beforeEach(async () => {
    received.length = 0;
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    server.on("connection", (ws) => ws.on("message", (data) => received.push(String(data))));
    await new Promise((resolve) => server.once("listening", resolve));
    client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await new Promise((resolve) => client.once("open", resolve));
  });

  afterEach(async () => {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: import("node:net").Socket })._socket;

  it("holds frames sent in one turn, lets them go every FRAMES_PER_WRITE frames, and the rest once the turn is over", async () => {
    const send = coalescedSender(client);
    const socket = socketOf(client);
    const total = 2 * FRAMES_PER_WRITE + 3;
    const corkedAfter: number[] = [];
    for (let i = 0; i < total; i++) {
      send(`frame ${i}`);
      corkedAfter.push(socket.writableCorked);
    }
    // Corked from the first frame; uncorked by each FRAMES_PER_WRITE-th; the last three wait for the turn's end.
    corkedAfter.forEach((corked, i) => {
      assert.equal(corked, (i + 1) % FRAMES_PER_WRITE === 0 ? 0 : 1, `after frame ${i}`);
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(socket.writableCorked, 0, "the turn is over: nothing is held");
    while (received.length < total) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(
      received,
      Array.from({ length: total }, (_, i) => `frame ${i}`),
    );
  });

  it("corks again in a later turn, and holds nothing after a turn that sent exactly FRAMES_PER_WRITE", async () => {
    const send = coalescedSender(client);
    const socket = socketOf(client);
    for (let i = 0; i < FRAMES_PER_WRITE; i++) send(`a ${i}`);
    assert.equal(socket.writableCorked, 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(socket.writableCorked, 0, "the turn's end uncorks nothing more");
    send("b");
    assert.equal(socket.writableCorked, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(socket.writableCorked, 0);
    while (received.length < FRAMES_PER_WRITE + 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(received.at(-1), "b");
  });
});
