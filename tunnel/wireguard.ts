import { Port, tunnelAddresses, type Artifact, type Site, type Topology } from "../core/index.js";
import { CLOUD_WG_IFACE, EDGE_WG_IFACE, WG_PRIVATE_KEY_PATH } from "./names.js";

/** Shown instead of a public key the site file does not give yet (`palisade keys` prints them). */
export const MISSING_KEY_PLACEHOLDER = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/**
 * The peer's addresses the tunnel carries: the peer's own tunnel addresses, as host routes, and
 * nothing else. The edge reaches the cloud only at the ingress, which Docker publishes on the
 * cloud's tunnel address, so no container subnet needs to cross the tunnel.
 */
export function allowedIps(site: Site, peer: "edge" | "cloud"): string[] {
  const a = tunnelAddresses(site);
  return peer === "edge" ? [`${a.edge4}/32`, `${a.edge6}/128`] : [`${a.cloud4}/32`, `${a.cloud6}/128`];
}

function publicKey(t: Topology, which: "wireguardEdge" | "wireguardCloud"): string {
  const key = t.site.publicKeys[which];
  if (key) return key;
  if (!t.warnings.some((w) => w.id === "wireguard-key" && w.subject === which)) {
    t.warnings.push({ id: "wireguard-key", subject: which, message: `publicKeys.${which} is not set: the WireGuard config carries a placeholder key; run \`palisade keys\` and paste its output into the site file` });
  }
  return MISSING_KEY_PLACEHOLDER;
}

/**
 * wg-quick configs for both ends. The edge is the responder (fixed ListenPort, peer without
 * Endpoint: it learns the cloud's current address from authenticated packets, so it follows the
 * cloud's uplink). The cloud is the initiator (Endpoint + PersistentKeepalive, which also keeps
 * the uplinks' NAT and conntrack state open). No PrivateKey line: PostUp reads it on the host.
 */
export function renderWireguard(t: Topology): Artifact[] {
  const site = t.site;
  const a = tunnelAddresses(site);
  const port = Port.udp(site.tunnel.port);
  const header = (side: string, role: string) => [
    `# Palisade: WireGuard site-to-site tunnel, ${side} side (${role}).`,
    "# Rendered from the site file; do not edit. The private key is never in this file:",
    "# PostUp reads it on the host from /etc/palisade/secrets/ (written by `palisade keys`, mode 0600).",
  ];
  const edge = [
    ...header("edge", "responder"),
    "[Interface]",
    `Address = ${a.edge4}/${a.prefix4}, ${a.edge6}/${a.prefix6}`,
    `ListenPort = ${port.number}`,
    `MTU = ${site.tunnel.mtu}`,
    `PostUp = wg set %i private-key ${WG_PRIVATE_KEY_PATH.edge}`,
    "",
    "[Peer]",
    "# cloud (initiator): no Endpoint, the edge learns the cloud's current uplink address from its handshakes",
    `PublicKey = ${publicKey(t, "wireguardCloud")}`,
    `AllowedIPs = ${allowedIps(site, "cloud").join(", ")}`,
    "",
  ];
  const cloud = [
    ...header("cloud", "initiator"),
    "[Interface]",
    `Address = ${a.cloud4}/${a.prefix4}, ${a.cloud6}/${a.prefix6}`,
    `MTU = ${site.tunnel.mtu}`,
    `PostUp = wg set %i private-key ${WG_PRIVATE_KEY_PATH.cloud}`,
    "",
    "[Peer]",
    "# edge (responder); the failover agent moves the route to this endpoint between uplinks",
    `PublicKey = ${publicKey(t, "wireguardEdge")}`,
    `AllowedIPs = ${allowedIps(site, "edge").join(", ")}`,
    `Endpoint = ${site.edge.ipv4}:${port.number}`,
    `PersistentKeepalive = ${site.tunnel.keepalive}`,
    "",
  ];
  return [
    { path: `hosts/edge/wireguard/${EDGE_WG_IFACE}.conf`, content: edge.join("\n"), mode: 0o600 },
    { path: `hosts/cloud/wireguard/${CLOUD_WG_IFACE}.conf`, content: cloud.join("\n"), mode: 0o600 },
  ];
}
