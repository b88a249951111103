import type { Network } from "../core/index.js";

/**
 * WireGuard interface names. Distinct on purpose: wireguard-go's UAPI sockets
 * (/var/run/wireguard/<ifname>.sock) are shared by every network namespace, so the lab (both ends
 * on one machine) needs two names, and production keeps the same names so the lab runs what ships.
 */
export const EDGE_WG_IFACE = "wg-edge";
export const CLOUD_WG_IFACE = "wg-cloud";

/** Where each host keeps its WireGuard private key (written by `palisade keys`, never rendered). */
export const WG_PRIVATE_KEY_PATH = {
  edge: "/etc/palisade/secrets/wireguard-edge.key",
  cloud: "/etc/palisade/secrets/wireguard-cloud.key",
} as const;

/** The cloud firewall's nftables table. */
export const CLOUD_FIREWALL_TABLE = "palisade_cloud";

/**
 * Linux bridge name of a Docker network on the cloud host: `br-<network id>` (at most 15
 * characters). The engines must set the network option `com.docker.network.bridge.name` to this,
 * since the cloud firewall matches on it.
 */
export function bridgeName(network: Pick<Network, "id">): string {
  const name = `br-${network.id}`;
  if (name.length > 15) {
    throw new Error(`bridge name ${name} for network ${network.id} is longer than 15 characters (Linux IFNAMSIZ); use a network id of at most 12 characters`);
  }
  return name;
}
