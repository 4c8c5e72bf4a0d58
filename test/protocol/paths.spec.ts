import assert from "node:assert/strict";
import {
  canonicalRoot,
  checkInternalPath,
  DEFAULT_ROOT,
  ROOT_ALIASES,
  splitPath,
  validateDestpath,
} from "../../src/protocol";

describe("path aliases", () => {
  it("maps both forms of every root to the long form", () => {
    assert.equal(Object.keys(ROOT_ALIASES).length, 7);
    for (const [long, short] of Object.entries(ROOT_ALIASES)) {
      assert.equal(canonicalRoot(long), long);
      assert.equal(canonicalRoot(short), long);
    }
    assert.equal(canonicalRoot(":NOPE"), undefined);
    assert.equal(DEFAULT_ROOT, ":SYNC_DOMAIN_DATA");
  });

  it("splits internal paths, temp included, and refuses bad ones", () => {
    assert.deepEqual(splitPath(":GS_PUB/x/y/14.mp3"), {
      ok: true,
      value: { root: ":GLOBALSHARE_PUBLIC", rest: "x/y/14.mp3" },
    });
    assert.deepEqual(splitPath(":TEMP/ivr_records/a.wav"), {
      ok: true,
      value: { root: ":TEMP", rest: "ivr_records/a.wav" },
    });
    for (const bad of ["", "x/y", ":NOPE/a", ":GS_PUB/../etc/passwd", ":GS_PUB/a\\b", ":GS_PUB/a\u0000"]) {
      assert.equal(splitPath(bad).ok, false, bad);
    }
  });

  it("checks an internal path's syntax only, whatever its root (the platform has more roots)", () => {
    for (const good of [
      ":SOME_OTHER_ROOT/a.wav",
      ":GS_PUB/x/y/14.mp3",
      ":TEMP/a.wav",
      ":X",
      ":x/..a/b..",
      ":R/a b.wav",
    ]) {
      assert.deepEqual(checkInternalPath(good), { ok: true, path: good }, good);
    }
    const bad: Array<[string, RegExp]> = [
      ["", /empty/],
      ["a.wav", /root/],
      ["/etc/passwd", /root/],
      [":", /root/],
      [":/a.wav", /root/],
      [":SOME_ROOT/../etc/passwd", /\.\./],
      [":SOME_ROOT/a/..", /\.\./],
      [":SOME_ROOT/a\\b.wav", /backslash/],
      [":SOME_ROOT/a\u0000.wav", /control/],
      [":SOME_ROOT/a\n.wav", /control/],
      [":SOME_ROOT/a\u007f.wav", /control/],
    ];
    for (const [path, why] of bad) {
      const r = checkInternalPath(path);
      assert.equal(r.ok, false, JSON.stringify(path));
      assert.match(r.ok ? "" : r.message, why, JSON.stringify(path));
    }
    // splitPath keeps knowing only the listed roots (the simulator and destpath rely on it).
    assert.equal(splitPath(":SOME_OTHER_ROOT/a.wav").ok, false);
  });

  it("validates destpath: default root for relative paths, no :TEMP", () => {
    assert.deepEqual(validateDestpath(":GS_PUB/x/y/"), { ok: true, destpath: ":GS_PUB/x/y/" });
    assert.deepEqual(validateDestpath("prompts/"), { ok: true, destpath: ":SYNC_DOMAIN_DATA/prompts/" });
    assert.equal(validateDestpath(":TEMP/x").ok, false);
    assert.equal(validateDestpath("  ").ok, false);
    assert.equal(validateDestpath(":SS_PUB/../../x").ok, false);
  });
});
