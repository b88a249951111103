import type { Tenant } from "../../core/index.js";
import {
  APP_SCHEMA,
  PLATFORM_ROLES,
  REGISTRY_TABLE,
  SHARED_DATABASE,
  TENANT_SETTING,
  TenantInputError,
  assertTenantId,
  databaseOf,
  ident,
  literal,
  qualified,
  tenantDatabase,
  tenantRoles,
} from "./names.js";

/*
 * Pure SQL renderers. Nothing here talks to a database; the same strings are shipped as artifacts
 * (hosts/<site>/postgres/..., under the site of each server; hosts/cloud/postgres/... on one site), run by `palisade tenant`, and applied by the tests to a real PostgreSQL 15.
 *
 * How the application uses the shared database (documented again in docs/tenancy.md):
 *
 *   Every transaction that touches tenant rows starts by naming its tenant, transaction-locally:
 *
 *     BEGIN;
 *     SELECT set_config('app.tenant_id', $1, true);   -- or: SET LOCAL app.tenant_id = 'acme';
 *     ... queries ...
 *     COMMIT;
 *
 *   `true` / SET LOCAL makes the setting end with the transaction, so a pooled connection never
 *   carries one tenant's id into the next transaction. Without a tenant id a query sees no rows
 *   and can write none: the policies compare with NULLIF(current_setting('app.tenant_id', true), ''),
 *   which is NULL both when the setting was never set and after it was reset (it then reads '').
 *   Never use plain SET (session-wide) on a pooled connection.
 */

/** The predicate every tenant policy uses, for reads (USING) and writes (WITH CHECK). */
export const TENANT_PREDICATE = `tenant_id = NULLIF(current_setting(${literal(TENANT_SETTING)}, true), '')`;
/** The name of the isolation policy on every tenant table. */
export const TENANT_POLICY = "tenant_isolation";

/** Attributes that are enforced on every bootstrap run (never the password). */
export const ROLE_ATTRIBUTES: Record<keyof typeof PLATFORM_ROLES, string> = {
  owner: "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
  app: "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
  provisioner: "LOGIN NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
  vault: "LOGIN NOSUPERUSER NOCREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
};

/** A dedicated tenant's own roles: neither logs in; OpenBao's logins join the app role. */
export const TENANT_ROLE_ATTRIBUTES = "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT";

/** The tables of the example tenant-scoped schema. */
export const EXAMPLE_TENANT_TABLES = [`${APP_SCHEMA}.projects`, `${APP_SCHEMA}.invoices`] as const;

export interface TenantTableOptions {
  /** Role granted SELECT, INSERT, UPDATE, DELETE. @default palisade_app */
  readonly appRole?: string;
}

/**
 * Row-level security for one tenant-scoped table (it must have a `tenant_id` column): RLS enabled
 * and FORCED (so the owner is subject to it too), one policy that filters reads and checks writes
 * against the transaction's tenant, and DML for the app role. Idempotent; run it as the table owner.
 */
export function tenantTableSql(table: string, options: TenantTableOptions = {}): string {
  const t = qualified(table);
  const app = ident(options.appRole ?? PLATFORM_ROLES.app);
  return [
    `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;`,
    `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY;`,
    `DROP POLICY IF EXISTS ${TENANT_POLICY} ON ${t};`,
    `CREATE POLICY ${TENANT_POLICY} ON ${t} AS PERMISSIVE FOR ALL TO PUBLIC`,
    `  USING (${TENANT_PREDICATE})`,
    `  WITH CHECK (${TENANT_PREDICATE});`,
    `REVOKE ALL ON ${t} FROM PUBLIC;`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${app};`,
  ].join("\n");
}

/** How tenant_id values are constrained in a database. */
export type TenantKey =
  /** Shared database: every tenant_id references the registry. */
  | { readonly kind: "registry" }
  /** Dedicated database: only this tenant's id is accepted at all. */
  | { readonly kind: "fixed"; readonly tenantId: string };

/**
 * The example tenant-scoped schema (`app.projects`, `app.invoices`). Composite keys include
 * tenant_id so that a foreign key can never point at another tenant's row (foreign-key checks
 * bypass RLS, so a single-column key would let a tenant probe for other tenants' ids).
 * Run as the owner (the caller sets the role); idempotent.
 */
export function exampleSchemaSql(opts: { readonly appRole: string; readonly key: TenantKey }): string {
  const tenantColumn =
    opts.key.kind === "registry"
      ? `tenant_id text NOT NULL DEFAULT NULLIF(current_setting(${literal(TENANT_SETTING)}, true), '') REFERENCES ${qualified(REGISTRY_TABLE)} (id)`
      : `tenant_id text NOT NULL DEFAULT NULLIF(current_setting(${literal(TENANT_SETTING)}, true), '') CHECK (tenant_id = ${literal(assertTenantId(opts.key.tenantId))})`;
  const app = ident(opts.appRole);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${ident(APP_SCHEMA)};`,
    `REVOKE ALL ON SCHEMA ${ident(APP_SCHEMA)} FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA ${ident(APP_SCHEMA)} TO ${app};`,
    `CREATE TABLE IF NOT EXISTS ${qualified(`${APP_SCHEMA}.projects`)} (`,
    `  ${tenantColumn},`,
    `  id uuid NOT NULL DEFAULT gen_random_uuid(),`,
    `  name text NOT NULL,`,
    `  PRIMARY KEY (tenant_id, id)`,
    `);`,
    `CREATE TABLE IF NOT EXISTS ${qualified(`${APP_SCHEMA}.invoices`)} (`,
    `  ${tenantColumn},`,
    `  id uuid NOT NULL DEFAULT gen_random_uuid(),`,
    `  project_id uuid NOT NULL,`,
    `  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),`,
    `  PRIMARY KEY (tenant_id, id),`,
    `  FOREIGN KEY (tenant_id, project_id) REFERENCES ${qualified(`${APP_SCHEMA}.projects`)} (tenant_id, id)`,
    `);`,
    ...EXAMPLE_TENANT_TABLES.map((t) => tenantTableSql(t, { appRole: opts.appRole })),
  ].join("\n");
}

