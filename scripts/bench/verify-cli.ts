import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { largeSite } from "./large-site.js";
import { median, yardstickApp, yardstickSynth, type BenchFigure } from "./plan.js";

/**
 * `palisade verify --out D` as the operator runs it (a cold process of the compiled CLI) on the
 * planned artifacts of a generated site of N services (large-site.ts): the figure the target
 * "verify at 1,000 services <= 2 s" is about. Each size is planned once (its time is reported
 * too), then verified `runs` times (median), each run beside one of the yardstick (cdktf's own synth of
 * the reference app, as in the plan figures): the ratio says how far the target is on any machine. Sizes from PALISADE_BENCH_SERVICES (comma-separated;
 * default 50,100,1000); PALISADE_BENCH_TIMEOUT_S bounds each command (default 900 s): a size that
 * does not finish in time is reported as such, not measured.
 */
export function benchVerifyCli(runs = 3): BenchFigure[] {
  const sizes = (process.env.PALISADE_BENCH_SERVICES ?? "50,100,1000").split(",").map(Number).filter((x) => Number.isInteger(x) && x > 0);
  const timeout = Number(process.env.PALISADE_BENCH_TIMEOUT_S ?? 900) * 1000;
  const out: BenchFigure[] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), "palisade-bench-verify-"));
    try {
      const site = join(dir, "site.yaml");
      writeFileSync(site, largeSite(process.cwd(), n));
      const t0 = performance.now();
      const plan = spawnSync(process.execPath, ["scripts/palisade.mjs", "plan", "--site", site, "--out", join(dir, "out")], { encoding: "utf8", timeout });
      const planS = (performance.now() - t0) / 1000;
      if (plan.error || (plan.status !== 0 && plan.status !== 1)) {
        const why = plan.error ? `did not finish in ${timeout / 1000} s` : plan.signal ? `was stopped by ${plan.signal} after` : `exited ${plan.status}: ${plan.stderr.split("\n").filter((l) => !l.startsWith("palisade: dist/"))[0] ?? ""}`;
        out.push({ name: `verify CLI, ${n} services: not measured (plan ${why})`, value: planS, unit: "s" });
        continue;
      }
      out.push({ name: `plan of the same ${n}-service site (both engines, verify, report)`, value: planS, unit: "s" });
      const walls: number[] = [];
      const synths: number[] = [];
      for (let i = 0; i < runs; i++) {
        synths.push(yardstickSynth(dir).wall);
        const t = performance.now();
        const r = spawnSync(process.execPath, ["scripts/palisade.mjs", "verify", "--out", join(dir, "out")], { encoding: "utf8", timeout });
        if (r.error || (r.status !== 0 && r.status !== 1)) throw new Error(`palisade verify on ${n} services failed: ${r.error?.message ?? r.stderr}`);
        walls.push((performance.now() - t) / 1000);
        if (walls.at(-1)! > 60) break; // one slow run says enough
      }
      const verify = median(walls);
      const synth = median(synths);
      out.push({ name: `palisade verify --out (cold CLI), ${n} services, median of ${walls.length}`, value: verify, unit: "s", target: n === 1000 ? "<= 2 s" : undefined });
      out.push({ name: `  beside cdktf synth of the reference (${yardstickApp()}), median`, value: synth, unit: "s" });
      out.push({ name: `  verify at ${n} services / cdktf synth, side by side`, value: verify / synth, unit: "x" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
