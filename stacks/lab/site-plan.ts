/**
 * Plans a site into a directory in process, as `palisade plan` does (every engine, the manifest, the
 * verifier's report): the lab's runs over many sites (the examples, generated platforms) plan each
 * one without a CLI start-up per site.
 */
import { readFileSync } from "node:fs";
import { loadSite, type Site } from "../../core/index.js";
import { writeOutAtomic } from "../output.js";
import { manifestArtifact, planArtifacts, verdictLine, verifyPlan } from "../plan.js";
import type { Report } from "../../policies/verifier/index.js";

export interface SitePlan {
  readonly outDir: string;
  readonly report: Report;
  /** `verify: PASS - …`, the line `palisade plan` prints. */
  readonly verdict: string;
}

/** Plans `siteFile` into `outDir` (replacing what was there) and returns the verifier's report. */
export async function planSiteInto(siteFile: string, outDir: string, asOf = new Date().toISOString().slice(0, 10)): Promise<SitePlan> {
  const site = loadSite(siteFile);
  const siteText = readFileSync(siteFile, "utf8");
  const result = await planArtifacts(site, siteText, { engine: "both" });
  const artifacts = [...result.artifacts];
  const manifest = manifestArtifact(siteText, artifacts, "both");
  const { report, files } = verifyPlan([...artifacts, manifest], { asOf, site });
  writeOutAtomic(outDir, [...artifacts, manifest, ...files]);
  return { outDir, report, verdict: verdictLine(report) };
}

/**
 * Why the lab cannot run this platform, or undefined when it can. The lab brings up every
 * private-cloud site, each on a real dockerd of its own; a Kubernetes cloud would need an API
 * server, and none can be installed here (Debian and the npm registry have none).
 */
export function labCannotRun(site: Site): string | undefined {
  const kube = site.sites.find((s) => s.engine === "kubernetes");
  if (kube) return `site ${kube.id} runs on Kubernetes (engine: kubernetes); no Kubernetes API server can be installed here, so the lab runs Docker sites only`;
  return undefined;
}
