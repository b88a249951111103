import { describe, expect, it } from "vitest";
import { syntheticSite } from "../../policies/verifier/synthetic.js";
import { verifyArtifacts } from "../../policies/verifier/verify.js";

describe("the synthetic site for the benchmark", () => {
  it("GIVEN a generated site of 200 services WHEN verified THEN every intended flow is effective and nothing is violated", () => {
    const r = verifyArtifacts(syntheticSite({ services: 200 }));
    expect(r.summary.intendedEffective).toBe(r.summary.flowsIntended);
    expect(r.summary.violations).toBe(0);
    expect(r.nevers.every((n) => n.status === "blocked")).toBe(true);
  });
});
