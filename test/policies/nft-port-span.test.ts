import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rng } from "../../core/rng.js";
import { ipSpec } from "../../policies/verifier/addr.js";
import { evaluateHooks, parseNftables, portSpan, type Hook, type Packet, type Ruleset } from "../../policies/verifier/nftables.js";
import { largeSite } from "../../scripts/bench/large-site.js";
import { ROOT, tempDir } from "../helpers/paths.js";
import { HOST_PATHS, planSite, rulesetsUnder, siteFiles } from "./planned-sites.js";
import { mutations, outcome, packets, show } from "./nft-packets.js";

/*
 * portSpan: the ports around a packet's dport that a path's rules cannot tell from it. The verifier
 * evaluates one port of such a span and lets it stand for the rest (matrix rows `port`..`to`), so
 * every port of the span must get the evaluation's outcome exactly (verdict, every hook's construct,
 * line and chain, the witness). Checked on every example's rulesets, a generated platform's, and
 * random mutations rich in port matches (ranges, sets, negations, th dport, a nat rule matching a
 * port), at both ends of each span and inside it.
 */

/** Extra tables comparing the port every way a rule can, on the ruleset's own interfaces. */
function portMutations(text: string, seed: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ifaces = [...new Set([...text.matchAll(/[io]ifname\s+"?([\w.-]+)/g)].map((m) => m[1]!)), "fiber0"];
  const port = () => pick([22, 25, 53, 443, 5432, 8000, 8049, 51820]);
  const match = () =>
    pick([
      () => `iifname "${pick(ifaces)}"`,
      () => `oifname "${pick(ifaces)}"`,
      () => `tcp dport ${port()}`,
      () => `udp dport ${port()}-${port() + 100}`,
      () => `tcp dport { ${port()}, ${port()}-${port() + 7} }`,
      () => `tcp dport != ${port()}`,
      () => `th dport ${port()}`,
      () => `meta l4proto tcp`,
    ])();
  const rule = () => `${Array.from({ length: 1 + Math.floor(r() * 3) }, match).join(" ")} ${pick(["accept", "drop", "jump side", "continue"])}`;
  return [0, 1].map(
    (i) => `${text}
table inet span_probe_${i} {
  chain side {
    ${rule()}
    ${rule()}
  }
  chain fwd {
    type filter hook forward priority ${7 + i}; policy ${pick(["accept", "drop"])};
    ${rule()}
    ${rule()}
    ${rule()}
  }
  chain inp {
    type filter hook input priority ${7 + i}; policy accept;
    ${rule()}
    ${rule()}
  }${i === 1 ? `\n  chain post { type nat hook postrouting priority srcnat; policy accept; oifname "${pick(ifaces)}" tcp dport ${port()} masquerade }` : ""}
}
`,
  );
}

/** Every packet's span holds its port and every port of it gets its outcome. Returns [packets, spans wider than the port]. */
function compare(rs: Ruleset, text: string): [number, number] {
  let n = 0;
  let wide = 0;
  for (const hooks of HOST_PATHS) {
    for (const p of packets(rs, text)) {
      const s = portSpan(rs, hooks, p);
      expect(s.lo <= p.dport && p.dport <= s.hi, `${hooks.join(",")} ${show(p)}: span ${s.lo}-${s.hi}`).toBe(true);
      const want = outcome(evaluateHooks(rs, hooks, p));
      const lo = Math.max(1, s.lo);
      const tries = [...new Set([lo, s.hi, lo + 1, s.hi - 1, Math.floor((lo + s.hi) / 2)])].filter((q) => q >= lo && q <= s.hi && q !== p.dport);
      for (const q of tries) expect(outcome(evaluateHooks(rs, hooks, { ...p, dport: q })), `${hooks.join(",")} ${show(p)} at port ${q} (span ${s.lo}-${s.hi})`).toEqual(want);
      n++;
      if (s.hi > s.lo) wide++;
    }
  }
  return [n, wide];
}

function checkDir(hostsDir: string): void {
  const files = rulesetsUnder(hostsDir);
  expect(files.length).toBeGreaterThan(0);
  let n = 0;
  let wide = 0;
  for (const [i, f] of files.entries()) {
    const text = readFileSync(f, "utf8");
    for (const t of [text, ...mutations(text, i + 1), ...portMutations(text, i + 11)]) {
      const [a, b] = compare(parseNftables(f, t), t);
      n += a;
      wide += b;
    }
  }
  expect(n).toBeGreaterThan(200);
  // The check means something only when spans hold several ports.
  expect(wide).toBeGreaterThan(50);
}

describe("nftables: every port of a packet's port span gets the packet's outcome", () => {
  for (const site of siteFiles()) {
    it(`${site.name}: every host's ruleset, and random mutations`, { timeout: 300_000 }, async () => {
      checkDir(join(await planSite(site.file), "hosts"));
    });
  }

  it("a generated platform (the benchmark's, 40 services): every host's ruleset, and random mutations", { timeout: 300_000 }, async () => {
    const file = join(tempDir("port-span"), "site.yaml");
    writeFileSync(file, largeSite(ROOT, 40));
    checkDir(join(await planSite(file), "hosts"));
  });

  it("a rule the packet's other fields let match cuts the span at its ports; one they rule out does not; a nat rule's hook counts every rule; a translation before the last hook leaves the port alone", () => {
    const text = `table inet t {
  chain fwd { type filter hook forward priority 0; policy drop;
    iifname "br-a" tcp dport 8000-8100 accept
    iifname "br-b" tcp dport 443 accept
  }
}
`;
    const rs = parseNftables("t.conf", text);
    const hooks: readonly Hook[] = ["prerouting", "forward", "postrouting"];
    const p: Packet = { family: 4, saddr: ipSpec("172.20.0.2"), daddr: ipSpec("192.0.2.1"), proto: "tcp", dport: 80, iif: { name: "br-a", role: "bridge" }, oif: { name: "fiber0", role: "external" } };
    expect(portSpan(rs, hooks, p)).toEqual({ lo: 0, hi: 7999 });
    expect(portSpan(rs, hooks, { ...p, dport: 8050 })).toEqual({ lo: 8000, hi: 8100 });
    expect(portSpan(rs, hooks, { ...p, dport: 9000 })).toEqual({ lo: 8101, hi: 65535 });
    // From br-c neither rule can match: one span, every port.
    expect(portSpan(rs, hooks, { ...p, iif: { name: "br-c", role: "bridge" } })).toEqual({ lo: 0, hi: 65535 });
    // UDP: the tcp rules cannot match.
    expect(portSpan(rs, hooks, { ...p, proto: "udp" })).toEqual({ lo: 0, hi: 65535 });
    // A masquerade at postrouting: every rule of that hook counts, whatever its interfaces (its port 25 cuts).
    const natted = parseNftables("m.conf", `${text}table ip n { chain post { type nat hook postrouting priority srcnat; policy accept; oifname "wwan0" tcp dport 25 masquerade } }
`);
    expect(portSpan(natted, hooks, { ...p, iif: { name: "br-c", role: "bridge" } })).toEqual({ lo: 26, hi: 65535 });
    // A dnat at prerouting: the exact port decides.
    const dnat = parseNftables("d.conf", `${text}table ip n { chain pre { type nat hook prerouting priority dstnat; policy accept; tcp dport 80 dnat to 10.0.0.1:8080 } }
`);
    expect(portSpan(dnat, hooks, { ...p, dport: 81 })).toEqual({ lo: 81, hi: 81 });
  });
});
