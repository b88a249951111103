import { expect, it } from "vitest";
import { describeRoot } from "../helpers/root.js";
import { describeDisagreement, differential } from "../../scripts/nft-fuzz/kernel.js";

/*
 * The nftables evaluator against the kernel: generated (ruleset, packet) pairs, each ruleset
 * loaded with nft -f in a throwaway network namespace and its packets sent through it (see
 * scripts/nft-fuzz). Needs root and the netns lock. `npm run fuzz:nft -- N` runs more.
 */
const CASES = Number(process.env.PALISADE_NFT_FUZZ_CASES ?? 3000);

describeRoot("the nftables evaluator against the kernel (differential)", () => {
  it(`GIVEN ${CASES} generated rulesets and packets (seed 1) WHEN run through nft in a namespace THEN the evaluator's verdict equals the kernel's on every one`, async () => {
    const r = await differential(CASES, 1);
    expect(r.cases).toBe(CASES);
    expect(r.rejected, "rulesets the generator wrote that nft -f refused").toBe(0);
    // Both verdicts occur: a run where the kernel passes nothing (or everything) proves nothing.
    expect(r.delivered).toBeGreaterThan(CASES / 10);
    expect(r.delivered).toBeLessThan(CASES - CASES / 10);
    expect(r.disagreements.map(describeDisagreement).slice(0, 3)).toEqual([]);
  }, 600_000);
});
