// What a node tells the user about a message it failed: its status turns red with the error code for a few seconds
// (then the normal status is back), and Catch nodes get the code apart from the text (msg.error.code, not glued
// into msg.error.message).
import assert from "node:assert/strict";
import { FAILURE_KEY, LINK_KEY } from "../../src/nodes/common/status";
import type { Simulator } from "../../src/simulator";
import { connectionDef, eachWithSimulator, load, nextMsg, node, ready, startWired, waitStatus } from "./harness";

describe("nodes: a failed msg shows on the node", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  it("red with its code, then back to the normal status; msg.error keeps code and text apart", async () => {
    await load(sim, [
      connectionDef(sim),
      ...startWired(),
      { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper" },
      {
        id: "apply",
        type: "ivrapi-apply",
        connection: "conn",
        data: '{"oType":201}',
        dataType: "json",
        transferKeys: [],
        busy: "reject",
        timeout: 0,
        version: 1,
        wires: [[]],
      },
    ]);
    await ready();
    await waitStatus("apply", (s) => s.text === `${LINK_KEY}connected`);
    const caught = nextMsg("caught");
    node("apply").receive({ payload: "no call here" });
    const err = (await caught).error;
    assert.equal(err.code, "no_call");
    assert.ok(!/\[no_call\]/.test(err.message), `the code is not glued onto the text: ${err.message}`);
    const red = await waitStatus("apply", (s) => s.fill === "red");
    assert.equal(red.text, `${FAILURE_KEY}no_call`);
    await waitStatus("apply", (s) => s.text === `${LINK_KEY}connected`, 6000);
  });
});
