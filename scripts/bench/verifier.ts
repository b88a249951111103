import { syntheticSite } from "../../policies/verifier/synthetic.js";
import { verifyArtifacts } from "../../policies/verifier/verify.js";
import type { BenchFigure } from "./plan.js";

/** Verifier time on generated sites of N services and N/10 networks (target: <= 2 s at 1,000). */
export function benchVerifier(sizes: readonly number[] = [100, 1000, 5000]): BenchFigure[] {
  return sizes.map((n) => {
    const files = syntheticSite({ services: n });
    const t0 = performance.now();
    const report = verifyArtifacts(files);
    const s = (performance.now() - t0) / 1000;
    return { name: `verifier, ${n} services / ${Math.floor(n / 10)} networks (${report.flows.length} flows)`, value: s, unit: "s", target: n === 1000 ? "<= 2 s" : undefined };
  });
}
