import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, inject } from "vitest";
import "./plan-cache-setup.js";
import { REFERENCE_SITE, runCli, type CliResult } from "./cli.js";
import { tempDir } from "./paths.js";

/** One `palisade plan` of the reference site into a temporary directory, and readers over it. */
export interface PlannedOutput {
  readonly dir: string;
  readonly result: CliResult;
  /** Text of one artifact, by its path relative to the output directory. */
  text(path: string): string;
  json<T = unknown>(path: string): T;
  /** `cdktf/stacks/<stack>/cdk.tf.json`, parsed. */
  tf(stack: string): TfJson;
  /** `pulumi/<stack>.json`, parsed. */
  pulumi(stack: string): PulumiCapture;
}

export type TfJson = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  variable?: Record<string, { sensitive?: boolean; type?: string }>;
  provider?: Record<string, Record<string, unknown>[]>;
  terraform?: Record<string, unknown>;
};
export type PulumiCapture = { stack: string; resources: { type: string; name: string; provider?: string; inputs: Record<string, unknown> }[] };

const planned = new Map<string, Promise<PlannedOutput>>();

/** Plans into a fresh temporary directory (`--out`), through the real CLI entry, in this process. */
export async function planInto(dir: string, extra: string[] = [], site = REFERENCE_SITE): Promise<CliResult> {
  return runCli(["plan", "--site", site, "--out", dir, ...extra]);
}

/**
 * The plan of one site file (default: the reference), made once per test file (vitest isolates
 * modules per file) and shared by all its tests. Awaitable at the top of a file when `it.each`
 * needs the artifacts to list cases.
 */
export function planOnce(site = REFERENCE_SITE): Promise<PlannedOutput> {
  const cached = planned.get(site);
  if (cached) return cached;
  const made = (async () => {
    const dir = join(tempDir("plan"), "out");
    const result = await sharedPlan(site, dir);
    // Exit 1 is the verifier's verdict (violations) with every artifact written; these tests read
    // the artifacts. Anything else (2: bad input, or no manifest) means there is nothing to read.
    if (![0, 1].includes(result.code) || !existsSync(join(dir, "manifest.json"))) throw new Error(planFailure(site, result));
    const text = (path: string) => readFileSync(join(dir, path), "utf8");
    const json = <T>(path: string) => JSON.parse(text(path)) as T;
    return {
      dir,
      result,
      text,
      json,
      tf: (stack: string) => json<TfJson>(`cdktf/stacks/${stack}/cdk.tf.json`),
      pulumi: (stack: string) => json<PulumiCapture>(`pulumi/${stack}.json`),
    };
  })();
  planned.set(site, made);
  return made;
}

/** What a test reports when a plan it reads did not write its artifacts: the site file, the exit code and what the plan printed. */
export function planFailure(site: string, result: CliResult): string {
  const why = [0, 1].includes(result.code) ? `exit ${result.code}, but it wrote no manifest.json` : `exit ${result.code}`;
  const printed = (label: string, text: string) => (text.trim() ? `\n--- ${label} ---\n${text.trimEnd()}` : `\n--- ${label}: (empty) ---`);
  return `the plan of ${site} failed (${why}): \`palisade plan --site ${site}\` printed:${printed("stderr", result.stderr)}${printed("stdout", result.stdout)}`;
}

/**
 * Plans `site` into `dir`, through the run's plan cache when there is one: the first file of the
 * run that asks for a site plans it (into the cache, under a lock directory), every other file
 * copies that output. Each file gets its own copy, so a test that edits its plan harms no other.
 * A failed plan is cached like a passing one (its result.json, with no output), so every file that
 * asks for it reports the plan's own exit code and messages.
 */
async function sharedPlan(site: string, dir: string): Promise<CliResult> {
  const cache = inject("palisadePlanCache") as string | undefined;
  // No cache, or no site file to key it by: the CLI itself says what is wrong with the path.
  if (!cache || !existsSync(site)) return planInto(dir, [], site);
  const key = createHash("sha256").update(realpathSync(site)).update("\0").update(readFileSync(site)).digest("hex").slice(0, 20);
  const done = join(cache, key);
  const lock = `${done}.lock`;
  const resultFile = join(done, "result.json");
  if (!existsSync(resultFile)) {
    mkdirSync(cache, { recursive: true }); // the other project's teardown may have removed it
    let mine = false;
    try {
      mkdirSync(lock);
      mine = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (mine) {
      const tmp = `${done}.tmp`;
      try {
        rmSync(tmp, { recursive: true, force: true });
        // The plan writes nothing on bad input (exit 2), so tmp is made here, not by the plan.
        mkdirSync(tmp, { recursive: true });
        const result = await planInto(join(tmp, "out"), [], site);
        writeFileSync(join(tmp, "result.json"), JSON.stringify(result));
        renameSync(tmp, done);
      } catch (e) {
        rmSync(lock, { recursive: true, force: true }); // the waiters plan for themselves
        throw e;
      }
    } else {
      // Another file is planning this site: wait for it (a planner that died or gave up leaves no result; plan here then).
      for (let waited = 0; !existsSync(resultFile) && existsSync(lock) && waited < 180_000; waited += 200) await sleep(200);
      if (!existsSync(resultFile)) return planInto(dir, [], site);
    }
  }
  if (existsSync(join(done, "out"))) cpSync(join(done, "out"), dir, { recursive: true });
  return JSON.parse(readFileSync(resultFile, "utf8")) as CliResult;
}

/** `beforeAll` form: returns a getter that is valid inside tests. */
export function usePlan(site = REFERENCE_SITE): () => PlannedOutput {
  let value: PlannedOutput | undefined;
  beforeAll(async () => {
    value = await planOnce(site);
  });
  afterAll(() => {
    value = undefined;
  });
  return () => {
    if (!value) throw new Error("usePlan(): the plan is only available inside tests (after beforeAll)");
    return value;
  };
}
