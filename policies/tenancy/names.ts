import type { Site, Tenant } from "../../core/index.js";

/*
 * Names, quoting and placement: the one place that decides what a tenant's database, roles and
 * OpenBao paths are called. Everything else derives from these functions, so the SQL, the
 * OpenBao roles, the provisioning command and the report can never disagree.
 */

/** Tenant ids as the site schema allows them: lower-case letters, digits and dashes, starting with a letter. */
export const TENANT_ID = /^[a-z][a-z0-9-]{0,30}$/;

/** Cluster-wide roles that every server gets from the bootstrap. */
export const PLATFORM_ROLES = {
  /** Owns the shared database, the `palisade` registry and the `app` schema; migrations `SET ROLE` to it. NOLOGIN. */
  owner: "palisade_owner",
  /** What the application's short-lived logins are members of: DML on tenant tables, owns nothing. NOLOGIN. */
  app: "palisade_app",
  /** Creates and removes tenants: CREATEDB CREATEROLE, never superuser. */
  provisioner: "palisade_provisioner",
  /** The login OpenBao's database secrets engine connects as to create and revoke per-tenant logins. */
  vault: "palisade_vault",
} as const;

/** The shared database (on the first server) and the registry database on every server. */
export const SHARED_DATABASE = "palisade";
/** Schema of the tenant registry, owned by the owner role. */
export const REGISTRY_SCHEMA = "palisade";
/** The registry table: one row per tenant placed on this server. */
export const REGISTRY_TABLE = `${REGISTRY_SCHEMA}.tenants`;
/** Schema of tenant-scoped application tables (shared database and every dedicated database). */
export const APP_SCHEMA = "app";
/** The transaction-local setting the policies read. */
export const TENANT_SETTING = "app.tenant_id";

export class TenantInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TenantInputError";
  }
}

export function assertTenantId(id: string): string {
  if (!TENANT_ID.test(id)) {
    throw new TenantInputError(
      `tenant id ${JSON.stringify(id)} is not valid: expected lower-case letters, digits and dashes, starting with a letter, at most 31 characters (e.g. "acme")`,
    );
  }
  return id;
}

/** `acme-eu` -> `acme_eu`. Injective because tenant ids never contain `_`. */
function snake(id: string): string {
  return assertTenantId(id).replaceAll("-", "_");
}

/** A dedicated tenant's database. */
export function tenantDatabase(id: string): string {
  return `tenant_${snake(id)}`;
}

/** A dedicated tenant's own roles (shared tenants use the platform roles). */
export function tenantRoles(id: string): { owner: string; app: string } {
  return { owner: `tenant_${snake(id)}_owner`, app: `tenant_${snake(id)}_app` };
}

/** The OpenBao name shared by a tenant's database connection and role: `tenant-<id>`. */
export function openbaoTenantName(id: string): string {
  return `tenant-${assertTenantId(id)}`;
}

/** The database the tenant's rows live in. */
export function databaseOf(tenant: Tenant): string {
  return tenant.mode === "shared" ? SHARED_DATABASE : tenantDatabase(tenant.id);
}

/** The group role a tenant's short-lived OpenBao logins are members of. */
export function appRoleOf(tenant: Tenant): string {
  return tenant.mode === "shared" ? PLATFORM_ROLES.app : tenantRoles(tenant.id).app;
}

/** The role that owns a tenant's tables. */
export function ownerRoleOf(tenant: Tenant): string {
  return tenant.mode === "shared" ? PLATFORM_ROLES.owner : tenantRoles(tenant.id).owner;
}

export type PostgresServer = Site["postgres"]["servers"][number];

/**
 * The server a tenant lives on: shared tenants on the first (shared) server, dedicated tenants on
 * the server of their region. There is no fallback: a region without a server is an error.
 */
export function serverFor(site: Site, tenant: Tenant): PostgresServer {
  const servers = site.postgres.servers;
  if (tenant.mode === "shared") {
    const first = servers[0];
    if (!first) throw new TenantInputError("postgres.servers is empty: the first server is the shared one");
    return first;
  }
  const server = servers.find((s) => s.region === tenant.region);
  if (!server) {
    throw new TenantInputError(
      `tenant ${tenant.id} is dedicated in region ${JSON.stringify(tenant.region)} but no PostgreSQL server serves that region (servers: ${servers.map((s) => `${s.id}@${s.region}`).join(", ")}); add one under postgres.servers`,
    );
  }
  return server;
}

/** Host name under which OpenBao reaches a server on the network it shares with the server. The shared server is the `postgres` container. */
export function postgresHost(site: Site, server: PostgresServer): string {
  return site.postgres.servers[0]?.id === server.id ? "postgres" : server.id;
}

// ---------------------------------------------------------------------------------------------
// Quoting. Inputs are validated before they get here; quoting is the second line of defence.

const SIMPLE_IDENT = /^[a-z_][a-z0-9_]*$/;
/** Words PostgreSQL reserves that the names above could plausibly collide with. */
const RESERVED = new Set(["user", "table", "select", "order", "group", "all", "grant", "public", "default", "check", "primary", "references"]);

/** A quoted SQL identifier; plain when it is a simple lower-case name. */
export function ident(name: string): string {
  if (SIMPLE_IDENT.test(name) && !RESERVED.has(name)) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

/** A qualified name `schema.table`, each part quoted as needed. */
export function qualified(name: string): string {
  const parts = name.split(".");
  if (parts.length !== 2 || parts.some((p) => p === "")) {
    throw new TenantInputError(`expected a schema-qualified table name such as app.projects, given ${JSON.stringify(name)}`);
  }
  return parts.map(ident).join(".");
}

/** A SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1). */
export function literal(value: string): string {
  if (value.includes("\0")) throw new TenantInputError("a NUL byte cannot be part of a SQL string");
  return `'${value.replaceAll("'", "''")}'`;
}
