import { describe, expect, it } from "vitest";
import { ipSpec, parseRange, rangesSpec, subtractRanges } from "../../policies/verifier/addr.js";
import { evaluateHook, parseNftables, type Packet } from "../../policies/verifier/nftables.js";

const RULESET = `#!/usr/sbin/nft -f
define ADMIN = { 198.51.100.64/28 }
table inet t {
  set ban4 { type ipv4_addr; flags timeout; }
  set web { type inet_service; elements = { 80, 443 } }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname "lo" accept
    ip saddr @ban4 drop
    ip saddr $ADMIN tcp dport ssh accept
    tcp dport @web accept
    udp dport 53 limit rate 10/second accept
    tcp dport 25 limit rate over 5/second drop
    tcp dport 25 log prefix "smtp " counter accept
    iifname "wg0" jump from_tunnel
  }
  chain from_tunnel {
    ip saddr 10.77.0.2 tcp dport 587 accept
    return
  }
  chain output { type filter hook output priority 0; policy accept; }
}
`;
const rs = parseNftables("t.conf", RULESET);
// The internet: every address outside the declared peers (here, the admin range).
const internet = { kind: "ranges" as const, v: 4 as const, ranges: subtractRanges([parseRange("0.0.0.0/0")!], [parseRange("198.51.100.64/28")!]), text: "internet" };
const admin = rangesSpec(["198.51.100.64/28"], 4)!;
const pkt = (saddr: Packet["saddr"], port: number, proto: "tcp" | "udp" = "tcp", iif = "eth0"): Packet => ({ family: 4, saddr, daddr: ipSpec("203.0.113.10"), proto, dport: port, iif: { name: iif, role: iif === "wg0" ? "tunnel" : "external" } });

describe("the nftables evaluator", () => {
  it("GIVEN a ruleset in standard syntax WHEN parsed THEN it reports no unsupported construct", () => {
    expect(rs.problems).toEqual([]);
  });

  it.each([
    ["the internet to tcp/22", pkt(internet, 22), "drop"],
    ["an admin address to tcp/22 (define'd set, service name)", pkt(admin, 22), "accept"],
    ["the internet to tcp/443 (named set of ports)", pkt(internet, 443), "accept"],
    ["the internet to udp/53 (limit rate: within the rate)", pkt(internet, 53, "udp"), "accept"],
    ["the internet to tcp/25 (limit rate over: not matched; log is not terminal)", pkt(internet, 25), "accept"],
    ["the tunnel peer to tcp/587 (jump)", pkt(ipSpec("10.77.0.2"), 587, "tcp", "wg0"), "accept"],
    ["another tunnel address to tcp/587 (return, then policy)", pkt(ipSpec("10.77.0.3"), 587, "tcp", "wg0"), "drop"],
    ["the internet to tcp/8080 (policy drop)", pkt(internet, 8080), "drop"],
  ] as const)("GIVEN %s WHEN evaluated at input THEN the verdict is %s", (_name, p, verdict) => {
    expect(evaluateHook(rs, "input", p).verdict).toBe(verdict);
  });

  it("GIVEN a drop WHEN explained THEN the construct names the table, chain and policy", () => {
    expect(evaluateHook(rs, "input", pkt(internet, 8080)).construct).toBe("table inet t chain input policy drop [from 0.0.0.0]");
  });

  it("GIVEN a rule it does not understand WHEN parsed THEN it is a problem with its line, not a guess", () => {
    const bad = parseNftables("b.conf", "table inet b {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    meta mark 0x1 accept\n  }\n}\n");
    expect(bad.problems).toHaveLength(1);
    expect(bad.problems[0]).toMatchObject({ line: 4, text: "meta mark 0x1 accept" });
  });
});

describe("two nat chains on one hook", () => {
  // Found by `npm run fuzz:nft -- 10000` (seed 1): the evaluator applied both translations, the kernel only the first.
  const two = (firstMatches: string) =>
    parseNftables(
      "nat.conf",
      `table ip a {\n  chain pre { type nat hook prerouting priority -100; policy accept;\n    tcp dport ${firstMatches} dnat to 10.202.0.9\n  }\n}\ntable ip b {\n  chain pre { type nat hook prerouting priority -90; policy accept;\n    tcp dport { 53, 80 } dnat to 10.200.0.1:1010\n  }\n}\n`,
    );
  const pkt: Packet = { family: 4, saddr: ipSpec("192.0.2.1"), daddr: ipSpec("10.201.0.5"), proto: "tcp", dport: 53 };

  it("GIVEN a dnat in the first nat chain WHEN a packet matches both THEN only the first translation applies, as the kernel binds NAT once per hook", () => {
    const r = evaluateHook(two("53"), "prerouting", pkt);
    expect(r.packet.daddr.kind === "ip" && r.packet.daddr.text).toBe("10.202.0.9");
    expect(r.packet.dport).toBe(53);
  });

  it("GIVEN a first nat chain that does not translate the packet WHEN evaluated THEN the second chain's dnat applies", () => {
    const r = evaluateHook(two("22"), "prerouting", pkt);
    expect(r.packet.daddr.kind === "ip" && r.packet.daddr.text).toBe("10.200.0.1");
    expect(r.packet.dport).toBe(1010);
  });
});

