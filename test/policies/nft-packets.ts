import { rng } from "../../core/rng.js";
import { formatIp, ipSpec, parseRange, rangesSpec, type AddrSpec } from "../../policies/verifier/addr.js";
import { portClasses, type HooksResult, type Iface, type Packet, type Ruleset } from "../../policies/verifier/nftables.js";

/*
 * Rulesets and packets for the nftables evaluator's equivalence tests (nft-pruned-cuts, nft-port-span):
 * random mutations of a rendered ruleset, and packets around the addresses, ports and interfaces it names.
 */

/** Random extra tables: rules on named interfaces, addresses the ruleset names, ports, behind jumps and vmaps; sometimes a nat chain. */
export function mutations(text: string, seed: number): string[] {
  const r = rng(seed); // deterministic: the same mutations every run
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const named = [...new Set([...text.matchAll(/\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b/g)].map((m) => m[0]))];
  const ifaces = [...new Set([...text.matchAll(/[io]ifname\s+"?([\w.-]+)/g)].map((m) => m[1]!)), "fiber0", "eth0"];
  const addr = () => (named.length && r() < 0.6 ? pick(named) : `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.0/${24 + Math.floor(r() * 8)}`);
  const verdict = () => pick(["accept", "drop", "accept", "jump side", "continue"]);
  const match = () =>
    pick([
      () => `iifname "${pick(ifaces)}"`,
      () => `oifname "${pick(ifaces)}"`,
      () => `iifname { "${pick(ifaces)}", "${pick(ifaces)}" }`,
      () => `iifname != "${pick(ifaces)}"`,
      () => `oifname "${pick(ifaces).slice(0, 3)}*"`,
      () => `ip saddr ${addr()}`,
      () => `ip daddr ${addr()}`,
      () => `ip saddr != ${addr()}`,
      () => `ip daddr { ${addr()}, ${addr()} }`,
      () => `tcp dport ${pick([22, 443, 5432, 8000, 8080])}`,
      () => `meta l4proto udp`,
      () => `ct status dnat`,
    ])();
  const rule = () => `${Array.from({ length: 1 + Math.floor(r() * 3) }, match).join(" ")} ${verdict()}`;
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const nat = i === 2 ? `\n  chain post { type nat hook postrouting priority srcnat; policy accept; oifname "${pick(ifaces)}" masquerade }` : "";
    out.push(`${text}
table inet pruned_probe_${i} {
  chain side {
    ${rule()}
    ${rule()}
  }
  chain fwd {
    type filter hook forward priority ${5 + i}; policy ${pick(["accept", "drop"])};
    ${rule()}
    ${rule()}
    tcp dport vmap { 5432 : jump side, 443 : accept }
    ${rule()}
  }
  chain inp {
    type filter hook input priority ${5 + i}; policy accept;
    ${rule()}
    ${rule()}
  }
  chain outp {
    type filter hook output priority ${5 + i}; policy accept;
    ${rule()}
  }${nat}
}
`);
  }
  return out;
}

/** Concrete addresses around the bounds the ruleset names, a few others, and symbolic ones (any, ranges, the internet as the verifier makes it: holes for the named subnets). */
function specs(text: string, v: 4 | 6): AddrSpec[] {
  const re = v === 4 ? /\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b/g : /\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}(?:\/\d{1,3})?/gi;
  const bounds = [...text.matchAll(re)].map((m) => m[0]).filter((x) => parseRange(x)?.v === v);
  const ns = new Set<bigint>();
  for (const b of bounds) {
    const r = parseRange(b)!;
    for (const n of [r.lo, r.hi + 1n]) ns.add(n);
  }
  const max = v === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  const concrete = [...ns].filter((n) => n <= max).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const some = concrete.filter((_, i) => i % Math.max(1, Math.ceil(concrete.length / 8)) === 0).map((n) => ipSpec(formatIp(v, n)));
  const subnets = bounds.filter((b) => b.includes("/"));
  const internet = subnets.length ? internetLike(v, subnets) : undefined;
  return [{ kind: "any", v }, ...(internet ? [internet] : []), ...(v === 4 ? [rangesSpec(["10.0.0.0/8", "172.16.0.0/12"], 4)!] : [rangesSpec(["fd00::/8"], 6)!]), ...some];
}

/** Every address outside the subnets: many ranges, as the verifier's "internet" has. */
function internetLike(v: 4 | 6, subnets: readonly string[]): AddrSpec {
  const rs = subnets.map((s) => parseRange(s)!).sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const max = v === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  const ranges: { v: 4 | 6; lo: bigint; hi: bigint }[] = [];
  let at = 0n;
  for (const r of rs) {
    if (r.lo > at) ranges.push({ v, lo: at, hi: r.lo - 1n });
    if (r.hi + 1n > at) at = r.hi + 1n;
  }
  if (at <= max) ranges.push({ v, lo: at, hi: max });
  return { kind: "ranges", v, ranges, text: "the internet" } as AddrSpec;
}

export function packets(rs: Ruleset, text: string): Packet[] {
  const ports = portClasses([rs]).map((c) => c.lo);
  const somePorts = [...new Set([...ports.filter((_, i) => i % Math.max(1, Math.floor(ports.length / 4)) === 0), 22, 443, 5432])];
  const names = [...new Set([...text.matchAll(/[io]ifname\s+"?([\w.-]+)/g)].map((m) => m[1]!))].slice(0, 3);
  const ifaces: (Iface | undefined)[] = [undefined, { role: "external" }, ...names.map((name): Iface => ({ name, role: "bridge" }))];
  const out: Packet[] = [];
  for (const family of [4, 6] as const) {
    const all = specs(text, family);
    for (const [a, saddr] of all.entries()) {
      for (const [b, daddr] of all.entries()) {
        if ((a + b) % 2 && saddr.kind !== "ip" && daddr.kind !== "ip") continue;
        for (const [i, dport] of somePorts.entries()) {
          const iif = ifaces[(i + a) % ifaces.length];
          const oif = ifaces[(i + a + b + 1) % ifaces.length];
          out.push({ family, saddr, daddr, proto: (i + b) % 3 ? "tcp" : "udp", dport, iif, oif, dnat: (a + i) % 5 === 0 });
        }
      }
    }
  }
  return out;
}

/** What the walk reads of an outcome: everything but the translated packet. */
export function outcome(r: HooksResult): unknown {
  return { verdict: r.verdict, witness: r.witness, diverted: !!r.diverted, steps: r.steps.map((s) => ({ hook: s.hook, verdict: s.result.verdict, construct: s.result.construct, line: s.result.line, chain: s.result.chain })) };
}

export const show = (q: Packet) => JSON.stringify(q, (_k, v) => (typeof v === "bigint" ? String(v) : v));
