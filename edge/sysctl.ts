import { edgeForwardFamilies, FORWARDING_SYSCTL_FILE, sysctlDir, type Artifact, type Topology } from "../core/index.js";
import { EDGE_HOST_ID, EDGE_WG_IFACE, header } from "./private/edge-facts.js";

/** The sysctl key that turns on a family's forwarding (IPv4's alias of net.ipv4.conf.all.forwarding). */
const FORWARDING_KEY = { 4: "net.ipv4.ip_forward", 6: "net.ipv6.conf.all.forwarding" } as const;

/**
 * The edge's kernel forwarding, when the declared flows need it (core's edgeForwardFamilies): with
 * flows between sites the edge routes them from one site's tunnel to another's, so the kernel must
 * forward that family; what it forwards is the nftables forward chain's decision (policy drop, the
 * declared flows only). Nothing is rendered otherwise: a one-site edge proxies at L4 (HAProxy on
 * the host) and routes nothing, and the kernel's default (off) stays; the file does not turn
 * forwarding off either, which would fight dockerd on the same host.
 */
export function renderSysctl(t: Topology): Artifact[] {
  const families = edgeForwardFamilies(t.site);
  if (families.length === 0) return [];
  const off = ([4, 6] as const).filter((f) => !families.includes(f));
  const content = [
    header("#", "kernel settings of the edge host (sysctl.d drop-in)").trimEnd(),
    `# Installed at /etc/palisade/sysctl.d/${FORWARDING_SYSCTL_FILE} and linked from /etc/sysctl.d/ (read at boot);`,
    "# palisade deploy applies it (sysctl -p). A later file in /etc/sysctl.d, or /etc/sysctl.conf, can override it: do not.",
    `# The declared flows between sites cross the edge, ${EDGE_WG_IFACE} to ${EDGE_WG_IFACE}: the kernel forwards ${families.map((f) => `IPv${f}`).join(" and ")};`,
    "# nftables.conf's forward chain (policy drop) lets through only those flows.",
    ...off.map((f) => `# IPv${f} is not forwarded: no flow between sites uses it.`),
    ...families.map((f) => `${FORWARDING_KEY[f]} = 1`),
    "",
  ].join("\n");
  return [{ path: `${sysctlDir(EDGE_HOST_ID)}/${FORWARDING_SYSCTL_FILE}`, content }];
}
