/** Small, dependency-free IPv4/IPv6 helpers shared by the renderers and the verifier. */

export function ipv4ToInt(ip: string): number {
  const texts = ip.split(".");
  const parts = texts.map(Number);
  // Decimal octets only: Number() would also take "", " 1", "0x1" and "1e2".
  if (parts.length !== 4 || texts.some((t) => !/^\d{1,3}$/.test(t)) || parts.some((p) => p > 255)) {
    throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  }
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr4(cidr: string): { base: number; bits: number } {
  const [addr, bitsText, extra] = cidr.split("/");
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  // "10.0.0.0/" would otherwise read as /0 (the whole internet) and "/33" as a garbage mask.
  if (extra !== undefined || (bitsText !== undefined && !/^\d{1,2}$/.test(bitsText)) || bits > 32) {
    throw new Error(`not an IPv4 CIDR: ${JSON.stringify(cidr)} (expected A.B.C.D/N with N 0-32)`);
  }
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (ipv4ToInt(addr!) & mask) >>> 0, bits };
}

export function cidr4Contains(cidr: string, ip: string): boolean {
  const { base, bits } = parseCidr4(cidr);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === base;
}

export function cidr4Overlaps(a: string, b: string): boolean {
  const pa = parseCidr4(a);
  const pb = parseCidr4(b);
  const bits = Math.min(pa.bits, pb.bits);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((pa.base & mask) >>> 0) === ((pb.base & mask) >>> 0);
}

/** The n-th address of an IPv4 CIDR (1 = first host address). */
export function hostInCidr4(cidr: string, n: number): string {
  const { base, bits } = parseCidr4(cidr);
  if (n >= 2 ** (32 - bits)) throw new Error(`${cidr} has no host number ${n}`);
  return intToIpv4((base + n) >>> 0);
}

/** The n-th address of an IPv6 CIDR whose host part fits in the last 16 bits (enough here). */
export function hostInCidr6(cidr: string, n: number): string {
  const [addr] = cidr.split("/");
  const prefix = addr!.endsWith("::") ? addr!.slice(0, -2) : addr!;
  return `${prefix}::${n.toString(16)}`;
}

/** Whether two IPv6 prefixes overlap (written with `::`, as the schema's cidrv6 accepts them). */
export function cidr6Overlaps(a: string, b: string): boolean {
  const expand = (cidr: string): { bits: bigint; len: number } => {
    const [addr, len] = cidr.split("/") as [string, string];
    const [head, tail] = addr.includes("::") ? (addr.split("::") as [string, string]) : [addr, ""];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    return { bits: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || "0", 16)), 0n), len: Number(len) };
  };
  const x = expand(a);
  const y = expand(b);
  const len = BigInt(Math.min(x.len, y.len));
  return x.bits >> (128n - len) === y.bits >> (128n - len);
}

export function isIpv6(text: string): boolean {
  return text.includes(":");
}
