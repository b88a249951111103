/**
 * The lab's report hook: `out/report/lab.json` (expected vs observed, counts, drill figures) for
 * the report's lab section, and `out/report/lab-observed.json` (the observed matrix). Each run
 * merges its part into the existing file, so probe and drills accumulate (a drill run on several
 * sites: one entry per site, `fiber-cut:us`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProbeResult } from "./probe.js";
import type { DrillResult } from "./drills.js";
import type { LabDocker } from "./docker/cloud.js";
import { manifestDigest, verifyOutDir, writeReportDir } from "../verify-dir.js";
import type { LabEngineRecord } from "../../policies/verifier/index.js";

export interface LabReport {
  readonly version: 1;
  /** sha256 of the manifest.json of the artifacts the lab ran: observations of other artifacts are ignored. */
  manifest?: string;
  probe?: {
    readonly expectedFrom: string;
    readonly correct: number;
    readonly incorrect: number;
    readonly expected: readonly string[];
    readonly observed: readonly string[];
    readonly mismatches: readonly { line: string; expected: boolean; observed: boolean }[];
    readonly checks: readonly { name: string; pass: boolean; detail: string }[];
  };
  drills: Record<string, { pass: boolean; figures: Record<string, unknown>; targets: Record<string, string>; notes: readonly string[] }>;
  /**
   * Per site id (sorted, one entry on a one-site lab too): the site's Docker engine the lab ran,
   * which artifact the applier (a stand-in for terraform apply / pulumi up) applied, the images it
   * built, and every lab-only change to what the artifacts say, with its reason.
   * @default - absent (a lab without the engine section)
   */
  engines?: Record<string, LabEngineRecord>;
  /** The first site's engine alone, as lab.json held it before `engines`: dropped when the file is next written. */
  engine?: unknown;
}

/** A drill's key in lab.json's `drills`: its name, and on a lab of several sites `name:site` (one entry per site). */
export function drillKey(d: DrillResult): string {
  return d.site ? `${d.name}:${d.site}` : d.name;
}

/** A site's engine as lab.json and the report describe it. */
export function labEngineRecord(d: LabDocker): LabEngineRecord {
  return {
    applier: `the lab's applier, a stand-in for ${d.engine === "cdktf" ? "terraform apply" : "pulumi up"} (Docker Engine API, the kreuzwerker provider's order)`,
    artifact: d.artifact,
    images: d.images.map((i) => ({ ref: i.ref, kind: i.kind })),
    rewrites: d.rewrites,
  };
}

/** `dockers`: every site's engine, by site id (the lab record's `dockers`). */
export function writeLabReport(outDir: string, part: { probe?: ProbeResult; drill?: DrillResult; drills?: readonly DrillResult[]; dockers?: Readonly<Record<string, LabDocker>> }): string {
  const dir = join(outDir, "report");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "lab.json");
  const report: LabReport = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as LabReport) : { version: 1, drills: {} };
  report.drills ??= {};
  const manifest = manifestDigest(outDir);
  if (report.manifest !== manifest) {
    // Observations of other artifacts do not carry over.
    delete report.probe;
    report.drills = {};
    report.manifest = manifest;
  }
  if (part.probe) {
    const p = part.probe;
    report.probe = { expectedFrom: p.expectedFrom, correct: p.correct, incorrect: p.incorrect, expected: p.expected, observed: p.observed, mismatches: p.mismatches, checks: p.checks };
    writeFileSync(join(dir, "lab-observed.json"), `${JSON.stringify({ version: 1, flows: p.observed, attempts: p.attempts }, null, 2)}\n`);
  }
  if (part.dockers && Object.keys(part.dockers).length) {
    const ids = Object.keys(part.dockers).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    report.engines = Object.fromEntries(ids.map((id) => [id, labEngineRecord(part.dockers![id]!)]));
  }
  delete report.engine;
  for (const d of [...(part.drill ? [part.drill] : []), ...(part.drills ?? [])]) {
    report.drills[drillKey(d)] = { pass: d.pass, figures: d.figures, targets: d.targets, notes: d.notes };
  }
  const sorted = { ...report, drills: Object.fromEntries(Object.entries(report.drills).sort(([a], [b]) => a.localeCompare(b))) };
  writeFileSync(file, `${JSON.stringify(sorted, null, 2)}\n`);
  // The auditor's report shows what the lab observed next to what the verifier computed.
  writeReportDir(outDir, verifyOutDir(outDir));
  return file;
}
