import { cidr4Overlaps, cidr6Overlaps, parseCidr4 } from "./cidr.js";
import type { CloudSite, Site, SiteDeclaration } from "./site-schema.js";

/*
 * Private-cloud sites: the two ways a site file declares them (one `cloud` host with the tunnel
 * subnet under `tunnel`, or a list of `sites`), read into one list, and where each service and
 * PostgreSQL server runs. Everything downstream reads `site.sites`, never the form.
 */

/** A problem in the loader's shape (path, value given, expected, fix). */
export interface SitesProblem {
  readonly path: string;
  readonly given: string;
  readonly expected: string;
  readonly fix: string;
}

const show = (v: unknown) => (v === undefined ? "(missing)" : JSON.stringify(v));

/** The host id of the one-site form (kept, so its artifacts are those of before `sites` existed). */
export const ONE_SITE_ID = "cloud";

/** The secret that holds a site's WireGuard private key, unless the site names another. */
export function defaultKeyFile(siteId: string): string {
  return `wireguard-${siteId}`;
}

/** Problems of the form itself (which of `cloud` and `sites`, where the tunnel subnet is): checked before reading it. */
export function siteFormProblems(d: SiteDeclaration): SitesProblem[] {
  const out: SitesProblem[] = [];
  if (d.cloud && d.sites) {
    out.push({ path: "sites", given: `both cloud and sites (${d.sites.length} site(s))`, expected: "either cloud (one host) or sites (one or more), not both", fix: "move cloud into sites as one entry with an id, a region and its own tunnel, and remove cloud" });
  } else if (!d.cloud && !d.sites) {
    out.push({ path: "sites", given: "(missing)", expected: "the private cloud: cloud (one host) or sites (one or more)", fix: "add sites: [{ id, region, docker, uplinks, networkPool, tunnel: { subnet, subnet6 } }], or a cloud section" });
  } else if (d.cloud) {
    for (const k of ["subnet", "subnet6"] as const) {
      if (d.tunnel[k] === undefined) out.push({ path: `tunnel.${k}`, given: "(missing)", expected: `the cloud's tunnel ${k === "subnet" ? "IPv4 subnet such as 10.77.0.0/30" : "IPv6 subnet such as fd77::/64"}`, fix: `add tunnel.${k}` });
    }
  } else {
    for (const k of ["subnet", "subnet6"] as const) {
      if (d.tunnel[k] !== undefined) out.push({ path: `tunnel.${k}`, given: show(d.tunnel[k]), expected: "no tunnel subnet here: with sites, each site has its own (sites[i].tunnel)", fix: `remove tunnel.${k} and give each site its tunnel.${k}` });
    }
    if (d.publicKeys.wireguardCloud !== undefined) {
      out.push({ path: "publicKeys.wireguardCloud", given: show(d.publicKeys.wireguardCloud), expected: "no cloud key here: with sites, each site has its own (sites[i].publicKey)", fix: "move the key to the publicKey of the site it belongs to" });
    }
  }
  return out;
}

/** The site file read into one list of sites (call only once `siteFormProblems` is empty). */
export function normalizeSites(d: SiteDeclaration): Site {
  const sites: CloudSite[] = d.cloud
    ? [
        {
          ...d.cloud,
          id: ONE_SITE_ID,
          tunnel: { subnet: d.tunnel.subnet!, subnet6: d.tunnel.subnet6! },
          keyFile: defaultKeyFile(ONE_SITE_ID),
          ...(d.publicKeys.wireguardCloud ? { publicKey: d.publicKeys.wireguardCloud } : {}),
          path: "cloud",
        },
      ]
    : d.sites!.map((s, i) => ({ ...s, keyFile: s.keyFile ?? defaultKeyFile(s.id), path: `sites[${i}]` }));
  const { cloud: _cloud, sites: _sites, ...rest } = d;
  const primary = sites[0]!;
  return { ...rest, cloud: primary, sites, tunnel: { ...d.tunnel, subnet: primary.tunnel.subnet, subnet6: primary.tunnel.subnet6 } };
}

/**
 * The site file's form of a validated platform (the inverse of `normalizeSites`): what to edit and
 * parse again, e.g. to derive a variant of a site. The one-site form stays `cloud` + `tunnel.subnet`.
 */
export function declarationOf(site: Site): SiteDeclaration {
  const { sites, cloud: _primary, tunnel, ...rest } = site;
  const host = (s: CloudSite) => {
    const { id: _id, region: _region, tunnel: _tunnel, keyFile: _keyFile, publicKey: _publicKey, path: _path, ...h } = s;
    return h;
  };
  const only = sites[0]!;
  if (sites.length === 1 && only.path === "cloud") {
    return { ...rest, tunnel, cloud: { ...host(only), ...(only.region !== undefined ? { region: only.region } : {}) } };
  }
  const { subnet: _subnet, subnet6: _subnet6, ...shared } = tunnel;
  return {
    ...rest,
    tunnel: shared,
    sites: sites.map((s) => ({
      id: s.id,
      region: s.region!,
      ...host(s),
      tunnel: { ...s.tunnel },
      ...(s.keyFile !== defaultKeyFile(s.id) ? { keyFile: s.keyFile } : {}),
      ...(s.publicKey ? { publicKey: s.publicKey } : {}),
    })),
  };
}

