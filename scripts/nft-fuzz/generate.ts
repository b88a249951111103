import { rng } from "../../core/index.js";
import { formatIp, ipSpec, parseIp, parseRange } from "../../policies/verifier/addr.js";
import { evaluateHook, type Packet, type Ruleset } from "../../policies/verifier/nftables.js";

/*
 * The nftables differential test's generator and the evaluator's side of it: seeded random
 * rulesets (tables of each family, several base chains on one hook at chosen priorities and
 * policies, regular chains with jump/goto/return, named and anonymous sets, address and port
 * ranges, negations, ct state, iifname/oifname, verdict maps (on dport, l4proto, ip protocol,
 * ip6 nexthdr, iifname/oifname, ct state), dnat/redirect/masquerade, top-level flush,
 * delete and add/insert rule) and packets aimed at their boundaries. The kernel's side
 * (kernel.ts) loads each ruleset with `nft -f` in a namespace and sends the packets through it.
 *
 * The topology both sides assume: packets arrive on `fzin` of the firewall namespace, which holds
 * FW_LOCAL; 10.201.0.0/24 and fd00:201::/64 route out of `fzd1`, 10.202.0.0/24 and
 * fd00:202::/64 out of `fzd2`; a packet is delivered when it reaches the input hook's end (to
 * the host) or the postrouting hook's end (forwarded).
 */

export const FW_LOCAL = { fzin: ["10.200.0.1", "fd00:200::1"], fzd1: ["10.201.0.1", "fd00:201::1"], fzd2: ["10.202.0.1", "fd00:202::1"] } as const;

export interface FuzzPacket {
  readonly family: 4 | 6;
  readonly saddr: string;
  readonly daddr: string;
  readonly proto: "tcp" | "udp";
  readonly dport: number;
  /** The packet's identity in the kernel's observation: its source port (no generated rule reads it). */
  readonly sport: number;
}

export interface FuzzCase {
  readonly ruleset: string;
  readonly packets: FuzzPacket[];
}

/** The project's seeded PRNG (core/rng.ts), re-exported for the differential tests. */
export { rng };

const SRC4 = ["192.0.2.1", "192.0.2.77", "192.0.2.200", "198.51.100.5", "198.51.100.130", "203.0.113.9", "100.64.0.1"];
const SRC6 = ["2001:db8:1::1", "2001:db8:1::80", "2001:db8:2::5", "2001:db8:ff::1"];
const DST4 = ["10.200.0.1", "10.201.0.1", "10.201.0.5", "10.201.0.77", "10.202.0.9", "10.202.0.130"];
const DST6 = ["fd00:200::1", "fd00:201::5", "fd00:201::77", "fd00:202::9", "fd00:202::1"];
const PORTS = [22, 25, 53, 80, 443, 1000, 1005, 1010, 5432, 8080, 40000];

