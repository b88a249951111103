import type { Tenant } from "../../core/index.js";
import { PsqlError, psqlErrorText, queryJson, type PsqlClient } from "./psql.js";
import { REGISTRY_TABLE, assertTenantId, ident, literal, qualified, tenantDatabase, tenantRoles } from "./names.js";
import { dedicatedDatabaseGrantsSql, dedicatedRolesSql, dedicatedSchemaSql, registryInsertSql } from "./sql.js";

/*
 * Provisioning a tenant against a live server, as the provisioner role (CREATEDB CREATEROLE, not
 * superuser), through psql. Every step that PostgreSQL allows runs in one transaction; CREATE
 * DATABASE cannot, so it is a step of its own with an undo (DROP DATABASE), and when a later step
 * fails the completed steps are undone in reverse order: a tenant is added entirely or not at all.
 */

export interface ProvisionStep {
  /** Human description, e.g. `create database tenant_globex`. */
  readonly name: string;
  /** Database to `\connect` to first. @default - the database of the URL (the registry database) */
  readonly database?: string;
  /** The script; transactional steps carry their own BEGIN/COMMIT. */
  readonly sql: string;
  /** What undoes this step once it has completed, run in order when a later step fails. */
  readonly undo?: readonly ProvisionStep[];
}

export interface StepFailure {
  readonly step: string;
  readonly error: string;
}

export interface ProvisionOutcome {
  readonly ok: boolean;
  /** Steps that completed (and, when !ok, were then undone). */
  readonly done: readonly string[];
  readonly failed?: StepFailure;
  readonly undone: readonly string[];
  /** Undo steps that failed too: the operator must look (the message names what is left). */
  readonly undoFailures: readonly StepFailure[];
}

/** One row of the registry table. */
export interface RegistryRow {
  readonly id: string;
  readonly name: string;
  readonly mode: "shared" | "dedicated";
  readonly region: string | null;
  readonly database: string;
}

function tx(...statements: string[]): string {
  return ["BEGIN;", ...statements, "COMMIT;", ""].join("\n");
}

function dropDatabaseStep(tenantId: string): ProvisionStep {
  const db = tenantDatabase(tenantId);
  return { name: `drop database ${db}`, sql: `DROP DATABASE IF EXISTS ${ident(db)} WITH (FORCE);\n` };
}

function dropRolesAndRegistryStep(tenantId: string): ProvisionStep {
  const roles = tenantRoles(tenantId);
  return {
    name: `drop roles ${roles.app}, ${roles.owner} and the registry row`,
    sql: tx(
      `DELETE FROM ${qualified(REGISTRY_TABLE)} WHERE id = ${literal(tenantId)};`,
      `DROP ROLE IF EXISTS ${ident(roles.app)};`,
      `DROP ROLE IF EXISTS ${ident(roles.owner)};`,
    ),
  };
}

/** The steps that add a tenant. Shared: one transaction. Dedicated: database, then roles, then schema. */
export function addTenantSteps(tenant: Tenant): ProvisionStep[] {
  assertTenantId(tenant.id);
  if (tenant.mode === "shared") {
    return [{ name: `register shared tenant ${tenant.id}`, sql: tx(registryInsertSql(tenant, { idempotent: false })) }];
  }
  const db = tenantDatabase(tenant.id);
  const roles = tenantRoles(tenant.id);
  return [
    {
      name: `create database ${db}`,
      sql: `CREATE DATABASE ${ident(db)};\n`,
      undo: [dropDatabaseStep(tenant.id)],
    },
    {
      name: `create roles ${roles.owner}, ${roles.app}, hand them ${db} (CONNECT revoked from PUBLIC) and register ${tenant.id}`,
      sql: tx(
        dedicatedRolesSql(tenant.id, { idempotent: false }),
        // The provisioner must be a member of the owner role to hand it the database (and later drop it).
        `GRANT ${ident(roles.owner)} TO CURRENT_USER;`,
        dedicatedDatabaseGrantsSql(tenant.id),
        registryInsertSql(tenant, { idempotent: false }),
      ),
      // The database must go before its owner role can.
      undo: [dropDatabaseStep(tenant.id), dropRolesAndRegistryStep(tenant.id)],
    },
    {
      name: `create the tenant schema in ${db} (FORCE RLS)`,
      database: db,
      sql: `${dedicatedSchemaSql(tenant.id)}\n`,
    },
  ];
}

/** The steps that remove a registered tenant. */
export function removeTenantSteps(row: RegistryRow): ProvisionStep[] {
  assertTenantId(row.id);
  if (row.mode === "shared") {
    return [
      {
        name: `unregister shared tenant ${row.id}`,
        sql: tx(`DELETE FROM ${qualified(REGISTRY_TABLE)} WHERE id = ${literal(row.id)} AND mode = 'shared';`),
      },
    ];
  }
  return [dropDatabaseStep(row.id), dropRolesAndRegistryStep(row.id)];
}

/** Runs steps in order; on failure undoes the completed ones in reverse order. */
export async function runSteps(client: PsqlClient, steps: readonly ProvisionStep[]): Promise<ProvisionOutcome> {
  const done: ProvisionStep[] = [];
  for (const step of steps) {
    const r = await client.run(step.sql, step.database ? { database: step.database } : {});
    if (r.code === 0) {
      done.push(step);
      continue;
    }
    const failed = { step: step.name, error: psqlErrorText(r) };
    const undone: string[] = [];
    const undoFailures: StepFailure[] = [];
    for (const completed of [...done].reverse()) {
      for (const undo of completed.undo ?? []) {
        const u = await client.run(undo.sql, undo.database ? { database: undo.database } : {});
        if (u.code === 0) undone.push(undo.name);
        else undoFailures.push({ step: undo.name, error: psqlErrorText(u) });
      }
    }
    return { ok: false, done: done.map((s) => s.name), failed, undone, undoFailures };
  }
  return { ok: true, done: done.map((s) => s.name), undone: [], undoFailures: [] };
}

/** The registry of the server the client points at, sorted by id. */
export async function listTenants(client: PsqlClient): Promise<RegistryRow[]> {
  return queryJson<RegistryRow[]>(
    client,
    `SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'mode', mode, 'region', region, 'database', database) ORDER BY id), '[]') FROM ${qualified(REGISTRY_TABLE)};\n`,
  );
}

export async function findTenant(client: PsqlClient, id: string): Promise<RegistryRow | undefined> {
  assertTenantId(id);
  return (await listTenants(client)).find((r) => r.id === id);
}

/** Adds a tenant: everything or nothing. */
export async function addTenant(client: PsqlClient, tenant: Tenant): Promise<ProvisionOutcome> {
  return runSteps(client, addTenantSteps(tenant));
}

/** Removes a registered tenant; `undefined` when the registry does not know it. */
export async function removeTenant(client: PsqlClient, id: string): Promise<ProvisionOutcome | undefined> {
  const row = await findTenant(client, id);
  if (!row) return undefined;
  return runSteps(client, removeTenantSteps(row));
}

export { PsqlError };
