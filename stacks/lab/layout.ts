/**
 * The lab's shape: namespace names and the addresses the lab assigns. Pure: derived from the site
 * (the edge's public address, the admin ranges, the uplinks) and the cloud stack read from the
 * artifacts. Every address is one of the site's own or inside the documentation ranges
 * (203.0.113.0/24, 198.51.100.0/24); no namespace is linked to the root namespace, so nothing can
 * leave the machine.
 */
import { cidr4Overlaps, hostInCidr4, type Site } from "../../core/index.js";
import type { CloudStack, LabContainer } from "./artifacts.js";
import { LAB_PREFIX, labSites, type LabSite, type LabUplink } from "./site-layout.js";

export { LAB_PREFIX, type LabUplink } from "./site-layout.js";

export interface LabContainerPlan extends LabContainer {
  /** The name the lab gives the container's network namespace (`ip netns attach`, once dockerd started it). */
  readonly ns: string;
  /** Per attached network, in artifact order: its bridge and the container's address. */
  readonly links: readonly { readonly network: string; readonly bridge: string; readonly ipv4: string; readonly prefix: number }[];
}

/** One private-cloud site of the lab: its namespace, ISPs, tunnel, Docker stack and containers. */
export interface LabSiteLayout extends LabSite {
  readonly stack: CloudStack;
  readonly containers: readonly LabContainerPlan[];
}

export interface LabLayout {
  /** `cloud`: the first site's namespace (each site's is in `sites`; the drills run per site: drill-sites.ts). */
  readonly ns: { readonly inet: string; readonly edge: string; readonly cloud: string };
  /** Every private-cloud site, in the site file's order; the first is the one `uplinks`, `tunnel` and `stack` describe. */
  readonly sites: readonly LabSiteLayout[];
  readonly edge: { readonly ipv4: string; readonly ipv6: string; readonly prefix4: number; readonly router4: string; readonly router6: string };
  /** Addresses in the internet namespace: the sources of probes and drills, and the ACME CA. */
  readonly internet: {
    readonly client: string;
    readonly attacker: string;
    readonly admin: string;
    readonly ca: string;
    /** Many scanner sources, so the edge's per-source rate limit does not hide open ports. */
    readonly scanners: readonly string[];
  };
  /** The first site's uplinks. */
  readonly uplinks: readonly LabUplink[];
  /** The first site's tunnel. */
  readonly tunnel: { readonly edge4: string; readonly cloud4: string; readonly edge6: string; readonly cloud6: string };
  /** Every site's containers. */
  readonly containers: readonly LabContainerPlan[];
  /** The first site's stack. */
  readonly stack: CloudStack;
  /** The site's routes, from intent.json: the host names the ingress serves and who answers each path. */
  readonly routes: readonly LabRoute[];
  /** The host name the drills browse through edge, tunnel and ingress: the first route's (under the site's domain when one is). */
  readonly browseHost: string;
  readonly domain: string;
}

export interface LabRoute {
  readonly host: string;
  /** The path prefix the route matches, `/` when it has none. */
  readonly path: string;
  readonly service: string;
}

/**
 * The lab layout for a platform and each site's planned cloud stack (by site id). Throws when a lab
 * range collides with the site's.
 */
export function labLayout(site: Site, stacks: Readonly<Record<string, CloudStack>>, routes: readonly LabRoute[], runDir: string): LabLayout {
  const edge4 = site.edge.ipv4;
  const edgeNet = `${edge4.split(".").slice(0, 3).join(".")}.0/24`;
  const router4 = hostInCidr4(edgeNet, edge4.endsWith(".1") ? 254 : 1);
  const inetHost = (n: number) => hostInCidr4(edgeNet, n);
  const taken = new Set([edge4, router4]);
  const pick = (preferred: number) => {
    let n = preferred;
    while (taken.has(inetHost(n))) n++;
    taken.add(inetHost(n));
    return inetHost(n);
  };
  const client = pick(50);
  const attacker = pick(66);
  const ca = pick(200);
  const admin = hostInCidr4(site.site.adminCidrs.find((c) => !c.includes(":"))!, 6);
  // Transit links (site-layout.ts) and scanners live in 198.51.100.0/24 where the site does not use it.
  const siteRanges = [...site.sites.flatMap((s) => s.uplinks.map((u) => u.address)), ...site.site.adminCidrs.filter((c) => !c.includes(":")), ...site.edge.dns.secondaries.map((s) => `${s.address}/32`)];
  const scannerRange = "198.51.100.128/25";
  const scanClash = siteRanges.find((r) => cidr4Overlaps(r, scannerRange));
  const scanners = scanClash ? [] : Array.from({ length: 126 }, (_, i) => hostInCidr4(scannerRange, i + 1));

  const sites: LabSiteLayout[] = labSites(site, runDir).map((s) => {
    const stack = stacks[s.id];
    if (!stack) throw new Error(`no cloud stack read for site ${s.id}`);
    const netByName = new Map(stack.networks.map((n) => [n.name, n]));
    const containers: LabContainerPlan[] = stack.containers.map((c) => {
      const links = c.networks.map((n) => {
        const net = netByName.get(n.network);
        if (!net) throw new Error(`container ${c.name} joins ${n.network}, which the site ${s.id}'s stack does not declare`);
        return { network: net.name, bridge: net.bridge, ipv4: n.ipv4, prefix: Number(net.subnet.split("/")[1]) };
      });
      return { ...c, ns: `${LAB_PREFIX}-c-${c.service}`, links };
    });
    return { ...s, stack, containers };
  });
  const first = sites[0]!;
  const d = site.site.domain;
  return {
    ns: { inet: `${LAB_PREFIX}-inet`, edge: `${LAB_PREFIX}-edge`, cloud: first.ns },
    sites,
    edge: { ipv4: edge4, ipv6: site.edge.ipv6, prefix4: 24, router4, router6: `${site.edge.ipv6.split("::")[0]}::1` },
    internet: { client, attacker, admin, ca, scanners },
    uplinks: first.uplinks,
    tunnel: first.tunnel,
    containers: sites.flatMap((s) => s.containers),
    stack: first.stack,
    routes: [...routes].sort((a, b) => a.host.localeCompare(b.host) || a.path.localeCompare(b.path)),
    browseHost: browseHost(routes, d),
    domain: d,
  };
}

/** The first route's host name, preferring one under the site's domain (its zone is the lab's Knot's). */
function browseHost(routes: readonly LabRoute[], domain: string): string {
  const hosts = [...new Set(routes.map((r) => r.host))].sort();
  return hosts.find((h) => h === domain || h.endsWith(`.${domain}`)) ?? hosts[0] ?? domain;
}

/** The routes intent.json lists (`{host, path?, service}`), for the ingress's certificates and the end-to-end checks. */
export function routesOf(intent: { routes?: readonly { host: string; path?: string; service: string }[] }): LabRoute[] {
  return (intent.routes ?? []).map((r) => ({ host: r.host, path: r.path ?? "/", service: r.service }));
}

/** Every namespace of a layout, in creation order. */
export function layoutNamespaces(l: LabLayout): string[] {
  return [l.ns.inet, ...l.sites.flatMap((s) => s.uplinks.map((u) => u.ns)), l.ns.edge, ...l.sites.map((s) => s.ns), ...l.containers.map((c) => c.ns)];
}