export function generateCase(r: () => number, packets: number, sportBase: number): FuzzCase {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

  const cidr4 = () => {
    const a = pick(chance(0.5) ? SRC4 : DST4);
    const bits = pick([32, 24, 25, 26, 16, 8, 1, 0]);
    if (chance(0.2)) {
      const n = parseIp(a)!.n;
      return `${a}-${formatIp(4, n + BigInt(int(0, 100)))}`;
    }
    return bits === 32 ? a : `${formatIp(4, parseRange(`${a}/${bits}`)!.lo)}/${bits}`;
  };
  const cidr6 = () => {
    const a = pick(chance(0.5) ? SRC6 : DST6);
    const bits = pick([128, 64, 48, 32, 16]);
    return bits === 128 ? a : `${formatIp(6, parseRange(`${a}/${bits}`)!.lo)}/${bits}`;
  };
  const port = () => (chance(0.25) ? (() => {
    const a = pick(PORTS);
    return `${a}-${a + int(0, 20)}`;
  })() : String(pick(PORTS)));
  /** Elements that do not overlap (nft refuses overlapping intervals in a set). */
  const disjoint = (xs: string[]): string[] => {
    const out: string[] = [];
    const span = (x: string) => {
      const pr = /^(\d+)(?:-(\d+))?$/.exec(x);
      if (pr) return { v: 0, lo: BigInt(pr[1]!), hi: BigInt(pr[2] ?? pr[1]!) };
      return parseRange(x)!;
    };
    for (const x of xs) {
      const a = span(x);
      if (out.every((y) => {
        const b = span(y);
        return a.v !== b.v || a.hi < b.lo || b.hi < a.lo;
      })) out.push(x);
    }
    return out;
  };
  const group = (f: () => string) => {
    const n = int(1, 3);
    const xs = disjoint([...new Set(Array.from({ length: n }, f))]);
    return xs.length === 1 && chance(0.5) ? xs[0]! : `{ ${xs.join(", ")} }`;
  };

  const lines: string[] = [];
  if (chance(0.2)) lines.push("flush ruleset");
  const tableCount = int(1, 3);
  const declared: { family: string; name: string }[] = [];
  const later: string[] = [];
  for (let t = 0; t < tableCount; t++) {
    const family = pick(["ip", "ip6", "inet", "inet"]);
    const name = `t${t}`;
    if (chance(0.3)) lines.push(`table ${family} ${name}`, `delete table ${family} ${name}`);
    const sets: { name: string; kind: "a4" | "a6" | "port"; elements: string[] }[] = [];
    const body: string[] = [];
    const addSet = (name: string, kind: "a4" | "a6" | "port", make: () => string, type: string) => {
      const elements = disjoint([make(), make()]);
      sets.push({ name, kind, elements });
      body.push(`\tset ${name} { type ${type}; flags interval; elements = { ${elements.join(", ")} } }`);
    };
    if (family !== "ip6" && chance(0.5)) addSet("s4", "a4", cidr4, "ipv4_addr");
    if (family !== "ip" && chance(0.4)) addSet("s6", "a6", cidr6, "ipv6_addr");
    if (chance(0.5)) addSet("ps", "port", port, "inet_service");
    const regular = Array.from({ length: int(0, 2) }, (_, k) => `r${k}`);
    const fams = family === "ip" ? [4] : family === "ip6" ? [6] : [4, 6];

    const match = (inRegular: boolean, hook: string): string => {
      const parts: string[] = [];
      const n = int(0, 3);
      // One family and one transport protocol per rule (nft refuses `tcp dport … udp dport …`).
      const fam = pick(fams);
      const l4 = pick(["tcp", "udp", "th"]);
      let famSaid = false;
      for (let k = 0; k < n; k++) {
        const neg = chance(0.15) ? "!= " : "";
        switch (int(0, 9)) {
          case 0:
          case 1: {
            const which = pick(["saddr", "daddr"]);
            const s = sets.find((x) => x.kind === (fam === 4 ? "a4" : "a6"));
            const v = s && chance(0.3) ? `@${s.name}` : group(fam === 4 ? cidr4 : cidr6);
            parts.push(`${fam === 4 ? "ip" : "ip6"} ${which} ${neg}${v}`);
            break;
          }
          case 2:
          case 3: {
            const s = sets.find((x) => x.kind === "port");
            const v = s && chance(0.3) ? "@ps" : group(port);
            parts.push(`${l4} dport ${neg}${v}`);
            break;
          }
          case 4:
            parts.push(`meta l4proto ${neg}${l4 === "th" ? pick(["tcp", "udp", "{ tcp, udp }"]) : l4}`);
            break;
          case 5:
            parts.push(`ct state ${neg}${pick(["new", "established", "{ new, established }", "established,related", "invalid"])}`);
            break;
          case 6:
            parts.push(`iifname ${neg}${pick(['"fzin"', '"fzx"', '"fz*"', '{ "fzin", "lo" }'])}`);
            break;
          case 7:
            if (hook === "forward" || (inRegular && chance(0.5))) parts.push(`oifname ${neg}${pick(['"fzd1"', '"fzd2"', '"fzd*"', '{ "fzd2", "lo" }'])}`);
            break;
          case 8:
            if (family === "inet" && !famSaid) parts.push(chance(0.5) ? `meta nfproto ${fam === 4 ? "ipv4" : "ipv6"}` : `meta protocol ${fam === 4 ? "ip" : "ip6"}`);
            famSaid = true;
            break;
          default:
            if (fam === 4 && family !== "ip6" && l4 === "th") parts.push(`ip protocol ${neg}${pick(["tcp", "udp"])}`);
        }
      }
      return parts.join(" ");
    };
    const verdict = (inRegular: boolean): string => {
      const v = int(0, 11);
      if (v < 4) return "accept";
      if (v < 7) return "drop";
      if (v < 8) return "counter";
      if (v < 9 && inRegular) return "return";
      if (v < 10 && regular.length && !inRegular) return `jump ${pick(regular)}`;
      if (v < 11 && regular.length && !inRegular) return `goto ${pick(regular)}`;
      return "continue";
    };
    /** A verdict map on one field (optionally behind one match): its verdicts are a rule's verdicts, chosen by the field. */
    const vmapRule = (inRegular: boolean, hook: string): string => {
      const entries = (keys: readonly string[]) => `{ ${keys.map((key) => `${key} : ${verdict(inRegular).replace("counter", "continue")}`).join(", ")} }`;
      const guard = pick(["", "", 'iifname "fzin" ', "ct state new ", `meta l4proto ${pick(["tcp", "udp"])} `]);
      const fam = pick(fams);
      switch (int(0, 5)) {
        case 0:
        case 1: {
          const l4 = guard.startsWith("meta l4proto") ? guard.split(" ")[2]! : pick(["tcp", "udp", "th"]);
          return `${guard}${l4} dport vmap ${entries(disjoint([...new Set(Array.from({ length: int(1, 4) }, port))]))}`;
        }
        case 2:
          return `${guard}meta l4proto vmap ${entries(pick([["tcp"], ["udp"], ["tcp", "udp"], ["udp", "tcp"]]))}`;
        case 3:
          if (fam === 4 && family !== "ip6") return `${guard}ip protocol vmap ${entries(pick([["tcp"], ["udp"], ["tcp", "udp"]]))}`;
          if (family !== "ip") return `${guard}ip6 nexthdr vmap ${entries(pick([["tcp"], ["udp"], ["tcp", "udp"]]))}`;
          return `${guard}meta l4proto vmap ${entries(["tcp"])}`;
        case 4:
          if (hook === "forward" || inRegular) return `${guard}oifname vmap ${entries(pick([['"fzd1"'], ['"fzd2"', '"fzd1"'], ['"lo"', '"fzd2"']]))}`;
          return `${guard}iifname vmap ${entries(pick([['"fzin"'], ['"lo"', '"fzin"'], ['"fzx"']]))}`;
        default:
          return `ct state vmap ${entries(pick([["new"], ["established", "new"], ["invalid", "new"], ["established"]]))}`;
      }
    };
    const ruleLine = (inRegular: boolean, hook: string) => `\t\t${(chance(0.2) ? vmapRule(inRegular, hook) : `${match(inRegular, hook)} ${verdict(inRegular)}`).trim()}`;
    const chains: string[] = [];
    const baseCount = int(1, 3);
    for (let c = 0; c < baseCount; c++) {
      const hook = pick(["prerouting", "input", "input", "forward", "forward"]);
      const prio = pick(["filter", "0", "-10", "10", "filter + 5", "filter - 5", "mangle", "raw", "security", "-150", "150", "-99", "-101"]);
      const policy = chance(0.65) ? "accept" : "drop";
      const cname = `c${c}`;
      chains.push(cname);
      const rules = Array.from({ length: int(0, 5) }, () => ruleLine(false, hook));
      body.push(`\tchain ${cname} {\n\t\ttype filter hook ${hook} priority ${prio}; policy ${policy};\n${rules.join("\n")}\n\t}`);
    }
    for (const rc of regular) {
      const rules = Array.from({ length: int(0, 4) }, () => ruleLine(true, ""));
      body.push(`\tchain ${rc} {\n${rules.join("\n")}\n\t}`);
    }
    if (chance(0.35)) {
      // Destination NAT: to a forwarded address, to this host, or redirect.
      const fam = pick(fams);
      const to = fam === 4 ? pick(["10.201.0.5", "10.202.0.9", "10.200.0.1"]) : pick(["[fd00:201::5]", "[fd00:202::9]", "[fd00:200::1]"]);
      const guard = family === "inet" ? `meta nfproto ${fam === 4 ? "ipv4" : "ipv6"} ` : "";
      const spec = family === "inet" ? (fam === 4 ? "ip " : "ip6 ") : "";
      const proto = pick(["tcp", "udp"]);
      const stmt = chance(0.7) ? `dnat ${spec}to ${to}${chance(0.5) ? `:${pick(PORTS)}` : ""}` : `redirect to :${pick(PORTS)}`;
      const natMatch = `${proto} dport ${group(port)}`;
      body.push(`\tchain nat_pre {\n\t\ttype nat hook prerouting priority ${pick(["dstnat", "-100", "dstnat + 10", "-50"])}; policy accept;\n\t\t${guard}${natMatch} ${stmt}\n\t}`);
      chains.push("nat_pre");
    }
    if (chance(0.2)) body.push(`\tchain nat_post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname "fzd1" masquerade\n\t}`);
    lines.push(`table ${family} ${name} {\n${body.join("\n")}\n}`);
    declared.push({ family, name });
    // Commands after the declarations: append, insert, flush a chain, add a set element, delete a table.
    const base = chains.filter((c) => c.startsWith("c"));
    if (chance(0.3) && base.length) later.push(`add rule ${family} ${name} ${pick(base)} ${`${match(false, "forward")} ${pick(["accept", "drop"])}`.trim()}`);
    if (chance(0.3) && base.length) later.push(`insert rule ${family} ${name} ${pick(base)} ${`${match(false, "forward")} ${pick(["accept", "drop"])}`.trim()}`);
    if (chance(0.1) && base.length) later.push(`flush chain ${family} ${name} ${pick(base)}`);
    if (chance(0.2) && sets.length) {
      const s = pick(sets);
      const x = s.kind === "a4" ? cidr4() : s.kind === "a6" ? cidr6() : port();
      if (disjoint([...s.elements, x]).length > s.elements.length) later.push(`add element ${family} ${name} ${s.name} { ${x} }`);
    }
  }
  if (chance(0.15) && declared.length > 1) {
    const t = pick(declared);
    later.push(`delete table ${t.family} ${t.name}`);
  }
  lines.push(...later);

  const pkts: FuzzPacket[] = [];
  for (let k = 0; k < packets; k++) {
    const family = chance(0.6) ? 4 : 6;
    pkts.push({
      family,
      saddr: pick(family === 4 ? SRC4 : SRC6),
      daddr: pick(family === 4 ? DST4 : DST6),
      proto: chance(0.6) ? "tcp" : "udp",
      dport: chance(0.8) ? pick(PORTS) + (chance(0.3) ? int(0, 21) : 0) : int(1, 65535),
      sport: sportBase + k,
    });
  }
  return { ruleset: `${lines.join("\n")}\n`, packets: pkts };
}

