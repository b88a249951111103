import { SiteError, sortArtifacts, tunnelAddresses, Topology, Zone, type Artifact, type Site } from "../core/index.js";
import { declareCluster } from "../cluster/index.js";
import { declareEdge } from "../edge/index.js";
import { declareTunnel } from "../tunnel/index.js";
import { declareSegmentation } from "../policies/segmentation.js";
import { renderHostFiles } from "./host-files.js";

/** The platform: the Topology and the host files rendered from it (engines render separately). */
export interface Platform {
  readonly site: Site;
  readonly topology: Topology;
  readonly hostFiles: readonly Artifact[];
}

/** Composes edge + tunnel + cluster into one Topology, declares the intent, renders host files. */
export function buildTopology(site: Site): Topology {
  if (site.sites.length > 1) {
    // Validated, not rendered yet: planning only the first site would silently drop the others.
    throw new SiteError("the site file", [
      { path: "sites[1]", given: `${site.sites.length} sites (${site.sites.map((s) => s.id).join(", ")})`, expected: "one site: this version validates several sites but renders one", fix: "declare one site until the multi-site rendering lands" },
    ]);
  }
  const t = new Topology(site);
  const tun = tunnelAddresses(site);
  const edge = t.addHost({ id: "edge", zone: Zone.EDGE, addresses: [site.edge.ipv4, site.edge.ipv6, tun.edge4, tun.edge6], dockerHost: site.edge.docker });
  const cloud = t.addHost({
    id: "cloud",
    zone: Zone.CLOUD,
    addresses: [...site.cloud.uplinks.map((u) => u.address.split("/")[0]!), tun.cloud4, tun.cloud6],
    dockerHost: site.cloud.docker,
  });
  t.addAddressPeer("internet", Zone.INTERNET, ["0.0.0.0/0", "::/0"]);
  t.addAddressPeer("admin", Zone.INTERNET, site.site.adminCidrs);
  declareEdge(t, edge);
  declareTunnel(t, edge, cloud);
  declareCluster(t, cloud, tun.cloud4);
  declareSegmentation(t);
  return t;
}

export function buildPlatform(site: Site): Platform {
  const topology = buildTopology(site);
  return { site, topology, hostFiles: sortArtifacts(renderHostFiles(topology)) };
}
