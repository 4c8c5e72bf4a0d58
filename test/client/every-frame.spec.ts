import assert from "node:assert/strict";
import { REQUEST_NAMES } from "../../src/protocol";
import { type CallInfo, getFileLink, uploadStatic, uploadTemp } from "../../src/session";
import { harness, once } from "../helpers/runtime";

// Done-criterion of the foundation: every frame of PROTOCOL.md crosses a real socket in a test.
describe("every frame of the protocol", () => {
  it("is sent or received through the client in one call's life", async () => {
    const h = await harness();
    try {
      const { reg } = await h.ready();
      const offered = once<[CallInfo]>(reg, "api_start");
      const { ivrid } = h.sim.placeCall({ key: "abc", params: { asdf: "zxcv" } });
      await reg.accept((await offered)[0]);
      const dtmf = once(reg, "dtmf");
      h.sim.pressKeys(ivrid, "5");
      await dtmf;
      const media = `${h.sim.httpUrl}/media/tone.wav?sec=1`;
      const temp = await uploadTemp(reg, ivrid, media);
      await uploadStatic(reg, ivrid, media, ":GS_PUB/x/y/");
      await uploadStatic(reg, undefined, media, ":GS_PUB/a/b/c");
      await getFileLink(reg, ivrid, temp.value as string);
      const played = reg.apply(ivrid, { oType: 204, mode: 0, file: temp.value });
      await h.sim.waitForFrame({ dir: "out", name: "ivrapi_component_apply_result" });
      await reg.terminate(ivrid);
      await played;
      const back = once(reg, "reaccepted");
      h.sim.dropConnections();
      await back;
      const stopped = once(reg.client, "api_stop");
      await reg.abort(ivrid);
      await stopped;

      const seen = new Set(h.sim.log.map((e) => `${e.dir}:${e.name}`));
      const expected = [
        ...REQUEST_NAMES.map((n) => `in:${n}`),
        ...REQUEST_NAMES.map((n) => `out:${n}_result`),
        "out:notify",
        "out:ivrapi_component_stopped",
        "out:ivrapi_dtmf",
      ];
      assert.deepEqual(
        expected.filter((n) => !seen.has(n)),
        [],
      );
      const notes = h.sim.log.filter((e) => e.name === "notify").map((e) => (e.body as { type: string }).type);
      assert.ok(notes.includes("api_start") && notes.includes("api_stop"));
    } finally {
      await h.close();
    }
  });
});
