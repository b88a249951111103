import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { databaseRoles } from "../../policies/openbao/index.js";
import { renderTenancy } from "../../policies/tenancy/index.js";
import { describeRoot } from "../helpers/root.js";
import { startPostgres, type PgCluster } from "../helpers/postgres.js";
import { issueLoginSql, prng, siteWithTenants } from "./support.js";

/*
 * 10,000 randomized transactions, interleaved over a small pool of connections (POOL concurrent
 * psql sessions, each serving random tenants one transaction after another, as a connection pool
 * does), against the rendered schema. No transaction may ever see, change or create another
 * tenant's rows, and a transaction without a tenant must see nothing.
 */

const TRANSACTIONS = 10_000;
const POOL = 8;
const TENANTS = Array.from({ length: 12 }, (_, i) => `t${String(i + 1).padStart(2, "0")}`);
const SEED = Number(process.env.PALISADE_TENANCY_SEED ?? 20260114);

const { site } = siteWithTenants(TENANTS.map((id) => ({ id, name: id.toUpperCase(), mode: "shared" as const })));

interface Plan {
  readonly script: string;
  readonly transactions: number;
  readonly foreignWrites: number;
}

/** One connection's script: transactions of random kinds for random tenants, each ending with one `R|…` line. */
function connectionScript(rand: () => number, first: number, count: number): Plan {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const lines: string[] = [];
  let foreignWrites = 0;
  for (let n = first; n < first + count; n++) {
    const unset = rand() < 0.1;
    const tenant = pick(TENANTS);
    let other = pick(TENANTS);
    if (other === tenant) other = TENANTS[(TENANTS.indexOf(tenant) + 1) % TENANTS.length]!;
    lines.push("BEGIN;");
    if (!unset) {
      lines.push(
        rand() < 0.5
          ? `SET LOCAL app.tenant_id = '${tenant}';`
          : `SELECT set_config('app.tenant_id', '${tenant}', true) \\g /dev/null`,
      );
    }
    const kind = rand();
    if (kind < 0.25 && !unset) {
      lines.push(`INSERT INTO app.projects (name) VALUES ('p${n}') RETURNING 'W|${n}|${tenant}|' || tenant_id;`);
    } else if (kind < 0.45) {
      foreignWrites++;
      lines.push(`SAVEPOINT s;`, `INSERT INTO app.projects (tenant_id, name) VALUES ('${other}', 'x${n}') RETURNING 'LEAK|${n}';`, `ROLLBACK TO SAVEPOINT s;`);
    } else if (kind < 0.6) {
      lines.push(`UPDATE app.projects SET name = name || '!' WHERE tenant_id = '${other}' RETURNING 'LEAK|${n}';`);
    } else if (kind < 0.7) {
      lines.push(`DELETE FROM app.projects WHERE tenant_id = '${other}' RETURNING 'LEAK|${n}';`);
    }
    const who = unset ? "-" : tenant;
    lines.push(`SELECT 'R|${n}|${who}|' || count(*) || '|' || count(*) FILTER (WHERE tenant_id IS DISTINCT FROM '${tenant}') FROM app.projects;`);
    lines.push(rand() < 0.85 ? "COMMIT;" : "ROLLBACK;");
  }
  return { script: `${lines.join("\n")}\n`, transactions: count, foreignWrites };
}

function runSession(url: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // No ON_ERROR_STOP: the rejected writes are expected errors, and the session must go on.
    const child = spawn("psql", ["-X", "-q", "-At", "-d", url], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(script);
  });
}

describeRoot("tenant isolation under 10,000 interleaved transactions on a real PostgreSQL 15", () => {
  let pg: PgCluster;

  beforeAll(async () => {
    pg = await startPostgres();
    for (const a of renderTenancy(site).filter((x) => x.path.endsWith("bootstrap.sql") || x.path.includes("/tenants/"))) await pg.sql(a.content);
    const role = databaseRoles(site)[0]!;
    await pg.sql(issueLoginSql(role.creationStatements, "v-pool"), { database: "palisade", user: "palisade_vault" });
    const seed = TENANTS.flatMap((t) => [`('${t}', 'seed-1')`, `('${t}', 'seed-2')`]).join(", ");
    await pg.sql(`INSERT INTO app.projects (tenant_id, name) VALUES ${seed};`, { database: "palisade" });
  });

  afterAll(async () => {
    await pg?.stop();
  });

  it(`GIVEN ${TENANTS.length} shared tenants and a pool of ${POOL} connections WHEN ${TRANSACTIONS} random transactions interleave THEN none sees, changes or creates another tenant's rows`, async () => {
    const rand = prng(SEED);
    const per = TRANSACTIONS / POOL;
    const plans = Array.from({ length: POOL }, (_, i) => connectionScript(rand, i * per, per));
    const url = pg.url("palisade", "v-pool");
    const results = await Promise.all(plans.map((p) => runSession(url, p.script)));

    const out = results.flatMap((r) => r.stdout.split("\n").filter(Boolean));
    const reads = out.filter((l) => l.startsWith("R|")).map((l) => l.split("|"));
    const writes = out.filter((l) => l.startsWith("W|")).map((l) => l.split("|"));
    const rejected = results.reduce((n, r) => n + (r.stderr.match(/new row violates row-level security policy/g)?.length ?? 0), 0);
    const otherErrors = results.flatMap((r) => r.stderr.split("\n")).filter((l) => /ERROR|FATAL/.test(l) && !/row-level security/.test(l));

    expect(results.map((r) => r.code), `seed ${SEED}`).toEqual(Array(POOL).fill(0));
    expect(otherErrors, `seed ${SEED}`).toEqual([]);
    expect(out.filter((l) => l.startsWith("LEAK")), `seed ${SEED}`).toEqual([]);
    // Every transaction reported, none saw a foreign row; without a tenant, nothing at all.
    expect(reads.length).toBe(TRANSACTIONS);
    expect(reads.filter(([, , , , foreign]) => foreign !== "0"), `seed ${SEED}`).toEqual([]);
    expect(reads.filter(([, , who, visible]) => who === "-" && visible !== "0"), `seed ${SEED}`).toEqual([]);
    // Reads are not vacuous: each tenant's transactions saw at least its two seeded rows.
    expect(reads.filter(([, , who, visible]) => who !== "-" && Number(visible) < 2), `seed ${SEED}`).toEqual([]);
    // Writes landed in the writer's tenant; every cross-tenant insert was rejected by the policy.
    expect(writes.filter(([, , tenant, landed]) => tenant !== landed)).toEqual([]);
    expect(rejected).toBe(plans.reduce((n, p) => n + p.foreignWrites, 0));
    // And the table agrees: no row was created by a foreign writer, no other tenant's row renamed.
    expect(await pg.sql(`SELECT count(*) FROM app.projects WHERE name LIKE 'x%' OR name LIKE '%!'`, { database: "palisade" })).toBe("0\n");
  });
});