describe("verdict maps and meta protocol, as nft reads them", () => {
  const chain = (body: string) => parseNftables("v.conf", `table inet v {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    ${body}\n  }\n  chain side { accept }\n}\n`);
  const p4 = (port: number, proto: "tcp" | "udp" = "tcp", iif = "eth0"): Packet => ({ family: 4, saddr: ipSpec("192.0.2.1"), daddr: ipSpec("203.0.113.10"), proto, dport: port, iif: { name: iif, role: "external" } });
  const p6 = (port: number, proto: "tcp" | "udp" = "tcp"): Packet => ({ family: 6, saddr: ipSpec("2001:db8::1"), daddr: ipSpec("2001:db8::10"), proto, dport: port, iif: { name: "eth0", role: "external" } });

  it("GIVEN tcp dport vmap { 22 : accept, 8000-8010 : jump side } WHEN packets arrive THEN each port takes its entry's verdict, udp and other ports none", () => {
    const rs = chain("tcp dport vmap { 22 : accept, 8000-8010 : jump side }");
    expect(rs.problems).toEqual([]);
    expect([22, 8005, 8011, 23].map((port) => evaluateHook(rs, "input", p4(port)).verdict)).toEqual(["accept", "accept", "drop", "drop"]);
    expect(evaluateHook(rs, "input", p4(22, "udp")).verdict).toBe("drop");
  });
  it("GIVEN ip protocol vmap { udp : accept } in an inet table WHEN an IPv6 UDP packet arrives THEN it does not select (the IPv4 header is not there)", () => {
    const rs = chain("ip protocol vmap { udp : accept }");
    expect(rs.problems).toEqual([]);
    expect(evaluateHook(rs, "input", p4(9, "udp")).verdict).toBe("accept");
    expect(evaluateHook(rs, "input", p6(9, "udp")).verdict).toBe("drop");
  });
  it("GIVEN iifname vmap and meta l4proto vmap WHEN packets arrive THEN the interface and the protocol select the verdict", () => {
    const byIface = chain('iifname vmap { "wg0" : accept, "eth0" : drop }');
    expect(byIface.problems).toEqual([]);
    expect(evaluateHook(byIface, "input", p4(22, "tcp", "wg0")).verdict).toBe("accept");
    expect(evaluateHook(byIface, "input", p4(22, "tcp", "eth0")).construct).toMatch(/iifname vmap/);
    const byProto = chain("meta l4proto vmap { 17 : accept }");
    expect(evaluateHook(byProto, "input", p6(53, "udp")).verdict).toBe("accept");
    expect(evaluateHook(byProto, "input", p6(53, "tcp")).verdict).toBe("drop");
  });
  it("GIVEN vmaps the evaluator does not model (on an address, a named map, a port it cannot read) WHEN parsed THEN each is a problem with its line, never skipped", () => {
    for (const body of ["ip saddr vmap { 10.0.0.0/8 : accept }", "tcp dport vmap @ports", "tcp dport vmap { nosuchport : accept }"]) {
      expect(chain(body).problems.map((x) => x.line), body).toEqual([4]);
    }
  });
  it("GIVEN meta protocol ip accept WHEN an IPv4 packet arrives THEN it is accepted (meta protocol is the ethertype, not the layer-4 protocol) and an IPv6 one is not", () => {
    const rs = chain("meta protocol ip accept");
    expect(rs.problems).toEqual([]);
    expect(evaluateHook(rs, "input", p4(5432)).verdict).toBe("accept");
    expect(evaluateHook(rs, "input", p6(5432)).verdict).toBe("drop");
    expect(chain("meta protocol vlan accept").problems.map((x) => x.message)).toEqual([expect.stringMatching(/expected ip or ip6/)]);
  });
});
