import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSite, type Site } from "../../core/index.js";
import { planSite } from "./planned-sites.js";
import { join } from "node:path";
import { readArtifacts } from "../../stacks/output.js";
import { verifyArtifacts, type Report } from "../../policies/verifier/index.js";
import { tempDir } from "../helpers/paths.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { deriveInputs } from "../../stacks/trusted-inputs.js";

/** A writable copy of a planned output directory (without its report). */
export function copyOut(from: string, prefix = "mut"): string {
  const dir = join(tempDir(prefix), "out");
  cpSync(from, dir, { recursive: true });
  rmSync(join(dir, "report"), { recursive: true, force: true });
  return dir;
}

export function editText(dir: string, path: string, edit: (text: string) => string): void {
  const file = join(dir, path);
  const before = readFileSync(file, "utf8");
  const after = edit(before);
  if (after === before) throw new Error(`mutation of ${path} changed nothing`);
  writeFileSync(file, after);
}

export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export function editJson(dir: string, path: string, edit: (json: Json) => void): void {
  editText(dir, path, (text) => {
    const json = JSON.parse(text) as Json;
    edit(json);
    return `${JSON.stringify(json, null, 2)}\n`;
  });
}

export const tfContainer = (json: Json, name: string): Json => json.resource.docker_container[`container_${name.replace(/-/g, "_")}`];
export const pulumiContainer = (json: Json, name: string): Json => json.resources.find((r: Json) => r.type === "docker:index/container:Container" && r.inputs.name === name).inputs;

/** Verifies a directory in-process (the same function `palisade verify` runs: the intent recomputed from the site). */
export function verifyDirInProcess(dir: string, opts: { pendingIsViolation?: boolean } = {}): Report {
  const files = readArtifacts(dir).filter((a) => !a.path.startsWith("report/"));
  return verifyArtifacts(files, undefined, { ...opts, inputs: deriveInputs(new Map(files.map((a) => [a.path, a.content]))) });
}

/** Every finding and guardrail of a report as one searchable line each. */
export function problemLines(r: Report): string[] {
  return [
    ...r.findings.filter((f) => f.severity === "violation").map((f) => `${f.kind} ${f.subject} ${f.message}`),
    ...r.guardrails.filter((g) => g.level === "mandatory").map((g) => `${g.rule} ${g.subject} ${g.message}`),
  ];
}

/** Every violation and mandatory guardrail of a report with the artifact and line it names. */
export function locatedProblems(r: Report): { line: string; artifact?: string; at?: number }[] {
  return [
    ...r.findings.filter((f) => f.severity === "violation").map((f) => ({ line: `${f.kind} ${f.subject} ${f.message}`, artifact: f.artifact, at: f.line })),
    ...r.guardrails.filter((g) => g.level === "mandatory").map((g) => ({ line: `${g.rule} ${g.subject} ${g.message}`, artifact: g.artifact, at: g.line })),
  ];
}

/**
 * `palisade verify --out DIR` as the operator runs it, with the report it wrote (report/report.json):
 * the exit code and the findings come from one run, not from the CLI and then a second verification.
 */
export async function verifyCli(dir: string): Promise<CliResult & { report: Report }> {
  const r = await runCli(["verify", "--out", dir]);
  const file = join(dir, "report", "report.json");
  if (!existsSync(file)) throw new Error(`palisade verify wrote no report (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { ...r, report: JSON.parse(readFileSync(file, "utf8")) as Report };
}

/**
 * A mutation's findings of this kind that match `expected`, asserted to exist, to name `artifact`
 * and (with a marker) to cite a line of it holding the marker; returned for further checks.
 */
export function expectFindingsOnLine(report: Report, dir: string, kind: string, m: { readonly expected: RegExp; readonly marker: string }, artifact: string): { line: string; artifact?: string; at?: number }[] {
  const all = locatedProblems(report);
  const found = all.filter((f) => f.line.startsWith(kind) && m.expected.test(f.line));
  expect(found.length, `expected ${m.expected} among:\n${all.map((f) => f.line).join("\n")}`).toBeGreaterThan(0);
  expect(found.every((f) => f.artifact === artifact)).toBe(true);
  if (m.marker) {
    const lines = readFileSync(join(dir, artifact), "utf8").split("\n");
    expect(found.some((f) => f.at !== undefined && lines[f.at - 1]!.includes(m.marker)), found.map((f) => `${f.at}: ${lines[(f.at ?? 0) - 1]}`).join("\n")).toBe(true);
  }
  return found;
}

/** One edit of a planned output: it must end in a finding of the suite's kind on the line holding `marker` ("" when the finding is about something absent). */
export interface SuiteMutation {
  readonly name: string;
  readonly apply: (dir: string, site: Site) => void;
  readonly expected: RegExp;
  readonly marker: string;
  /** The file the finding names (default: the suite's). */
  readonly artifact?: string;
  /** Where it is no weakening on this site (e.g. memory locking off in a Kubernetes pod), skipped. */
  readonly applies?: (site: Site) => boolean;
}

/**
 * The mutation suite of one finding kind, on each site: the plan has no finding of the kind; each
 * mutation makes `palisade verify` exit 1 with such a finding on the edited line of its file;
 * each neutral rewrite passes. `artifact` is the suite's file on a planned site.
 */
export function describeMutationSuite(opts: {
  readonly title: string;
  readonly kind: string;
  readonly sites: readonly { readonly name: string; readonly file: string }[];
  readonly artifact: (site: Site) => string;
  readonly mutations: readonly SuiteMutation[];
  readonly neutral: readonly { readonly name: string; readonly apply: (dir: string, site: Site) => void }[];
  /** Each edit gives one finding per line (an inherited setting is not reported once per place it applies). */
  readonly oneFindingPerLine?: boolean;
  /** Further cases on the same plan. */
  readonly more?: (planned: () => { dir: string; site: Site }) => void;
}): void {
  const lines = (dir: string) => problemLines(verifyDirInProcess(dir)).filter((l) => l.startsWith(opts.kind));
  describe.each(opts.sites)(opts.title, ({ file }) => {
    let planned: string;
    let site: Site;

    it(`GIVEN the plan WHEN verified THEN no ${opts.kind} finding`, async () => {
      planned = await planSite(file);
      site = parseSite(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
      expect(lines(planned)).toEqual([]);
    });

    for (const m of opts.mutations) {
      it(`GIVEN '${m.name}' WHEN palisade verify runs THEN it exits 1 with a ${opts.kind} finding on the edited line`, async (ctx) => {
        if (m.applies && !m.applies(site)) return ctx.skip();
        const dir = copyOut(planned);
        m.apply(dir, site);
        const r = await verifyCli(dir);
        expect(r.code, r.stdout).toBe(1);
        const found = expectFindingsOnLine(r.report, dir, opts.kind, m, m.artifact ?? opts.artifact(site));
        if (opts.oneFindingPerLine) expect(new Set(found.map((f) => f.line)).size).toBe(found.length);
      });
    }

    it.each(opts.neutral.map((m) => [m.name, m] as const))(`GIVEN '%s' WHEN verified THEN no ${opts.kind} finding`, (_n, m) => {
      const dir = copyOut(planned);
      m.apply(dir, site);
      expect(lines(dir)).toEqual([]);
    });

    opts.more?.(() => ({ dir: planned, site }));
  });
}
