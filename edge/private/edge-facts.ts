import { createHash } from "node:crypto";
import { HostDaemon, Service, isIpv6, siteTunnelAddresses, tunnelAddresses, type FlowIntent, type IPeer, type Topology } from "../../core/index.js";

/** The tunnel interface on the edge. The tunnel renderer names its WireGuard interface the same. */
export const EDGE_WG_IFACE = "wg-edge";

/** Id of the edge host in the Topology. */
export const EDGE_HOST_ID = "edge";

/** Where every edge artifact goes. */
export const EDGE_DIR = "hosts/edge";

/** True when the peer lives on the edge host (a service, a host daemon, or the host itself). */
export function isOnEdge(peer: IPeer): boolean {
  if (peer instanceof Service || peer instanceof HostDaemon) return peer.host.id === EDGE_HOST_ID;
  return peer.id === EDGE_HOST_ID;
}

/** Flows that end on the edge, and flows that start on it, in ledger order (sorted). */
export function edgeFlows(t: Topology): { inbound: FlowIntent[]; outbound: FlowIntent[] } {
  const flows = t.ledger.flows;
  return {
    inbound: flows.filter((f) => isOnEdge(f.to) && !isOnEdge(f.from)),
    outbound: flows.filter((f) => isOnEdge(f.from) && !isOnEdge(f.to)),
  };
}

export function splitFamilies(cidrs: readonly string[]): { v4: string[]; v6: string[] } {
  const v4 = cidrs.filter((c) => !isIpv6(c)).sort();
  const v6 = cidrs.filter((c) => isIpv6(c)).sort();
  return { v4, v6 };
}

/** Addresses and ranges the edge treats as its own side of the first site's tunnel (where the ingress is). */
export function tunnelFacts(t: Topology) {
  const tun = tunnelAddresses(t.site);
  return { ...tun, subnet4: t.site.tunnel.subnet, subnet6: t.site.tunnel.subnet6 };
}

/** The tunnel addresses of the site a peer runs on (a cloud service, daemon or host). */
export function siteTunnelFacts(t: Topology, hostId: string) {
  const s = t.site.sites.find((x) => x.id === hostId);
  if (!s) throw new Error(`edge: ${hostId} is not a private-cloud site`);
  return { ...siteTunnelAddresses(s), subnet4: s.tunnel.subnet, subnet6: s.tunnel.subnet6 };
}

/** Every site's tunnel (the edge has one end in each). */
export function allTunnelFacts(t: Topology) {
  return t.site.sites.map((s) => siteTunnelFacts(t, s.id));
}

/** Short, stable hex digest of some text (for serials and ids derived from content). */
export function digest(text: string, length = 16): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** Header line for rendered files, with the comment marker of the format. */
export function header(marker: string, what: string): string {
  return `${marker} ${what}\n${marker} Rendered by Palisade from the site file: do not edit here; change the site and re-run plan.\n`;
}
