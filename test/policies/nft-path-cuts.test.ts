import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rng } from "../../core/rng.js";
import { ipSpec, rangesSpec, type AddrSpec } from "../../policies/verifier/addr.js";
import { evaluateHooks, parseNftables, portClasses, type Iface, type Packet, type Ruleset } from "../../policies/verifier/nftables.js";
import { HOST_PATHS, planSite, rulesetsUnder, siteFiles } from "./planned-sites.js";

/*
 * evaluateHooks tries a symbolic address one representative per class of the cuts drawn by the rules
 * reachable at the hooks the packet passes (base chains and the chains they jump to), not of the whole
 * ruleset. This checks that the pruned evaluation gives exactly what the whole ruleset's classes give
 * (verdict, every step, witness) on every example's rulesets and on mutated ones that add cuts only
 * some hooks see, behind jumps, vmaps and other hooks' chains.
 */


/** Extra tables drawing address cuts that only one hook's chains (or a jumped-to chain) see. */
function mutations(text: string, seed: number): string[] {
  const r = rng(seed); // deterministic: the mutations are the same every run
  const ip = () => `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  const verdict = () => (r() < 0.5 ? "accept" : "drop");
  const out: string[] = [];
  for (let i = 0; i < 2; i++) {
    out.push(`${text}
table inet pathcuts_probe_${i} {
  chain extra {
    ip daddr ${ip()}/28 ${verdict()}
    ip saddr ${ip()}/30 ${verdict()}
  }
  chain ports {
    ip daddr ${ip()} ${verdict()}
  }
  chain fwd {
    type filter hook forward priority ${10 + i}; policy accept;
    ip daddr ${ip()}/24 jump extra
    tcp dport vmap { 5432 : jump ports, 443 : accept }
    ip daddr ${ip()}/29 ${verdict()}
  }
  chain inp {
    type filter hook input priority ${10 + i}; policy accept;
    ip daddr ${ip()}/26 ${verdict()}
    ip saddr ${ip()}/27 ${verdict()}
  }
  chain outp {
    type filter hook output priority ${10 + i}; policy accept;
    ip daddr ${ip()} ${verdict()}
  }
}
`);
  }
  return out;
}

function packets(rs: Ruleset, text: string): Packet[] {
  const ports = portClasses([rs]).map((c) => c.lo);
  const step = Math.max(1, Math.floor(ports.length / 3));
  const somePorts = [...new Set([...ports.filter((_, i) => i % step === 0), 22, 443, 5432])];
  const names = [...new Set([...text.matchAll(/[io]ifname\s+"?([\w.-]+)/g)].map((m) => m[1]!))].slice(0, 2);
  const ifaces: (Iface | undefined)[] = [undefined, { role: "external" }, ...names.map((name): Iface => ({ name, role: "bridge" }))];
  const specs = (v: 4 | 6): AddrSpec[] => {
    const any: AddrSpec = { kind: "any", v };
    const some = v === 4 ? [rangesSpec(["10.0.0.0/8", "192.168.0.0/16"], 4), ipSpec("10.0.0.1")] : [rangesSpec(["fd00::/8"], 6), ipSpec("fd00::1")];
    return [any, ...some.filter((x): x is AddrSpec => x !== undefined)];
  };
  const out: Packet[] = [];
  for (const family of [4, 6] as const) {
    for (const saddr of specs(family)) {
      for (const daddr of specs(family)) {
        if (saddr.kind === "ip" && daddr.kind === "ip") continue;
        for (const dport of somePorts) {
          for (const [i, iif] of ifaces.entries()) {
            const oif = ifaces[(i + 1) % ifaces.length];
            out.push({ family, saddr, daddr, proto: dport % 2 ? "udp" : "tcp", dport, iif, oif });
          }
        }
      }
    }
  }
  return out;
}

function compare(rs: Ruleset, text: string): number {
  let n = 0;
  for (const hooks of HOST_PATHS) {
    for (const p of packets(rs, text)) {
      expect(evaluateHooks(rs, hooks, p), `${hooks.join(",")} ${JSON.stringify(p, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`).toEqual(evaluateHooks(rs, hooks, p, { allCuts: true }));
      n++;
    }
  }
  return n;
}

describe("nftables: representatives of the path's cuts decide as those of the whole ruleset", () => {
  for (const site of siteFiles()) {
    it(`${site.name}: every host's ruleset, and mutated ones`, { timeout: 300_000 }, async () => {
      const dir = await planSite(site.file);
      const files = rulesetsUnder(join(dir, "hosts"));
      expect(files.length).toBeGreaterThan(0);
      let n = 0;
      for (const [i, f] of files.entries()) {
        const text = readFileSync(f, "utf8");
        n += compare(parseNftables(f, text), text);
        for (const m of mutations(text, i + 1)) n += compare(parseNftables(f, m), m);
      }
      expect(n).toBeGreaterThan(50);
    });
  }

  it("a cut only another hook's chain draws is not needed; one a jumped-to chain draws is tried", () => {
    // Forward accepts 10.0.0.0/8 only; an input rule cuts at 10.0.0.128. Same verdict and witness
    // (the lowest address of the first passing class) either way.
    const text = `table inet t {
  chain inp { type filter hook input priority 0; policy accept; ip daddr 10.0.0.128/25 drop }
  chain fwd { type filter hook forward priority 0; policy drop; ip daddr 10.0.0.0/8 accept }
}
`;
    const rs = parseNftables("t.conf", text);
    const p: Packet = { family: 4, saddr: ipSpec("192.0.2.1"), daddr: { kind: "any", v: 4 }, proto: "tcp", dport: 80 };
    const pruned = evaluateHooks(rs, ["prerouting", "forward", "postrouting"], p);
    expect(pruned.verdict).toBe("accept");
    expect(pruned.witness).toBe("to 10.0.0.0");
    expect(pruned).toEqual(evaluateHooks(rs, ["prerouting", "forward", "postrouting"], p, { allCuts: true }));
    // A drop in a chain the forward hook jumps to is seen: 10.0.0.0/25 is refused, 10.0.0.128 passes.
    const jumped = parseNftables("j.conf", `table inet t {
  chain deny { ip daddr 10.0.0.0/25 drop }
  chain fwd { type filter hook forward priority 0; policy drop; jump deny; ip daddr 10.0.0.0/8 accept }
}
`);
    const r = evaluateHooks(jumped, ["prerouting", "forward", "postrouting"], { ...p, daddr: rangesSpec(["10.0.0.0/8"], 4)! });
    expect(r.witness).toBe("to 10.0.0.128");
    expect(r).toEqual(evaluateHooks(jumped, ["prerouting", "forward", "postrouting"], { ...p, daddr: rangesSpec(["10.0.0.0/8"], 4)! }, { allCuts: true }));
  });
});
