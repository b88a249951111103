import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { siteSchema } from "../../core/index.js";
import { REFERENCE_SITE, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce, type PlannedOutput } from "../helpers/plan-once.js";
import { siteFiles } from "./planned-sites.js";
import { copyOut, editJson } from "./support.js";

/*
 * Provenance in every format, a run date only when given, and exceptions governed by owner,
 * ticket and expiry: an expired one fails the run (judged against --date, SOURCE_DATE_EPOCH or
 * today, in that order).
 */

const planned = await planOnce();
const FORMATS = ["report/report.json", "report/index.html", "report/segmentation.md", "report/findings.sarif", "report/junit.xml", "report/provenance.json"];

/**
 * A plan of the reference site whose first governance entry (if any) expires on `day`. The site is
 * edited, not intent.json: the verifier recomputes the intent (exceptions included) from the site.
 */
async function withExpiry(day: string): Promise<string | undefined> {
  const text = readFileSync(REFERENCE_SITE, "utf8");
  const moved = text.replace(/expires: "\d{4}-\d{2}-\d{2}"/, `expires: "${day}"`);
  if (moved === text) return undefined; // a site without governance entries has nothing to move
  const root = tempDir("expiry");
  const site = join(root, "palisade.yaml");
  writeFileSync(site, moved);
  const out = join(root, "out");
  const r = await runCli(["plan", "--site", site, "--out", out, "--date", day]);
  if (r.code !== 0) throw new Error(`plan of the moved expiry failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return out;
}

const sites: { name: string; plan: PlannedOutput }[] = [];
for (const x of siteFiles()) sites.push({ name: x.name, plan: await planOnce(x.file) });

describe.each(sites)("provenance of the $name plan", ({ plan }) => {
  const manifest = plan.text("manifest.json");
  const siteHash = JSON.parse(manifest).inputs.site as string;
  const manifestHash = createHash("sha256").update(manifest).digest("hex");

  it.each(FORMATS)("GIVEN a plan WHEN %s is read THEN it carries the site's and the manifest's hashes and the Palisade and engine versions", (path) => {
    const text = plan.text(path);
    expect(text).toContain(siteHash);
    expect(text).toContain(manifestHash);
    for (const [pkg, version] of Object.entries(JSON.parse(manifest).versions as Record<string, string>)) {
      expect(text).toContain(pkg);
      expect(text).toContain(version);
    }
  });

  it("GIVEN a plan outside any git repository WHEN read THEN provenance says so rather than inventing a commit", () => {
    expect(plan.json<{ provenance: { git?: unknown } }>("report/report.json").provenance.git).toBeUndefined();
    expect(plan.text("report/segmentation.md")).toContain("not in a git repository");
  });

  it("GIVEN the report WHEN its controls are read THEN each segmentation rule names SOC 2 CC6.1/CC6.6 and ISO/IEC 27001:2022 A.8.20/A.8.22", () => {
    const line = plan.text("report/segmentation.md").split("\n").find((l) => l.startsWith("| `segmentation/never-reachable`"))!;
    for (const c of ["SOC 2 CC6.1", "SOC 2 CC6.6", "A.8.20", "A.8.22", "CIS Kubernetes", "CIS Docker"]) expect(line).toContain(c);
  });
});

describe("provenance: the run date (verify of the reference's plan)", () => {

  it("GIVEN no --date and no SOURCE_DATE_EPOCH WHEN planned THEN the report has no run date and verify writes it byte-identical", async () => {
    expect(planned.json<{ provenance: { date?: string } }>("report/report.json").provenance.date).toBeUndefined();
    const dir = copyOut(planned.dir);
    await runCli(["verify", "--out", dir]);
    const first = FORMATS.map((f) => readFileSync(join(dir, f), "utf8"));
    await runCli(["verify", "--out", dir]);
    expect(FORMATS.map((f) => readFileSync(join(dir, f), "utf8"))).toEqual(first);
  });

  it("GIVEN SOURCE_DATE_EPOCH WHEN verified THEN its day is the run date in every format", async () => {
    const dir = copyOut(planned.dir);
    const before = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = "1780272000"; // 2026-06-01T00:00:00Z
    try {
      await runCli(["verify", "--out", dir]);
    } finally {
      if (before === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = before;
    }
    for (const f of FORMATS) expect(readFileSync(join(dir, f), "utf8")).toContain("2026-06-01");
  });

  it("GIVEN --date that is no date WHEN verified THEN it exits 2 naming the value and the format", async () => {
    const r = await runCli(["verify", "--out", copyOut(planned.dir), "--date", "01/12/2026"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"01/12/2026"');
    expect(r.stderr).toContain("YYYY-MM-DD");
  });

});

describe("exceptions with governance (the reference's governed exceptions: no other example declares one)", () => {
  it("GIVEN the site schema WHEN an exception entry lacks its owner THEN it is rejected naming the field", () => {
    const r = siteSchema.shape.exceptions.safeParse([{ service: "api", kind: "capability", reason: "x", ticket: "T-1", expires: "2027-01-01" }]);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain("owner");
  });

  it("GIVEN the site schema WHEN an expiry is not a calendar date THEN it is rejected", () => {
    const r = siteSchema.shape.exceptions.safeParse([{ service: "api", kind: "capability", reason: "x", owner: "o", ticket: "T-1", expires: "2027-02-30" }]);
    expect(r.success).toBe(false);
  });

  it("GIVEN governance entries in the intent WHEN verified THEN the report lists each exception's owner, ticket and expiry", () => {
    const report = planned.json<{ exceptions: { governance?: { owner: string; ticket: string; expires: string } }[] }>("report/report.json");
    const intent = planned.json<{ exceptions?: unknown[] }>("intent.json");
    if (!intent.exceptions?.length) return;
    const governed = report.exceptions.filter((e) => e.governance);
    expect(governed.length).toBeGreaterThan(0);
    for (const e of governed) expect(planned.text("report/index.html")).toContain(e.governance!.ticket);
  });

  it("GIVEN an exception that expired the day before --date WHEN verified THEN the run fails with exception-expired; on its last day it passes", async () => {
    const dir = await withExpiry("2026-05-31");
    if (!dir) return;
    const after = await runCli(["verify", "--out", dir, "--date", "2026-06-01"]);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/violation: \[exception-expired\] .*expired on 2026-05-31/);
    const onDay = await runCli(["verify", "--out", dir, "--date", "2026-05-31"]);
    expect(onDay.stdout).not.toContain("exception-expired");
  });

  it("GIVEN an exception that expired long ago and no date given WHEN verified THEN today's date judges it and the run fails", async () => {
    const dir = await withExpiry("2000-01-01");
    if (!dir) return;
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("exception-expired");
  });
});
