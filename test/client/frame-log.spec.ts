// The frame log keeps the call records' frames off the heap, in rings: what was written reads back the same (any
// UTF-8), each call's frames chain apart from the others', a frame never straddles the ring's end, overwritten frames
// read as gone (never as another frame's bytes), and a frame too big to keep whole is kept as a bounded copy with the
// token masked.
import assert from "node:assert/strict";
import { FrameLog, MIN_FRAME_LOG_BYTES } from "../../src/session/frame-log";

describe("frame log (call records' frames, off the heap)", () => {
  it("reads back what was written, Cyrillic and emoji included, with its time, direction and name", () => {
    const log = new FrameLog(MIN_FRAME_LOG_BYTES);
    const texts = ['["notify",{"type":"api_start"}]', '["ivrapi_dtmf",{"dtmf":"5","note":"Привет 👋"}]', ""];
    const at = texts.map((t, i) => log.put(1000 + i, i % 2 ? "out" : "in", `name-${i}`, t));
    assert.deepEqual(
      at.map((seq) => log.get(seq)),
      texts.map((text, i) => ({ t: 1000 + i, dir: i % 2 ? "out" : "in", name: `name-${i}`, text, whole: true })),
    );
    assert.equal(log.get(-1), undefined);
    assert.equal(log.get(3), undefined, "a frame not written yet");
    assert.equal(new FrameLog(MIN_FRAME_LOG_BYTES).get(0), undefined, "an empty log");
  });

  it("chains each call's frames apart from the others': the newest N, oldest first", () => {
    const log = new FrameLog(MIN_FRAME_LOG_BYTES);
    const last = { a: -1, b: -1 };
    for (let i = 0; i < 10; i++) {
      for (const call of ["a", "b"] as const) last[call] = log.put(i, "in", "f", `${call}${i}`, last[call]);
    }
    assert.deepEqual(
      log.chain(last.a, 3).map((f) => f.text),
      ["a7", "a8", "a9"],
    );
    assert.deepEqual(
      log.chain(last.b, 100).map((f) => f.text),
      ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"],
    );
    assert.equal(log.length(last.b, 100), 10);
    assert.equal(log.length(last.b, 4), 4);
    assert.deepEqual(log.chain(-1, 5), []);
  });

  it("after many laps: the newest frames read back whole, older ones read as gone, a chain stops at the first gone", () => {
    const log = new FrameLog(MIN_FRAME_LOG_BYTES);
    const written: Array<{ seq: number; text: string }> = [];
    let last = -1;
    // Lengths that do not divide the ring: texts land everywhere, and laps end with unused tails.
    for (let i = 0; i < 5_000; i++) {
      const text = JSON.stringify(["ivrapi_dtmf", { ivrid: `call-${i}`, pad: "x".repeat(i % 997) }]);
      last = log.put(i, "in", "ivrapi_dtmf", text, last);
      written.push({ seq: last, text });
    }
    let kept = 0;
    let gone = 0;
    for (const w of written) {
      const back = log.get(w.seq);
      if (back === undefined) gone++;
      else {
        assert.equal(back.text, w.text);
        kept++;
      }
    }
    assert.ok(gone > 4_000, `${gone} old frames gone`);
    assert.ok(kept > 50, `${kept} newest frames kept`);
    // What is kept is exactly the newest run, and the chain reaches back to its start and no further.
    const firstKept = written.findIndex((w) => log.get(w.seq) !== undefined);
    assert.equal(written.length - firstKept, kept);
    assert.equal(log.length(last, 10_000), kept);
    assert.equal(log.chain(last, 10_000)[0]?.text, written[firstKept]?.text);
  });

  it("copies a frame's bytes as they came (wire) and reads them back as its text; too big, it is bounded all the same", () => {
    const log = new FrameLog(MIN_FRAME_LOG_BYTES);
    const texts = [
      '["ivrapi_dtmf",{"dtmf":"5","note":"Привет 👋"}]',
      '["ivrapi_accept_result",{"qid":7,"result":"ok"}]',
    ];
    let last = -1;
    for (const text of texts) last = log.put(5, "in", "f", text, last, undefined, Buffer.from(text));
    assert.deepEqual(
      log.chain(last, 5).map((f) => f.text),
      texts,
    );
    // The bytes decide: 1,400 Cyrillic letters are 2,800 bytes, which a 64 KiB log (4 KiB per frame) keeps whole,
    // though three bytes per letter (the bound without them) would not fit.
    const cyrillic = JSON.stringify(["x", { a: "Ж".repeat(1_400) }]);
    const seq = log.put(6, "in", "x", cyrillic, -1, undefined, Buffer.from(cyrillic));
    assert.equal(log.get(seq)?.whole, true);
    assert.equal(log.text(seq), cyrillic);
    const token = "tok-0123456789abcdef";
    const big = JSON.stringify(["notify", { params: `${token}${"z".repeat(100_000)}` }]);
    const back = log.get(log.put(7, "in", "notify", big, -1, token, Buffer.from(big)));
    assert.equal(back?.whole, false);
    assert.ok((back?.text.length ?? 0) < 5_000 && !back?.text.includes(token.slice(0, 6)));
  });

  it("keeps a frame too big to hold whole as a bounded copy, the token masked even where a cut would split it", () => {
    const log = new FrameLog(MIN_FRAME_LOG_BYTES);
    const token = "tok-0123456789abcdef";
    const big = JSON.stringify(["notify", { data: { params: `${"y".repeat(190)}${token}${"z".repeat(100_000)}` } }]);
    const back = log.text(log.put(0, "in", "notify", big, -1, token)) as string;
    assert.ok(back.length < 5_000, `${back.length} characters kept`);
    assert.ok(!back.includes(token.slice(0, 6)), "no part of the token");
    assert.match(back, /\*\*\*/);
    assert.deepEqual(Object.keys(JSON.parse(back)[1].data), ["params"], "still JSON, the same shape");
    const notJson = `${token} ${"q".repeat(100_000)}`;
    const cut = log.text(log.put(0, "in", "x", notJson, -1, token)) as string;
    assert.ok(cut.startsWith("***") && cut.length < 5_000);
  });
});
