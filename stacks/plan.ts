import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { sortArtifacts, type Artifact, type PlanWarning, type Site } from "../core/index.js";
import { renderEngines, type EngineChoice, type PulumiWorker } from "./engines.js";
import { sha256 } from "./output.js";
import { PALISADE_VERSION } from "./package-root.js";
import { buildPlatform } from "./platform.js";
import { renderIntent } from "../policies/intent.js";
import { prefetchNftChecks, verifyArtifacts, type Provenance, type Report } from "../policies/verifier/index.js";
import { renderReport } from "../policies/report/index.js";
import { deriveInputs, inputsFromSite, siteCopyArtifact } from "./trusted-inputs.js";

export interface PlanOptions {
  readonly engine: EngineChoice;
  /** The Pulumi capture's worker, started before the site was read (startPulumiWorker); the engines close it when done, the caller when the plan fails before. */
  readonly pulumiWorker?: PulumiWorker;
}

export interface PlanResult {
  readonly artifacts: readonly Artifact[];
  readonly warnings: readonly PlanWarning[];
  /** Resources per stack and engine, for the summary line. */
  readonly resourceCounts: Readonly<Record<string, number>>;
}

const require = createRequire(import.meta.url);
function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Renders every artifact of the site (engines and host files) plus `manifest.json`. No I/O besides reads. */
export async function planArtifacts(site: Site, siteText: string, opts: PlanOptions): Promise<PlanResult> {
  const platform = buildPlatform(site);
  // nft -c on the host rulesets runs in child processes while the engines render; the verifier reads its answers.
  const nftChecks = prefetchNftChecks(platform.hostFiles);
  const engineFiles = await renderEngines(platform.topology, opts.engine, opts.pulumiWorker);
  await nftChecks;
  // The site itself goes along (inputs/site.yaml, hashed in the manifest): verify recomputes the intent from it.
  const artifacts = sortArtifacts([...engineFiles, ...platform.hostFiles, renderIntent(platform.topology), siteCopyArtifact(siteText)]);
  const resourceCounts: Record<string, number> = {};
  for (const a of engineFiles) {
    const json = JSON.parse(a.content) as { resource?: Record<string, Record<string, unknown>>; resources?: unknown[] };
    const n = a.path.startsWith("cdktf/")
      ? Object.values(json.resource ?? {}).reduce((s, r) => s + Object.keys(r).length, 0)
      : (json.resources ?? []).length;
    resourceCounts[a.path.replace(/^cdktf\/stacks\/(\w+)\/cdk\.tf\.json$/, "cdktf:$1").replace(/^pulumi\/(\w+)\.json$/, "pulumi:$1")] = n;
  }
  return { artifacts, warnings: platform.topology.warnings, resourceCounts };
}

/** The manifest: inputs' hash, tool versions, every file with its sha256. No timestamps. */
export function manifestArtifact(siteText: string, artifacts: readonly Artifact[], engine: EngineChoice): Artifact {
  const manifest = {
    palisade: PALISADE_VERSION,
    inputs: { site: sha256(siteText) },
    engine,
    versions: { cdktf: versionOf("cdktf"), "@cdktf/provider-docker": versionOf("@cdktf/provider-docker"), "@pulumi/pulumi": versionOf("@pulumi/pulumi"), "@pulumi/docker": versionOf("@pulumi/docker") },
    files: artifacts.map((a) => ({ path: a.path, sha256: sha256(a.content) })),
  };
  return { path: "manifest.json", content: `${JSON.stringify(manifest, null, 2)}\n` };
}

/**
 * Runs the verifier on the planned artifacts (in memory) and renders the report files (`report/*`).
 * The intent is recomputed from the site (given, or the copy among the artifacts), never read from intent.json.
 */
export function verifyPlan(
  artifacts: readonly Artifact[],
  opts: { readonly strict?: boolean; readonly provenance?: Provenance; readonly asOf?: string; readonly site?: Site; readonly timings?: boolean } = {},
): { readonly report: Report; readonly files: readonly Artifact[] } {
  const inputs = opts.site ? inputsFromSite(opts.site, "the site file") : deriveInputs(new Map(artifacts.map((a) => [a.path, a.content])));
  const report = verifyArtifacts(artifacts, undefined, { strict: opts.strict, provenance: opts.provenance, asOf: opts.asOf, inputs, ...(opts.timings ? { timings: true } : {}) });
  return { report, files: renderReport(report) };
}

/** One line: the verifier's verdict and its counts. */
export function verdictLine(report: Report): string {
  const s = report.summary;
  return `verify: ${s.verdict.toUpperCase()} - ${s.intendedEffective}/${s.flowsIntended} intended flows effective, ${s.intendedPending} pending, ${s.intendedBroken} broken, ${s.unexpected} unexpected, must-never ${s.neversBlocked} blocked/${s.neversViolated} violated/${s.neversPending} pending/${s.neversImpossible} cannot happen, ${s.violations} violation(s), guardrails ${s.guardrailsMandatory} mandatory/${s.guardrailsAdvisory} advisory`;
}
