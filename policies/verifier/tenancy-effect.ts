import { postgresDirOf, type Site } from "../../core/index.js";
import { judge, type Finding as AuditFinding } from "../tenancy/audit.js";
import { simulateServer, type SimulatedCluster, type Where } from "../tenancy/effect.js";
import { SHARED_DATABASE, tenantDatabase, type PostgresServer } from "../tenancy/names.js";
import { tenantsOn } from "../tenancy/render.js";
import type { Finding } from "./report-model.js";

/*
 * Tenancy by effect: each server's rendered entry file is run, in order, through the simulation of
 * what psql and PostgreSQL would leave behind (policies/tenancy/effect.ts), and the result is judged
 * by `audit-db`'s own judge: one definition of "isolated" for the artifacts and for a live server.
 * What must be there comes from the site (its servers and tenants), never from tenants.json: a
 * tenant whose database or registry row the SQL does not create is a finding, as is any statement
 * the simulation does not understand.
 */

/** A server's entry file, under the directory of the site it runs on (`hosts/<site>/postgres/servers/<id>.sql`). */
export const SERVER_ENTRY = (site: Site, server: PostgresServer) => `${postgresDirOf(site, server)}/servers/${server.id}.sql`;

function locate(sim: SimulatedCluster, f: AuditFinding, entry: string): Where {
  const db = f.database ?? "";
  const keys: string[] = [];
  switch (f.kind) {
    case "rls-disabled":
      keys.push(`table:${db}:${f.object}:rls`, `relation:${db}:${f.object}`);
      break;
    case "rls-not-forced":
      keys.push(`table:${db}:${f.object}:forced`, `relation:${db}:${f.object}`);
      break;
    case "rls-without-policy":
      keys.push(`table:${db}:${f.object}:policies`, `table:${db}:${f.object}:rls`, `relation:${db}:${f.object}`);
      break;
    case "policy-admits-any-tenant": {
      const [table, policy] = f.object.split(" policy ");
      keys.push(`policy:${db}:${table}:${policy}`);
      break;
    }
    case "table-granted-to-public":
      keys.push(`grant:${db}:${f.object}`, `relation:${db}:${f.object}`);
      break;
    case "database-connect-public":
    case "database-connect-other-tenant":
      keys.push(`database:${f.object}`);
      break;
    case "app-role-owns-table":
    case "view-without-security-invoker":
    case "materialized-view-over-tenant-table":
      keys.push(`relation:${db}:${f.object}`);
      break;
    default:
      keys.push(`role:${f.object}`);
  }
  for (const k of keys) {
    const w = sim.where.get(k);
    if (w && w.line > 0) return w;
  }
  return { file: entry, line: 1 };
}

function finding(subject: string, message: string, at: Where, id: string): Finding {
  return { id: `tenant-isolation:${id}`, kind: "tenant-isolation", severity: "violation", subject, message: `${message} (${at.file} line ${at.line})`, layer: "postgres", artifact: at.file, line: at.line };
}

/** Tenant-isolation findings from the effect of every server's SQL, judged as audit-db judges a live server. */
export function checkTenancyEffect(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  const out: Finding[] = [];
  for (const server of site.postgres.servers) {
    const entry = SERVER_ENTRY(site, server);
    const placed = tenantsOn(site, server);
    const misplaced = [...files.keys()].filter((p) => p !== entry && new RegExp(`^hosts/[^/]+/postgres/servers/${server.id.replace(/\W/g, "\\$&")}\\.(sql|init\\.sh)$`).test(p) && !p.startsWith(`${entry.slice(0, entry.lastIndexOf("/"))}/`));
    for (const p of misplaced) out.push(finding(`server ${server.id}`, `${p} is a file of server ${server.id}, which runs on the site whose files are under ${entry.slice(0, entry.indexOf("/postgres/"))}/: that host would never run it (expected ${entry})`, { file: p, line: 1 }, `${server.id}/misplaced/${p}`));
    if (!files.has(entry)) {
      if (placed.length > 0 || server === site.postgres.servers[0]) out.push(finding(`server ${server.id}`, `${entry} is not rendered: nothing creates the isolation of ${placed.map((t) => t.id).join(", ") || "the shared database"}`, { file: entry, line: 0 }, `${server.id}/entry`));
      continue;
    }
    const sim = simulateServer(files, entry);
    for (const u of sim.unmodelled) out.push(finding(`server ${server.id}`, `not understood, so not trusted: ${u.what}`, u, `${server.id}/unmodelled/${u.file}:${u.line}:${u.what}`));
    for (const f of judge(sim.cluster, sim.databases).findings) {
      const at = locate(sim, f, entry);
      out.push(finding(`server ${server.id} ${f.database ? `${f.database}/` : "role "}${f.object}`, `${f.kind}: ${f.detail}`, at, `${server.id}/${f.kind}/${f.database ?? ""}/${f.object}`));
    }
    // What the site says must exist on this server.
    const dbs = new Map(sim.databases.map((d) => [d.database, d]));
    const registry = sim.registry.get(SHARED_DATABASE) ?? [];
    for (const t of placed) {
      const db = t.mode === "shared" ? SHARED_DATABASE : tenantDatabase(t.id);
      const facts = dbs.get(db);
      if (!facts) out.push(finding(`tenant ${t.id}`, `tenant ${t.id} (${t.mode}) of the site: database ${db} is not created by ${entry}`, { file: entry, line: 1 }, `${server.id}/${t.id}/database`));
      else if (facts.tables.length === 0) out.push(finding(`tenant ${t.id}`, `tenant ${t.id} (${t.mode}): database ${db} holds no tenant-scoped table (with a tenant_id column): nothing isolates its rows`, { file: entry, line: 1 }, `${server.id}/${t.id}/tables`));
      if (!registry.some((r) => r.id === t.id && r.mode === t.mode && r.database === db)) out.push(finding(`tenant ${t.id}`, `tenant ${t.id} (${t.mode}) of the site is not registered in ${SHARED_DATABASE}'s registry as ${t.mode} in ${db} by ${entry}`, { file: entry, line: 1 }, `${server.id}/${t.id}/registry`));
    }
  }
  return out;
}
