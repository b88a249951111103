import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labDown, labUp } from "../../stacks/lab/up.js";
import { labProbe } from "../../stacks/lab/probe.js";
import { planSiteInto } from "../../stacks/lab/site-plan.js";
import { generateSite } from "./generate-site.js";

/*
 * One generated platform through the whole lab: the site written, planned in process (it must
 * verify PASS), brought up on the real dockerd, probed, compared with the verifier's matrix, taken
 * down. A disagreement is a probed flow whose observation differs from the verifier's verdict, or
 * a route whose service does not answer through edge, tunnel and ingress.
 */
export interface FuzzPlatformResult {
  readonly seed: number;
  readonly services: number;
  readonly flows: number;
  readonly verdict: string;
  readonly planned: boolean;
  readonly probed: number;
  readonly disagreements: string[];
  readonly seconds: { readonly up: number; readonly probe: number; readonly down: number };
}

export async function runGeneratedPlatform(seed: number, progress: (line: string) => void = () => {}): Promise<FuzzPlatformResult> {
  const dir = mkdtempSync(join(tmpdir(), `palisade-labfuzz-${seed}-`));
  const g = generateSite(seed);
  const siteFile = join(dir, "site.yaml");
  writeFileSync(siteFile, g.yaml);
  const seconds = { up: Number.NaN, probe: Number.NaN, down: Number.NaN };
  try {
    const plan = await planSiteInto(siteFile, join(dir, "out"));
    if (plan.report.summary.verdict !== "pass") {
      return { seed, services: g.services, flows: g.flows, verdict: plan.verdict, planned: false, probed: 0, disagreements: [`seed ${seed}: the generated platform does not verify PASS: ${plan.verdict}`], seconds };
    }
    await labDown();
    try {
      const up = await labUp({ outDir: join(dir, "out"), siteFile });
      seconds.up = up.seconds;
      const r = await labProbe(up.record);
      seconds.probe = r.seconds;
      const disagreements = [
        ...r.mismatches.map((m) => `seed ${seed}: ${m.expected ? "expected, not observed" : "observed, not expected"}: ${m.line}`),
        ...r.checks.filter((c) => !c.pass).map((c) => `seed ${seed}: ${c.name}: ${c.detail}`),
        ...up.record.warnings.map((w) => `seed ${seed}: lab up warning: ${w}`),
      ];
      progress(`lab:fuzz: seed ${seed}: ${g.services} services, ${g.flows} flows, ${g.routes} routes, ${g.tenants} tenants: ${r.correct} flows agree, ${disagreements.length} disagreement(s) (up ${seconds.up.toFixed(1)} s, probe ${seconds.probe.toFixed(1)} s)`);
      return { seed, services: g.services, flows: g.flows, verdict: plan.verdict, planned: true, probed: r.correct + r.incorrect, disagreements, seconds };
    } finally {
      const t = Date.now();
      await labDown();
      seconds.down = (Date.now() - t) / 1000;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
