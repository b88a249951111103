import { describe, expect, it } from "vitest";
import { subtractRanges, type AddrRange } from "../../policies/verifier/addr.js";
import { rng } from "../../core/index.js";

/** The plain definition: take each range of `minus` out in turn. */
function subtractInTurn(from: readonly AddrRange[], minus: readonly AddrRange[]): AddrRange[] {
  let cur = [...from];
  for (const m of minus) {
    const next: AddrRange[] = [];
    for (const r of cur) {
      if (r.v !== m.v || m.hi < r.lo || m.lo > r.hi) {
        next.push(r);
        continue;
      }
      if (m.lo > r.lo) next.push({ v: r.v, lo: r.lo, hi: m.lo - 1n });
      if (m.hi < r.hi) next.push({ v: r.v, lo: m.hi + 1n, hi: r.hi });
    }
    cur = next;
  }
  return cur;
}

describe("subtractRanges", () => {
  it("GIVEN 20,000 random cases (overlapping, adjacent and nested ranges of both families, 0 to 30 taken out) WHEN subtracted THEN the ranges are those of taking each out in turn, in the same order", () => {
    const r = rng(12);
    const range = (): AddrRange => {
      const v = r() < 0.8 ? 4 : 6;
      const lo = BigInt(Math.floor(r() * 1000));
      return { v, lo, hi: lo + BigInt(Math.floor(r() * 200)) };
    };
    for (let i = 0; i < 20_000; i++) {
      const from = Array.from({ length: 1 + Math.floor(r() * 4) }, range);
      const minus = Array.from({ length: Math.floor(r() * 31) }, range);
      expect(subtractRanges(from, minus), JSON.stringify({ from, minus }, (_k, x) => (typeof x === "bigint" ? String(x) : x))).toEqual(subtractInTurn(from, minus));
    }
  });
});
