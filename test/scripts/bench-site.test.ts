import { describe, expect, it } from "vitest";
import { parseSite } from "../../core/index.js";
import { largeSite } from "../../scripts/bench/large-site.js";
import { ROOT } from "../helpers/paths.js";

/* The generated site `npm run bench -- verify` plans and verifies: a valid site of exactly the size asked. */
describe("the benchmark's generated site", () => {
  it.each([10, 75, 1000])("GIVEN %i services WHEN generated and loaded THEN the schema accepts it with that many services, their chains of flows and the must-never pairs", (n) => {
    const site = parseSite(largeSite(ROOT, n), "bench.yaml");
    expect(Object.keys(site.services)).toHaveLength(n);
    expect(site.flows.filter((f) => f.from !== "postgres" && f.to !== "postgres" && Object.hasOwn(site.services, f.from))).toHaveLength(n - 1 - Math.floor((n - 1) / 10));
    expect(site.routes).toHaveLength(1);
  });

  it("GIVEN the generated text WHEN generated twice THEN it is the same (a size names one site)", () => {
    expect(largeSite(ROOT, 40)).toBe(largeSite(ROOT, 40));
  });

  it.each([0, -3, 2.5])("GIVEN %s services WHEN generated THEN it refuses, saying what a size is", (n) => {
    expect(() => largeSite(ROOT, n)).toThrow(/a positive whole number of services/);
  });
});
