import { accessSync, chmodSync, constants, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { sarifFormatter } from "../../policies/report/sarif.js";
import type { Report } from "../../policies/verifier/index.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut, editText, verifyDirInProcess } from "./support.js";

/*
 * findings.sarif as GitHub code scanning takes it: Microsoft's SARIF multitool (the npm package
 * @microsoft/sarif-multitool, a native .NET binary) validates it with the SARIF and GitHub rule
 * kinds, on a passing report, on a failing one (results with regions), and with the repository-
 * relative locations a plan inside a git repository writes. 0 errors is the bar.
 */

const require = createRequire(import.meta.url);
function multitool(): string | undefined {
  try {
    const bin = require("@microsoft/sarif-multitool") as string;
    if (!existsSync(bin)) return undefined;
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      chmodSync(bin, 0o755); // what the package's own postinstall does, when install scripts are off
    }
    return bin;
  } catch {
    return undefined;
  }
}

const planned = await planOnce();
const passing = verifyDirInProcess(planned.dir);
const broken = (() => {
  const dir = copyOut(planned.dir);
  editText(dir, "hosts/edge/nftables.conf", (t) => t.replace(/(\n\s*)(tcp dport \{ 80, 443 \} accept)/, "$1tcp dport 22 accept$1$2"));
  return verifyDirInProcess(dir);
})();
const inRepo: Report = { ...broken, provenance: { palisade: "0.1.0", engines: {}, siteSha256: "0".repeat(64), manifestSha256: "1".repeat(64), git: { commit: "a".repeat(40), dirty: false, outDir: "out" } } };

describe("findings.sarif", () => {
  it("GIVEN a failing report WHEN rendered THEN each result has a region at the cited line and each rule its descriptions, help and security-severity", () => {
    const sarif = JSON.parse(sarifFormatter.render(broken));
    const run = sarif.runs[0];
    expect(run.tool.driver.version).toMatch(/^\d/);
    expect(JSON.parse(sarifFormatter.render(inRepo)).runs[0].tool.driver.version).toBe("0.1.0");
    for (const rule of run.tool.driver.rules) {
      expect(rule.fullDescription.text.length).toBeGreaterThan(10);
      expect(rule.help.text.length).toBeGreaterThan(10);
      expect(Number(rule.properties["security-severity"])).toBeGreaterThan(0);
    }
    const exposure = run.results.find((r: { ruleId: string }) => r.ruleId === "segmentation/unexpected-exposure");
    const finding = broken.findings.find((f) => f.kind === "unexpected-exposure")!;
    expect(exposure.locations[0].physicalLocation.region.startLine).toBe(finding.line);
    expect(readFileSync(join(copyOut(planned.dir), finding.artifact!), "utf8").split("\n")[finding.line! - 1]).not.toMatch(/\{$/);
    expect(run.originalUriBaseIds).toBeUndefined();
  });

  it("GIVEN a report whose output sits in a repository WHEN rendered THEN locations are repository-relative, without a base id", () => {
    const uris = JSON.parse(sarifFormatter.render(inRepo)).runs[0].results.map((r: { locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string } } }[] }) => r.locations[0]!.physicalLocation.artifactLocation);
    expect(uris.length).toBeGreaterThan(0);
    for (const u of uris) {
      expect(u.uri).toMatch(/^out\//);
      expect(u.uriBaseId).toBeUndefined();
    }
  });

  const bin = multitool();
  it.skipIf(!bin && !process.env.CI)("GIVEN passing, failing and in-repository reports WHEN validated by Microsoft's SARIF multitool with the Sarif and Gh rule kinds THEN it reports 0 errors and 0 warnings", () => {
    expect(bin, "@microsoft/sarif-multitool is a devDependency; npm ci installs it").toBeDefined();
    const dir = tempDir("sarif");
    const files = [
      ["passing.sarif", passing],
      ["failing.sarif", broken],
      ["in-repo.sarif", inRepo],
    ].map(([name, report]) => {
      const path = join(dir, name as string);
      writeFileSync(path, sarifFormatter.render(report as Report));
      return path;
    });
    const log = join(dir, "validation.sarif");
    const r = spawnSync(bin!, ["validate", "--rule-kind", "Sarif;Gh", "-o", log, ...files], { encoding: "utf8", env: { ...process.env, DOTNET_BUNDLE_EXTRACT_BASE_DIR: dir, DOTNET_CLI_TELEMETRY_OPTOUT: "1" }, timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const problems = (r.stdout.match(/: (error|warning) [A-Z]+\d+: .*/g) ?? []);
    expect(problems).toEqual([]);
    const results = JSON.parse(readFileSync(log, "utf8")).runs[0].results ?? [];
    expect(results.filter((x: { level?: string }) => x.level === "error" || x.level === "warning")).toEqual([]);
  }, 180_000);
});
