/*
 * Address arithmetic for the verifier: IPv4 and IPv6 ranges as bigints, so sets, CIDRs and the
 * symbolic sources ("any address on the internet", "the admin ranges") compare uniformly.
 */

export interface AddrRange {
  readonly v: 4 | 6;
  readonly lo: bigint;
  readonly hi: bigint;
}

const MAX4 = (1n << 32n) - 1n;
const MAX6 = (1n << 128n) - 1n;

export function parseIp(text: string): { v: 4 | 6; n: bigint } | null {
  const t = text.trim();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(t)) {
    const parts = t.split(".").map(Number);
    if (parts.some((p) => p > 255)) return null;
    return { v: 4, n: parts.reduce((acc, p) => (acc << 8n) + BigInt(p), 0n) };
  }
  if (!t.includes(":") || !/^[0-9a-fA-F:.]+$/.test(t)) return null;
  let hex = t;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    hex = `${t.slice(0, -v4[0].length)}${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}`;
  }
  const halves = hex.split("::");
  if (halves.length > 2) return null;
  const left = halves[0] ? halves[0].split(":") : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  if ([...left, ...right].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const zeros = 8 - left.length - right.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return null;
  const all = [...left, ...Array<string>(halves.length === 2 ? zeros : 0).fill("0"), ...right].map((g) => BigInt(parseInt(g, 16)));
  return { v: 6, n: all.reduce((acc, g) => (acc << 16n) + g, 0n) };
}

/** A CIDR, a single address or an `a-b` range; null when it is not an address. */
export function parseRange(text: string): AddrRange | null {
  const t = text.trim();
  const dash = /^([0-9a-fA-F:.]+)-([0-9a-fA-F:.]+)$/.exec(t);
  if (dash) {
    const a = parseIp(dash[1]!);
    const b = parseIp(dash[2]!);
    if (!a || !b || a.v !== b.v) return null;
    return { v: a.v, lo: a.n, hi: b.n };
  }
  const [addr, bitsText] = t.split("/");
  const ip = parseIp(addr!);
  if (!ip) return null;
  const width = ip.v === 4 ? 32n : 128n;
  const bits = bitsText === undefined ? width : BigInt(Number(bitsText));
  if (bits < 0n || bits > width) return null;
  const hostBits = width - bits;
  const lo = (ip.n >> hostBits) << hostBits;
  return { v: ip.v, lo, hi: lo + (1n << hostBits) - 1n };
}

/** The text of an address held as a number (IPv6 with its longest run of zero groups as `::`). */
export function formatIp(v: 4 | 6, n: bigint): string {
  if (v === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join(".");
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.len) best = { at: i, len: j - i };
  }
  if (best.at < 0) return groups.join(":");
  return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
}

/**
 * The ranges of `from` outside every range of `minus` (same family): for each range of `from` in
 * order, itself where no range of `minus` meets it, else what is left of it, ascending. Through
 * the union of `minus`, sorted once: taking a thousand Docker subnets out one at a time was
 * quadratic (the result is the same: test/policies/addr-subtract.test.ts).
 */
export function subtractRanges(from: readonly AddrRange[], minus: readonly AddrRange[]): AddrRange[] {
  const unions = new Map<4 | 6, { lo: bigint; hi: bigint }[]>();
  for (const v of [4, 6] as const) unions.set(v, unionOf(minus.filter((m) => m.v === v)));
  const out: AddrRange[] = [];
  for (const r of from) {
    const u = unions.get(r.v)!;
    // The first interval ending at or after r.lo.
    let lo = 0;
    let hi = u.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (u[mid]!.hi < r.lo) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= u.length || u[lo]!.lo > r.hi) {
      out.push(r);
      continue;
    }
    let at = r.lo;
    for (let i = lo; i < u.length && u[i]!.lo <= r.hi; i++) {
      if (u[i]!.lo > at) out.push({ v: r.v, lo: at, hi: u[i]!.lo - 1n });
      at = u[i]!.hi + 1n;
    }
    if (at <= r.hi) out.push({ v: r.v, lo: at, hi: r.hi });
  }
  return out;
}

