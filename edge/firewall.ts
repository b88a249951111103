import { AddressPeer, Host, HostDaemon, IPS_DROP_LOG_PREFIX, Port, Service, type Artifact, type FlowIntent, type IPeer, type Topology } from "../core/index.js";
import { EDGE_DIR, EDGE_WG_IFACE, allTunnelFacts, edgeFlows, header, siteTunnelFacts, splitFamilies } from "./private/edge-facts.js";

/** The nftables table that holds the whole edge ruleset (inet: one ruleset for IPv4 and IPv6). */
export const EDGE_FW_TABLE = "palisade_edge";
/** Ban sets the IPS (fail2ban) adds offenders to, with a per-element timeout. */
export const EDGE_BAN_SETS = { v4: "ips_ban4", v6: "ips_ban6" } as const;
/** Prefix of the kernel log line for every packet the input policy drops (read by the portscan jail). */
export const EDGE_DROP_LOG_PREFIX = IPS_DROP_LOG_PREFIX;
/** Prefix for packets the output policy drops (not read by any jail: the source is the edge itself). */
export const EDGE_OUT_DROP_LOG_PREFIX = "palisade-out-drop: ";
/** New connections per second one source may open before it is dropped (IPv4 and IPv6 each). */
export const EDGE_NEW_CONN_RATE = { perSecond: 25, burst: 50, forgetAfterS: 60 } as const;

interface NamedSet {
  readonly name: string;
  readonly type: "ipv4_addr" | "ipv6_addr";
  readonly elements: readonly string[];
}

const q = (text: string) => `"${text.replace(/"/g, "'")}"`;
const ports = (ps: readonly Port[]) => {
  const nums = ps.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`));
  return nums.length === 1 ? nums[0]! : `{ ${nums.join(", ")} }`;
};
/** nft refuses comments over 128 bytes: longer reasons are cut, with "..." to show it. */
export const NFT_COMMENT_MAX = 128;
function clip(text: string): string {
  if (Buffer.byteLength(text) <= NFT_COMMENT_MAX) return text;
  let out = text;
  while (Buffer.byteLength(`${out}...`) > NFT_COMMENT_MAX) out = out.slice(0, -1);
  return `${out.trimEnd()}...`;
}
const flowComment = (from: string, to: string, reason: string) => q(clip(`${from} => ${to}: ${reason}`));
const setName = (id: string, family: "4" | "6") => `${id.replace(/[^a-z0-9]/gi, "_")}${family}`;

/** Groups flows that share source, destination, protocol and reason into one rule (ports sorted). */
function groupFlows<T extends { from: string; to: string; port: Port; reason: string }>(flows: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const f of flows) {
    const key = `${f.from}\u0000${f.to}\u0000${f.port.protocol}\u0000${f.reason}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()];
}

/** Source addresses of a peer outside the edge, as named sets (address peers, other hosts). */
function sourceSets(t: Topology, peer: IPeer): NamedSet[] {
  const tunnels = allTunnelFacts(t).flatMap((tun) => [tun.cloud4, tun.cloud6, tun.edge4, tun.edge6]);
  let cidrs: readonly string[];
  if (peer instanceof AddressPeer) cidrs = peer.cidrs;
  else if (peer instanceof Host) cidrs = peer.addresses.filter((a) => !tunnels.includes(a));
  else throw new Error(`edge firewall: no source addresses for ${peer.id}`);
  const { v4, v6 } = splitFamilies(cidrs);
  const out: NamedSet[] = [];
  // Address peers are named after themselves (admin4); a host's public addresses get a suffix (cloud_public4).
  const base = peer instanceof Host ? `${peer.id}_public` : peer.id;
  if (v4.length) out.push({ name: setName(base, "4"), type: "ipv4_addr", elements: v4 });
  if (v6.length) out.push({ name: setName(base, "6"), type: "ipv6_addr", elements: v6 });
  return out;
}

/** A service, daemon or host on another host than the edge: reached over the tunnel. */
const isAcrossTunnel = (p: IPeer) =>
  ((p instanceof Service || p instanceof HostDaemon) && p.host.id !== "edge") || (p instanceof Host && p.id !== "edge");

/** Two containers of two different sites: the edge forwards their declared flows between the tunnels. */
const isAcrossSites = (a: IPeer, b: IPeer) => a instanceof Service && b instanceof Service && a.host.zone.name === "cloud" && b.host.zone.name === "cloud" && a.host.id !== b.host.id;

