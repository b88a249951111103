/**
 * Per-site shape of the lab (pure): for every private-cloud site of the platform, its network
 * namespace, its ISPs' namespaces and transit links, its tunnel addresses and (on a platform of
 * several sites) its own WireGuard run directory. A one-site platform gets exactly the names the
 * one-site lab has always used (`plab-cloud`, `plab-isp-<uplink>`, transits 198.51.100.0/30, .4,
 * .8), so its figures and records do not change.
 *
 * Not yet used by up.ts/probe.ts: the multi-site lab (one dockerd per site, both tunnels on the
 * edge's wg-edge, cross-site probes) is being built on top of it.
 */
import { cidr4Overlaps, hostInCidr4, siteTunnelAddresses, type Site } from "../../core/index.js";
import { LAB_PREFIX, type LabUplink } from "./layout.js";
import { siteWgDir } from "./wg-mountns.js";

export interface LabSite {
  readonly id: string;
  /** The site host's network namespace. */
  readonly ns: string;
  readonly uplinks: readonly LabUplink[];
  readonly tunnel: { readonly edge4: string; readonly cloud4: string; readonly edge6: string; readonly cloud6: string };
  /** The directory over /var/run/wireguard for this site's wireguard-go and `wg` (undefined: one site, the host's). */
  readonly wgDir?: string;
}

/** Transit /30s between the internet namespace and each ISP, one per uplink of every site, in 198.51.100.0/28. */
const TRANSITS = ["198.51.100.0/30", "198.51.100.4/30", "198.51.100.8/30", "198.51.100.12/30"];

export function labSites(site: Site, runDir: string): LabSite[] {
  const multi = site.sites.length > 1;
  const siteRanges = [...site.sites.flatMap((s) => s.uplinks.map((u) => u.address)), ...site.site.adminCidrs.filter((c) => !c.includes(":")), ...site.edge.dns.secondaries.map((s) => `${s.address}/32`)];
  const needed = site.sites.reduce((n, s) => n + s.uplinks.length, 0);
  if (needed > TRANSITS.length) throw new Error(`the lab has ${TRANSITS.length} transit links (198.51.100.0/28); this platform's sites have ${needed} uplinks`);
  for (const t of TRANSITS.slice(0, needed)) {
    const clash = siteRanges.find((r) => cidr4Overlaps(r, t));
    if (clash) throw new Error(`lab transit range ${t} overlaps the site's ${clash}; the lab needs 198.51.100.0/28 free`);
  }
  let next = 0;
  return site.sites.map((s) => {
    const uplinks: LabUplink[] = s.uplinks.map((u) => {
      const t = TRANSITS[next++]!;
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
