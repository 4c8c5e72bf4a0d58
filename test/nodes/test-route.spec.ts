// "Test connection" (POST /ivrapi-connection/test) and the stored token: the runtime uses it only for a
// deployed ivrapi-connection node and only with that node's saved URL; anything else needs the token typed in.
import assert from "node:assert/strict";
import type { Simulator } from "../../src/simulator";
import { connectionDef, credentials, eachWithSimulator, helper, load, ready, startSim } from "./harness";

type Outcome = {
  ok: boolean;
  state: string;
  code: string;
  message?: string;
  status?: number;
  capabilities?: string[];
};

async function testRoute(body: Record<string, unknown>): Promise<Outcome> {
  const res = await helper.request().post("/ivrapi-connection/test").send(body);
  assert.equal(res.status, 200);
  return res.body as Outcome;
}

describe("nodes: test connection route and the stored token", () => {
  let sim: Simulator;
  eachWithSimulator((s) => {
    sim = s;
  });

  /** The deployed connection "conn" on `sim`, a second one "conn2" saved with `otherUrl`, and a helper node
   * "other" holding a credential named token, all three holding the simulator's token. */
  async function deploy(otherUrl: string): Promise<void> {
    await load(
      sim,
      [
        connectionDef(sim),
        connectionDef(sim, { id: "conn2", url: otherUrl }),
        { id: "other", type: "helper" },
        // A flow node keeps the connections in use (config nodes nobody uses still start; this is closer to life).
        { id: "start", type: "ivrapi-start", connection: "conn", key: "", componentName: "", wires: [[], []] },
      ],
      { ...credentials(sim), ...credentials(sim, "conn2"), ...credentials(sim, "other") },
    );
    await ready();
  }

  it("connects with the stored token for the deployed node's own URL (trailing slashes and spaces aside)", async () => {
    await deploy(sim.wsUrl);
    const ok = await testRoute({ id: "conn", url: sim.wsUrl });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.code, "ok");
    assert.ok(ok.capabilities?.includes("ivrapi"));
    const slash = await testRoute({ id: "conn", url: ` ${sim.wsUrl}// ` });
    assert.equal(slash.ok, true, JSON.stringify(slash));
  });

  it("refuses the stored token of a node that is not a deployed ivrapi-connection", async () => {
    await deploy(sim.wsUrl);
    // The credential is really there: without the check the route would have used it.
    assert.equal((helper.getNode("other") as unknown as { type: string }).type, "helper");
    for (const id of ["other", "no-such-node"]) {
      const out = await testRoute({ id, url: sim.wsUrl });
      assert.equal(out.ok, false, id);
      assert.equal(out.state, "invalid", id);
      assert.match(out.message ?? "", /type the token/, id);
      assert.equal(out.code, "token_other_node", id);
    }
    // Typed in, the token is used whatever the id.
    assert.equal((await testRoute({ id: "other", url: sim.wsUrl, token: sim.token })).ok, true);
  });

  it("refuses the stored token for a URL other than the node's saved one; never connects there", async () => {
    // Another server that would accept the token: what the stored token must never be sent to.
    const elsewhere = await startSim({ token: sim.token });
    let reached = 0;
    elsewhere.on("connection", () => {
      reached += 1;
    });
    try {
      await deploy("ws://127.0.0.1:9/ws/token/v1");
      for (const [id, url] of [
        ["conn", elsewhere.wsUrl],
        ["conn2", sim.wsUrl],
        ["conn2", elsewhere.wsUrl],
      ] as const) {
        const out = await testRoute({ id, url, token: "__PWRD__" });
        assert.equal(out.ok, false, `${id} ${url}`);
        assert.equal(out.state, "invalid", `${id} ${url}`);
        assert.match(out.message ?? "", /type the token to test another URL/, `${id} ${url}`);
        assert.equal(out.code, "token_other_url", `${id} ${url}`);
      }
      assert.equal(reached, 0);
      assert.ok(!JSON.stringify(await testRoute({ id: "conn", url: elsewhere.wsUrl })).includes(sim.token));
      // Typed in, another URL is tested as asked.
      const typed = await testRoute({ id: "conn", url: elsewhere.wsUrl, token: sim.token });
      assert.equal(typed.ok, true, JSON.stringify(typed));
      assert.equal(reached, 1);
    } finally {
      await elsewhere.stop();
    }
  });

  it("answers with a code the editor translates: wrong path, http://, a token in the URL, no token", async () => {
    await deploy(sim.wsUrl);
    const token = sim.token;
    const wrongPath = await testRoute({ url: sim.wsUrl.replace("/ws/token/v1", "/ws"), token });
    assert.deepEqual([wrongPath.ok, wrongPath.code, wrongPath.status], [false, "not_found", 404]);
    assert.match(wrongPath.message ?? "", /must end at \/ws\/token\/v1/);
    // Mistakes in the URL itself are named without connecting (a token in the URL would be sent twice).
    let reached = 0;
    const count = () => {
      reached += 1;
    };
    sim.on("connection", count);
    try {
      const http = await testRoute({ url: sim.wsUrl.replace("ws://", "http://"), token });
      assert.deepEqual([http.ok, http.code], [false, "http_url"]);
      const pasted = await testRoute({ url: `${sim.wsUrl}/${token}`, token });
      assert.deepEqual([pasted.ok, pasted.code], [false, "token_in_url"]);
      assert.ok(!JSON.stringify(pasted).includes(token), "the token is never echoed");
      assert.equal(reached, 0);
    } finally {
      sim.off("connection", count);
    }
    const none = await testRoute({ url: sim.wsUrl });
    assert.deepEqual([none.ok, none.code], [false, "no_token"]);
  });
});
