import { syntheticSite } from "../../policies/verifier/synthetic.js";
import { verifyArtifacts } from "../../policies/verifier/verify.js";
import type { BenchFigure } from "./plan.js";

/**
 * The verifier's core in process (verifyArtifacts) on synthetic artifacts of N services and N/10
 * networks, written directly (no site file: no recomputed intent, none of the built-in must-never
 * pairs): wall time, and the process's CPU time beside it, which a loaded machine does not inflate.
 * What `palisade verify` takes on a planned site is measured by verify-cli.ts (the target's figure).
 */
export function benchVerifier(sizes: readonly number[] = [100, 1000, 5000]): BenchFigure[] {
  return sizes.flatMap((n) => {
    const files = syntheticSite({ services: n });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const report = verifyArtifacts(files);
    const cpu = process.cpuUsage(c0);
    const s = (performance.now() - t0) / 1000;
    const name = `verifier in process, synthetic artifacts, ${n} services / ${Math.floor(n / 10)} networks (${report.flows.length} flows)`;
    return [
      { name, value: s, unit: "s" },
      { name: `${name}, CPU`, value: (cpu.user + cpu.system) / 1e6, unit: "s" },
    ];
  });
}
