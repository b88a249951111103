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

/**
 * The placeholder public key of the site at `index` (the first site's, and the edge's, is all
 * zeros): distinct per site, so the edge's peers stay distinct keys (as WireGuard requires) before
 * `palisade keys` has made the real ones.
 */
export function missingKeyPlaceholder(index: number): string {
  const bytes = new Uint8Array(32);
  bytes[30] = (index >> 8) & 0xff;
  bytes[31] = index & 0xff;
  return Buffer.from(bytes).toString("base64");
}

/**
 * The WireGuard public keys the site declares (or their placeholders): the edge's, which every
 * site's tunnel peers with, and each site's, which the edge peers with. What the rendered configs
 * must carry: a peer with another key is another party on the tunnel.
 */
export function wireguardKeys(site: Pick<Site, "publicKeys" | "sites">): { readonly edge: string; readonly sites: readonly { readonly id: string; readonly key: string; readonly declared: boolean }[] } {
  return {
    edge: site.publicKeys.wireguardEdge ?? missingKeyPlaceholder(0),
    sites: site.sites.map((s, i) => ({ id: s.id, key: s.publicKey ?? missingKeyPlaceholder(i), declared: !!s.publicKey })),
  };
}
