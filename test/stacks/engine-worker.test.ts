import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hashTree } from "../helpers/cli.js";
import { ROOT, tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { siteFiles } from "../policies/planned-sites.js";

/*
 * Compiled (dist/, what the palisade bin runs), `plan --engine both` captures the Pulumi program in a
 * worker thread while the main thread synthesizes cdktf (stacks/engines.ts); from the sources (as
 * here, in-process) both run in one thread. The two must write the same bytes on every example.
 */
describe("plan with the Pulumi capture in a worker thread", () => {
  beforeAll(() => {
    const current = spawnSync(process.execPath, ["scripts/dist.mjs", "check"], { cwd: ROOT });
    if (current.status !== 0) expect(spawnSync(process.execPath, ["scripts/dist.mjs", "build"], { cwd: ROOT, encoding: "utf8" }).status).toBe(0);
  }, 300_000);

  it("GIVEN a site file that does not parse WHEN the compiled CLI plans (its Pulumi worker already loading) THEN it exits 2 with the site's error, no stack trace, nothing written", { timeout: 60_000 }, () => {
    const dir = tempDir("worker-bad");
    const bad = join(dir, "site.yaml");
    writeFileSync(bad, "site: [\n");
    const out = join(dir, "out");
    const r = spawnSync(process.execPath, ["scripts/palisade.mjs", "plan", "--site", bad, "--out", out], { cwd: ROOT, encoding: "utf8", timeout: 50_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/YAML/);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
    expect(existsSync(out)).toBe(false);
  });

  for (const site of siteFiles()) {
    it(`${site.name}: the compiled CLI writes what the in-process plan writes, byte for byte`, { timeout: 120_000 }, async () => {
      const inProcess = await planOnce(site.file);
      const out = join(tempDir("worker"), "out");
      const r = spawnSync(process.execPath, ["scripts/palisade.mjs", "plan", "--site", site.file, "--out", out], { cwd: ROOT, encoding: "utf8" });
      // The bin ran the build (no stale-build note), and the plan's verdict is the in-process one.
      expect(r.stderr).not.toMatch(/older than the sources/);
      expect(r.status).toBe(inProcess.result.code);
      const tree = hashTree(out);
      expect(Object.keys(tree).some((p) => p.startsWith("pulumi/"))).toBe(true);
      expect(tree).toEqual(hashTree(inProcess.dir));
    });
  }
});
