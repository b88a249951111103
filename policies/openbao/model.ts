import { deriveNetworks, networksOf, type OpenbaoIdentity, type Site } from "../../core/index.js";
import { PLATFORM_ROLES, SHARED_DATABASE, appRoleOf, openbaoTenantName, postgresHost, serverFor } from "../tenancy/names.js";
import type { Capability, PolicyRule } from "./hcl.js";

/*
 * What OpenBao is told, as data: mounts, one policy and one AppRole per service, one database
 * connection and one role per tenant. The host files (render.ts) and the engine-neutral secrets
 * stack (stack.ts) are two views of this one model, so they cannot drift apart.
 */

/** Mount paths. */
export const MOUNTS = { database: "database", kv: "kv", approle: "approle" } as const;

/** Container paths of the TLS certificate and key (the key is never an artifact: mount /etc/palisade/secrets/openbao there). */
export const OPENBAO_TLS = { cert: "/openbao/tls/tls.crt", key: "/openbao/tls/tls.key", dir: "/openbao/tls" } as const;
/** Container paths the config names (mounts declared by cluster/). */
export const OPENBAO_PATHS = { config: "/openbao/config", data: "/openbao/data", audit: "/openbao/audit" } as const;

/** Per-tenant database credentials: 1 h by default, never more than 24 h. */
export const DB_CREDENTIAL_TTL = { defaultSeconds: 3600, maxSeconds: 86400 } as const;

/** An identity that authenticates to OpenBao (`openbao.identities[].name` of the site file). */
export type ServiceName = string;

export interface ServicePolicy {
  readonly name: ServiceName;
  readonly description: string;
  readonly rules: readonly PolicyRule[];
}

export interface AppRoleRole {
  readonly name: ServiceName;
  readonly tokenPolicies: readonly string[];
  readonly tokenTtlSeconds: number;
  readonly tokenMaxTtlSeconds: number;
  readonly secretIdTtlSeconds: number;
  /** 0 = unlimited uses within the TTL. */
  readonly secretIdNumUses: number;
  readonly boundCidrs: readonly string[];
}

/** A reference to a sensitive variable that the engine supplies; never a value. */
export interface VarRef {
  readonly $var: string;
}

export interface DatabaseConnection {
  /** `tenant-<id>`. */
  readonly name: string;
  readonly server: string;
  /** Template OpenBao fills with the connection's own username/password: no secret in it. */
  readonly connectionUrl: string;
  readonly username: string;
  readonly password: VarRef;
  readonly allowedRoles: readonly string[];
}