/** Whether the platform has more than one site (then regions are places, not labels). */
export function regionsArePlaces(site: Site): boolean {
  return site.sites.some((s) => s.region !== undefined);
}

/** The site a service runs on: the one it names, else the first. The platform's own containers run on the first. */
export function siteOfService(site: Site, service: string): CloudSite {
  const named = site.services[service]?.site;
  return site.sites.find((s) => s.id === named) ?? site.sites[0]!;
}

/** The site a PostgreSQL server runs on: the one it names, else the site of its region, else the first. */
export function siteOfServer(site: Site, server: { readonly region: string; readonly site?: string }): CloudSite {
  return site.sites.find((s) => s.id === server.site) ?? site.sites.find((s) => s.region === server.region) ?? site.sites[0]!;
}

/**
 * Checks across the sites: unique ids and key files, disjoint tunnel subnets and network pools,
 * each site's uplinks; every placement names a site; every PostgreSQL server runs on a site of its
 * region; every dedicated tenant's region has a site (when sites carry regions).
 */
export function sitesProblems(site: Site, reservedIds: ReadonlySet<string>): SitesProblem[] {
  const out: SitesProblem[] = [];
  const ids = site.sites.map((s) => s.id);
  const known = `one of the sites (${ids.join(", ")})`;
  site.sites.forEach((s, i) => {
    if (ids.indexOf(s.id) !== i) out.push({ path: `${s.path}.id`, given: show(s.id), expected: "an id not used by another site", fix: "rename one of the two sites" });
    else if (s.id !== ONE_SITE_ID && reservedIds.has(s.id)) out.push({ path: `${s.path}.id`, given: show(s.id), expected: "an id no service, server or platform peer uses (a site is a host of its own)", fix: `rename the site, e.g. site-${s.id}` });
    if (site.sites.findIndex((o) => o.keyFile === s.keyFile) !== i || s.keyFile === "wireguard-edge") {
      out.push({ path: `${s.path}.keyFile`, given: show(s.keyFile), expected: "a key file of this site alone (each tunnel end has its own private key)", fix: `set ${s.path}.keyFile to ${defaultKeyFile(s.id)}` });
    }
    // The Kubernetes renderer takes the one-site form's cluster only: a site of the list would be rendered as Docker.
    if (s.path !== "cloud" && s.engine === "kubernetes") {
      out.push({ path: `${s.path}.engine`, given: show(s.engine), expected: "docker: a site of the sites list runs on Docker (the Kubernetes rendering takes the one-site form, cloud.engine, only)", fix: `remove ${s.path}.engine (or set it to docker), or declare this platform with one cloud host and cloud.engine: kubernetes` });
    }
    const uplinkIds = s.uplinks.map((u) => u.id);
    uplinkIds.forEach((u, j) => {
      if (uplinkIds.indexOf(u) !== j) out.push({ path: `${s.path}.uplinks[${j}].id`, given: show(u), expected: "an id not used by another entry", fix: `rename one of the entries with id "${u}" in ${s.path}.uplinks` });
    });
    const prios = s.uplinks.map((u) => u.priority);
    if (new Set(prios).size !== prios.length) {
      out.push({ path: `${s.path}.uplinks[1].priority`, given: show(prios[1]), expected: "a priority different from the other uplink's", fix: "give the fiber uplink priority 1 and the cellular uplink priority 2" });
    }
    const tunnelPath = s.path === "cloud" ? "tunnel" : `${s.path}.tunnel`;
    if (parseCidr4(s.tunnel.subnet).bits > 30) {
      out.push({ path: `${tunnelPath}.subnet`, given: show(s.tunnel.subnet), expected: "a /30 or larger (two host addresses)", fix: "use a /30 such as 10.77.0.0/30" });
    }
    for (const o of site.sites.slice(0, i)) {
      const oTunnel = o.path === "cloud" ? "tunnel" : `${o.path}.tunnel`;
      if (cidr4Overlaps(s.tunnel.subnet, o.tunnel.subnet)) {
        out.push({ path: `${tunnelPath}.subnet`, given: show(s.tunnel.subnet), expected: `a range that does not overlap ${oTunnel}.subnet (${o.tunnel.subnet}): each site's tunnel has addresses of its own`, fix: "pick the next free /30, e.g. one past the other site's" });
      }
      if (cidr6Overlaps(s.tunnel.subnet6, o.tunnel.subnet6)) {
        out.push({ path: `${tunnelPath}.subnet6`, given: show(s.tunnel.subnet6), expected: `a range that does not overlap ${oTunnel}.subnet6 (${o.tunnel.subnet6})`, fix: "pick another /64, e.g. fd79::/64" });
      }
      if (cidr4Overlaps(s.networkPool, o.networkPool)) {
        out.push({ path: `${s.path}.networkPool`, given: show(s.networkPool), expected: `a range that does not overlap ${o.path}.networkPool (${o.networkPool}): the edge routes each site's networks to that site`, fix: "give each site its own private range, e.g. 172.21.0.0/16 and 172.22.0.0/16" });
      }
    }
    for (const o of site.sites) {
      const oTunnel = o.path === "cloud" ? "tunnel" : `${o.path}.tunnel`;
      if (cidr4Overlaps(s.networkPool, o.tunnel.subnet)) {
        out.push({ path: `${s.path}.networkPool`, given: show(s.networkPool), expected: `a range that does not overlap ${oTunnel}.subnet (${o.tunnel.subnet})`, fix: "pick a private range such as 172.20.0.0/16" });
      }
    }
  });

  for (const [id, svc] of Object.entries(site.services)) {
    if (svc.site !== undefined && !ids.includes(svc.site)) {
      out.push({ path: `services.${id}.site`, given: show(svc.site), expected: known, fix: `name one of those, or declare a site ${svc.site} under sites` });
    }
  }
  const placesRegions = regionsArePlaces(site);
  site.postgres.servers.forEach((srv, i) => {
    if (srv.site !== undefined && !ids.includes(srv.site)) {
      out.push({ path: `postgres.servers[${i}].site`, given: show(srv.site), expected: known, fix: `name one of those, or declare a site ${srv.site} under sites` });
      return;
    }
    if (!placesRegions) return;
    const on = siteOfServer(site, srv);
    if (on.region !== srv.region) {
      const home = site.sites.filter((s) => s.region === srv.region).map((s) => s.id);
      out.push({
        path: srv.site !== undefined ? `postgres.servers[${i}].site` : `postgres.servers[${i}].region`,
        given: show(srv.site ?? srv.region),
        expected: home.length
          ? `a site of region ${srv.region} (${home.join(", ")}): a server holds its region's tenants' data, which must stay in that region`
          : `a region some site holds (${[...new Set(site.sites.map((s) => s.region))].join(", ")}): the server would otherwise run on ${on.id}, in region ${on.region ?? "(none)"}`,
        fix: home.length ? `set postgres.servers[${i}].site to ${home[0]}, or remove it` : `declare a site in region ${srv.region}, or set the server's region to its site's`,
      });
    }
  });
  if (placesRegions) {
    site.tenants.forEach((t, i) => {
      if (t.mode === "dedicated" && !site.sites.some((s) => s.region === t.region)) {
        out.push({
          path: `tenants[${i}].region`,
          given: show(t.region),
          expected: `a region some site holds (${[...new Set(site.sites.map((s) => s.region))].join(", ")}): a dedicated tenant's database lives on the site of its region`,
          fix: `set tenants[${i}].region to one of those, or declare a site in region ${t.region} under sites`,
        });
      }
    });
  }
  return out;
}

