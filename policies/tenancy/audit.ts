import { queryJson, type PsqlClient } from "./psql.js";
import { REGISTRY_TABLE, TENANT_SETTING, qualified } from "./names.js";
import { parseExpression, type PgNode } from "./pg-parser.js";

/*
 * `palisade audit-db`: inspects a live server and reports every object that weakens tenant
 * isolation. It judges properties, never names: a "tenant table" is any table with a `tenant_id`
 * column, an "app role" is any role granted access to a tenant table without owning it (or the
 * roles named with --app-role), a "dedicated database" is any database that holds tenant tables or
 * that a registry lists as dedicated.
 */

export type FindingKind =
  | "rls-disabled"
  | "rls-not-forced"
  | "rls-without-policy"
  | "policy-admits-any-tenant"
  | "app-role-superuser"
  | "app-role-bypassrls"
  | "app-role-owns-table"
  | "view-without-security-invoker"
  | "materialized-view-over-tenant-table"
  | "security-definer-without-search-path"
  | "database-connect-public"
  | "table-granted-to-public"
  | "app-role-crosses-tenants"
  | "database-connect-other-tenant";

export interface Finding {
  readonly kind: FindingKind;
  /** Database the object lives in; absent for cluster-wide objects (roles). */
  readonly database?: string;
  /** The object, e.g. `app.projects`, `app.projects policy open`, `app.report()`, a role or database name. */
  readonly object: string;
  readonly detail: string;
  readonly fix: string;
}

export interface AuditResult {
  readonly findings: readonly Finding[];
  /** Databases inspected. */
  readonly databases: readonly string[];
  /** Roles treated as app roles. */
  readonly appRoles: readonly string[];
  /** Things the audit could not look at (not findings, but the operator should know). */
  readonly notes: readonly string[];
}