const isInternet = (p: IPeer) => p instanceof AddressPeer && p.cidrs.includes("0.0.0.0/0");

/** The edge's nftables ruleset: default drop in, forward and out; everything allowed comes from intent. */
export function renderFirewall(t: Topology): Artifact {
  const { inbound, outbound } = edgeFlows(t);
  const sets = new Map<string, NamedSet>();
  const inRules: string[] = [];

  for (const group of groupFlows(inbound.map((f) => ({ ...f, from: f.from.id, to: f.to.id, flow: f })))) {
    const first = group[0]!;
    const from = first.flow.from;
    const proto = first.port.protocol;
    const match = `${proto} dport ${ports(group.map((g) => g.port))}`;
    const comment = flowComment(first.from, first.to, first.reason);
    if (isInternet(from)) {
      inRules.push(`${match} accept comment ${comment}`);
    } else if (from instanceof AddressPeer || from instanceof Host) {
      for (const s of sourceSets(t, from)) {
        sets.set(s.name, s);
        inRules.push(`${s.type === "ipv4_addr" ? "ip" : "ip6"} saddr @${s.name} ${match} accept comment ${comment}`);
      }
    } else if (from instanceof Service && from.host.id !== "edge") {
      // A workload in the cloud: it reaches the edge only through the tunnel, from its site's tunnel address.
      const tun = siteTunnelFacts(t, from.host.id);
      inRules.push(`iifname "${EDGE_WG_IFACE}" ip saddr ${tun.cloud4} ${match} accept comment ${comment}`);
      inRules.push(`iifname "${EDGE_WG_IFACE}" ip6 saddr ${tun.cloud6} ${match} accept comment ${comment}`);
    } else {
      throw new Error(`edge firewall: cannot render the flow from ${from.id} to ${first.to} (unknown kind of source)`);
    }
  }

  const outRules: string[] = [];
  type Out = { from: string; to: string; port: Port; reason: string; peer: IPeer | null };
  const outs: Out[] = [
    ...outbound.map((f) => ({ from: f.from.id, to: f.to.id, port: f.port, reason: f.reason, peer: f.to })),
  ];
  for (const group of groupFlows(outs)) {
    const first = group[0]!;
    const to = first.peer;
    const match = `${first.port.protocol} dport ${ports(group.map((g) => g.port))}`;
    const comment = flowComment(first.from, first.to, first.reason);
    if (to && isInternet(to)) {
      outRules.push(`${match} accept comment ${comment}`);
    } else if ((to instanceof Service || to instanceof HostDaemon) && to.host.id !== "edge") {
      // Cloud services (and the cloud host's sshd, the operator's jump path) are reached only over the tunnel, at their site's tunnel address (where the ingress publishes).
      const tun = siteTunnelFacts(t, to.host.id);
      outRules.push(`oifname "${EDGE_WG_IFACE}" ip daddr ${tun.cloud4} ${match} accept comment ${comment}`);
    } else {
      throw new Error(`edge firewall: cannot render the flow from ${first.from} to ${first.to} (unknown kind of destination)`);
    }
  }
  // Between sites: the declared flows only, from one site's tunnel address to the other's (where the
  // destination is published), in and out of the one tunnel interface that holds every site's peer.
  const forwardRules: string[] = [];
  for (const group of groupFlows(t.ledger.flows.filter((f) => isAcrossSites(f.from, f.to)).map((f) => ({ ...f, from: f.from.id, to: f.to.id, flow: f })))) {
    const first = group[0]!;
    const src = siteTunnelFacts(t, (first.flow.from as Service).host.id);
    const dst = siteTunnelFacts(t, (first.flow.to as Service).host.id);
    const match = `${first.port.protocol} dport ${ports(group.map((g) => g.port))}`;
    forwardRules.push(`iifname "${EDGE_WG_IFACE}" oifname "${EDGE_WG_IFACE}" ip saddr ${src.cloud4} ip daddr ${dst.cloud4} ${match} accept comment ${flowComment(first.from, first.to, first.reason)}`);
  }

  // No rule for WireGuard's own packets to the cloud: they answer the cloud's handshakes and keepalives
  // (ct state established). A `udp sport` rule would let any local process send anywhere from that port.

  const rate = EDGE_NEW_CONN_RATE;
  const allSets: string[] = [
    `set ${EDGE_BAN_SETS.v4} {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}`,
    `set ${EDGE_BAN_SETS.v6} {\n\t\ttype ipv6_addr\n\t\tflags timeout\n\t}`,
    `set flood4 {\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout ${rate.forgetAfterS}s\n\t}`,
    `set flood6 {\n\t\ttype ipv6_addr\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout ${rate.forgetAfterS}s\n\t}`,
    ...[...sets.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => `set ${s.name} {\n\t\ttype ${s.type}\n\t\tflags interval\n\t\telements = { ${s.elements.join(", ")} }\n\t}`),
  ];

  const input = [
    `ct state invalid drop comment "invalid packets"`,
    `ip saddr @${EDGE_BAN_SETS.v4} drop comment "banned by the IPS"`,
    `ip6 saddr @${EDGE_BAN_SETS.v6} drop comment "banned by the IPS"`,
    `iifname "lo" accept comment "loopback"`,
    `ct state { established, related } accept comment "replies to allowed connections"`,
    `icmp type echo-request limit rate 5/second burst 10 packets accept comment "ping, rate-limited"`,
    `icmp type { destination-unreachable, time-exceeded, parameter-problem } accept comment "ICMP errors (path MTU discovery)"`,
    `icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept comment "IPv6 neighbour discovery"`,
    `icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept comment "ICMPv6 errors (path MTU discovery)"`,
    `icmpv6 type echo-request limit rate 5/second burst 10 packets accept comment "ping6, rate-limited"`,
    `ct state new add @flood4 { ip saddr limit rate over ${rate.perSecond}/second burst ${rate.burst} packets } drop comment "per-source new-connection flood"`,
    `ct state new add @flood6 { ip6 saddr limit rate over ${rate.perSecond}/second burst ${rate.burst} packets } drop comment "per-source new-connection flood"`,
    ...inRules,
    `limit rate 20/second burst 40 packets log prefix "${EDGE_DROP_LOG_PREFIX}" comment "logged for the portscan jail, then dropped by policy"`,
  ];
  const output = [
    `oifname "lo" accept comment "loopback"`,
    `ct state invalid drop comment "invalid packets"`,
    `ct state { established, related } accept comment "replies to allowed connections"`,
    `icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept comment "IPv6 neighbour discovery"`,
    ...outRules,
    `limit rate 5/second burst 10 packets log prefix "${EDGE_OUT_DROP_LOG_PREFIX}" comment "unexpected egress, dropped by policy"`,
  ];

  const chain = (name: string, hook: string, rules: readonly string[], note: string) =>
    [`\tchain ${name} {`, `\t\t# ${note}`, `\t\ttype filter hook ${hook} priority filter; policy drop;`, ...rules.map((r) => `\t\t${r}`), `\t}`].join("\n");

  const content = [
    `#!/usr/sbin/nft -f`,
    header("#", "nftables ruleset of the edge host (inet: IPv4 and IPv6)").trimEnd(),
    `# Idempotent reload: declare, delete and re-create the table in one atomic transaction.`,
    `# Nothing else on the host is touched (no flush ruleset).`,
    `table inet ${EDGE_FW_TABLE}`,
    `delete table inet ${EDGE_FW_TABLE}`,
    ``,
    `table inet ${EDGE_FW_TABLE} {`,
    ...allSets.map((s) => `\t${s}`),
    ``,
    chain("input", "input", input, "default drop; bans first; then only what the intent lets in"),
    ``,
    forwardRules.length
      ? chain("forward", "forward", [`ct state invalid drop comment "invalid packets"`, `ct state { established, related } accept comment "replies to allowed connections"`, ...forwardRules], `only the declared flows between sites, from one site's tunnel to another's; HAProxy on the host proxies to the cloud over ${EDGE_WG_IFACE}`)
      : chain("forward", "forward", [], `the edge routes nothing: HAProxy on the host proxies to the cloud over ${EDGE_WG_IFACE}`),
    ``,
    chain("output", "output", output, "default drop; the edge sends only what it must"),
    `}`,
    ``,
  ].join("\n");
  return { path: `${EDGE_DIR}/nftables.conf`, content };
}
