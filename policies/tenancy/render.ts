import { tenantIsolationSection } from "./report.js";
import { openbaoSite, postgresDir, postgresDirOf, sortArtifacts, type Artifact, type Site } from "../../core/index.js";
import { serverFor, type PostgresServer } from "./names.js";
import { bootstrapSql, tenantSql } from "./sql.js";

/** The PostgreSQL artifacts of the one-site form (`hosts/cloud/postgres`); with sites, each server's are under its site (`postgresDirOf`). */
export const POSTGRES_ARTIFACT_DIR = postgresDir("cloud");

function label(server: PostgresServer): string {
  return `${server.id} (region ${server.region})`;
}

/** The tenants placed on a server, in site order. */
export function tenantsOn(site: Site, server: PostgresServer): Site["tenants"] {
  return site.tenants.filter((t) => serverFor(site, t).id === server.id);
}

/**
 * The tenancy SQL artifacts:
 *   bootstrap.sql             roles, `palisade` database, registry, shared schema under FORCE RLS (every server)
 *   tenants/<id>.sql          one tenant: registry row; a dedicated tenant's database, roles and schema
 *   servers/<server>.sql      self-contained entry for each server: bootstrap + the tenants placed there
 *   servers/<server>.init.sh  the server container's init hook: runs its entry file once
 *   tenants.json              each tenant's declared isolation layers, checked by the verifier
 * All idempotent, applied as the cluster superuser with psql; no passwords anywhere.
 */
export function renderTenancy(site: Site): Artifact[] {
  // Each site that runs a server has its own copy of the bootstrap (each entry includes ../bootstrap.sql).
  const dirs = [...new Set(site.postgres.servers.map((s) => postgresDirOf(site, s)))];
  const out: Artifact[] = dirs.map((dir) => ({ path: `${dir}/bootstrap.sql`, content: bootstrapSql() }));
  for (const tenant of site.tenants) {
    out.push({ path: `${postgresDirOf(site, serverFor(site, tenant))}/tenants/${tenant.id}.sql`, content: tenantSql(tenant, label(serverFor(site, tenant))) });
  }
  for (const server of site.postgres.servers) {
    const POSTGRES_ARTIFACT_DIR = postgresDirOf(site, server);
    const lines = [
      `-- Entry for server ${label(server)}: psql -X -v ON_ERROR_STOP=1 -d postgres -f servers/${server.id}.sql`,
      `-- Rendered; do not edit.`,
      `\\set ON_ERROR_STOP on`,
      `\\ir ../bootstrap.sql`,
      ...tenantsOn(site, server).map((t) => `\\ir ../tenants/${t.id}.sql`),
      ``,
    ];
    out.push({ path: `${POSTGRES_ARTIFACT_DIR}/servers/${server.id}.sql`, content: lines.join("\n") });
    // The container's init hook: runs the entry at its real path, so its `\ir` includes resolve.
    out.push({
      path: `${POSTGRES_ARTIFACT_DIR}/servers/${server.id}.init.sh`,
      mode: 0o755,
      content: [
        "#!/bin/sh",
        `# Init hook of server ${label(server)}: mounted as /docker-entrypoint-initdb.d/10-palisade.sh; runs once, on an empty data directory.`,
        "# Rendered; do not edit.",
        `psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f ${POSTGRES_HOST_DIR}/servers/${server.id}.sql`,
        "",
      ].join("\n"),
    });
  }
  // The declared isolation of each tenant: the verifier looks for each layer's evidence in the SQL and OpenBao artifacts.
  out.push({ path: `${tenancyDeclarationDir(site)}/tenants.json`, content: `${JSON.stringify({ tenants: tenantIsolationSection(site) }, null, 2)}\n` });
  return sortArtifacts(out);
}

/** Where deploy places these files on the cloud host (mounted read-only into each PostgreSQL container). */
export const POSTGRES_HOST_DIR = "/etc/palisade/postgres";

/** Where plan writes the declared tenant isolation on the one-site form (relative to the output directory). */
export const TENANCY_DECLARATION_PATH = `${POSTGRES_ARTIFACT_DIR}/tenants.json`;

/** The declared tenant isolation goes with OpenBao's site (which hands out every tenant's credentials). */
function tenancyDeclarationDir(site: Site): string {
  return postgresDir(openbaoSite(site).id);
}

/** The paths the verifier accepts for the tenancy declaration and a server's files: `hosts/<host>/postgres/…`. */
export const POSTGRES_PATH = /^hosts\/([^/]+)\/postgres\/(.+)$/;