const inSubnet = (addr: string, cidr: string) => {
  const a = parseIp(addr);
  const r = parseRange(cidr);
  return !!a && !!r && a.v === r.v && r.lo <= a.n && a.n <= r.hi;
};

/**
 * The evaluator's verdict on the packet through the firewall namespace: prerouting, then the
 * route (local or out of a dummy), then input, or forward and postrouting; each hook as the
 * verifier evaluates it (every base chain in priority order, NAT rewriting the packet).
 */
export function modelDelivers(rs: Ruleset, fp: FuzzPacket): { delivered: boolean; trace: string[] } {
  const trace: string[] = [];
  const iifAddr = ipSpec(FW_LOCAL.fzin[fp.family === 4 ? 0 : 1]);
  let p: Packet = { family: fp.family, saddr: ipSpec(fp.saddr), daddr: ipSpec(fp.daddr), proto: fp.proto, dport: fp.dport, iif: { name: "fzin", role: "external" }, iifAddr };
  const pre = evaluateHook(rs, "prerouting", p);
  trace.push(`prerouting ${pre.verdict}: ${pre.construct}`);
  if (pre.verdict === "drop") return { delivered: false, trace };
  p = pre.packet;
  const daddr = p.daddr.kind === "ip" ? p.daddr.text : "";
  const local = Object.values(FW_LOCAL).some((xs) => xs.some((x) => parseIp(x)!.n === parseIp(daddr)?.n));
  if (local) {
    const inp = evaluateHook(rs, "input", p);
    trace.push(`input ${inp.verdict}: ${inp.construct}`);
    return { delivered: inp.verdict === "accept", trace };
  }
  const oif = inSubnet(daddr, "10.201.0.0/24") || inSubnet(daddr, "fd00:201::/64") ? "fzd1" : inSubnet(daddr, "10.202.0.0/24") || inSubnet(daddr, "fd00:202::/64") ? "fzd2" : undefined;
  if (!oif) {
    trace.push(`no route to ${daddr}`);
    return { delivered: false, trace };
  }
  const fwd = evaluateHook(rs, "forward", { ...p, oif: { name: oif, role: "external" } });
  trace.push(`forward ${fwd.verdict}: ${fwd.construct}`);
  if (fwd.verdict === "drop") return { delivered: false, trace };
  const post = evaluateHook(rs, "postrouting", { ...fwd.packet, oif: { name: oif, role: "external" } });
  trace.push(`postrouting ${post.verdict}: ${post.construct}`);
  return { delivered: post.verdict === "accept", trace };
}