/*
 * Where each host's rendered files go: `hosts/<host>/` (the edge, and each site by its id; the
 * one-site form's host is `cloud`). The OpenBao and PostgreSQL files live under the site that runs
 * them; renderers, the verifier, deploy and the lab all take the paths from here.
 */

/** The directory of a host's rendered files (relative to the output directory). */
export function hostDir(hostId: string): string {
  return `hosts/${hostId}`;
}

/** The PostgreSQL files of the servers on a site (`hosts/<site>/postgres`). */
export function postgresDir(siteId: string): string {
  return `${hostDir(siteId)}/postgres`;
}

/** The OpenBao files of the site that runs OpenBao (`hosts/<site>/openbao`). */
export function openbaoDir(siteId: string): string {
  return `${hostDir(siteId)}/openbao`;
}

/** The site that runs OpenBao (a platform container: the first site). */
export function openbaoSite(site: Site): CloudSite {
  return siteOfService(site, "openbao");
}

/** Where a PostgreSQL server's files are: under the directory of the site it runs on. */
export function postgresDirOf(site: Site, server: { readonly region: string; readonly site?: string }): string {
  return postgresDir(siteOfServer(site, server).id);
}

/**
 * A host's kernel settings: sysctl drop-ins under `hosts/<host>/sysctl.d/` (installed at
 * /etc/palisade/sysctl.d/ and linked from /etc/sysctl.d/, where sysctl reads them at boot).
 */
export function sysctlDir(hostId: string): string {
  return `${hostDir(hostId)}/sysctl.d`;
}

/**
 * The edge's forwarding drop-in. `99-` sorts after distribution and package defaults in
 * /etc/sysctl.d (a later file wins); /etc/sysctl.conf (`99-sysctl.conf`) still comes after it.
 */
export const FORWARDING_SYSCTL_FILE = "99-palisade-forwarding.conf";
