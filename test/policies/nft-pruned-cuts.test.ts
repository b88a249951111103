import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rng } from "../../core/rng.js";
import { formatIp, ipSpec, parseRange, rangesSpec, type AddrSpec } from "../../policies/verifier/addr.js";
import { evaluateHooks, packetClass, parseNftables, portClasses, type HooksResult, type Iface, type Packet, type Ruleset } from "../../policies/verifier/nftables.js";
import { largeSite } from "../../scripts/bench/large-site.js";
import { ROOT, tempDir } from "../helpers/paths.js";
import { HOST_PATHS, planSite, rulesetsUnder, siteFiles } from "./planned-sites.js";

/*
 * On a path no nat rule reaches, evaluateHooks tries a symbolic address one representative per class
 * of the cuts drawn by the rules the packet's concrete fields (the other address, interfaces, protocol,
 * port, ct status) let match, and packetClass names those rules instead of the concrete addresses. This
 * checks both against the unpruned evaluation: the pruned result equals the path's cuts' result and the
 * whole ruleset's (verdict, every step, witness), and packets of one class get one outcome, on every
 * example's rulesets, on a generated platform's (scripts/bench/large-site.ts) and on random mutations
 * (rules on interfaces, sources and destinations, jumps, vmaps, a translation that turns pruning off).
 */

/** Random extra tables: rules on named interfaces, addresses the ruleset names, ports, behind jumps and vmaps; sometimes a nat chain. */
function mutations(text: string, seed: number): string[] {
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

function packets(rs: Ruleset, text: string): Packet[] {
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
function outcome(r: HooksResult): unknown {
  return { verdict: r.verdict, witness: r.witness, diverted: !!r.diverted, steps: r.steps.map((s) => ({ hook: s.hook, verdict: s.result.verdict, construct: s.result.construct, line: s.result.line, chain: s.result.chain })) };
}

const show = (q: Packet) => JSON.stringify(q, (_k, v) => (typeof v === "bigint" ? String(v) : v));

/** Pruned == unpruned on every packet; one outcome per class. Returns [packets compared, classes holding several packets]. */
function compare(rs: Ruleset, text: string): [number, number] {
  let n = 0;
  let shared = 0;
  for (const hooks of HOST_PATHS) {
    const byClass = new Map<string, { p: Packet; o: unknown }>();
    for (const p of packets(rs, text)) {
      const pruned = evaluateHooks(rs, hooks, p);
      expect(pruned, `${hooks.join(",")} ${show(p)}`).toEqual(evaluateHooks(rs, hooks, p, { pathCuts: true }));
      expect(pruned, `${hooks.join(",")} ${show(p)} (all cuts)`).toEqual(evaluateHooks(rs, hooks, p, { allCuts: true }));
      n++;
      const cls = packetClass(rs, hooks, p);
      if (cls === undefined) continue;
      const seen = byClass.get(cls);
      if (!seen) byClass.set(cls, { p, o: outcome(pruned) });
      else {
        shared++;
        expect(outcome(pruned), `${hooks.join(",")} ${show(p)} is of the class of ${show(seen.p)}`).toEqual(seen.o);
      }
    }
  }
  return [n, shared];
}

function checkDir(hostsDir: string): void {
  const files = rulesetsUnder(hostsDir);
  expect(files.length).toBeGreaterThan(0);
  let n = 0;
  let shared = 0;
  for (const [i, f] of files.entries()) {
    const text = readFileSync(f, "utf8");
    for (const t of [text, ...mutations(text, i + 1)]) {
      const [a, b] = compare(parseNftables(f, t), t);
      n += a;
      shared += b;
    }
  }
  expect(n).toBeGreaterThan(200);
  // The class check means something only when classes hold several packets.
  expect(shared).toBeGreaterThan(50);
}

describe("nftables: the cuts of the rules a packet's concrete fields let match decide as the unpruned cuts", () => {
  for (const site of siteFiles()) {
    it(`${site.name}: every host's ruleset, and random mutations`, { timeout: 300_000 }, async () => {
      checkDir(join(await planSite(site.file), "hosts"));
    });
  }

  it("a generated platform (the benchmark's, 40 services): every host's ruleset, and random mutations", { timeout: 300_000 }, async () => {
    const file = join(tempDir("pruned-cuts"), "site.yaml");
    writeFileSync(file, largeSite(ROOT, 40));
    checkDir(join(await planSite(file), "hosts"));
  });

  it("a rule the concrete side cannot match draws no cut; one it can match does; a nat rule on the path keeps every cut", () => {
    // From 192.0.2.1 on br-a: the br-b rule cannot match, so its cut at 10.0.0.128 is not tried;
    // the br-a rule's is. Same result as the unpruned walk, one class per source interface.
    const text = `table inet t {
  chain fwd { type filter hook forward priority 0; policy drop;
    iifname "br-b" ip daddr 10.0.0.128/25 accept
    iifname "br-a" ip daddr 10.0.0.64/26 accept
  }
}
`;
    const rs = parseNftables("t.conf", text);
    const hooks = ["prerouting", "forward", "postrouting"] as const;
    const p: Packet = { family: 4, saddr: ipSpec("192.0.2.1"), daddr: rangesSpec(["10.0.0.0/8"], 4)!, proto: "tcp", dport: 80, iif: { name: "br-a", role: "bridge" }, oif: { name: "fiber0", role: "external" } };
    const a = evaluateHooks(rs, hooks, p);
    expect(a.verdict).toBe("accept");
    expect(a.witness).toBe("to 10.0.0.64");
    expect(a).toEqual(evaluateHooks(rs, hooks, p, { pathCuts: true }));
    const b = evaluateHooks(rs, hooks, { ...p, iif: { name: "br-b", role: "bridge" } });
    expect(b.witness).toBe("to 10.0.0.128");
    // Sources the rules do not name share a class; another interface is another class.
    expect(packetClass(rs, hooks, p)).toBe(packetClass(rs, hooks, { ...p, saddr: ipSpec("198.51.100.9") }));
    expect(packetClass(rs, hooks, p)).not.toBe(packetClass(rs, hooks, { ...p, iif: { name: "br-b", role: "bridge" } }));
    expect(evaluateHooks(rs, hooks, { ...p, iif: { name: "br-c", role: "bridge" } }).verdict).toBe("drop");
    // With a source named by a rule, that source is a class of its own.
    const named = parseNftables("n.conf", `table inet t {
  chain fwd { type filter hook forward priority 0; policy drop; ip saddr 192.0.2.1 ip daddr 10.0.0.0/8 accept }
}
`);
    expect(packetClass(named, hooks, p)).not.toBe(packetClass(named, hooks, { ...p, saddr: ipSpec("192.0.2.2") }));
    expect(evaluateHooks(named, hooks, p).verdict).toBe("accept");
    expect(evaluateHooks(named, hooks, { ...p, saddr: ipSpec("192.0.2.2") }).verdict).toBe("drop");
    // A translation reached from the path: no pruning, the concrete addresses stay in the class.
    const natted = parseNftables("m.conf", `${text}table ip n { chain post { type nat hook postrouting priority srcnat; policy accept; oifname "fiber0" masquerade } }
`);
    expect(packetClass(natted, hooks, p)).toBeDefined();
    expect(evaluateHooks(natted, hooks, p)).toEqual(evaluateHooks(natted, hooks, p, { pathCuts: true }));
  });
});
