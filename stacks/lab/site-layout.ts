/**
 * Per-site shape of the lab (pure): for every private-cloud site of the platform, its network
 * namespace, its ISPs' namespaces and transit links, its tunnel addresses and (on a platform of
 * several sites) its own WireGuard run directory. A one-site platform gets exactly the names the
 * one-site lab has always used (`plab-cloud`, `plab-isp-<uplink>`, the transits 198.51.100.0/30
 * and .4/30 when free), so its figures and records do not change.
 */
import { cidr4Overlaps, hostInCidr4, siteTunnelAddresses, type Site } from "../../core/index.js";
import { siteWgDir } from "./wg-mountns.js";

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
  /** The uplink's interface in the internet namespace. */
  readonly ifInet: string;
}

export interface LabSite {
  readonly id: string;
  /** The site host's network namespace. */
  readonly ns: string;
  readonly uplinks: readonly LabUplink[];
  readonly tunnel: { readonly edge4: string; readonly cloud4: string; readonly edge6: string; readonly cloud6: string };
  /** The directory over /var/run/wireguard for this site's wireguard-go and `wg` (undefined: one site, the host's). */
  readonly wgDir?: string;
}

/**
 * Transit /30s between the internet namespace and each ISP, one per uplink of every site: the first
 * free ones of 198.51.100.0/25 (the scanners have the upper half), so a one-site platform keeps
 * 198.51.100.0/30 and .4/30.
 */
const TRANSIT_POOL = Array.from({ length: 32 }, (_, i) => `198.51.100.${i * 4}/30`);

export function labSites(site: Site, runDir: string): LabSite[] {
  const multi = site.sites.length > 1;
  const siteRanges = [...site.sites.flatMap((s) => s.uplinks.map((u) => u.address)), ...site.site.adminCidrs.filter((c) => !c.includes(":")), ...site.edge.dns.secondaries.map((s) => `${s.address}/32`)];
  const needed = site.sites.reduce((n, s) => n + s.uplinks.length, 0);
  const free = TRANSIT_POOL.filter((t) => !siteRanges.some((r) => cidr4Overlaps(r, t)));
  if (free.length < needed) throw new Error(`the lab needs ${needed} transit /30s in 198.51.100.0/25 (one per uplink); the site's ranges (${siteRanges.join(", ")}) leave ${free.length}`);
  let next = 0;
  return site.sites.map((s) => {
    const uplinks: LabUplink[] = s.uplinks.map((u) => {
      const t = free[next++]!;
      const prefix = Number(u.address.split("/")[1] ?? 32);
      return {
        id: u.id,
        iface: u.interface,
        cidr: u.address.includes("/") ? u.address : `${u.address}/${prefix}`,
        address: u.address.split("/")[0]!,
        gateway: u.gateway,
        ns: multi ? `${LAB_PREFIX}-isp-${s.id}-${u.id}` : `${LAB_PREFIX}-isp-${u.id}`,
        transit: { inet: hostInCidr4(t, 1), isp: hostInCidr4(t, 2) },
        // Interface names are per namespace but all of these are in the internet namespace: 15 characters, unique.
        ifInet: (multi ? `up-${s.id}-${u.id}` : `up-${u.id}`).slice(0, 15),
      };
    });
    const tun = siteTunnelAddresses(s);
    return {
      id: s.id,
      ns: multi ? `${LAB_PREFIX}-cloud-${s.id}` : `${LAB_PREFIX}-cloud`,
      uplinks,
      tunnel: { edge4: tun.edge4, cloud4: tun.cloud4, edge6: tun.edge6, cloud6: tun.cloud6 },
      ...(multi ? { wgDir: siteWgDir(runDir, s.id) } : {}),
    };
  });
}
