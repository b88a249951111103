import { crossSiteFlows, siteOfContainer, siteTunnelAddresses, type CloudSite, type Site, type TunnelAddresses } from "../core/index.js";

/*
 * The tunnels of a platform with several sites: each site has its own WireGuard tunnel to the
 * edge, and a flow between two sites goes through the edge over both. These say which site
 * a host id names, and which other sites' tunnel addresses each site's tunnel carries.
 */

/** A site by its host id. */
export function cloudSite(site: Site, hostId: string): CloudSite {
  const s = site.sites.find((x) => x.id === hostId);
  if (!s) throw new Error(`no private-cloud site named ${hostId}`);
  return s;
}

/** The tunnel addresses of the site whose host is `hostId`. */
export function tunnelOf(site: Site, hostId: string): TunnelAddresses {
  return siteTunnelAddresses(cloudSite(site, hostId));
}

/**
 * The other sites a site exchanges declared flows with (either way), in declaration order: their
 * tunnel addresses cross this site's tunnel, through the edge.
 */
export function peerSites(site: Site, hostId: string): CloudSite[] {
  const linked = new Set<string>();
  for (const f of crossSiteFlows(site)) {
    const a = siteOfContainer(site, f.from);
    const b = siteOfContainer(site, f.to);
    if (a === hostId) linked.add(b);
    if (b === hostId) linked.add(a);
  }
  return site.sites.filter((s) => linked.has(s.id));
}
