import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ipSpec, rangesSpec } from "../../policies/verifier/addr.js";
import { evaluateHooks, packetClass, parseNftables, type Packet, type Ruleset } from "../../policies/verifier/nftables.js";
import { largeSite } from "../../scripts/bench/large-site.js";
import { ROOT, tempDir } from "../helpers/paths.js";
import { HOST_PATHS, planSite, rulesetsUnder, siteFiles } from "./planned-sites.js";
import { mutations, outcome, packets, show } from "./nft-packets.js";

/*
 * On a path no nat rule reaches, evaluateHooks tries a symbolic address one representative per class
 * of the cuts drawn by the rules the packet's concrete fields (the other address, interfaces, protocol,
 * port, ct status) let match, and packetClass names those rules instead of the concrete addresses. This
 * checks both against the unpruned evaluation: the pruned result equals the path's cuts' result and the
 * whole ruleset's (verdict, every step, witness), and packets of one class get one outcome, on every
 * example's rulesets, on a generated platform's (scripts/bench/large-site.ts) and on random mutations
 * (rules on interfaces, sources and destinations, jumps, vmaps, a translation that turns pruning off).
 */

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
