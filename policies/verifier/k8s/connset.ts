/*
 * A set of connections between two peers: for each of the three protocols Kubernetes NetworkPolicy knows
 * (TCP, UDP, SCTP), a canonical list of disjoint port ranges within 1-65535. Its text is netpol-analyzer's:
 * "All Connections" when every port of every protocol is in, otherwise "PROTO ranges" per protocol, sorted,
 * comma-joined (`TCP 80,443,UDP 53`, `TCP 1-65535`). The empty set has no line in `list`; `diff` writes it
 * "No Connections".
 */

export type Protocol = "TCP" | "UDP" | "SCTP";
export const PROTOCOLS: readonly Protocol[] = ["SCTP", "TCP", "UDP"];
export const MIN_PORT = 1;
export const MAX_PORT = 65535;

export type Range = readonly [number, number];

/** Sorted, disjoint, non-adjacent ranges (adjacent and overlapping ones merged). */
export function normalizeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi] = a[i]!;
    const [blo, bhi] = b[j]!;
    const lo = Math.max(alo, blo);
    const hi = Math.min(ahi, bhi);
    if (lo <= hi) out.push([lo, hi]);
    if (ahi < bhi) i++;
    else j++;
  }
  return out;
}

function sameRanges(a: readonly Range[], b: readonly Range[]): boolean {
  return a.length === b.length && a.every(([lo, hi], i) => lo === b[i]![0] && hi === b[i]![1]);
}

const FULL: readonly Range[] = [[MIN_PORT, MAX_PORT]];

export class ConnSet {
  private constructor(private readonly byProtocol: ReadonlyMap<Protocol, readonly Range[]>) {}

  // Immutable, so the two constants are shared (the evaluator asks for them per pair of peers).
  private static readonly NONE = new ConnSet(new Map());
  private static readonly ALL = new ConnSet(new Map(PROTOCOLS.map((p) => [p, FULL])));

  static none(): ConnSet {
    return ConnSet.NONE;
  }

  static all(): ConnSet {
    return ConnSet.ALL;
  }

  /** Every port of one protocol. */
  static allOf(protocol: Protocol): ConnSet {
    return new ConnSet(new Map([[protocol, FULL]]));
  }

  static ports(protocol: Protocol, lo: number, hi = lo): ConnSet {
    return new ConnSet(new Map([[protocol, normalizeRanges([[lo, hi]])]]));
  }

  ranges(protocol: Protocol): readonly Range[] {
    return this.byProtocol.get(protocol) ?? [];
  }

  has(protocol: Protocol, port: number): boolean {
    return this.ranges(protocol).some(([lo, hi]) => lo <= port && port <= hi);
  }

  union(other: ConnSet): ConnSet {
    if (other.isEmpty() || this === ConnSet.ALL) return this;
    if (this.isEmpty() || other === ConnSet.ALL) return other;
    const m = new Map<Protocol, readonly Range[]>();
    for (const p of PROTOCOLS) {
      const r = normalizeRanges([...this.ranges(p), ...other.ranges(p)]);
      if (r.length) m.set(p, r);
    }
    return new ConnSet(m);
  }

  intersect(other: ConnSet): ConnSet {
    if (other === ConnSet.ALL) return this;
    if (this === ConnSet.ALL) return other;
    const m = new Map<Protocol, readonly Range[]>();
    for (const p of PROTOCOLS) {
      const r = intersectRanges(this.ranges(p), other.ranges(p));
      if (r.length) m.set(p, r);
    }
    return new ConnSet(m);
  }

  isEmpty(): boolean {
    return PROTOCOLS.every((p) => this.ranges(p).length === 0);
  }

  isAll(): boolean {
    return PROTOCOLS.every((p) => sameRanges(this.ranges(p), FULL));
  }

  equals(other: ConnSet): boolean {
    return PROTOCOLS.every((p) => sameRanges(this.ranges(p), other.ranges(p)));
  }

  toString(): string {
    if (this.isAll()) return "All Connections";
    if (this.isEmpty()) return "No Connections";
    return PROTOCOLS.filter((p) => this.ranges(p).length)
      .map((p) => `${p} ${this.ranges(p).map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(",")}`)
      .sort()
      .join(",");
  }
}