export interface DatabaseRole {
  readonly name: string;
  readonly dbName: string;
  readonly creationStatements: readonly string[];
  readonly renewStatements: readonly string[];
  readonly revocationStatements: readonly string[];
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

function rule(path: string, ...capabilities: Capability[]): PolicyRule {
  return { path, capabilities };
}

/** Token self-service every AppRole token needs (tokens carry no default policy). */
const SELF = [rule("auth/token/lookup-self", "read"), rule("auth/token/renew-self", "update")];

const byPath = (a: PolicyRule, b: PolicyRule) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * The least-privilege policy of one identity, by its kind, sorted by path. An app identity reads
 * the credentials of the site's tenants by exact path, one rule each: a glob
 * (`database/creds/tenant-*`) would also reach the role of any tenant added to OpenBao later,
 * outside the site.
 */
function policyOf(site: Site, identity: OpenbaoIdentity): ServicePolicy {
  if (identity.kind === "app") {
    return {
      name: identity.name,
      description: `The ${identity.name} identity (service ${identity.service}): reads its own KV secrets and per-tenant database credentials. Cannot define roles or connections.`,
      rules: [
        rule(`${MOUNTS.kv}/data/${identity.name}/*`, "read"),
        ...site.tenants.map((t) => rule(`${MOUNTS.database}/creds/${openbaoTenantName(t.id)}`, "read")),
        rule("sys/leases/renew", "update"),
        ...SELF,
      ].sort(byPath),
    };
  }
  return {
    name: identity.name,
    description: `The tenant provisioner (${identity.name}, from service ${identity.service}): manages tenant database roles and connections. Cannot read credentials or KV.`,
    rules: [
      rule(`${MOUNTS.database}/roles/tenant-*`, "create", "read", "update", "delete"),
      rule(`${MOUNTS.database}/config/tenant-*`, "create", "read", "update", "delete"),
      ...SELF,
    ].sort(byPath),
  };
}

/** Least-privilege policies, one per declared identity (`openbao.identities`), sorted by name. */
export function servicePolicies(site: Site): ServicePolicy[] {
  return site.openbao.identities.map((i) => policyOf(site, i)).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Source ranges OpenBao sees an identity's requests from: the derived networks OpenBao shares
 * with the identity's service (sorted).
 */
export function boundCidrs(site: Site, service: string): string[] {
  const nets = deriveNetworks(site);
  const openbao = new Set(networksOf(nets, "openbao").map((n) => n.id));
  return networksOf(nets, service)
    .filter((n) => openbao.has(n.id))
    .map((n) => n.subnet)
    .sort();
}

/** An AppRole role's arguments as OpenBao's API (and the Vault provider) name them. */
export function appRoleArguments(r: AppRoleRole): Record<string, unknown> {
  return {
    role_name: r.name,
    bind_secret_id: true,
    secret_id_bound_cidrs: r.boundCidrs,
    secret_id_num_uses: r.secretIdNumUses,
    secret_id_ttl: r.secretIdTtlSeconds,
    token_bound_cidrs: r.boundCidrs,
    token_max_ttl: r.tokenMaxTtlSeconds,
    token_no_default_policy: true,
    token_policies: r.tokenPolicies,
    token_ttl: r.tokenTtlSeconds,
    token_type: "service",
  };
}

/** AppRole roles, one per identity: secret-ids and tokens bound to the derived networks, short-lived, no default policy. */
export function appRoleRoles(site: Site): AppRoleRole[] {
  return site.openbao.identities
    .map((identity) =>
      identity.kind === "app"
        ? {
            name: identity.name,
            tokenPolicies: [identity.name],
            tokenTtlSeconds: 900,
            tokenMaxTtlSeconds: 3600,
            // The service logs in again every hour with the same secret-id; a day bounds a stolen one.
            secretIdTtlSeconds: 86400,
            secretIdNumUses: 0,
            boundCidrs: boundCidrs(site, identity.service),
          }
        : {
            name: identity.name,
            tokenPolicies: [identity.name],
            tokenTtlSeconds: 600,
            tokenMaxTtlSeconds: 1800,
            // One provisioning run, one secret-id.
            secretIdTtlSeconds: 600,
            secretIdNumUses: 1,
            boundCidrs: boundCidrs(site, identity.service),
          },
    )
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The sensitive variable holding palisade_vault's password on a server. */
export function vaultPasswordVar(serverId: string): string {
  return `postgres_vault_password_${serverId.replaceAll("-", "_")}`;
}

/** TLS mode OpenBao uses towards PostgreSQL on their shared network. */
export const POSTGRES_SSLMODE = "require";

/** One connection per tenant, to the registry database of the tenant's server, as palisade_vault. */
export function databaseConnections(site: Site): DatabaseConnection[] {
  return site.tenants
    .map((t) => {
      const server = serverFor(site, t);
      const name = openbaoTenantName(t.id);
      return {
        name,
        server: server.id,
        connectionUrl: `postgresql://{{username}}:{{password}}@${postgresHost(site, server)}:5432/${SHARED_DATABASE}?sslmode=${POSTGRES_SSLMODE}`,
        username: PLATFORM_ROLES.vault,
        password: { $var: vaultPasswordVar(server.id) },
        allowedRoles: [name],
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * One role per tenant: a login valid until the lease expires, member of the tenant's app role
 * (never superuser, never BYPASSRLS, owns nothing). Revocation ends its sessions and drops it.
 */
export function databaseRoles(site: Site): DatabaseRole[] {
  return site.tenants
    .map((t) => {
      const name = openbaoTenantName(t.id);
      return {
        name,
        dbName: name,
        creationStatements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT IN ROLE ${appRoleOf(t)};`,
        ],
        renewStatements: [`ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`],
        revocationStatements: [
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';`,
          `DROP ROLE IF EXISTS "{{name}}";`,
        ],
        defaultTtlSeconds: DB_CREDENTIAL_TTL.defaultSeconds,
        maxTtlSeconds: DB_CREDENTIAL_TTL.maxSeconds,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
