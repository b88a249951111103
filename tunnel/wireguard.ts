import { missingKeyPlaceholder, Port, siteTunnelAddresses, tunnelAddresses, wireguardKeys, type Artifact, type CloudSite, type Site, type Topology } from "../core/index.js";
import { peerSites } from "./sites.js";
import { CLOUD_WG_IFACE, EDGE_WG_IFACE, WG_PRIVATE_KEY_PATH } from "./names.js";

/** Shown instead of a public key the site file does not give yet (`palisade keys` prints them). */
export const MISSING_KEY_PLACEHOLDER = missingKeyPlaceholder(0);
export { missingKeyPlaceholder };

/**
 * The peer's addresses the tunnel carries: the peer's own tunnel addresses, as host routes, and
 * nothing else. The edge reaches the cloud only at the ingress, which Docker publishes on the
 * cloud's tunnel address, so no container subnet needs to cross the tunnel.
 */
export function allowedIps(site: Site, peer: "edge" | "cloud"): string[] {
  const a = tunnelAddresses(site);
  return peer === "edge" ? [`${a.edge4}/32`, `${a.edge6}/128`] : [`${a.cloud4}/32`, `${a.cloud6}/128`];
}

/** A key the site file does not give yet: the configs carry its placeholder (wireguardKeys), and plan warns where to paste it. */
function warnMissingKey(t: Topology, subject: string, where: string): void {
  if (t.warnings.some((w) => w.id === "wireguard-key" && w.subject === subject)) return;
  t.warnings.push({ id: "wireguard-key", subject, message: `${where} is not set: the WireGuard config carries a placeholder key; run \`palisade keys\` and paste its output into the site file` });
}

/** Warning subject and site-file field of a site's public key (the one-site form's is publicKeys.wireguardCloud). */
function siteKeyField(s: CloudSite): { subject: string; where: string } {
  return s.path === "cloud" ? { subject: "wireguardCloud", where: "publicKeys.wireguardCloud" } : { subject: `${s.id}.publicKey`, where: `${s.path}.publicKey` };
}

/**
 * wg-quick configs for both ends of each site's tunnel. The edge is the responder (fixed
 * ListenPort, one peer per site, without Endpoint: it learns each site's current address from
 * authenticated packets, so it follows the site's uplink). Each site is an initiator (Endpoint +
 * PersistentKeepalive, which also keeps the uplinks' NAT and conntrack state open). A site's
 * tunnel also carries the tunnel addresses of the sites it has declared flows with, which the edge
 * forwards between the tunnels. No PrivateKey line: PostUp reads it on the host.
 */
export function renderWireguard(t: Topology): Artifact[] {
  const site = t.site;
  const port = Port.udp(site.tunnel.port);
  const header = (side: string, role: string) => [
    `# Palisade: WireGuard site-to-site tunnel, ${side} side (${role}).`,
    "# Rendered from the site file; do not edit. The private key is never in this file:",
    "# PostUp reads it on the host from /etc/palisade/secrets/ (written by `palisade keys`, mode 0600).",
  ];
  const keys = wireguardKeys(site);
  const siteKey = (s: CloudSite): string => {
    const k = keys.sites[site.sites.indexOf(s)]!;
    if (!k.declared) warnMissingKey(t, siteKeyField(s).subject, siteKeyField(s).where);
    return k.key;
  };
  const edgeKey = (): string => {
    if (!site.publicKeys.wireguardEdge) warnMissingKey(t, "wireguardEdge", "publicKeys.wireguardEdge");
    return keys.edge;
  };
  const ends = site.sites.map((s) => ({ s, a: siteTunnelAddresses(s) }));
  const edge = [
    ...header("edge", "responder"),
    "[Interface]",
    ...ends.map(({ a }) => `Address = ${a.edge4}/${a.prefix4}, ${a.edge6}/${a.prefix6}`),
    `ListenPort = ${port.number}`,
    `MTU = ${site.tunnel.mtu}`,
    `PostUp = wg set %i private-key ${WG_PRIVATE_KEY_PATH.edge}`,
    ...ends.flatMap(({ s, a }) => [
      "",
      "[Peer]",
      `# ${s.id} (initiator): no Endpoint, the edge learns the ${s.id === "cloud" ? "cloud" : `site ${s.id}`}'s current uplink address from its handshakes`,
      `PublicKey = ${siteKey(s)}`,
      `AllowedIPs = ${[`${a.cloud4}/32`, `${a.cloud6}/128`].join(", ")}`,
    ]),
    "",
  ];
  const sites = ends.map(({ s, a }) => {
    const others = peerSites(site, s.id).map((o) => `${siteTunnelAddresses(o).cloud4}/32`);
    const conf = [
      ...header(s.id, "initiator"),
      "[Interface]",
      `Address = ${a.cloud4}/${a.prefix4}, ${a.cloud6}/${a.prefix6}`,
      // A fixed port, not a random one: the site's firewall admits the edge's packets to this port only.
      `ListenPort = ${port.number}`,
      `MTU = ${site.tunnel.mtu}`,
      `PostUp = wg set %i private-key /etc/palisade/secrets/${s.keyFile}.key`,
      "",
      "[Peer]",
      `# edge (responder); the failover agent moves the route to this endpoint between uplinks${others.length ? "; the edge forwards the declared flows to the other sites' tunnel addresses" : ""}`,
      `PublicKey = ${edgeKey()}`,
      `AllowedIPs = ${[`${a.edge4}/32`, `${a.edge6}/128`, ...others].join(", ")}`,
      `Endpoint = ${site.edge.ipv4}:${port.number}`,
      `PersistentKeepalive = ${site.tunnel.keepalive}`,
      "",
    ];
    return { path: `hosts/${s.id}/wireguard/${CLOUD_WG_IFACE}.conf`, content: conf.join("\n"), mode: 0o600 };
  });
  return [{ path: `hosts/edge/wireguard/${EDGE_WG_IFACE}.conf`, content: edge.join("\n"), mode: 0o600 }, ...sites];
}
