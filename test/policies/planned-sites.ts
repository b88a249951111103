import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { loadSite } from "../../core/index.js";
import { generateSite } from "../../scripts/lab-fuzz/generate-site.js";
import type { Hook } from "../../policies/verifier/nftables.js";
import { planOnce } from "../helpers/plan-once.js";
import { REFERENCE_SITE, ROOT, tempDir } from "../helpers/paths.js";

/**
 * Every site the mutation tests run over: the reference and each example (examples/*.yaml), each
 * once (examples/reference.yaml is a link to the reference: planning it twice proves nothing more).
 */
export function siteFiles(): { name: string; file: string }[] {
  const dir = join(ROOT, "examples");
  const examples = existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => ({ name: `examples/${f}`, file: join(dir, f) }))
    : [];
  const reference = realpathSync(REFERENCE_SITE);
  return [{ name: "palisade.yaml", file: REFERENCE_SITE }, ...examples.filter((e) => realpathSync(e.file) !== reference)];
}

/**
 * The site file of a generated platform (scripts/lab-fuzz's generator, one seed): written once per
 * run beside the plan cache, at one path, so that every test file asking for it shares one plan.
 */
export function generatedSiteFile(seed: number): { name: string; file: string } {
  const dir = (inject("palisadePlanCache") as string | undefined) ?? tempDir("generated");
  const file = join(dir, `generated-${seed}.yaml`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, generateSite(seed).yaml);
    renameSync(tmp, file);
  }
  return { name: `a generated platform (seed ${seed})`, file };
}

/**
 * The sites whose private cloud is one Docker host (cloud.engine docker, one site): the tests of Docker
 * networks, containers and the cloud host's nftables run over these, written against the one-site
 * layout (hosts/cloud/...); a Kubernetes cloud has its own tests, and so has a platform of several
 * sites (test/stacks/two-sites.test.ts, test/policies/residency.test.ts).
 */
export function dockerSiteFiles(): { name: string; file: string }[] {
  return siteFiles().filter((s) => {
    const site = loadSite(s.file);
    return site.cloud.engine !== "kubernetes" && site.sites.length === 1;
  });
}

/** The platforms of one private-cloud site, Docker or Kubernetes: tests of the one-site layout (the host `cloud`) run over these. */
export function oneSiteFiles(): { name: string; file: string }[] {
  return siteFiles().filter((s) => loadSite(s.file).sites.length === 1);
}

/** The plan of one site, made once per run (see planOnce) and copied for this file; throws unless the plan wrote its artifacts. */
export async function planSite(file: string): Promise<string> {
  return (await planOnce(file)).dir;
}

/** The packet paths through a host's hooks that the nft equivalence tests try: to the host, through it, from it. */
export const HOST_PATHS: readonly (readonly Hook[])[] = [["prerouting", "input"], ["prerouting", "forward", "postrouting"], ["output", "postrouting"]];

/** Every nftables.conf under a planned directory's hosts/ (or any directory), sorted. */
export function rulesetsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...rulesetsUnder(p));
    else if (e === "nftables.conf") out.push(p);
  }
  return out.sort();
}
