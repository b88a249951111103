import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Report } from "../../policies/verifier/index.js";
import { runCli } from "../helpers/cli.js";
import { planOnce, type PlannedOutput } from "../helpers/plan-once.js";
import { siteFiles } from "./planned-sites.js";
import { copyOut } from "./support.js";

/*
 * junit.xml's times (issue 13: "JUnit with times, files, failure text and totals"): 0 by default, so
 * the output stays byte-identical (with a run date too); measured with `--timings`, on every example.
 */

const sites: { name: string; planned: PlannedOutput }[] = [];
for (const s of siteFiles()) sites.push({ name: s.name, planned: await planOnce(s.file) });

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
const tags = (xml: string, el: string) => xml.match(new RegExp(`<${el} [^>]*>`, "g")) ?? [];

describe.each(sites)("junit.xml's times on $name", ({ planned }) => {
  it("GIVEN no --timings WHEN verified twice, once with a run date THEN every time is 0 and the two junit.xml differ only by the date", async () => {
    const a = copyOut(planned.dir, "junit-a");
    const b = copyOut(planned.dir, "junit-b");
    await runCli(["verify", "--out", a]);
    await runCli(["verify", "--out", b, "--date", "2026-01-02"]);
    const xa = readFileSync(join(a, "report", "junit.xml"), "utf8");
    const xb = readFileSync(join(b, "report", "junit.xml"), "utf8");
    for (const xml of [xa, xb]) for (const t of [...tags(xml, "testsuites"), ...tags(xml, "testsuite"), ...tags(xml, "testcase")]) expect(attr(t, "time")).toBe("0");
    const undated = (xml: string) => xml.replace(/<property name="run date" value="[^"]*"\/>/g, "<property run date/>");
    expect(xb).toContain('<property name="run date" value="2026-01-02"/>');
    expect(undated(xb)).toBe(undated(xa));
    expect((JSON.parse(readFileSync(join(a, "report", "report.json"), "utf8")) as Report).timings).toBeUndefined();
  });

  it("GIVEN --timings WHEN verified THEN each intended flow and must-never pair has its measured seconds, each suite its sum or phase, and the root the whole, which the suites add up to", async () => {
    const dir = copyOut(planned.dir, "junit-t");
    const r = await runCli(["verify", "--out", dir, "--timings"]);
    expect(r.code).toBe(0);
    const xml = readFileSync(join(dir, "report", "junit.xml"), "utf8");
    const report = JSON.parse(readFileSync(join(dir, "report", "report.json"), "utf8")) as Report;
    expect(report.timings).toBeDefined();
    const root = Number(attr(tags(xml, "testsuites")[0]!, "time"));
    expect(root).toBeGreaterThan(0);
    expect(root).toBeCloseTo(report.timings!.total, 5);
    const suites = tags(xml, "testsuite").map((t) => ({ name: attr(t, "name")!, time: Number(attr(t, "time")) }));
    for (const s of suites) expect(Number.isFinite(s.time) && s.time >= 0).toBe(true);
    expect(suites.reduce((a, s) => a + s.time, 0)).toBeCloseTo(root, 4);
    // Each evaluated case has its own time; the suites of measured cases are their sums.
    const cases = (suite: string) => tags(xml, "testcase").filter((t) => attr(t, "classname") === `palisade.${suite}`);
    for (const suite of ["intended-flows", "must-never"]) {
      const times = cases(suite).map((t) => Number(attr(t, "time")));
      const sum = times.reduce((a, x) => a + x, 0);
      // Each time is written to the microsecond: the sum of n of them may drift by n half-microseconds from the suite's own.
      expect(Math.abs(suites.find((s) => s.name === suite)!.time - sum)).toBeLessThanOrEqual((times.length + 1) * 0.5e-6 + 1e-9);
    }
    expect(cases("intended-flows").some((t) => Number(attr(t, "time")) > 0)).toBe(true);
    const evaluated = report.nevers.filter((n) => n.status !== "impossible").map((n) => `${n.source} => ${n.destination}`);
    const timed = new Set(cases("must-never").filter((t) => Number(attr(t, "time")) > 0).map((t) => attr(t, "name")!.replace(/&gt;/g, ">")));
    expect(evaluated.filter((n) => !timed.has(n))).toEqual([]);
    for (const n of report.nevers.filter((x) => x.status === "impossible")) expect(timed.has(`${n.source} => ${n.destination}`)).toBe(false);
  });
});

describe("--timings in the commands", () => {
  it("GIVEN plan --help and verify --help WHEN read THEN both describe --timings", async () => {
    for (const cmd of ["plan", "verify"]) expect((await runCli([cmd, "--help"])).stdout).toMatch(/^\s+--timings\s+measure/m);
  });
});