/** Disjoint, sorted, non-adjacent intervals covering exactly the ranges given. */
function unionOf(ranges: readonly AddrRange[]): { lo: bigint; hi: bigint }[] {
  const sorted = [...ranges].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: { lo: bigint; hi: bigint }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1n) {
      if (r.hi > last.hi) last.hi = r.hi;
    } else out.push({ lo: r.lo, hi: r.hi });
  }
  return out;
}

export function fullRange(v: 4 | 6): AddrRange {
  return { v, lo: 0n, hi: v === 4 ? MAX4 : MAX6 };
}

export const contains = (r: AddrRange, v: 4 | 6, n: bigint): boolean => r.v === v && r.lo <= n && n <= r.hi;
export const overlaps = (a: AddrRange, b: AddrRange): boolean => a.v === b.v && a.lo <= b.hi && b.lo <= a.hi;
export const isFull = (r: AddrRange): boolean => r.lo === 0n && r.hi === (r.v === 4 ? MAX4 : MAX6);

export function familyOf(text: string): 4 | 6 {
  return text.includes(":") ? 6 : 4;
}

/**
 * Where a packet comes from or goes to, as the verifier sees it:
 * - `ip`: one concrete address (a container, a host's tunnel address);
 * - `any`: an arbitrary address of that family (the internet): a set matches it only if it
 *   covers the whole family (0.0.0.0/0, ::/0), and `!= set` matches unless it does;
 * - `ranges`: a named set of ranges (the admin CIDRs): a set matches if it overlaps one.
 */
export type AddrSpec =
  | { readonly kind: "ip"; readonly v: 4 | 6; readonly n: bigint; readonly text: string }
  | { readonly kind: "any"; readonly v: 4 | 6 }
  | { readonly kind: "ranges"; readonly v: 4 | 6; readonly ranges: readonly AddrRange[]; readonly text: string };

/** Parsed addresses by text: the reachability walk builds a spec of the same container address for every pair and port. */
const ipSpecs = new Map<string, AddrSpec>();

export function ipSpec(text: string): AddrSpec {
  const hit = ipSpecs.get(text);
  if (hit) return hit;
  const ip = parseIp(text);
  if (!ip) throw new Error(`not an IP address: ${JSON.stringify(text)}`);
  const spec: AddrSpec = { kind: "ip", v: ip.v, n: ip.n, text };
  if (ipSpecs.size > 100_000) ipSpecs.clear();
  ipSpecs.set(text, spec);
  return spec;
}

/**
 * A set of ranges as a packet address. As a source, a range covering the whole family means an
 * arbitrary sender (`any`); as a destination (`existential`), "some address in these ranges".
 */
export function rangesSpec(cidrs: readonly string[], v: 4 | 6, existential = false): AddrSpec | null {
  const ranges = cidrs.map(parseRange).filter((r): r is AddrRange => !!r && r.v === v);
  if (ranges.length === 0) return null;
  if (!existential && ranges.some(isFull)) return { kind: "any", v };
  return { kind: "ranges", v, ranges, text: cidrs.filter((c) => familyOf(c) === v).join(",") };
}

/** Does an address set (list of ranges) match the spec? */
export function specInRanges(spec: AddrSpec, set: readonly AddrRange[]): boolean {
  switch (spec.kind) {
    case "ip":
      return set.some((r) => contains(r, spec.v, spec.n));
    case "any":
      return set.some((r) => r.v === spec.v && isFull(r));
    case "ranges":
      return spec.ranges.some((x) => set.some((r) => overlaps(r, x)));
  }
}

/** `ip saddr [!=] set` for the spec: negation of a range spec means "some address outside the set". */
export function specMatches(spec: AddrSpec, set: readonly AddrRange[], neg: boolean): boolean {
  if (!neg || spec.kind !== "ranges") return specInRanges(spec, set) !== neg;
  return !spec.ranges.every((x) => set.some((r) => r.v === x.v && r.lo <= x.lo && x.hi <= r.hi));
}

export function specText(spec: AddrSpec): string {
  return spec.kind === "ip" ? spec.text : spec.kind === "any" ? (spec.v === 4 ? "0.0.0.0/0" : "::/0") : spec.text;
}
