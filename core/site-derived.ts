import { hostInCidr4, hostInCidr6 } from "./cidr.js";
import type { CloudSite, Site } from "./site-schema.js";

/** Addresses inside the tunnel: the edge takes the first host address, the cloud the second. */
export interface TunnelAddresses {
  readonly edge4: string;
  readonly cloud4: string;
  readonly edge6: string;
  readonly cloud6: string;
  readonly prefix4: number;
  readonly prefix6: number;
}

/** The first site's tunnel addresses (the one-site form's tunnel). */
export function tunnelAddresses(site: Site): TunnelAddresses {
  return siteTunnelAddresses(site.cloud);
}

/** One site's tunnel: the edge's end and the site's end. */
export function siteTunnelAddresses(s: Pick<CloudSite, "tunnel">): TunnelAddresses {
  return {
    edge4: hostInCidr4(s.tunnel.subnet, 1),
    cloud4: hostInCidr4(s.tunnel.subnet, 2),
    edge6: hostInCidr6(s.tunnel.subnet6, 1),
    cloud6: hostInCidr6(s.tunnel.subnet6, 2),
    prefix4: Number(s.tunnel.subnet.split("/")[1]),
    prefix6: Number(s.tunnel.subnet6.split("/")[1]),
  };
}

/** Public host names under the site's domain. */
export function siteNames(site: Site) {
  const d = site.site.domain;
  return { app: `app.${d}`, git: `git.${d}`, blog: `blog.${d}`, mail: `mail.${d}`, ns1: `ns1.${d}`, mtaSts: `mta-sts.${d}`, apex: d } as const;
}
