import {
  Host,
  HostDaemon,
  Port,
  Service,
  flowLine,
  isIpv6,
  siteTunnelAddresses,
  podPools,
  type Artifact,
  type FlowIntent,
  type Topology,
} from "../core/index.js";
import { CLOUD_FIREWALL_TABLE, CLOUD_WG_IFACE, bridgeName } from "./names.js";
import { FAILOVER_PROBE_PORT } from "./failover-config.js";
import { cloudSite } from "./sites.js";

/** The host side of Calico's pod veths (cali<hash>): the pods' interfaces on a Kubernetes node. */
export const POD_IFACES = "cali*";

/** nftables limits a rule comment to 128 bytes; quotes would end it. */
export function nftComment(text: string): string {
  let clean = text.replace(/["\\\n]/g, "'");
  while (Buffer.byteLength(clean) > 128) clean = clean.slice(0, -1);
  return `comment "${clean}"`;
}

interface Rule {
  readonly match: string;
  readonly verdict: string;
  readonly why: string;
}

const rule = (match: string, verdict: string, why: string): Rule => ({ match, verdict, why });
const q = (ifname: string) => `"${ifname}"`;
const l4 = (p: Port, dir: "dport" | "sport" = "dport") => `${p.protocol} ${dir} ${p.from === p.to ? p.from : `${p.from}-${p.to}`}`;
const why = (f: FlowIntent, extra = "") => `${flowLine(f.from.id, f.to.id, f.port)}: ${f.reason}${extra}`;

/** A container's address on each of its non-internal networks (where Docker publishes and routes out). */
function routedAddresses(svc: Service, t: Topology): [string, string][] {
  return [...svc.addresses].filter(([netId]) => !t.network(svc.host.id, netId).internal).sort(([a], [b]) => a.localeCompare(b));
}

/**
 * The cloud host's firewall (one `inet` table, default drop on input, forward and output).
 *
 * - input: loopback, replies, the tunnel's UDP from the edge on each uplink (nothing else from an
 *   uplink), the ingress's published ports and SSH on the cloud's tunnel address from the edge's
 *   tunnel address only.
 * - forward (Docker's path, with br_netfilter bridged traffic passes here with iifname = oifname =
 *   the bridge): one rule per declared flow between two cloud containers on each network they
 *   share; the edge's flows to the ingress after Docker's DNAT; declared container egress.
 * - output: the tunnel to the edge and the failover probes through each uplink, DNS to the
 *   uplinks' resolvers, HTTPS to the update mirrors.
 */
export function renderCloudFirewall(t: Topology, siteId: string = t.site.cloud.id): Artifact {
  const site = t.site;
  const here = cloudSite(site, siteId);
  const tun = siteTunnelAddresses(here);
  const uplinks = [...here.uplinks].sort((a, b) => a.priority - b.priority);
  const wgPort = Port.udp(site.tunnel.port);
  const flows = t.ledger.flows;
  const isCloudService = (p: unknown): p is Service => p instanceof Service && p.host.id === siteId;
  const onCloud = (p: unknown) => (p instanceof Service || p instanceof HostDaemon || p instanceof Host) && ((p as { host?: Host }).host ?? (p as Host)).id === siteId;
  // A container of another site: a declared flow between sites goes through the edge, over both tunnels.
  const otherSite = (p: unknown): p is Service => p instanceof Service && p.host.id !== siteId && p.host.zone.name === "cloud";
  const tunnelFlow = flows.find((f) => f.from instanceof Host && f.from.id === siteId && f.to instanceof HostDaemon && f.to.name === "wireguard");
  const tunnelWhy = tunnelFlow ? why(tunnelFlow) : `${siteId} => edge:wireguard : ${wgPort}: the tunnel`;

  const input: Rule[] = [
    rule(`iifname "lo"`, "accept", "loopback"),
    rule("ct state invalid", "drop", "invalid packets"),
    rule("ct state established,related", "accept", "replies to connections this host opened or accepted"),
  ];
  for (const u of uplinks) {
    input.push(rule(`iifname ${q(u.interface)} ip saddr ${site.edge.ipv4} ${l4(wgPort, "sport")} ${wgPort.protocol} dport ${wgPort.number}`, "accept", `tunnel return traffic from the edge via ${u.id}, to the site's WireGuard port only; nothing else from an uplink`));
  }
  const forward: Rule[] = [rule("ct state invalid", "drop", "invalid packets"), rule("ct state established,related", "accept", "replies of accepted flows")];
  const output: Rule[] = [
    // Loopback destinations only: the host reaching its own published port (Docker DNATs it on
    // the way out, and the packet still leaves on lo) must not bypass the forward rules.
    rule(`oifname "lo" ip daddr 127.0.0.0/8`, "accept", "loopback"),
    rule(`oifname "lo" ip6 daddr ::1`, "accept", "loopback"),
    rule("ct state invalid", "drop", "invalid packets"),
    rule("ct state established,related", "accept", "replies to accepted connections"),
  ];
  const postrouting: Rule[] = [];
  const unrealized: string[] = [];

  const kube = here.engine === "kubernetes";
  const pools = kube ? podPools(here, t.podsOn(siteId).map((s) => s.id)) : new Map<string, string>();
  const pool = (p: unknown) => (isCloudService(p) ? pools.get(p.id) : undefined);

  for (const f of flows) {
    const port = f.port;
    if (!onCloud(f.to) && !onCloud(f.from)) continue;
    if (kube) {
      // A Kubernetes node: each namespace's pods by their pool, on Calico's cali* veths; kube-proxy
      // DNATs the Service's externalIPs before this forward chain, so the edge's packets arrive here
      // already addressed to the ingress's pods.
      const src = pool(f.from);
      const dst = pool(f.to);
      if (src && dst) forward.push(rule(`iifname "${POD_IFACES}" oifname "${POD_IFACES}" ip saddr ${src} ip daddr ${dst} ${l4(port)}`, "accept", why(f)));
      else if (dst && f.from instanceof Host && f.from.id === siteId) output.push(rule(`oifname "${POD_IFACES}" ip daddr ${dst} ${l4(port)}`, "accept", why(f)));
      else if (dst && !onCloud(f.from)) {
        const pub = isCloudService(f.to) ? (f.to.props.publish ?? []).find((p) => p.port.key === port.key && p.hostIp === tun.cloud4) : undefined;
        if (!pub) unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: not published on the tunnel address`);
        else forward.push(rule(`iifname "${CLOUD_WG_IFACE}" oifname "${POD_IFACES}" ip saddr ${tun.edge4} ip daddr ${dst} ${l4(port.protocol === "tcp" ? Port.tcp(pub.containerPort) : Port.udp(pub.containerPort))}`, "accept", why(f, " (after kube-proxy's DNAT of the externalIP)")));
      } else if (src && f.to.zone.name === "internet") {
        for (const u of uplinks) {
          forward.push(rule(`iifname "${POD_IFACES}" oifname ${q(u.interface)} ip saddr ${src} ${l4(port)}`, "accept", why(f, ` (via ${u.id})`)));
          postrouting.push(rule(`oifname ${q(u.interface)} ip saddr ${src} ${l4(port)}`, `snat ip to ${u.address.split("/")[0]}`, why(f, ` (SNAT to the ${u.id} address)`)));
        }
      } else if (src && f.to.zone.name === "edge") {
        forward.push(rule(`iifname "${POD_IFACES}" oifname "${CLOUD_WG_IFACE}" ip saddr ${src} ip daddr ${tun.edge4} ${l4(port)}`, "accept", why(f)));
        postrouting.push(rule(`oifname "${CLOUD_WG_IFACE}" ip saddr ${src} ip daddr ${tun.edge4} ${l4(port)}`, `snat ip to ${tun.cloud4}`, why(f, " (SNAT)")));
      } else if (isCloudService(f.from) || isCloudService(f.to)) unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: no pod address pool on one end`);
      continue;
    }
    if (isCloudService(f.from) && isCloudService(f.to)) {
      // Container to container: on every network both are attached to.
      const dst = f.to;
      const shared = [...f.from.addresses].filter(([netId]) => dst.addresses.has(netId)).sort(([a], [b]) => a.localeCompare(b));
      if (shared.length === 0) unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: no shared Docker network`);
      for (const [netId, srcIp] of shared) {
        const br = q(bridgeName(t.network(siteId, netId)));
        forward.push(rule(`iifname ${br} oifname ${br} ip saddr ${srcIp} ip daddr ${dst.addresses.get(netId)} ${l4(port)}`, "accept", why(f)));
      }
    } else if (isCloudService(f.from) && otherSite(f.to)) {
      // To a container of another site: out of the tunnel, SNATed to this site's tunnel address, to
      // the port the other site publishes on its tunnel address; the edge forwards it there.
      const there = siteTunnelAddresses(cloudSite(site, f.to.host.id));
      const routed = routedAddresses(f.from, t);
      if (routed.length === 0) unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: ${f.from.id} has only internal networks (Docker gives them no route out)`);
      for (const [netId, ip] of routed) {
        forward.push(rule(`iifname ${q(bridgeName(t.network(siteId, netId)))} oifname "${CLOUD_WG_IFACE}" ip saddr ${ip} ip daddr ${there.cloud4} ${l4(port)}`, "accept", why(f, ` (to site ${f.to.host.id}, through the edge)`)));
        postrouting.push(rule(`oifname "${CLOUD_WG_IFACE}" ip saddr ${ip} ip daddr ${there.cloud4} ${l4(port)}`, `snat ip to ${tun.cloud4}`, why(f, " (SNAT)")));
      }
    } else if (otherSite(f.from) && isCloudService(f.to)) {
      // From a container of another site, SNATed to that site's tunnel address and forwarded by the edge.
      const there = siteTunnelAddresses(cloudSite(site, f.from.host.id));
      const pub = (f.to.props.publish ?? []).find((p) => p.port.key === port.key && p.hostIp === tun.cloud4);
      if (!pub) {
        unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: not published on the tunnel address`);
        continue;
      }
      input.push(rule(`iifname "${CLOUD_WG_IFACE}" ip saddr ${there.cloud4} ip daddr ${pub.hostIp} ${l4(port)}`, "accept", why(f, ` (from site ${f.from.host.id}, published port)`)));
      for (const [netId, ip] of routedAddresses(f.to, t)) {
        forward.push(rule(`iifname "${CLOUD_WG_IFACE}" oifname ${q(bridgeName(t.network(siteId, netId)))} ip saddr ${there.cloud4} ip daddr ${ip} ${l4(port.protocol === "tcp" ? Port.tcp(pub.containerPort) : Port.udp(pub.containerPort))}`, "accept", why(f, " (after Docker DNAT)")));
      }
    } else if (f.from instanceof Host && f.from.id === siteId && isCloudService(f.to)) {
      // The host itself to one of its containers, over the container's bridges (output hook).
      for (const [netId, ip] of [...f.to.addresses].sort(([a], [b]) => a.localeCompare(b))) {
        output.push(rule(`oifname ${q(bridgeName(t.network(siteId, netId)))} ip daddr ${ip} ${l4(port)}`, "accept", why(f)));
      }
    } else if (isCloudService(f.to) && !onCloud(f.from)) {
      // From the edge over the tunnel to a port Docker publishes on the cloud's tunnel address.
      const pub = (f.to.props.publish ?? []).find((p) => p.port.key === port.key && p.hostIp === tun.cloud4);
      if (!pub) {
        unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: not published on the tunnel address`);
        continue;
      }
      input.push(rule(`iifname "${CLOUD_WG_IFACE}" ip saddr ${tun.edge4} ip daddr ${pub.hostIp} ${l4(port)}`, "accept", why(f, " (published port)")));
      for (const [netId, ip] of routedAddresses(f.to, t)) {
        const dnat = Port.tcp(pub.containerPort);
        forward.push(rule(`iifname "${CLOUD_WG_IFACE}" oifname ${q(bridgeName(t.network(siteId, netId)))} ip saddr ${tun.edge4} ip daddr ${ip} ${l4(port.protocol === "tcp" ? dnat : Port.udp(pub.containerPort))}`, "accept", why(f, " (after Docker DNAT)")));
      }
    } else if (isCloudService(f.from) && f.to.zone.name === "internet") {
      const routed = routedAddresses(f.from, t);
      if (routed.length === 0) unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: no non-internal network`);
      for (const [netId, ip] of routed) {
        for (const u of uplinks) {
          forward.push(rule(`iifname ${q(bridgeName(t.network(siteId, netId)))} oifname ${q(u.interface)} ip saddr ${ip} ${l4(port)}`, "accept", why(f, ` (via ${u.id})`)));
        }
      }
    } else if (isCloudService(f.from) && f.to.zone.name === "edge") {
      // To the edge through the tunnel, SNATed to the cloud's tunnel address so that AllowedIPs stay host routes.
      const routed = routedAddresses(f.from, t);
      if (routed.length === 0) unrealized.push(`${flowLine(f.from.id, f.to.id, port)}: ${f.from.id} has only internal networks (Docker gives them no route out)`);
      for (const [netId, ip] of routed) {
        forward.push(rule(`iifname ${q(bridgeName(t.network(siteId, netId)))} oifname "${CLOUD_WG_IFACE}" ip saddr ${ip} ip daddr ${tun.edge4} ${l4(port)}`, "accept", why(f)));
        postrouting.push(rule(`oifname "${CLOUD_WG_IFACE}" ip saddr ${ip} ip daddr ${tun.edge4} ${l4(port)}`, `snat ip to ${tun.cloud4}`, why(f, " (SNAT)")));
      }
    }
  }
  input.push(rule(`iifname "${CLOUD_WG_IFACE}" ip saddr ${tun.edge4} ip daddr ${tun.cloud4} ${l4(Port.SSH)}`, "accept", "SSH (and the engines' Docker over SSH) only from the edge's tunnel address"));

  for (const u of uplinks) {
    output.push(rule(`oifname ${q(u.interface)} ip daddr ${site.edge.ipv4} ${l4(wgPort)}`, "accept", `${tunnelWhy} (via ${u.id})`));
  }
  for (const u of uplinks) {
    output.push(rule(`oifname ${q(u.interface)} ip daddr ${site.edge.ipv4} ${l4(FAILOVER_PROBE_PORT)}`, "accept", `failover probe: the edge reachable via ${u.id} (TCP connect)`));
  }
  for (const u of uplinks) {
    for (const p of [Port.DNS_UDP, Port.DNS_TCP]) {
      output.push(rule(`oifname ${q(u.interface)} ip daddr ${u.gateway} ${l4(p)}`, "accept", `DNS to the ${u.id} resolver (host, Docker's resolver for acme)`));
    }
  }
  for (const mirror of [...here.updateMirrors].sort()) {
    for (const u of uplinks) {
      output.push(rule(`oifname ${q(u.interface)} ${isIpv6(mirror) ? "ip6" : "ip"} daddr ${mirror} ${l4(Port.HTTPS)}`, "accept", `host updates from mirror ${mirror} (via ${u.id})`));
    }
  }

  const bridges = t.networksOn(siteId).map((n) => `#   ${bridgeName(n).padEnd(16)} Docker network ${n.dockerName} ${n.subnet}${n.internal ? " (internal)" : ""}`);
  const chain = (name: string, hook: string, prio: string, policy: string, rules: Rule[]) => [
    `\tchain ${name} {`,
    `\t\ttype ${name === "postrouting" ? "nat" : "filter"} hook ${hook} priority ${prio}; policy ${policy};`,
    ...rules.map((r) => `\t\t${r.match} ${r.verdict} ${nftComment(r.why)}`),
    "\t}",
  ];
  const lines = [
    "#!/usr/sbin/nft -f",
    "# Palisade: the private cloud host's firewall. Rendered from the site file and the segmentation intent; do not edit.",
    "# palisade verify re-derives reachability from this file. Default drop on input, forward and output.",
    `# Uplinks: ${uplinks.map((u) => `${u.interface} (${u.id}, priority ${u.priority})`).join(", ")}. Tunnel: ${CLOUD_WG_IFACE}.`,
    ...bridges,
    ...(unrealized.length > 0 ? ["# Declared flows with no rule here (not realizable as declared):", ...unrealized.map((u) => `#   ${u}`)] : []),
    "",
    `table inet ${CLOUD_FIREWALL_TABLE}`,
    `delete table inet ${CLOUD_FIREWALL_TABLE}`,
    `table inet ${CLOUD_FIREWALL_TABLE} {`,
    ...chain("input", "input", "filter", "drop", input),
    "",
    ...chain("forward", "forward", "filter", "drop", forward),
    "",
    ...chain("output", "output", "filter", "drop", output),
    "",
    ...chain("postrouting", "postrouting", "srcnat", "accept", postrouting),
    "}",
    "",
  ];
  return { path: `hosts/${siteId}/nftables.conf`, content: lines.join("\n") };
}
