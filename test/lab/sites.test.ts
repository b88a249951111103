import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { labDown, labUp } from "../../stacks/lab/up.js";
import { labProbe } from "../../stacks/lab/probe.js";
import { planSiteInto } from "../../stacks/lab/site-plan.js";
import { describeRoot } from "../helpers/root.js";
import { ROOT, tempDir } from "../helpers/paths.js";
import { requireTool } from "../helpers/tools.js";

/*
 * The lab on every example platform: planned in process, brought up on the real dockerd, probed
 * (every source to every destination on its declared ports plus a seeded sample of the others),
 * taken down. Nothing here names a service: what is probed and browsed comes from the artifacts
 * (the cloud stack, report.json, intent.json's routes). The reference site is lab.test.ts's.
 */
const tools = ["nft", "wireguard-go", "wg", "haproxy", "knotd", "kdig", "fail2ban-server", "pebble", "conntrack", "dockerd", "busybox"].map((t) => requireTool(t));
const missing = tools.filter((t) => !t.path).map((t) => t.skipReason);
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml") && f !== "reference.yaml").sort();

describeRoot("the lab on every example platform: up, probe equals the verifier, every route served, down", () => {
  beforeAll(async () => {
    if (!missing.length) await labDown();
  }, 30_000);
  afterAll(async () => {
    await labDown();
  }, 30_000);

  for (const file of EXAMPLES) {
    it.skipIf(missing.length > 0)(`GIVEN examples/${file} planned WHEN the lab runs it THEN the observed matrix equals the verifier's and every route answers from its service`, async () => {
      const out = tempDir(`lab-${file.replace(/\.yaml$/, "")}`);
      const siteFile = join(ROOT, "examples", file);
      const plan = await planSiteInto(siteFile, out);
      expect(plan.report.summary.verdict).toBe("pass");
      try {
        const up = await labUp({ outDir: out, siteFile });
        expect(up.record.warnings).toEqual([]);
        const r = await labProbe(up.record);
        expect(r.mismatches.map((m) => `${m.expected ? "expected, not observed" : "observed, not expected"}: ${m.line}`)).toEqual([]);
        expect(r.checks.length).toBeGreaterThan(0);
        expect(r.checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
      } finally {
        await labDown();
      }
    }, 240_000);
  }
});
