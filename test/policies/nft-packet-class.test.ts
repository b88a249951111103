import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatIp, ipSpec, parseRange, type AddrSpec } from "../../policies/verifier/addr.js";
import { evaluateHooks, packetClass, parseNftables, portClasses, type Hook, type HooksResult, type Iface, type Packet, type Ruleset } from "../../policies/verifier/nftables.js";
import { HOST_PATHS, planSite, rulesetsUnder, siteFiles } from "./planned-sites.js";

/*
 * The reachability walk evaluates a host's hooks once per packet class (packetClass) and gives every
 * packet of the class that outcome. This checks the promise on every example's rulesets, and on
 * mutated ones with more cuts: packets of one class get the same verdict, witness and steps (hook,
 * verdict, construct, line); packets either side of a cut are of different classes; a translation
 * before the last hook makes the exact packet matter (no class).
 */


/** What the walk reads of an outcome: everything but the translated packet. */
function outcome(r: HooksResult): unknown {
  return { verdict: r.verdict, witness: r.witness, diverted: !!r.diverted, steps: r.steps.map((s) => ({ hook: s.hook, verdict: s.result.verdict, construct: s.result.construct, line: s.result.line, chain: s.result.chain })) };
}

/** Concrete addresses around every bound the ruleset names (the bound, one below, one above), plus a few. */
function addresses(text: string, v: 4 | 6): AddrSpec[] {
  const re = v === 4 ? /\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b/g : /\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}(?:\/\d{1,3})?/gi;
  const ns = new Set<bigint>();
  for (const m of text.matchAll(re)) {
    const r = parseRange(m[0]);
    if (!r || r.v !== v) continue;
    for (const n of [r.lo - 1n, r.lo, r.lo + 1n, r.hi, r.hi + 1n]) if (n >= 0n) ns.add(n);
  }
  for (const a of v === 4 ? ["10.0.0.1", "192.0.2.7", "203.0.113.9"] : ["fd00::1", "2001:db8::7"]) ns.add(parseRange(a)!.lo);
  const max = v === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  return [...ns].filter((n) => n <= max).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, 16).map((n) => ipSpec(formatIp(v, n)));
}

