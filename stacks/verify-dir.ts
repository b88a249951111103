import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { renderReport } from "../policies/report/index.js";
import type { Artifact } from "../core/index.js";
import { prefetchNftChecks, VerifyInputError, verifyArtifacts, type LabSection, type Report } from "../policies/verifier/index.js";
import { readArtifacts, sha256, writeOutAtomic } from "./output.js";
import { PALISADE_VERSION } from "./package-root.js";
import { provenanceOf } from "./provenance.js";
import { deriveInputs } from "./trusted-inputs.js";

export interface VerifyDirOptions {
  readonly strict?: boolean;
  /** The run date (--date / SOURCE_DATE_EPOCH), written into the report. @default - none */
  readonly date?: string;
  /** The day exceptions' expiry is judged against. @default the run date, else today (UTC) */
  readonly asOf?: string;
  /** The site to recompute the intent from. @default the directory's inputs/site.yaml */
  readonly siteFile?: string;
  /** Measure the verification (report.json's `timings`, junit.xml's times). @default false */
  readonly timings?: boolean;
}

/** Files `palisade lab` adds to `report/`: observations of these artifacts, kept when the report is rewritten. */
export const LAB_REPORT_FILES = ["lab.json", "lab-observed.json"] as const;

/**
 * Verifies an artifact directory from its files alone (the report of an earlier run is not an
 * input), adding what the lab observed on the same artifacts when it has run. The intent is
 * recomputed from the site (`siteFile`, else the directory's inputs/site.yaml), never trusted
 * from intent.json.
 */
export function verifyOutDir(dir: string, opts: VerifyDirOptions = {}): Report {
  const files = readOutDir(dir);
  return verifyRead(files, readInputs(dir, files, opts), opts);
}

/**
 * verifyOutDir, with `nft -c` on the host rulesets running in child processes while the site is
 * read and its intent derived (the CLI's path: at a thousand services nft takes 90 ms, the site
 * 250 ms; run in turn, the verifier waited for nft).
 */
export async function verifyOutDirConcurrently(dir: string, opts: VerifyDirOptions = {}): Promise<Report> {
  const files = readOutDir(dir);
  const nftChecks = prefetchNftChecks(files);
  const inputs = readInputs(dir, files, opts);
  await nftChecks;
  return verifyRead(files, inputs, opts);
}

function readOutDir(dir: string): Artifact[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new VerifyInputError(`${dir} is not a directory; run palisade plan --out ${dir} first`);
  return readArtifacts(dir, ["report"]);
}

function readInputs(dir: string, files: readonly Artifact[], opts: VerifyDirOptions) {
  const manifest = files.find((a) => a.path === "manifest.json")?.content;
  return {
    inputs: deriveInputs(new Map(files.map((a) => [a.path, a.content])), opts.siteFile),
    lab: labObservations(dir),
    provenance: provenanceOf(manifest, dir, opts.date, PALISADE_VERSION),
  };
}

function verifyRead(files: readonly Artifact[], read: ReturnType<typeof readInputs>, opts: VerifyDirOptions): Report {
  return verifyArtifacts(files, undefined, {
    strict: opts.strict,
    ...read,
    asOf: opts.asOf ?? opts.date ?? todayUtc(),
    ...(opts.timings ? { timings: true } : {}),
  });
}

/** Today's date (UTC), the default day exceptions expire against: never written into the report. */
export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * The lab's observations, if they were made on these artifacts: `report/lab.json` records the
 * manifest it ran against; a lab run on other artifacts (a later plan, a hand edit) is ignored.
 */
export function labObservations(dir: string): LabSection | undefined {
  const labFile = join(dir, "report", "lab.json");
  if (!existsSync(labFile)) return undefined;
  const lab = JSON.parse(readFileSync(labFile, "utf8")) as LabSection & { manifest?: string };
  if (lab.manifest !== undefined && lab.manifest !== manifestDigest(dir)) return undefined;
  const engines = lab.engines ? Object.fromEntries(Object.entries(lab.engines).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : undefined;
  return { probe: lab.probe, drills: lab.drills ?? {}, ...(engines && Object.keys(engines).length ? { engines } : {}) };
}

/** sha256 of `manifest.json`, which itself lists every artifact's sha256. */
export function manifestDigest(dir: string): string {
  const path = join(dir, "manifest.json");
  return existsSync(path) ? sha256(readFileSync(path)) : "";
}

/** Rewrites `dir/report/` from `report` (atomically), keeping the lab's own files. */
export function writeReportDir(dir: string, report: Report): void {
  const kept = LAB_REPORT_FILES.filter((f) => existsSync(join(dir, "report", f))).map((f) => ({ path: f, content: readFileSync(join(dir, "report", f), "utf8") }));
  writeOutAtomic(join(dir, "report"), [...renderReport(report).map((a) => ({ ...a, path: a.path.replace(/^report\//, "") })), ...kept]);
}
