import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers/paths.js";

/** A project skeleton: scripts/dist.mjs, one source file and a build stamp, each dated as given (seconds). */
function skeleton(times: { readonly source: number; readonly stamp?: number }): string {
  const dir = tempDir("dist");
  mkdirSync(join(dir, "scripts"));
  mkdirSync(join(dir, "core"));
  cpSync(join(ROOT, "scripts/dist.mjs"), join(dir, "scripts/dist.mjs"));
  writeFileSync(join(dir, "core/a.ts"), "export const a = 1;\n");
  utimesSync(join(dir, "core/a.ts"), times.source, times.source);
  utimesSync(join(dir, "scripts/dist.mjs"), 1, 1);
  if (times.stamp !== undefined) {
    mkdirSync(join(dir, "dist"));
    writeFileSync(join(dir, "dist/build-stamp"), "");
    utimesSync(join(dir, "dist/build-stamp"), times.stamp, times.stamp);
  }
  return dir;
}

const check = (dir: string) => spawnSync(process.execPath, [join(dir, "scripts/dist.mjs"), "check"]).status;

describe("dist/ freshness (what scripts/palisade.mjs runs)", () => {
  it("GIVEN a build newer than every source WHEN checked THEN the build is current", () => {
    expect(check(skeleton({ source: 1000, stamp: 2000 }))).toBe(0);
  });

  it("GIVEN a source edited after the build WHEN checked THEN the build is stale", () => {
    expect(check(skeleton({ source: 3000, stamp: 2000 }))).toBe(1);
  });

  it("GIVEN no build at all WHEN checked THEN the build is stale", () => {
    expect(check(skeleton({ source: 1000 }))).toBe(1);
  });
});

describe("the palisade bin", () => {
  it("GIVEN a current build WHEN --help runs THEN it runs the compiled CLI, without the stale-build note", () => {
    const built = spawnSync(process.execPath, ["scripts/dist.mjs", "check"], { cwd: ROOT });
    if (built.status !== 0) expect(spawnSync(process.execPath, ["scripts/dist.mjs", "build"], { cwd: ROOT }).status).toBe(0);
    const r = spawnSync(process.execPath, ["scripts/palisade.mjs", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: palisade <command>");
    expect(r.stderr).toBe("");
  });
});