function packets(rs: Ruleset, text: string): Packet[] {
  const classes = portClasses([rs]);
  const ports = [...new Set(classes.flatMap((c) => [c.lo, c.hi]))].filter((_, i, xs) => xs.length < 12 || i % Math.ceil(xs.length / 12) === 0);
  const names = [...new Set([...text.matchAll(/[io]ifname\s+"?([\w.-]+)/g)].map((m) => m[1]!))].slice(0, 2);
  const ifaces: (Iface | undefined)[] = [undefined, { role: "external" }, ...names.map((name): Iface => ({ name, role: "bridge" }))];
  const out: Packet[] = [];
  for (const family of [4, 6] as const) {
    const addrs = addresses(text, family);
    const any: AddrSpec = { kind: "any", v: family };
    for (const [k, saddr] of [any, ...addrs].entries()) {
      const daddrs = [any, ...addrs.filter((_, j) => (j + k) % 3 === 0)];
      for (const daddr of daddrs) {
        for (const [i, dport] of ports.entries()) {
          const iif = ifaces[(i + k) % ifaces.length];
          out.push({ family, saddr, daddr, proto: (i + k) % 2 ? "udp" : "tcp", dport, iif, oif: ifaces[(i + k + 1) % ifaces.length] });
        }
      }
    }
  }
  return out;
}

/** Packets sorted into their classes; every class must have one outcome. Returns the number of classes holding two packets or more. */
function compare(rs: Ruleset, text: string): number {
  let shared = 0;
  for (const hooks of HOST_PATHS) {
    const byClass = new Map<string, { p: Packet; o: unknown }>();
    for (const p of packets(rs, text)) {
      const cls = packetClass(rs, hooks, p);
      if (cls === undefined) continue;
      const o = outcome(evaluateHooks(rs, hooks, p));
      const seen = byClass.get(cls);
      if (!seen) {
        byClass.set(cls, { p, o });
        continue;
      }
      shared++;
      const show = (q: Packet) => JSON.stringify(q, (_k, v) => (typeof v === "bigint" ? String(v) : v));
      expect(o, `${hooks.join(",")} ${show(p)} is of the class of ${show(seen.p)}`).toEqual(seen.o);
    }
  }
  return shared;
}

/** Extra tables: cuts on single addresses and ports, behind jumps and vmaps, and a postrouting translation. */
function mutated(text: string): string {
  return `${text}
table inet class_probe {
  chain ports { ip saddr 10.0.0.7 tcp dport 1000-1999 drop }
  chain fwd {
    type filter hook forward priority 5; policy accept;
    ip daddr 192.0.2.128/25 jump ports
    tcp dport vmap { 5433 : drop, 8081 : accept }
    ip saddr 10.0.0.9 udp dport 53 drop
  }
  chain inp {
    type filter hook input priority 5; policy accept;
    ip daddr 203.0.113.10 tcp dport 2222 drop
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" masquerade
  }
}
`;
}

describe("nftables: packets of one class get one outcome", () => {
  for (const site of siteFiles()) {
    it(`${site.name}: every host's ruleset, and mutated ones`, { timeout: 300_000 }, async () => {
      const dir = await planSite(site.file);
      const files = rulesetsUnder(join(dir, "hosts"));
      expect(files.length).toBeGreaterThan(0);
      let shared = 0;
      for (const f of files) {
        const text = readFileSync(f, "utf8");
        shared += compare(parseNftables(f, text), text);
        shared += compare(parseNftables(f, mutated(text)), mutated(text));
      }
      // The check means something only when classes hold several packets.
      expect(shared).toBeGreaterThan(100);
    });
  }

  it("packets either side of a cut are of different classes; inside one, of the same", () => {
    const rs = parseNftables("t.conf", `table inet t {
  chain fwd { type filter hook forward priority 0; policy drop; ip saddr 10.0.0.0/25 tcp dport 80-89 accept }
}
`);
    const hooks: Hook[] = ["prerouting", "forward", "postrouting"];
    const p = (saddr: string, dport: number): Packet => ({ family: 4, saddr: ipSpec(saddr), daddr: { kind: "any", v: 4 }, proto: "tcp", dport });
    expect(packetClass(rs, hooks, p("10.0.0.1", 80))).toBe(packetClass(rs, hooks, p("10.0.0.127", 89)));
    expect(packetClass(rs, hooks, p("10.0.0.1", 80))).not.toBe(packetClass(rs, hooks, p("10.0.0.128", 80)));
    expect(packetClass(rs, hooks, p("10.0.0.1", 80))).not.toBe(packetClass(rs, hooks, p("10.0.0.1", 90)));
    expect(packetClass(rs, hooks, p("10.0.0.1", 80))).not.toBe(packetClass(rs, hooks, { ...p("10.0.0.1", 80), proto: "udp" }));
    // No rule names an interface here: another one is the same class (the outcome cannot differ); where a rule names it, not.
    expect(packetClass(rs, hooks, p("10.0.0.1", 80))).toBe(packetClass(rs, hooks, { ...p("10.0.0.1", 80), iif: { role: "tunnel" } }));
    const named = parseNftables("i.conf", `table inet t {
  chain fwd { type filter hook forward priority 0; policy drop; iifname "wg0" ip saddr 10.0.0.0/25 tcp dport 80-89 accept }
}
`);
    const wg: Packet = { ...p("10.0.0.1", 80), iif: { name: "wg0", role: "tunnel" } };
    expect(packetClass(named, hooks, wg)).not.toBe(packetClass(named, hooks, { ...wg, iif: { name: "wg1", role: "tunnel" } }));
    expect(evaluateHooks(named, hooks, wg).verdict).toBe("accept");
    expect(evaluateHooks(named, hooks, { ...wg, iif: { name: "wg1", role: "tunnel" } }).verdict).toBe("drop");
    expect(evaluateHooks(rs, hooks, p("10.0.0.128", 80)).verdict).toBe("drop");
    expect(evaluateHooks(rs, hooks, p("10.0.0.127", 89)).verdict).toBe("accept");
  });

  it("a translation before the last hook makes the exact packet matter: no class; one at postrouting does not", () => {
    const dnat = parseNftables("d.conf", `table ip t {
  chain pre { type nat hook prerouting priority dstnat; policy accept; ip daddr 192.0.2.0/24 dnat to 192.0.2.5 }
  chain fwd { type filter hook forward priority 0; policy accept; }
}
`);
    const p: Packet = { family: 4, saddr: ipSpec("10.0.0.1"), daddr: ipSpec("192.0.2.5"), proto: "tcp", dport: 80 };
    expect(packetClass(dnat, ["prerouting", "forward", "postrouting"], p)).toBeUndefined();
    // The same class would hold a packet the translation leaves in place and one it diverts.
    expect(evaluateHooks(dnat, ["prerouting", "forward", "postrouting"], p).diverted).toBeUndefined();
    expect(evaluateHooks(dnat, ["prerouting", "forward", "postrouting"], { ...p, daddr: ipSpec("192.0.2.6") }).diverted).toBeDefined();
    // Only the output path sees no prerouting translation.
    expect(packetClass(dnat, ["output", "postrouting"], p)).toBeDefined();
    const masq = parseNftables("m.conf", `table ip t { chain post { type nat hook postrouting priority srcnat; policy accept; masquerade } }
`);
    expect(packetClass(masq, ["prerouting", "forward", "postrouting"], p)).toBeDefined();
  });
});
