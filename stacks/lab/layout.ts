/**
 * The lab's shape: namespace names and the addresses the lab assigns. Pure: derived from the site
 * (the edge's public address, the admin ranges, the uplinks) and the cloud stack read from the
 * artifacts. Every address is one of the site's own or inside the documentation ranges
 * (203.0.113.0/24, 198.51.100.0/24); no namespace is linked to the root namespace, so nothing can
 * leave the machine.
 */
import { cidr4Overlaps, hostInCidr4, tunnelAddresses, type Site } from "../../core/index.js";
import type { CloudStack, LabContainer } from "./artifacts.js";

/** Every lab namespace starts with this, so a name can never clash with someone else's. */
export const LAB_PREFIX = "plab";

export interface LabUplink {
  readonly id: string;
  /** Interface on the cloud host, as the artifacts name it (fiber0, wwan0). */
  readonly iface: string;
  /** `198.51.100.20/28` */
  readonly cidr: string;
  readonly address: string;
  readonly gateway: string;
  readonly ns: string;
  /** Transit link between the internet namespace (`inet`) and the ISP (`isp`), /30. */
  readonly transit: { readonly inet: string; readonly isp: string };
  /** Interface names: inet side, isp's upstream side, isp's side toward the cloud. */
  readonly ifInet: string;
}

export interface LabContainerPlan extends LabContainer {
  /** The name the lab gives the container's network namespace (`ip netns attach`, once dockerd started it). */
  readonly ns: string;
  /** Per attached network, in artifact order: its bridge and the container's address. */
  readonly links: readonly { readonly network: string; readonly bridge: string; readonly ipv4: string; readonly prefix: number }[];
}

export interface LabLayout {
  readonly ns: { readonly inet: string; readonly edge: string; readonly cloud: string };
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
  readonly uplinks: readonly LabUplink[];
  readonly tunnel: { readonly edge4: string; readonly cloud4: string; readonly edge6: string; readonly cloud6: string };
  readonly containers: readonly LabContainerPlan[];
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

export interface UplinkInput {
  readonly id: string;
  readonly interface: string;
  readonly address: string;
  readonly gateway: string;
}

/** The lab layout for a site and its planned cloud stack. Throws when a lab range collides with the site's. */
export function labLayout(site: Site, stack: CloudStack, uplinks: readonly UplinkInput[], routes: readonly LabRoute[]): LabLayout {
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
  // Transit links and scanners live in 198.51.100.0/24 where the site does not use it.
  const siteRanges = [...uplinks.map((u) => u.address), ...site.site.adminCidrs.filter((c) => !c.includes(":")), ...site.edge.dns.secondaries.map((s) => `${s.address}/32`)];
  const transits = ["198.51.100.0/30", "198.51.100.4/30", "198.51.100.8/30"];
  for (const t of transits.slice(0, uplinks.length)) {
    const clash = siteRanges.find((r) => cidr4Overlaps(r, t));
    if (clash) throw new Error(`lab transit range ${t} overlaps the site's ${clash}; the lab needs 198.51.100.0/28 free`);
  }
  const scannerRange = "198.51.100.128/25";
  const scanClash = siteRanges.find((r) => cidr4Overlaps(r, scannerRange));
  const scanners = scanClash ? [] : Array.from({ length: 126 }, (_, i) => hostInCidr4(scannerRange, i + 1));

  const labUplinks: LabUplink[] = uplinks.map((u, i) => {
    const t = transits[i]!;
    const prefix = Number(u.address.split("/")[1] ?? 32);
    return {
      id: u.id,
      iface: u.interface,
      cidr: u.address.includes("/") ? u.address : `${u.address}/${prefix}`,
      address: u.address.split("/")[0]!,
      gateway: u.gateway,
      ns: `${LAB_PREFIX}-isp-${u.id}`,
      transit: { inet: hostInCidr4(t, 1), isp: hostInCidr4(t, 2) },
      ifInet: `up-${u.id}`.slice(0, 15),
    };
  });

  const netByName = new Map(stack.networks.map((n) => [n.name, n]));
  const containers: LabContainerPlan[] = stack.containers.map((c) => {
    const links = c.networks.map((n) => {
      const net = netByName.get(n.network);
      if (!net) throw new Error(`container ${c.name} joins ${n.network}, which the cloud stack does not declare`);
      return { network: net.name, bridge: net.bridge, ipv4: n.ipv4, prefix: Number(net.subnet.split("/")[1]) };
    });
    return { ...c, ns: `${LAB_PREFIX}-c-${c.service}`, links };
  });

  const tun = tunnelAddresses(site);
  const d = site.site.domain;
  return {
    ns: { inet: `${LAB_PREFIX}-inet`, edge: `${LAB_PREFIX}-edge`, cloud: `${LAB_PREFIX}-cloud` },
    edge: { ipv4: edge4, ipv6: site.edge.ipv6, prefix4: 24, router4, router6: `${site.edge.ipv6.split("::")[0]}::1` },
    internet: { client, attacker, admin, ca, scanners },
    uplinks: labUplinks,
    tunnel: { edge4: tun.edge4, cloud4: tun.cloud4, edge6: tun.edge6, cloud6: tun.cloud6 },
    containers,
    stack,
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
  return [l.ns.inet, ...l.uplinks.map((u) => u.ns), l.ns.edge, l.ns.cloud, ...l.containers.map((c) => c.ns)];
}
