import type { Site } from "../../core/index.js";
import { DB_CREDENTIAL_TTL, MOUNTS } from "../openbao/model.js";
import { EXAMPLE_TENANT_TABLES } from "./sql.js";
import { PLATFORM_ROLES, appRoleOf, databaseOf, openbaoTenantName, ownerRoleOf, serverFor } from "./names.js";

/** One row of the report's tenant isolation table. */
export interface TenantIsolationRow {
  readonly tenant: string;
  readonly mode: "shared" | "dedicated";
  readonly database: string;
  /** Server id and region, e.g. `pg-us (us-east)`. */
  readonly server: string;
  /** Roles that matter for this tenant: owner, app group role, the OpenBao-issued login. */
  readonly roles: readonly string[];
  /** OpenBao paths of the tenant: credentials, role, connection. */
  readonly openbaoPaths: readonly string[];
  /** The independent layers that keep this tenant's rows from other tenants, strongest first. */
  readonly layers: readonly string[];
}

/** The tenant isolation section of the report, one row per tenant, sorted by tenant id. */
export function tenantIsolationSection(site: Site): TenantIsolationRow[] {
  const ttl = `${DB_CREDENTIAL_TTL.defaultSeconds / 3600}h default, ${DB_CREDENTIAL_TTL.maxSeconds / 3600}h max`;
  return site.tenants
    .map((t) => {
      const server = serverFor(site, t);
      const name = openbaoTenantName(t.id);
      const rls = `postgres-rls: FORCE ROW LEVEL SECURITY, policy tenant_id = current_setting('app.tenant_id') on ${EXAMPLE_TENANT_TABLES.join(", ")}`;
      const role = `postgres-role: ${appRoleOf(t)} NOSUPERUSER NOBYPASSRLS, owns nothing`;
      const creds = `openbao-credentials: per-tenant login from ${MOUNTS.database}/creds/${name} (${ttl}), revoked at lease end`;
      const layers =
        t.mode === "dedicated"
          ? [
              `postgres-database: own database ${databaseOf(t)}, CONNECT revoked from PUBLIC, granted to ${appRoleOf(t)} only`,
              `postgres-placement: server ${server.id} chosen by region ${server.region}`,
              role,
              `postgres-check: tenant_id = '${t.id}' constraint on every table`,
              rls,
              creds,
            ]
          : [rls, `postgres-registry: tenant_id references palisade.tenants (unregistered ids rejected)`, role, creds];
      return {
        tenant: t.id,
        mode: t.mode,
        database: databaseOf(t),
        server: `${server.id} (${server.region})`,
        roles: [ownerRoleOf(t), appRoleOf(t), `${name} login (OpenBao, VALID UNTIL lease end)`],
        openbaoPaths: [`${MOUNTS.database}/creds/${name}`, `${MOUNTS.database}/roles/${name}`, `${MOUNTS.database}/config/${name}`],
        layers,
      };
    })
    .sort((a, b) => (a.tenant < b.tenant ? -1 : 1));
}

/** Roles every server has, for the report's legend. */
export const PLATFORM_ROLE_SUMMARY: Readonly<Record<string, string>> = {
  [PLATFORM_ROLES.owner]: "owns schemas and tables; NOLOGIN; migrations SET ROLE to it",
  [PLATFORM_ROLES.app]: "DML on tenant tables; NOSUPERUSER NOBYPASSRLS; owns nothing; OpenBao logins join it",
  [PLATFORM_ROLES.provisioner]: "CREATEDB CREATEROLE, not superuser; adds and removes tenants",
  [PLATFORM_ROLES.vault]: "CREATEROLE, not superuser; OpenBao's connection user; issues and revokes tenant logins",
};