export interface AuditOptions {
  /** App roles to check. @default - every role granted access to a tenant table that does not own it */
  readonly appRoles?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Queries

/** Cluster-wide facts: roles and databases. */
export const CLUSTER_QUERY = `
SELECT json_build_object(
  'roles', (SELECT coalesce(json_agg(json_build_object(
      'name', r.rolname, 'superuser', r.rolsuper, 'bypassrls', r.rolbypassrls,
      'memberOf', ARRAY(SELECT m.rolname FROM pg_catalog.pg_roles m WHERE pg_catalog.pg_has_role(r.oid, m.oid, 'MEMBER') ORDER BY m.rolname)
    ) ORDER BY r.rolname), '[]') FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_'),
  'databases', (SELECT coalesce(json_agg(json_build_object(
      'name', d.datname,
      'allowConn', d.datallowconn,
      'publicConnect', (d.datacl IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(d.datacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT')),
      'canConnect', pg_catalog.has_database_privilege(d.datname, 'CONNECT'),
      'connectRoles', CASE WHEN d.datacl IS NULL THEN ARRAY[pg_catalog.pg_get_userbyid(d.datdba)]::text[] ELSE ARRAY(SELECT DISTINCT pg_catalog.pg_get_userbyid(a.grantee) FROM pg_catalog.aclexplode(d.datacl) a WHERE a.grantee <> 0 AND a.privilege_type = 'CONNECT' ORDER BY 1) END
    ) ORDER BY d.datname), '[]') FROM pg_catalog.pg_database d WHERE NOT d.datistemplate)
);
`;

/** Per-database facts: tenant tables, their policies and grantees, views, SECURITY DEFINER functions, owners. */
export const DATABASE_QUERY = `
WITH tenant_tables AS (
  SELECT c.oid, c.relowner, c.relrowsecurity, c.relforcerowsecurity, c.relacl, n.nspname, c.relname
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped)
)
SELECT json_build_object(
  'database', current_database(),
  'hasRegistry', to_regclass('${REGISTRY_TABLE}') IS NOT NULL,
  'tables', (SELECT coalesce(json_agg(json_build_object(
      'name', format('%I.%I', t.nspname, t.relname), 'owner', pg_catalog.pg_get_userbyid(t.relowner),
      'rls', t.relrowsecurity, 'forced', t.relforcerowsecurity,
      'publicGrant', EXISTS (SELECT 1 FROM pg_catalog.aclexplode(t.relacl) a WHERE a.grantee = 0)
    ) ORDER BY t.nspname, t.relname), '[]') FROM tenant_tables t),
  'policies', (SELECT coalesce(json_agg(json_build_object(
      'table', format('%I.%I', t.nspname, t.relname), 'name', p.polname, 'permissive', p.polpermissive,
      'cmd', p.polcmd::text,
      'roles', ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r) END FROM unnest(p.polroles) r ORDER BY 1),
      'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
    ) ORDER BY t.nspname, t.relname, p.polname), '[]')
    FROM pg_catalog.pg_policy p JOIN tenant_tables t ON t.oid = p.polrelid),
  'grantees', (SELECT coalesce(json_agg(DISTINCT pg_catalog.pg_get_userbyid(a.grantee)), '[]')
    FROM tenant_tables t, pg_catalog.aclexplode(t.relacl) a WHERE a.grantee <> 0 AND a.grantee <> t.relowner),
  'views', (
    WITH RECURSIVE deps AS (
      SELECT DISTINCT rw.ev_class AS view_oid, d.refobjid AS ref
      FROM pg_catalog.pg_rewrite rw
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
        AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> rw.ev_class
    ), reach(view_oid, base) AS (
      SELECT deps.view_oid, deps.ref FROM deps WHERE deps.ref IN (SELECT oid FROM tenant_tables)
      UNION
      SELECT deps.view_oid, reach.base FROM deps JOIN reach ON deps.ref = reach.view_oid
    )
    SELECT coalesce(json_agg(json_build_object(
        'name', format('%I.%I', vn.nspname, v.relname), 'kind', v.relkind::text, 'owner', pg_catalog.pg_get_userbyid(v.relowner),
        'securityInvoker', coalesce((SELECT lower(o.option_value) IN ('true', 'on', '1', 'yes', 't', 'y')
                                     FROM pg_catalog.pg_options_to_table(v.reloptions) o WHERE o.option_name = 'security_invoker'), false),
        'bases', (SELECT json_agg(DISTINCT format('%I.%I', bn.nspname, b.relname))
                  FROM reach r2 JOIN pg_catalog.pg_class b ON b.oid = r2.base JOIN pg_catalog.pg_namespace bn ON bn.oid = b.relnamespace
                  WHERE r2.view_oid = v.oid)
      ) ORDER BY vn.nspname, v.relname), '[]')
    FROM pg_catalog.pg_class v JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
    WHERE v.relkind IN ('v', 'm') AND v.oid IN (SELECT view_oid FROM reach)),
  'functions', (SELECT coalesce(json_agg(json_build_object(
      'name', format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
      'owner', pg_catalog.pg_get_userbyid(p.proowner)
    ) ORDER BY n.nspname, p.proname, p.oid), '[]')
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
      AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\\_path=%')
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')),
  'owned', (SELECT coalesce(json_agg(json_build_object(
      'name', format('%I.%I', n.nspname, c.relname), 'kind', c.relkind::text, 'owner', pg_catalog.pg_get_userbyid(c.relowner)
    ) ORDER BY n.nspname, c.relname), '[]')
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
);
`;

/** Databases a registry lists as dedicated. */
export const REGISTRY_QUERY = `SELECT coalesce(json_agg(database ORDER BY database), '[]') FROM ${qualified(REGISTRY_TABLE)} WHERE mode = 'dedicated';\n`;

// ---------------------------------------------------------------------------------------------
// Facts as the queries return them

export interface RoleFacts {
  readonly name: string;
  readonly superuser: boolean;
  readonly bypassrls: boolean;
  /** Roles this role is a member of (can SET ROLE to), itself included. */
  readonly memberOf: readonly string[];
}

export interface DatabaseListing {
  readonly name: string;
  readonly allowConn: boolean;
  readonly publicConnect: boolean;
  readonly canConnect: boolean;
  /** Roles granted CONNECT by name (PUBLIC aside); the owner alone while the ACL is the default. @default - not known (older facts) */
  readonly connectRoles?: readonly string[];
}

export interface ClusterFacts {
  readonly roles: readonly RoleFacts[];
  readonly databases: readonly DatabaseListing[];
}

export interface PolicyFacts {
  readonly table: string;
  readonly name: string;
  readonly permissive: boolean;
  /** `*` all, `r` select, `a` insert, `w` update, `d` delete. */
  readonly cmd: string;
  readonly roles: readonly string[];
  readonly using: string | null;
  readonly check: string | null;
}

export interface DatabaseFacts {
  readonly database: string;
  readonly hasRegistry: boolean;
  readonly tables: readonly { name: string; owner: string; rls: boolean; forced: boolean; publicGrant?: boolean }[];
  readonly policies: readonly PolicyFacts[];
  readonly grantees: readonly string[] | null;
  readonly views: readonly { name: string; kind: string; owner: string; securityInvoker: boolean; bases: readonly string[] }[];
  readonly functions: readonly { name: string; owner: string }[];
  readonly owned: readonly { name: string; kind: string; owner: string }[];
  /** Filled from the registry when the database has one. */
  readonly dedicated?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Judging

/** Strips casts: `x::text` is x for the comparison's meaning. */
function uncast(n: PgNode | undefined): PgNode | undefined {
  let cur = n;
  while (cur?.TypeCast) cur = cur.TypeCast.arg as PgNode;
  return cur;
}

const funcName = (f: PgNode): string => {
  const parts = (f.funcname ?? []).map((x: PgNode) => String(x.String?.sval));
  return parts.length === 2 && parts[0] === "pg_catalog" ? parts[1]! : parts.length === 1 ? parts[0]! : parts.join(".");
};

/** current_setting('app.tenant_id' [, missing_ok]), or NULLIF(<that>, …) (NULL never equals anything). */
function isTenantSetting(n: PgNode | undefined): boolean {
  const nullif = uncast(n)?.A_Expr as PgNode | undefined;
  if (nullif?.kind === "AEXPR_NULLIF") return isTenantSetting(nullif.lexpr);
  const f = uncast(n)?.FuncCall as PgNode | undefined;
  if (!f) return false;
  const name = funcName(f);
  const args = (f.args ?? []) as PgNode[];
  if (name === "nullif") return args.length === 2 && isTenantSetting(args[0]);
  if (name !== "current_setting" || args.length < 1 || args.length > 2) return false;
  return uncast(args[0])?.A_Const?.sval?.sval === TENANT_SETTING;
}

const isTenantColumn = (n: PgNode | undefined): boolean => {
  const fields = (uncast(n)?.ColumnRef?.fields ?? []) as PgNode[];
  return fields.length === 1 && fields[0]?.String?.sval === "tenant_id";
};

/**
 * The one definition of "this expression admits only the transaction's tenant", on PostgreSQL's
 * own parse tree: `tenant_id = current_setting('app.tenant_id' …)` (either way round, casts and
 * NULLIF allowed), or an AND with such a comparison among its terms (AND only narrows). OR, NOT,
 * CASE, COALESCE, functions of the comparison: all not scoped. Both the live audit (on
 * pg_get_expr's text) and the verifier (on the rendered SQL's text) judge through it.
 */
export function isTenantScopedNode(node: PgNode | undefined): boolean {
  const n = uncast(node);
  if (!n) return false;
  if (n.BoolExpr) return n.BoolExpr.boolop === "AND_EXPR" && (n.BoolExpr.args as PgNode[]).some(isTenantScopedNode);
  const e = n.A_Expr as PgNode | undefined;
  if (!e || e.kind !== "AEXPR_OP") return false;
  const op = (e.name ?? []).map((x: PgNode) => String(x.String?.sval));
  if (!(op.length === 1 || (op.length === 2 && op[0] === "pg_catalog")) || op[op.length - 1] !== "=") return false;
  return (isTenantColumn(e.lexpr) && isTenantSetting(e.rexpr)) || (isTenantSetting(e.lexpr) && isTenantColumn(e.rexpr));
}

/** True when a policy expression (SQL text) only admits rows of the transaction's tenant; text that does not parse is not. */
export function isTenantScoped(expression: string | null): boolean {
  if (expression === null) return false;
  try {
    return isTenantScopedNode(parseExpression(expression));
  } catch {
    return false;
  }
}

const CMD_NAMES: Record<string, string> = { "*": "ALL", r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE" };

/**
 * The expressions that decide a policy's reads and writes. WITH CHECK falls back to USING for ALL
 * and UPDATE; an INSERT policy without WITH CHECK contributes nothing (PostgreSQL skips it, so it
 * admits no row).
 */
function policyClauses(p: PolicyFacts): { clause: "USING" | "WITH CHECK"; expr: string | null }[] {
  const out: { clause: "USING" | "WITH CHECK"; expr: string | null }[] = [];
  if (["*", "r", "w", "d"].includes(p.cmd)) out.push({ clause: "USING", expr: p.using });
  if (p.cmd === "a" ? p.check !== null : ["*", "w"].includes(p.cmd)) out.push({ clause: "WITH CHECK", expr: p.check ?? p.using });
  return out;
}

function isGuardedByRestrictive(policies: readonly PolicyFacts[], table: string): boolean {
  return policies.some(
    (p) =>
      p.table === table &&
      !p.permissive &&
      p.cmd === "*" &&
      p.roles.includes("public") &&
      policyClauses(p).every((c) => isTenantScoped(c.expr)),
  );
}

function sortFindings(findings: Finding[]): Finding[] {
  const key = (f: Finding) => `${f.kind}\u0000${f.database ?? ""}\u0000${f.object}`;
  return findings.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Judges the facts. Pure, so the rules are unit-testable without a server. */
export function judge(cluster: ClusterFacts, dbs: readonly DatabaseFacts[], opts: AuditOptions = {}): { findings: Finding[]; appRoles: string[] } {
  const findings: Finding[] = [];

  for (const db of dbs) {
    const database = db.database;
    for (const t of db.tables) {
      if (!t.rls) {
        findings.push({
          kind: "rls-disabled",
          database,
          object: t.name,
          detail: `table has a tenant_id column but row-level security is disabled: every role with SELECT sees every tenant's rows`,
          fix: `ALTER TABLE ${t.name} ENABLE ROW LEVEL SECURITY; ALTER TABLE ${t.name} FORCE ROW LEVEL SECURITY; and add the tenant policy (tenantTableSql)`,
        });
      } else if (!t.forced) {
        findings.push({
          kind: "rls-not-forced",
          database,
          object: t.name,
          detail: `row-level security is enabled but not forced: the owner (${t.owner}) and everything running as it bypass the policies`,
          fix: `ALTER TABLE ${t.name} FORCE ROW LEVEL SECURITY;`,
        });
      }
      // No leak, but no tenant either: with no permissive policy row-level security denies every
      // row, the tenant's own included, and the tenant policy the report lists as a layer is gone.
      if (t.rls && !db.policies.some((p) => p.table === t.name && p.permissive)) {
        findings.push({
          kind: "rls-without-policy",
          database,
          object: t.name,
          detail: `row-level security is on but no permissive policy admits a row: the table is closed to every tenant, its own rows included (the tenant policy is missing)`,
          fix: `add the tenant policy (tenantTableSql): CREATE POLICY tenant_isolation ON ${t.name} USING (tenant_id = NULLIF(current_setting('${TENANT_SETTING}', true), '')) WITH CHECK (same)`,
        });
      }
    }

    for (const p of db.policies) {
      if (!p.permissive || isGuardedByRestrictive(db.policies, p.table)) continue;
      const bad = policyClauses(p).filter((c) => !isTenantScoped(c.expr));
      if (bad.length === 0) continue;
      const what = bad.map((c) => `${c.clause} (${c.expr ?? "true"})`).join(" and ");
      findings.push({
        kind: "policy-admits-any-tenant",
        database,
        object: `${p.table} policy ${p.name}`,
        detail: `permissive ${CMD_NAMES[p.cmd] ?? p.cmd} policy for ${p.roles.join(", ")} admits rows of any tenant: ${what} does not restrict tenant_id to current_setting('${TENANT_SETTING}')`,
        fix: `DROP POLICY ${p.name} ON ${p.table}; policies are permissive and OR together, so one wide policy opens the table: use USING and WITH CHECK (tenant_id = NULLIF(current_setting('${TENANT_SETTING}', true), ''))`,
      });
    }

    for (const v of db.views) {
      const bases = [...v.bases].sort().join(", ");
      if (v.kind === "m") {
        findings.push({
          kind: "materialized-view-over-tenant-table",
          database,
          object: v.name,
          detail: `materialized view copies rows of tenant table(s) ${bases} with no row-level security of its own`,
          fix: `DROP MATERIALIZED VIEW ${v.name}; or make it per-tenant and revoke it from the app roles`,
        });
      } else if (!v.securityInvoker) {
        findings.push({
          kind: "view-without-security-invoker",
          database,
          object: v.name,
          detail: `view over tenant table(s) ${bases} runs with its owner's (${v.owner}) rights instead of the caller's: the caller's row-level security is not what applies`,
          fix: `ALTER VIEW ${v.name} SET (security_invoker = true);`,
        });
      }
    }

    for (const f of db.functions) {
      findings.push({
        kind: "security-definer-without-search-path",
        database,
        object: f.name,
        detail: `SECURITY DEFINER function (owner ${f.owner}) without a pinned search_path: a caller can shadow the objects it uses and run code as its owner`,
        fix: `ALTER FUNCTION ${f.name} SET search_path = pg_catalog, pg_temp; and schema-qualify what it uses`,
      });
    }
  }

  // Dedicated databases: hold tenant tables, or listed as dedicated by a registry.
  const dedicated = new Set<string>();
  for (const db of dbs) {
    if (db.tables.length > 0) dedicated.add(db.database);
    for (const d of db.dedicated ?? []) dedicated.add(d);
  }
  for (const d of cluster.databases) {
    if (dedicated.has(d.name) && d.publicConnect) {
      findings.push({
        kind: "database-connect-public",
        object: d.name,
        database: d.name,
        detail: `database holds tenant data and CONNECT is granted to PUBLIC: every role of the cluster can connect to it`,
        fix: `REVOKE CONNECT, TEMPORARY ON DATABASE ${d.name} FROM PUBLIC; GRANT CONNECT to the tenant's own roles only`,
      });
    }
  }

  for (const db of dbs) {
    for (const t of db.tables) {
      if (!t.publicGrant) continue;
      findings.push({
        kind: "table-granted-to-public",
        database: db.database,
        object: t.name,
        detail: `tenant table grants privileges to PUBLIC: every role of the cluster gets them, and only the policies stand between it and every tenant's rows`,
        fix: `REVOKE ALL ON ${t.name} FROM PUBLIC; and grant the tenant's app role only`,
      });
    }
  }

  // App roles.
  const roles = new Map(cluster.roles.map((r) => [r.name, r]));
  const appRoles = opts.appRoles && opts.appRoles.length > 0 ? [...opts.appRoles] : [...new Set(dbs.flatMap((d) => d.grantees ?? []))];
  appRoles.sort();
  for (const name of appRoles) {
    const role = roles.get(name);
    if (!role) continue;
    const reach = role.memberOf.length > 0 ? role.memberOf : [name];
    const supers = reach.filter((m) => roles.get(m)?.superuser);
    if (supers.length > 0) {
      findings.push({
        kind: "app-role-superuser",
        object: name,
        detail: supers.includes(name) ? `app role is a superuser: it bypasses row-level security and every privilege` : `app role can SET ROLE to superuser ${supers.join(", ")}`,
        fix: `ALTER ROLE ${name} NOSUPERUSER; and revoke memberships in superuser roles`,
      });
      // A superuser is a member of every role and bypasses everything: the other checks add nothing.
      continue;
    }
    const bypass = reach.filter((m) => roles.get(m)?.bypassrls);
    if (bypass.length > 0) {
      findings.push({
        kind: "app-role-bypassrls",
        object: name,
        detail: bypass.includes(name) ? `app role has BYPASSRLS: row-level security does not apply to it` : `app role can SET ROLE to ${bypass.join(", ")}, which has BYPASSRLS`,
        fix: `ALTER ROLE ${name} NOBYPASSRLS;`,
      });
    }
    const reachSet = new Set(reach);
    for (const db of dbs) {
      for (const o of db.owned) {
        if (!reachSet.has(o.owner)) continue;
        findings.push({
          kind: "app-role-owns-table",
          database: db.database,
          object: o.name,
          detail: `owned by ${o.owner}, which app role ${name} ${o.owner === name ? "is" : "can SET ROLE to"}: an owner can disable row-level security, drop policies and grant access`,
          fix: `ALTER TABLE ${o.name} OWNER TO <the schema owner role>; the app role must own nothing`,
        });
      }
    }
  }
  // Across tenants: the databases each role holds tenant-table grants in.
  const grantDbs = new Map<string, Set<string>>();
  for (const db of dbs) for (const g of db.grantees ?? []) grantDbs.set(g, (grantDbs.get(g) ?? new Set()).add(db.database));
  const reachOf = (name: string) => {
    const r = roles.get(name);
    return r && r.memberOf.length > 0 ? r.memberOf : [name];
  };
  for (const name of appRoles) {
    const role = roles.get(name);
    if (!role || reachOf(name).some((m) => roles.get(m)?.superuser)) continue;
    const reached = [...new Set(reachOf(name).flatMap((m) => [...(grantDbs.get(m) ?? [])]))].sort();
    if (reached.length > 1) {
      findings.push({
        kind: "app-role-crosses-tenants",
        object: name,
        detail: `app role ${name} can SET ROLE to roles holding tenant tables in ${reached.join(" and ")}: one tenant's login reaches another tenant's database`,
        fix: `REVOKE the membership that joins them (GRANT <role> TO <role>); each login is a member of its own tenant's app role only`,
      });
    }
    const own = new Set(grantDbs.get(name) ?? []);
    for (const d of cluster.databases) {
      if (!dedicated.has(d.name) || own.has(d.name) || d.connectRoles === undefined || own.size === 0) continue;
      const via = reachOf(name).filter((m) => d.connectRoles!.includes(m));
      if (via.length === 0) continue;
      findings.push({
        kind: "database-connect-other-tenant",
        object: d.name,
        database: d.name,
        detail: `app role ${name} (tenant tables in ${[...own].sort().join(", ")}) may CONNECT to ${d.name}${via.includes(name) ? "" : ` through ${via.join(", ")}`}: another tenant's database`,
        fix: `REVOKE CONNECT ON DATABASE ${d.name} FROM ${via.join(", ")};`,
      });
    }
  }
  return { findings: sortFindings(findings), appRoles };
}

/** Audits every database of the server the client points at that the client may connect to. */
export async function auditDatabase(client: PsqlClient, opts: AuditOptions = {}): Promise<AuditResult> {
  const cluster = await queryJson<ClusterFacts>(client, CLUSTER_QUERY);
  const notes: string[] = [];
  const known = new Set(cluster.roles.map((r) => r.name));
  for (const r of opts.appRoles ?? []) {
    if (!known.has(r)) throw new AuditInputError(`--app-role ${r}: no such role on this server (roles: ${[...known].sort().join(", ")})`);
  }
  const targets = cluster.databases.filter((d) => {
    if (d.allowConn && d.canConnect) return true;
    notes.push(`database ${d.name} not inspected: ${d.allowConn ? "the auditing role may not connect to it" : "it does not allow connections"}`);
    return false;
  });
  const facts = await Promise.all(
    targets.map(async (d) => {
      const f = await queryJson<DatabaseFacts>(client, DATABASE_QUERY, { database: d.name });
      if (!f.hasRegistry) return f;
      return { ...f, dedicated: await queryJson<string[]>(client, REGISTRY_QUERY, { database: d.name }) };
    }),
  );
  const { findings, appRoles } = judge(cluster, facts, opts);
  return { findings, databases: facts.map((f) => f.database), appRoles, notes };
}

export class AuditInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditInputError";
  }
}

/** One finding per line block, for the terminal. */
export function formatFindings(result: AuditResult): string {
  const lines: string[] = [];
  for (const f of result.findings) {
    lines.push(`${f.kind}: ${f.database ? `${f.database}/` : "role "}${f.object}`, `  ${f.detail}`, `  fix: ${f.fix}`);
  }
  for (const n of result.notes) lines.push(`note: ${n}`);
  lines.push(
    result.findings.length === 0
      ? `audit-db: no findings (${result.databases.length} database(s): ${result.databases.join(", ")}; app roles: ${result.appRoles.join(", ") || "none"})`
      : `audit-db: ${result.findings.length} finding(s) in ${result.databases.length} database(s)`,
  );
  return lines.join("\n");
}