/** Creates a role if it does not exist (PostgreSQL has no CREATE ROLE IF NOT EXISTS). */
function createRoleIfMissing(name: string, createAttributes: string): string {
  return [
    `DO $role$ BEGIN`,
    `  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(name)}) THEN`,
    `    CREATE ROLE ${ident(name)} ${createAttributes};`,
    `  END IF;`,
    `END $role$;`,
  ].join("\n");
}

/**
 * The cluster-wide platform roles. Login roles are created with PASSWORD NULL: their credentials
 * are set out of band (OpenBao's connection password, the provisioner's from
 * /etc/palisade/secrets/), and a re-run never resets them because ALTER ROLE below names no password.
 */
export function platformRolesSql(): string {
  const out: string[] = [];
  for (const key of Object.keys(PLATFORM_ROLES) as (keyof typeof PLATFORM_ROLES)[]) {
    const name = PLATFORM_ROLES[key];
    const attrs = ROLE_ATTRIBUTES[key];
    out.push(createRoleIfMissing(name, attrs.startsWith("LOGIN") ? `${attrs} PASSWORD NULL` : attrs));
    out.push(`ALTER ROLE ${ident(name)} ${attrs};`);
  }
  // Revoking a session when OpenBao revokes a lease: VALID UNTIL only stops new logins.
  out.push(`GRANT pg_signal_backend TO ${ident(PLATFORM_ROLES.vault)};`);
  return out.join("\n");
}

/** Registry row for a tenant; `idempotent` for artifacts (re-applied), strict for the provisioner. */
export function registryInsertSql(tenant: Tenant, opts: { readonly idempotent: boolean }): string {
  const region = tenant.mode === "dedicated" ? literal(tenant.region) : "NULL";
  const insert =
    `INSERT INTO ${qualified(REGISTRY_TABLE)} (id, name, mode, region, database) VALUES ` +
    `(${literal(assertTenantId(tenant.id))}, ${literal(tenant.name)}, ${literal(tenant.mode)}, ${region}, ${literal(databaseOf(tenant))})`;
  if (!opts.idempotent) return `${insert};`;
  return [
    `DO $registry$ BEGIN`,
    `  IF EXISTS (SELECT FROM ${qualified(REGISTRY_TABLE)} WHERE id = ${literal(tenant.id)} AND mode <> ${literal(tenant.mode)}) THEN`,
    `    RAISE EXCEPTION 'tenant % is registered with another mode; moving a tenant between shared and dedicated is a migration, not a re-apply', ${literal(tenant.id)};`,
    `  END IF;`,
    `END $registry$;`,
    `${insert} ON CONFLICT (id) DO NOTHING;`,
  ].join("\n");
}

/**
 * The bootstrap every server applies as the cluster superuser (idempotent):
 * roles, the `palisade` database (CONNECT revoked from PUBLIC), the tenant registry, and the shared
 * tenants' example schema under FORCE RLS.
 */
