import { postgresServiceIds, regionsArePlaces, siteOfServer, type Site } from "../../core/index.js";
import { serverFor } from "../tenancy/names.js";
import type { DockerModel } from "./docker-model.js";
import { queryPair } from "./query.js";
import type { Finding } from "./report-model.js";
import type { SiteModel } from "./site-model.js";

/*
 * Data residency, from the artifacts: a dedicated tenant's database lives on the site of its region
 * and nowhere else. Where each server's container and data volume are rendered is read from every
 * engine's stacks (not from the placement the site file declares); the flows the verifier derived
 * show what reaches the server from another site and that the server reaches no other site.
 */

/** One dedicated tenant's data: where it must be, where the artifacts put it, and the cross-site paths. */
export interface ResidencyRecord {
  readonly tenant: string;
  readonly region: string;
  readonly server: string;
  /** The site of the tenant's region (from the site file: the one place the data may be). */
  readonly site: string;
  /** Stacks whose artifacts render the server's container or mount its data volume, per engine. */
  readonly renderedOn: readonly { readonly engine: string; readonly host: string; readonly artifact: string; readonly what: string }[];
  /** Connections into the server from another site the artifacts allow (each a declared flow), and those they block. */
  readonly fromOtherSites: readonly { readonly line: string; readonly verdict: string }[];
  /** Connections out of the server to another site: all must be blocked (no replica, no backup target there). */
  readonly toOtherSites: readonly { readonly line: string; readonly verdict: string }[];
}

/** The service id of a PostgreSQL server (`postgres` for the first). */
function serviceOf(site: Site, serverId: string): string {
  const i = site.postgres.servers.findIndex((s) => s.id === serverId);
  return postgresServiceIds(site)[i]!;
}

/** The residency records and the findings: a tenant database rendered on another site, or not on its own. */
export function checkResidency(models: readonly DockerModel[], site: Site, reach: SiteModel): { records: ResidencyRecord[]; findings: Finding[] } {
  if (!regionsArePlaces(site)) return { records: [], findings: [] };
  const siteIds = new Set(site.sites.map((s) => s.id));
  // Every peer the artifacts place on a site (containers, the host, its daemons), computed pair by pair below.
  const onSite = [...reach.nodes.values()].filter((n) => n.host && siteIds.has(n.host));
  const pairs = (from: string, to: string) => {
    if (!reach.nodes.has(from) || !reach.nodes.has(to)) return [];
    return queryPair(reach, from, to).ports.map((p) => ({ line: p.line, verdict: p.verdict }));
  };
  const records: ResidencyRecord[] = [];
  const findings: Finding[] = [];
  for (const t of site.tenants) {
    if (t.mode !== "dedicated") continue;
    const server = serverFor(site, t);
    const service = serviceOf(site, server.id);
    const home = siteOfServer(site, server).id;
    const volume = `${service}-data`;
    const renderedOn: ResidencyRecord["renderedOn"][number][] = [];
    for (const m of models) {
      let homeFound = false;
      for (const h of m.hosts) {
        for (const c of h.containers) {
          const runs = c.service === service;
          const mounts = c.mounts.some((x) => x.type === "volume" && x.source === volume);
          if (!runs && !mounts) continue;
          renderedOn.push({ engine: m.engine, host: h.host, artifact: h.artifact, what: runs ? `container ${c.name}` : `${c.name} mounts ${volume}` });
          if (h.host === home && runs) homeFound = true;
          if (h.host !== home) {
            findings.push({
              id: `residency:${t.id}:${m.engine}:${h.host}:${c.name}`,
              kind: "residency",
              severity: "violation",
              subject: `tenant ${t.id} (region ${t.region})`,
              message: `${h.artifact}: ${runs ? `the ${service} server, which holds ${t.id}'s database,` : `${c.name} mounts ${volume}, ${t.id}'s data,`} is rendered on ${h.host}; ${t.id}'s data must stay on ${home}, the site of ${t.region}`,
              artifact: h.artifact,
              construct: c.construct,
            });
          }
        }
      }
      if (!homeFound) {
        findings.push({ id: `residency:${t.id}:${m.engine}:missing`, kind: "residency", severity: "violation", subject: `tenant ${t.id} (region ${t.region})`, message: `no ${m.engine} stack renders the ${service} server on ${home}, the site of ${t.region}`, artifact: m.hosts.find((h) => h.host === home)?.artifact });
      }
    }
    const others = onSite.filter((n) => n.host !== home && n.id !== service);
    records.push({
      tenant: t.id,
      region: t.region,
      server: service,
      site: home,
      renderedOn,
      fromOtherSites: others.flatMap((n) => pairs(n.id, service)),
      toOtherSites: others.flatMap((n) => pairs(service, n.id)),
    });
  }
  for (const r of records) {
    for (const f of r.toOtherSites.filter((x) => x.verdict !== "denied")) {
      findings.push({ id: `residency:${r.tenant}:out:${f.line}`, kind: "residency", severity: "violation", subject: `tenant ${r.tenant} (region ${r.region})`, message: `${f.line} is ${f.verdict}: the server holding ${r.tenant}'s data reaches another site` });
    }
  }
  return { records, findings };
}
