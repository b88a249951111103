import type { Site } from "../../core/index.js";
import { MOUNTS, appRoleArguments, appRoleRoles, databaseConnections, databaseRoles, servicePolicies, vaultPasswordVar } from "./model.js";
import { renderPolicyHcl } from "./render.js";

/*
 * The "secrets" second-phase stack, engine-neutral: resources typed after the Terraform vault
 * provider (which drives OpenBao), props in that provider's argument names. Two markers stand for
 * what only the engine knows:
 *   { "$var": "name" }                 a sensitive input variable (Terraform variable / Pulumi secret config)
 *   { "$ref": "type.name.attribute" }  an attribute of another resource of this stack
 * No secret value ever appears here.
 */

export interface SecretsResource {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
}

export interface SecretsVariable {
  readonly name: string;
  readonly sensitive: true;
  readonly description: string;
}

function ref(type: string, name: string, attribute: string): { $ref: string } {
  return { $ref: `${type}.${name}.${attribute}` };
}

/** Resources of the secrets stack, sorted by type then name; names are stable IDs. */
export function secretsStackResources(site: Site): SecretsResource[] {
  const out: SecretsResource[] = [
    { type: "vault_mount", name: MOUNTS.database, props: { path: MOUNTS.database, type: "database", description: "Per-tenant dynamic PostgreSQL credentials" } },
    { type: "vault_mount", name: MOUNTS.kv, props: { path: MOUNTS.kv, type: "kv", options: { version: "2" }, description: "Static service secrets" } },
    { type: "vault_auth_backend", name: MOUNTS.approle, props: { type: "approle", path: MOUNTS.approle } },
  ];
  for (const p of servicePolicies(site)) {
    out.push({ type: "vault_policy", name: p.name, props: { name: p.name, policy: renderPolicyHcl(p) } });
  }
  for (const r of appRoleRoles(site)) {
    out.push({
      type: "vault_approle_auth_backend_role",
      name: r.name,
      props: {
        backend: ref("vault_auth_backend", MOUNTS.approle, "path"),
        ...appRoleArguments(r),
        token_policies: r.tokenPolicies.map((p) => ref("vault_policy", p, "name")),
      },
    });
  }
  for (const c of databaseConnections(site)) {
    out.push({
      type: "vault_database_secret_backend_connection",
      name: c.name,
      props: {
        backend: ref("vault_mount", MOUNTS.database, "path"),
        name: c.name,
        allowed_roles: c.allowedRoles,
        verify_connection: true,
        postgresql: { connection_url: c.connectionUrl, username: c.username, password: c.password },
      },
    });
  }
  for (const r of databaseRoles(site)) {
    out.push({
      type: "vault_database_secret_backend_role",
      name: r.name,
      props: {
        backend: ref("vault_mount", MOUNTS.database, "path"),
        name: r.name,
        db_name: ref("vault_database_secret_backend_connection", r.dbName, "name"),
        creation_statements: r.creationStatements,
        renew_statements: r.renewStatements,
        revocation_statements: r.revocationStatements,
        default_ttl: r.defaultTtlSeconds,
        max_ttl: r.maxTtlSeconds,
      },
    });
  }
  const key = (r: SecretsResource) => `${r.type}\u0000${r.name}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The sensitive variables the secrets stack references (one palisade_vault password per server that holds tenants). */
export function secretsStackVariables(site: Site): SecretsVariable[] {
  const names = new Set(databaseConnections(site).map((c) => c.password.$var));
  return [...names].sort().map((name) => ({
    name,
    sensitive: true as const,
    description: `Password of PostgreSQL role palisade_vault on server ${site.postgres.servers.find((s) => vaultPasswordVar(s.id) === name)?.id ?? "?"}, from .palisade/secrets/`,
  }));
}
