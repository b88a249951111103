import { parseSite, postgresDirOf, type Site } from "../../core/index.js";
import { appRoleOf, databaseOf, serverFor } from "../../policies/tenancy/names.js";

/*
 * Edits of the rendered tenancy SQL that weaken isolation, by effect: each appends or changes what
 * a file leaves behind when psql runs it. Tenants are picked from the planned site (the first
 * shared and the first dedicated one), never by the reference's names. Used by the verifier's
 * mutation test and by the differential test against a real PostgreSQL 15.
 */

export interface SqlMutation {
  readonly name: string;
  /** The file edited and the new text, or null when the site lacks what the mutation needs. */
  readonly edit: (site: Site) => { file: string; append: string } | null;
  /** What the finding must say. */
  readonly expected: RegExp;
}

/** The bootstrap of the shared tenants' server (the first one), under its site's directory. */
const boot = (s: Site) => `${postgresDirOf(s, s.postgres.servers[0]!)}/bootstrap.sql`;
/** A tenant's file, under the directory of its server's site. */
const tenantFile = (s: Site, id: string) => `${postgresDirOf(s, serverFor(s, s.tenants.find((t) => t.id === id)!))}/tenants/${id}.sql`;
const dedicated = (s: Site) => s.tenants.find((t) => t.mode === "dedicated");
const shared = (s: Site) => s.tenants.find((t) => t.mode === "shared");
/** Something to append at the end of a dedicated tenant's file (connected to its database). */
const inDedicated = (sql: string | ((s: Site) => string)) => (s: Site) => {
  const t = dedicated(s);
  return t ? { file: tenantFile(s, t.id), append: typeof sql === "string" ? sql : sql(s) } : null;
};

export const SQL_MUTATIONS: readonly SqlMutation[] = [
  { name: "a later NO FORCE ROW LEVEL SECURITY on a shared tenant table", edit: (s) => ({ file: boot(s), append: "\\connect palisade\nALTER TABLE app.projects NO FORCE ROW LEVEL SECURITY;\n" }), expected: /rls-not-forced.*bootstrap\.sql line \d+/ },
  { name: "a later DISABLE ROW LEVEL SECURITY, quoted and upper-cased identifiers", edit: (s) => ({ file: boot(s), append: '\\connect palisade\nALTER TABLE "app"."invoices" DISABLE ROW LEVEL SECURITY;\n' }), expected: /app\.invoices rls-disabled/ },
  { name: "a later DROP POLICY of a shared tenant table's policy (closed to every tenant)", edit: (s) => ({ file: boot(s), append: "\\connect palisade\nDROP POLICY tenant_isolation ON app.invoices;\n" }), expected: /app\.invoices rls-without-policy.*bootstrap\.sql line \d+/ },
  { name: "a permissive USING (true) policy beside the tenant policy", edit: (s) => ({ file: boot(s), append: "\\connect palisade\nCREATE POLICY open ON app.invoices FOR SELECT USING (true);\n" }), expected: /policy open policy-admits-any-tenant/ },
  { name: "a tenant policy rewritten with OR", edit: (s) => ({ file: boot(s), append: "\\connect palisade\nALTER POLICY tenant_isolation ON app.projects USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '') OR true);\n" }), expected: /policy tenant_isolation policy-admits-any-tenant/ },
  { name: "BYPASSRLS for a tenant's app role", edit: inDedicated((s) => `ALTER ROLE ${appRoleOf(dedicated(s)!)} BYPASSRLS;\n`), expected: /app-role-bypassrls/ },
  { name: "a membership that crosses tenants (GRANT role TO role)", edit: (s) => (dedicated(s) && shared(s) ? { file: tenantFile(s, dedicated(s)!.id), append: `GRANT ${appRoleOf(dedicated(s)!)} TO ${appRoleOf(shared(s)!)};\n` } : null), expected: /app-role-crosses-tenants/ },
  { name: "a membership that crosses tenants through a chain", edit: (s) => (dedicated(s) && shared(s) ? { file: tenantFile(s, dedicated(s)!.id), append: `CREATE ROLE hop NOLOGIN;\nGRANT ${appRoleOf(shared(s)!)} TO hop;\nGRANT hop TO ${appRoleOf(dedicated(s)!)};\n` } : null), expected: /app-role-crosses-tenants/ },
  { name: "CONNECT on a dedicated database to another tenant's role, quoted", edit: (s) => (dedicated(s) && shared(s) ? { file: tenantFile(s, dedicated(s)!.id), append: `GRANT CONNECT ON DATABASE "${databaseOf(dedicated(s)!)}" TO "${appRoleOf(shared(s)!)}";\n` } : null), expected: /database-connect-other-tenant/ },
  { name: "CONNECT on a dedicated database back to PUBLIC", edit: inDedicated((s) => `GRANT CONNECT ON DATABASE ${databaseOf(dedicated(s)!)} TO PUBLIC;\n`), expected: /database-connect-public/ },
  { name: "a tenant table granted to PUBLIC", edit: inDedicated("GRANT SELECT ON app.projects TO PUBLIC;\n"), expected: /table-granted-to-public/ },
  { name: "a DO block that runs dynamic SQL (not understood: fails)", edit: inDedicated("DO $x$ BEGIN EXECUTE 'ALTER TABLE app.projects DISABLE ROW LEVEL SECURITY'; END $x$;\n"), expected: /not understood.*DO block/ },
  { name: "a view over a tenant table without security_invoker", edit: inDedicated("CREATE VIEW app.all_projects AS SELECT * FROM app.projects;\n"), expected: /view-without-security-invoker/ },
];

export function siteOf(text: string): Site {
  return parseSite(text);
}
