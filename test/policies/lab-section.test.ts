import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut } from "./support.js";

const planned = await planOnce();

/** What `palisade lab probe` and a drill leave in report/lab.json (shape of stacks/lab/report.ts). */
const LAB = {
  version: 1,
  probe: { expectedFrom: "report/report.json", correct: 332, incorrect: 2, expected: [], observed: [], mismatches: [{ line: "cloud => ingress : tcp/443", expected: false, observed: true }], checks: [{ name: "https app.example.com/api/healthz", pass: true, detail: "200 from api" }] },
  drills: { "fiber-cut": { pass: true, figures: { recovery_s: 2.06 }, targets: { recovery_s: "<= 5 s" }, notes: [] } },
};

describe("the report's lab section: what the real daemons did with the same artifacts", () => {
  it("GIVEN no lab run WHEN the report is read THEN the section says how to fill it", () => {
    expect(planned.text("report/index.html")).toContain("Not run yet: <code>palisade lab up</code>");
  });

  it("GIVEN a lab run's report/lab.json WHEN palisade verify rewrites the report THEN it shows the counts, the mismatch and the drill, and keeps lab.json", async () => {
    const dir = copyOut(planned.dir, "lab");
    mkdirSync(join(dir, "report"));
    writeFileSync(join(dir, "report", "lab.json"), JSON.stringify(LAB));
    const r = await runCli(["verify", "--out", dir]);
    const html = readFileSync(join(dir, "report", "index.html"), "utf8");
    const section = html.slice(html.indexOf('<section id="lab-expected-vs-observed">'));
    expect(section).toContain("332 correct, 2 incorrect");
    expect(section).toContain("cloud =&gt; ingress : tcp/443");
    expect(section).toContain("fiber-cut");
    expect(section).toContain("recovery_s=2.06");
    expect(JSON.parse(readFileSync(join(dir, "report", "report.json"), "utf8")).lab.probe.incorrect).toBe(2);
    expect(existsSync(join(dir, "report", "lab.json"))).toBe(true);
    // The lab disagreeing with the verifier is itself a violation.
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("[lab-mismatch] cloud => ingress : tcp/443");
  });

  it("GIVEN a lab run that agrees with the verifier WHEN verified THEN the verdict stays pass", async () => {
    const dir = copyOut(planned.dir, "lab-ok");
    mkdirSync(join(dir, "report"));
    writeFileSync(join(dir, "report", "lab.json"), JSON.stringify({ ...LAB, probe: { ...LAB.probe, correct: 334, incorrect: 0, mismatches: [] } }));
    expect((await runCli(["verify", "--out", dir])).code).toBe(0);
  });

  it("GIVEN lab observations recorded against other artifacts (another manifest) WHEN verified THEN they are ignored", async () => {
    const dir = copyOut(planned.dir, "lab-stale");
    mkdirSync(join(dir, "report"));
    writeFileSync(join(dir, "report", "lab.json"), JSON.stringify({ ...LAB, manifest: "0".repeat(64) }));
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "report", "index.html"), "utf8")).toContain("Not run yet");
  });
});
