import type { Host, Topology } from "../core/index.js";

/** The failover agent's service id on a site: `failover` on the first, `failover-<site>` on the others. */
export function failoverServiceId(siteId: string, first: boolean): string {
  return first ? "failover" : `failover-${siteId}`;
}

/** One site's tunnel endpoints and its failover agent (the edge's end once, with the first site). */
export function declareTunnel(t: Topology, edge: Host, cloud: Host, first = true): void {
  if (first) t.addDaemon(edge, "wireguard");
  t.addDaemon(cloud, "wireguard");
  t.addDaemon(cloud, "sshd");
  t.addService({
    id: failoverServiceId(cloud.id, first),
    description: "Uplink failover agent: probes the edge through each uplink and moves the tunnel's route",
    host: cloud,
    image: t.site.images.failover,
    imageKey: "images.failover.digest",
    listens: [],
    hostNetwork: { reason: "switches the host's routes, pins the tunnel to the active uplink (its own nft table) and flushes its conntrack entries for the tunnel" },
    user: "root",
    rootReason: "route and conntrack changes need root in the host network namespace",
    capAdd: [
      { cap: "NET_ADMIN", reason: "changes routes, its own nft table and conntrack entries" },
      { cap: "NET_RAW", reason: "sends probes bound to one uplink interface" },
    ],
    tmpfs: ["/tmp"],
    mounts: [{ kind: "bind", source: "/etc/palisade/failover", target: "/etc/palisade/failover", readOnly: true }],
    memoryMb: 64,
    pidsLimit: 64,
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/failover.state"], intervalS: 30, timeoutS: 5, retries: 3 },
  });
}
