// The frame log keeps the call records' frame texts off the heap, in a ring: what was written reads back the same
// (any UTF-8), a frame never straddles the ring's end, overwritten frames read as gone (never as another frame's
// bytes), and a frame too big to keep whole is kept as a bounded copy with the token masked.
import assert from "node:assert/strict";
import { FrameLog, MIN_FRAME_LOG_BYTES } from "../../src/session/frame-log";

describe("frame log (call records' frames, off the heap)", () => {
  it("reads back what was written, Cyrillic and emoji included", () => {
    const log = new FrameLog(MIN_FRAME_LOG_BYTES);
    const texts = ['["notify",{"type":"api_start"}]', '["ivrapi_dtmf",{"dtmf":"5","note":"Привет 👋"}]', ""];
    const at = texts.map((t) => log.put(t));
    assert.deepEqual(
      at.map((pos) => log.get(pos)),
      texts,
    );
    assert.equal(log.get(-1), undefined);
    assert.equal(log.get(10_000_000), undefined, "a position not written yet");
    assert.equal(new FrameLog(MIN_FRAME_LOG_BYTES).get(0), undefined, "an empty log");
  });

  it("after many laps: the newest frames read back whole, older ones read as gone", () => {
    const cap = MIN_FRAME_LOG_BYTES;
    const log = new FrameLog(cap);
    const written: Array<{ pos: number; text: string }> = [];
    // Lengths that do not divide the ring: frames land everywhere, and laps end with unused tails.
    for (let i = 0; i < 5_000; i++) {
      const text = JSON.stringify(["ivrapi_dtmf", { ivrid: `call-${i}`, pad: "x".repeat(i % 997) }]);
      written.push({ pos: log.put(text), text });
    }
    let kept = 0;
    let gone = 0;
    for (const w of written) {
      const back = log.get(w.pos);
      if (back === undefined) gone++;
      else {
        assert.equal(back, w.text);
        kept++;
      }
    }
    assert.ok(gone > 4_000, `${gone} old frames gone`);
    assert.ok(kept > 50, `${kept} newest frames kept`);
    // What is kept is exactly the newest run: no old frame reads back after a newer one is gone.
    const firstKept = written.findIndex((w) => log.get(w.pos) !== undefined);
    assert.equal(written.length - firstKept, kept);
  });

  it("keeps a frame too big to hold whole as a bounded copy, the token masked even where a cut would split it", () => {
    const log = new FrameLog(MIN_FRAME_LOG_BYTES);
    const token = "tok-0123456789abcdef";
    const big = JSON.stringify(["notify", { data: { params: `${"y".repeat(190)}${token}${"z".repeat(100_000)}` } }]);
    const back = log.get(log.put(big, token)) as string;
    assert.ok(back.length < 5_000, `${back.length} characters kept`);
    assert.ok(!back.includes(token.slice(0, 6)), "no part of the token");
    assert.match(back, /\*\*\*/);
    assert.deepEqual(Object.keys(JSON.parse(back)[1].data), ["params"], "still JSON, the same shape");
    const notJson = `${token} ${"q".repeat(100_000)}`;
    const cut = log.get(log.put(notJson, token)) as string;
    assert.ok(cut.startsWith("***") && cut.length < 5_000);
  });
});
