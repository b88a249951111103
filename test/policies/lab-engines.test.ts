import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { imageSpecs, readApplyPlan, type LabDocker } from "../../stacks/lab/docker/cloud.js";
import { writeLabReport } from "../../stacks/lab/report.js";
import type { Report } from "../../policies/verifier/index.js";
import { runCli } from "../helpers/cli.js";
import { planOnce, type PlannedOutput } from "../helpers/plan-once.js";
import { siteFiles } from "./planned-sites.js";
import { copyOut } from "./support.js";

/*
 * The report's lab engines: `palisade lab` records one Docker engine per site (the lab record's
 * `dockers`, by site id) and lab.json, report.json, index.html, segmentation.md and `palisade diff`
 * describe each, by site id, sorted. The engines here are stand-ins (no dockerd runs in this pure
 * test): what the lab records for a site, built from the site's planned stack (the applier's plan
 * of it, its images as the lab would build them); the lab itself is test/lab/sites.test.ts.
 */

/** A stand-in for what the lab records of a site's dockerd (fields a report does not read are empty). */
function standInDocker(outDir: string, stack: string, rewrites: string[]): LabDocker {
  const plan = readApplyPlan(outDir, "cdktf", stack);
  return {
    engine: "cdktf",
    artifact: plan.source,
    paths: {} as LabDocker["paths"],
    pid: 0,
    createdHostFiles: [],
    containers: {},
    notApplied: {},
    volumes: {},
    images: imageSpecs(plan).map((i) => ({ ref: i.ref, kind: i.kind, cached: false })),
    rewrites,
    timings: {},
  };
}

const cases: { name: string; planned: PlannedOutput; sites: { id: string; stack: string }[] }[] = [];
for (const s of siteFiles()) {
  const site = loadSite(s.file);
  if (site.sites.some((x) => x.engine === "kubernetes")) continue; // the lab runs Docker sites only (labCannotRun)
  const multi = site.sites.length > 1;
  if (!multi && cases.some((c) => c.sites.length === 1)) continue; // one one-site platform is enough for the one-site form
  cases.push({ name: s.name, planned: await planOnce(s.file), sites: site.sites.map((x) => ({ id: x.id, stack: multi ? x.id : "cloud" })) });
}
const multiSite = cases.filter((c) => c.sites.length > 1);

/** Every site's stand-in engine, recorded in the reverse of the site file's order (the report sorts). */
function dockersOf(dir: string, sites: { id: string; stack: string }[], extra: Record<string, string[]> = {}): Record<string, LabDocker> {
  return Object.fromEntries([...sites].reverse().map((s) => [s.id, standInDocker(dir, s.stack, [`bind mount of ${s.stack}'s secrets moved under the lab's run directory`, ...(extra[s.id] ?? [])])]));
}

const sorted = (ids: string[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe("the examples the report's lab engines are tested on", () => {
  it("GIVEN the examples WHEN listed THEN at least one has several Docker sites", () => {
    expect(multiSite.length).toBeGreaterThan(0);
  });
});

describe.each(cases)("the lab's engines in the report of $name", ({ planned, sites }) => {
  it("GIVEN every site's engine recorded by the lab WHEN lab.json is written THEN lab.json, report.json, index.html and segmentation.md describe each site's, by site id, sorted", () => {
    const dir = copyOut(planned.dir, "lab-engines");
    writeLabReport(dir, { dockers: dockersOf(dir, sites) });
    const ids = sorted(sites.map((s) => s.id));
    const lab = JSON.parse(readFileSync(join(dir, "report", "lab.json"), "utf8")) as { engines: Record<string, { artifact: string; images: unknown[] }>; engine?: unknown };
    expect(Object.keys(lab.engines)).toEqual(ids);
    expect(lab.engine).toBeUndefined();
    const report = JSON.parse(readFileSync(join(dir, "report", "report.json"), "utf8")) as Report;
    expect(Object.keys(report.lab!.engines!)).toEqual(ids);
    const html = readFileSync(join(dir, "report", "index.html"), "utf8");
    const section = html.slice(html.indexOf('<section id="lab-expected-vs-observed">'));
    const md = readFileSync(join(dir, "report", "segmentation.md"), "utf8");
    for (const s of sites) {
      const e = report.lab!.engines![s.id]!;
      expect(e.artifact).toBe(`cdktf/stacks/${s.stack}/cdk.tf.json`);
      expect(e.images.length).toBeGreaterThan(0);
      expect(section).toContain(`<td><code>${s.id}</code></td><td><code>${e.artifact}</code></td>`);
      expect(md).toContain(`- engine of site \`${s.id}\`: \`${e.artifact}\``);
    }
    // Sorted by site id in every format.
    const at = (text: string, id: string) => text.indexOf(`<code>${id}</code></td><td><code>cdktf/`);
    expect(ids.map((id) => at(section, id))).toEqual([...ids.map((id) => at(section, id))].sort((a, b) => a - b));
  });

  it("GIVEN the same lab run written twice WHEN compared THEN lab.json and the report are byte-identical (deterministic)", () => {
    const a = copyOut(planned.dir, "lab-engines-a");
    const b = copyOut(planned.dir, "lab-engines-b");
    writeLabReport(a, { dockers: dockersOf(a, sites) });
    writeLabReport(b, { dockers: Object.fromEntries(Object.entries(dockersOf(b, sites)).reverse()) });
    for (const f of ["lab.json", "report.json", "index.html", "segmentation.md"]) expect(readFileSync(join(a, "report", f), "utf8")).toBe(readFileSync(join(b, "report", f), "utf8"));
  });
});

describe.each(multiSite)("palisade diff on the lab engines of $name (several sites)", ({ planned, sites }) => {
  it("GIVEN a lab-only change on the second site's engine only WHEN palisade diff compares the two THEN it exits 1 and the engines section names that site and no other", async () => {
    const second = sites[1]!.id;
    const base = copyOut(planned.dir, "lab-engines-base");
    const head = copyOut(planned.dir, "lab-engines-head");
    writeLabReport(base, { dockers: dockersOf(base, sites) });
    writeLabReport(head, { dockers: dockersOf(head, sites, { [second]: ["the stand-in's variable value replaced for the lab"] }) });
    const r = await runCli(["diff", "--base", base, "--out", head]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Lab engines");
    expect(r.stdout).toContain(`${second} lab-only changes`);
    for (const s of sites.filter((x) => x.id !== second)) expect(r.stdout).not.toContain(`${s.id} lab-only changes`);
  });

  it("GIVEN the same lab engines on both sides WHEN palisade diff compares them THEN it exits 0 (no change)", async () => {
    const base = copyOut(planned.dir, "lab-engines-same-a");
    const head = copyOut(planned.dir, "lab-engines-same-b");
    writeLabReport(base, { dockers: dockersOf(base, sites) });
    writeLabReport(head, { dockers: dockersOf(head, sites) });
    const r = await runCli(["diff", "--base", base, "--out", head]);
    expect(r.code).toBe(0);
  });
});
