// The record's counters as Prometheus text: components counted by oType and exit, without a key text per component,
// and bounded (a server that invents an exit per call cannot grow the series past the cap).
import assert from "node:assert/strict";
import { Metrics } from "../../src/session/metrics";
import { parseMetrics } from "../helpers/metrics";

describe("call record metrics: components by oType and exit", () => {
  it("counts a number oType and its text as one series, escapes labels, and caps distinct pairs under other", () => {
    const m = new Metrics();
    m.component(204, "transfer");
    m.component("204", "transfer");
    m.component(208, 'say "hi"');
    m.component(undefined, "x");
    for (let i = 0; i < 250; i++) m.component(100, `exit-${i}`);
    const text = m.render(0);
    const series = parseMetrics(text);
    assert.equal(series.get('ivrapi_components_total{otype="204",exit="transfer"}'), 2);
    assert.equal(series.get('ivrapi_components_total{otype="208",exit="say \\"hi\\""}'), 1);
    assert.equal(series.get('ivrapi_components_total{otype="",exit="x"}'), 1);
    const lines = text.split("\n").filter((l) => l.startsWith("ivrapi_components_total{"));
    // 200 pairs kept (3 before the loop, 197 of it), the other 53 under one series.
    assert.equal(lines.length, 201);
    assert.equal(series.get('ivrapi_components_total{otype="other",exit="other"}'), 53);
    assert.equal(series.get('ivrapi_components_total{otype="100",exit="exit-196"}'), 1);
    assert.equal(series.get('ivrapi_components_total{otype="100",exit="exit-197"}'), undefined);
    // A pair kept before the cap goes on counting after it.
    m.component(204, "transfer");
    assert.equal(parseMetrics(m.render(0)).get('ivrapi_components_total{otype="204",exit="transfer"}'), 3);
  });
});
