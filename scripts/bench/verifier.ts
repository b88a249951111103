import { syntheticSite } from "../../policies/verifier/synthetic.js";
import { verifyArtifacts } from "../../policies/verifier/verify.js";
import type { BenchFigure } from "./plan.js";

/**
 * Verifier time on generated sites of N services and N/10 networks (target: <= 2 s at 1,000): wall
 * time, and the process's CPU time beside it, which a loaded machine does not inflate.
 */
export function benchVerifier(sizes: readonly number[] = [100, 1000, 5000]): BenchFigure[] {
  return sizes.flatMap((n) => {
    const files = syntheticSite({ services: n });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const report = verifyArtifacts(files);
    const cpu = process.cpuUsage(c0);
    const s = (performance.now() - t0) / 1000;
    const name = `verifier, ${n} services / ${Math.floor(n / 10)} networks (${report.flows.length} flows)`;
    return [
      { name, value: s, unit: "s", target: n === 1000 ? "<= 2 s" : undefined },
      { name: `${name}, CPU`, value: (cpu.user + cpu.system) / 1e6, unit: "s" },
    ];
  });
}
