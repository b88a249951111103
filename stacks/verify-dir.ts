import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { renderReport } from "../policies/report/index.js";
import { VerifyInputError, verifyArtifacts, type LabSection, type Report } from "../policies/verifier/index.js";
import { readArtifacts, writeOutAtomic } from "./output.js";

/** Files `palisade lab` adds to `report/`: observations of these artifacts, kept when the report is rewritten. */
export const LAB_REPORT_FILES = ["lab.json", "lab-observed.json"] as const;

/**
 * Verifies an artifact directory from its files alone (the report of an earlier run is not an
 * input), adding what the lab observed on the same artifacts when it has run.
 */
export function verifyOutDir(dir: string, strict = false): Report {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new VerifyInputError(`${dir} is not a directory; run palisade plan --out ${dir} first`);
  const files = readArtifacts(dir).filter((a) => !a.path.startsWith("report/"));
  const report = verifyArtifacts(files, undefined, { strict });
  const labFile = join(dir, "report", "lab.json");
  if (!existsSync(labFile)) return report;
  const lab = JSON.parse(readFileSync(labFile, "utf8")) as LabSection;
  return { ...report, lab: { probe: lab.probe, drills: lab.drills ?? {} } };
}

/** Rewrites `dir/report/` from `report` (atomically), keeping the lab's own files. */
export function writeReportDir(dir: string, report: Report): void {
  const kept = LAB_REPORT_FILES.filter((f) => existsSync(join(dir, "report", f))).map((f) => ({ path: f, content: readFileSync(join(dir, "report", f), "utf8") }));
  writeOutAtomic(join(dir, "report"), [...renderReport(report).map((a) => ({ ...a, path: a.path.replace(/^report\//, "") })), ...kept]);
}
