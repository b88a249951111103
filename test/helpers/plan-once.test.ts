import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runCli } from "./cli.js";
import { tempDir } from "./paths.js";
import { mutated } from "./sites.js";

/*
 * The run's plan cache (plan-once.ts) must report a plan that fails as the plan itself reports it:
 * the site file, the exit code and the plan's own messages, in the first file that plans the site
 * and in every later one that reads the cached result; never an error about the cache's own files.
 */

/** One temporary directory for this file's site files and direct plans. */
const base = tempDir("plan-cache-test");
let made = 0;
const fresh = (name: string) => join(base, `${++made}-${name}`);

/** A fresh copy of plan-once.ts (its per-file memo emptied), so a second planOnce goes through the run's cache. */
async function freshPlanOnce(): Promise<typeof import("./plan-once.js").planOnce> {
  vi.resetModules();
  return (await import("./plan-once.js")).planOnce;
}

async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("the plan was expected to fail, and it passed");
}

/** What the CLI itself prints for `site` (planned into a directory of its own). */
async function cliErrorOf(site: string): Promise<{ code: number; stderr: string }> {
  const r = await runCli(["plan", "--site", site, "--out", fresh("out")]);
  return { code: r.code, stderr: r.stderr };
}

describe("the plan cache reports a failed plan's own error", () => {
  it("GIVEN a site file the loader refuses WHEN planned through the cache, twice THEN both failures name the file, exit 2 and the plan's message", async () => {
    const site = fresh("bad-site.yaml");
    writeFileSync(site, mutated((s) => (s.domain = 42)));
    const direct = await cliErrorOf(site);
    expect(direct.code).toBe(2);
    expect(direct.stderr).toContain("domain");

    for (const attempt of ["first (plans into the cache)", "second (reads the cached result)"]) {
      const message = await failureOf((await freshPlanOnce())(site));
      expect(message, attempt).toContain(site);
      expect(message, attempt).toContain("exit 2");
      expect(message, attempt).toContain(direct.stderr.trim());
      expect(message, attempt).not.toMatch(/ENOENT|result\.json/);
    }
  });

  it("GIVEN a site file that does not exist WHEN planned through the cache THEN the failure is the plan's own (exit 2, the path), not the cache's", async () => {
    const site = fresh("no-such-site.yaml");
    const direct = await cliErrorOf(site);
    expect(direct.code).toBe(2);
    const message = await failureOf((await freshPlanOnce())(site));
    expect(message).toContain("exit 2");
    expect(message).toContain(direct.stderr.trim());
    expect(message).not.toMatch(/result\.json|realpath/);
  });

  it("GIVEN a site file that plans WHEN planned through the cache THEN its artifacts are there to read", async () => {
    const site = fresh("good-site.yaml");
    writeFileSync(site, mutated(() => {}));
    const plan = await (await freshPlanOnce())(site);
    expect([0, 1]).toContain(plan.result.code);
    expect(plan.json<Record<string, unknown>>("manifest.json")).toBeTruthy();
  });
});
