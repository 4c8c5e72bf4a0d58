// Reading Prometheus text exposition format (0.0.4) in tests: every sample line must parse.
import assert from "node:assert/strict";

/** Every series of a Prometheus text exposition, by its name and labels as written. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const value = Number(m[3]);
    assert.ok(!Number.isNaN(value), line);
    out.set(`${m[1]}${m[2] ?? ""}`, value);
  }
  return out;
}
