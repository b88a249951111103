import { siteTunnelAddresses, sortArtifacts, Topology, Zone, type Artifact, type Site } from "../core/index.js";
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
  const t = new Topology(site);
  const tunnels = site.sites.map((s) => siteTunnelAddresses(s));
  const edge = t.addHost({ id: "edge", zone: Zone.EDGE, addresses: [site.edge.ipv4, site.edge.ipv6, ...tunnels.flatMap((a) => [a.edge4, a.edge6])], dockerHost: site.edge.docker });
  t.addAddressPeer("internet", Zone.INTERNET, ["0.0.0.0/0", "::/0"]);
  t.addAddressPeer("admin", Zone.INTERNET, site.site.adminCidrs);
  declareEdge(t, edge);
  // Each site a host of its own (the one-site form's is `cloud`), with its tunnel end and its containers.
  site.sites.forEach((s, i) => {
    const host = t.addHost({ id: s.id, zone: Zone.CLOUD, addresses: [...s.uplinks.map((u) => u.address.split("/")[0]!), tunnels[i]!.cloud4, tunnels[i]!.cloud6], dockerHost: s.docker });
    declareTunnel(t, edge, host, i === 0);
  });
  for (const [i, s] of site.sites.entries()) declareCluster(t, t.host(s.id), tunnels[i]!.cloud4);
  declareSegmentation(t);
  return t;
}

export function buildPlatform(site: Site): Platform {
  const topology = buildTopology(site);
  return { site, topology, hostFiles: sortArtifacts(renderHostFiles(topology)) };
}
