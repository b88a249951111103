import { hostInCidr4, hostInCidr6 } from "./cidr.js";
import type { Site } from "./site-schema.js";

/** Addresses inside the tunnel: the edge takes the first host address, the cloud the second. */
export interface TunnelAddresses {
  readonly edge4: string;
  readonly cloud4: string;
  readonly edge6: string;
  readonly cloud6: string;
  readonly prefix4: number;
  readonly prefix6: number;
}

export function tunnelAddresses(site: Site): TunnelAddresses {
  return {
    edge4: hostInCidr4(site.tunnel.subnet, 1),
    cloud4: hostInCidr4(site.tunnel.subnet, 2),
    edge6: hostInCidr6(site.tunnel.subnet6, 1),
    cloud6: hostInCidr6(site.tunnel.subnet6, 2),
    prefix4: Number(site.tunnel.subnet.split("/")[1]),
    prefix6: Number(site.tunnel.subnet6.split("/")[1]),
  };
}

/** Public host names under the site's domain. */
export function siteNames(site: Site) {
  const d = site.site.domain;
  return { app: `app.${d}`, git: `git.${d}`, blog: `blog.${d}`, mail: `mail.${d}`, ns1: `ns1.${d}`, mtaSts: `mta-sts.${d}`, apex: d } as const;
}