export function bootstrapSql(): string {
  const { owner, app, provisioner, vault } = PLATFORM_ROLES;
  const db = ident(SHARED_DATABASE);
  const reg = qualified(REGISTRY_TABLE);
  return [
    `-- Palisade tenancy bootstrap (rendered; do not edit). Apply as the cluster superuser with`,
    `--   psql -X -v ON_ERROR_STOP=1 -d postgres -f bootstrap.sql`,
    `-- Idempotent: every statement can be re-applied. No passwords: login roles get PASSWORD NULL`,
    `-- at creation; their credentials come from OpenBao or /etc/palisade/secrets/, never from here.`,
    `\\set ON_ERROR_STOP on`,
    ``,
    `-- 1. Cluster-wide roles.`,
    platformRolesSql(),
    ``,
    `-- 2. The shared database (also the registry database on every server).`,
    `SELECT 'CREATE DATABASE ${SHARED_DATABASE} OWNER ${owner}' WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = ${literal(SHARED_DATABASE)})\\gexec`,
    `ALTER DATABASE ${db} OWNER TO ${ident(owner)};`,
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`,
    `GRANT CONNECT ON DATABASE ${db} TO ${ident(app)}, ${ident(provisioner)}, ${ident(vault)};`,
    ``,
    `\\connect ${SHARED_DATABASE}`,
    `BEGIN;`,
    `SET LOCAL ROLE ${ident(owner)};`,
    `REVOKE ALL ON SCHEMA public FROM PUBLIC;`,
    ``,
    `-- 3. The tenant registry: which tenants this server holds.`,
    `CREATE SCHEMA IF NOT EXISTS palisade;`,
    `REVOKE ALL ON SCHEMA palisade FROM PUBLIC;`,
    `CREATE TABLE IF NOT EXISTS ${reg} (`,
    `  id text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{0,30}$'),`,
    `  name text NOT NULL CHECK (name <> ''),`,
    `  mode text NOT NULL CHECK (mode IN ('shared', 'dedicated')),`,
    `  region text,`,
    `  database text NOT NULL,`,
    `  CHECK ((mode = 'dedicated') = (region IS NOT NULL))`,
    `);`,
    `REVOKE ALL ON ${reg} FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA palisade TO ${ident(provisioner)}, ${ident(app)};`,
    `GRANT SELECT, INSERT, DELETE ON ${reg} TO ${ident(provisioner)};`,
    `GRANT SELECT ON ${reg} TO ${ident(app)};`,
    ``,
    `-- 4. Shared tenants: example tenant-scoped schema, FORCE ROW LEVEL SECURITY on every table.`,
    exampleSchemaSql({ appRole: app, key: { kind: "registry" } }),
    `COMMIT;`,
    ``,
  ].join("\n");
}

/** Roles of a dedicated tenant, cluster-wide. `idempotent` for artifacts, strict for the provisioner. */
export function dedicatedRolesSql(tenantId: string, opts: { readonly idempotent: boolean }): string {
  const roles = tenantRoles(tenantId);
  const out: string[] = [];
  for (const role of [roles.owner, roles.app]) {
    if (opts.idempotent) {
      out.push(createRoleIfMissing(role, TENANT_ROLE_ATTRIBUTES));
      out.push(`ALTER ROLE ${ident(role)} ${TENANT_ROLE_ATTRIBUTES};`);
    } else {
      out.push(`CREATE ROLE ${ident(role)} ${TENANT_ROLE_ATTRIBUTES};`);
    }
  }
  return out.join("\n");
}

/** Ownership and CONNECT of a dedicated tenant's database: only its own roles may connect. */
export function dedicatedDatabaseGrantsSql(tenantId: string): string {
  const db = ident(tenantDatabase(tenantId));
  const roles = tenantRoles(tenantId);
  return [
    `ALTER DATABASE ${db} OWNER TO ${ident(roles.owner)};`,
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`,
    `GRANT CONNECT ON DATABASE ${db} TO ${ident(roles.app)};`,
  ].join("\n");
}

/** Schema inside a dedicated tenant's database, run while connected to it, in one transaction. */
export function dedicatedSchemaSql(tenantId: string): string {
  const roles = tenantRoles(tenantId);
  return [
    `BEGIN;`,
    `SET LOCAL ROLE ${ident(roles.owner)};`,
    `REVOKE ALL ON SCHEMA public FROM PUBLIC;`,
    exampleSchemaSql({ appRole: roles.app, key: { kind: "fixed", tenantId } }),
    `COMMIT;`,
  ].join("\n");
}

/** The artifact for one tenant, applied as the superuser after bootstrap.sql (idempotent). */
export function tenantSql(tenant: Tenant, serverLabel: string): string {
  assertTenantId(tenant.id);
  const head = [
    `-- Tenant ${tenant.id} (${tenant.name.replace(/[\r\n]+/g, " ")}): ${tenant.mode}, database ${databaseOf(tenant)} on server ${serverLabel}.`,
    `-- Rendered; do not edit. Apply as the cluster superuser after bootstrap.sql. Idempotent. No passwords.`,
    `\\set ON_ERROR_STOP on`,
    `\\connect ${SHARED_DATABASE}`,
  ];
  if (tenant.mode === "shared") {
    return [...head, `BEGIN;`, registryInsertSql(tenant, { idempotent: true }), `COMMIT;`, ``].join("\n");
  }
  const db = tenantDatabase(tenant.id);
  return [
    ...head,
    `SELECT 'CREATE DATABASE ${db}' WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = ${literal(db)})\\gexec`,
    `BEGIN;`,
    dedicatedRolesSql(tenant.id, { idempotent: true }),
    dedicatedDatabaseGrantsSql(tenant.id),
    registryInsertSql(tenant, { idempotent: true }),
    `COMMIT;`,
    `\\connect ${db}`,
    dedicatedSchemaSql(tenant.id),
    ``,
  ].join("\n");
}

