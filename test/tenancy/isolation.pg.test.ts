import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { databaseRoles } from "../../policies/openbao/index.js";
import { renderTenancy } from "../../policies/tenancy/index.js";
import { describeRoot } from "../helpers/root.js";
import { startPostgres, type PgCluster } from "../helpers/postgres.js";
import { applySqlFile, issueLoginSql, siteWithTenants, writeArtifacts } from "./support.js";

/*
 * Tenant isolation on a real PostgreSQL 15, built only from what Palisade ships: the rendered
 * bootstrap and tenant SQL, and OpenBao's rendered creation statements run as palisade_vault.
 */

const { site } = siteWithTenants([
  { id: "acme", name: "Acme", mode: "shared" },
  { id: "initech", name: "Initech", mode: "shared" },
  { id: "globex", name: "Globex", mode: "dedicated", region: "us-east" },
  { id: "umbrella", name: "Umbrella", mode: "dedicated", region: "eu-west" },
]);

/** OpenBao-issued logins, one per tenant, named as OpenBao would (v-<role>-…). */
const LOGIN = { acme: "v-tenant-acme-1", initech: "v-tenant-initech-1", globex: "v-tenant-globex-1", umbrella: "v-tenant-umbrella-1" } as const;

describeRoot("tenant isolation on a real PostgreSQL 15, from the rendered artifacts", () => {
  let pg: PgCluster;
  let out: { dir: string; cleanup: () => void };

  const as = (login: keyof typeof LOGIN, sql: string, database = "palisade") => pg.trySql(sql, { database, user: LOGIN[login] });

  beforeAll(async () => {
    pg = await startPostgres();
    out = writeArtifacts(renderTenancy(site));
    // Both regions' servers are this one cluster: apply each server's entry file.
    for (const server of site.postgres.servers) await applySqlFile(pg, join(out.dir, `hosts/cloud/postgres/servers/${server.id}.sql`));
    for (const role of databaseRoles(site)) {
      const tenant = role.name.replace(/^tenant-/, "") as keyof typeof LOGIN;
      await pg.sql(issueLoginSql(role.creationStatements, LOGIN[tenant]), { database: "palisade", user: "palisade_vault" });
    }
    await pg.sql(
      `INSERT INTO app.projects (tenant_id, name) VALUES ('acme', 'a1'), ('acme', 'a2'), ('initech', 'i1');
       INSERT INTO app.invoices (tenant_id, project_id, amount_cents) SELECT tenant_id, id, 100 FROM app.projects;`,
      { database: "palisade" },
    );
    await pg.sql(`INSERT INTO app.projects (tenant_id, name) VALUES ('globex', 'g1');`, { database: "tenant_globex" });
  });

  afterAll(async () => {
    await pg?.stop();
    out?.cleanup();
  });

  it("GIVEN two shared tenants WHEN acme's transaction reads THEN it sees acme's rows and none of initech's", async () => {
    const r = await as("acme", `BEGIN; SET LOCAL app.tenant_id = 'acme'; SELECT tenant_id || ':' || name FROM app.projects ORDER BY name; COMMIT;`);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["acme:a1", "acme:a2"]);
    expect(r.stdout).not.toContain("initech");
  });

  it("GIVEN acme's context set with set_config(…, true) WHEN it asks for initech's rows by name THEN it gets 0 rows", async () => {
    const r = await as(
      "acme",
      `BEGIN; SELECT set_config('app.tenant_id', 'acme', true) \\g /dev/null
       SELECT count(*) FROM app.projects WHERE tenant_id = 'acme';
       SELECT count(*) FROM app.projects WHERE tenant_id = 'initech';
       SELECT count(*) FROM app.invoices WHERE tenant_id = 'initech'; COMMIT;`,
    );
    expect(r.stdout.trim().split("\n")).toEqual(["2", "0", "0"]);
  });

  it("GIVEN acme's context WHEN it inserts a row for initech THEN row-level security rejects it", async () => {
    const r = await as("acme", `BEGIN; SET LOCAL app.tenant_id = 'acme'; INSERT INTO app.projects (tenant_id, name) VALUES ('initech', 'planted'); COMMIT;`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("new row violates row-level security policy");
    expect(await pg.sql(`SELECT count(*) FROM app.projects WHERE name = 'planted'`, { database: "palisade" })).toBe("0\n");
  });

  it("GIVEN acme's context WHEN it moves its own row to initech THEN the WITH CHECK rejects it", async () => {
    const r = await as("acme", `BEGIN; SET LOCAL app.tenant_id = 'acme'; UPDATE app.projects SET tenant_id = 'initech' WHERE name = 'a1'; COMMIT;`);
    expect(r.stderr).toMatch(/violates row-level security policy|violates foreign key/);
    expect(await pg.sql(`SELECT tenant_id FROM app.projects WHERE name = 'a1'`, { database: "palisade" })).toBe("acme\n");
  });

  it("GIVEN acme's context WHEN it updates or deletes initech's rows THEN no row is touched", async () => {
    const r = await as(
      "acme",
      `BEGIN; SET LOCAL app.tenant_id = 'acme';
       UPDATE app.projects SET name = 'hijacked' WHERE tenant_id = 'initech' RETURNING 'LEAK';
       DELETE FROM app.invoices WHERE tenant_id = 'initech' RETURNING 'LEAK'; COMMIT;`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("LEAK");
    expect(await pg.sql(`SELECT name FROM app.projects WHERE tenant_id = 'initech'; SELECT count(*) FROM app.invoices WHERE tenant_id = 'initech'`, { database: "palisade" })).toBe("i1\n1\n");
  });

  it("GIVEN no tenant context WHEN the app reads or writes THEN it sees 0 rows and cannot write", async () => {
    const r = await as("acme", `SELECT count(*) FROM app.projects; SELECT count(*) FROM app.invoices;`);
    expect(r.stdout.trim().split("\n")).toEqual(["0", "0"]);
    const w = await as("acme", `INSERT INTO app.projects (name) VALUES ('orphan');`);
    expect(w.code).not.toBe(0);
    expect(await pg.sql(`SELECT count(*) FROM app.projects WHERE name = 'orphan'`, { database: "palisade" })).toBe("0\n");
  });

  it("GIVEN a committed transaction with SET LOCAL WHEN the same connection runs the next one THEN the tenant does not carry over", async () => {
    const r = await as("acme", `BEGIN; SET LOCAL app.tenant_id = 'acme'; SELECT count(*) FROM app.projects; COMMIT; SELECT count(*) FROM app.projects;`);
    expect(r.stdout.trim().split("\n")).toEqual(["2", "0"]);
  });

  it("GIVEN a session setting that was RESET WHEN the app reads THEN the empty setting sees 0 rows", async () => {
    const r = await as("acme", `SET app.tenant_id = 'acme'; RESET app.tenant_id; SELECT count(*) FROM app.projects;`);
    expect(r.stdout.trim()).toBe("0");
  });

  it("GIVEN a tenant id that is not registered WHEN the app writes under it THEN the registry reference rejects it", async () => {
    const r = await as("acme", `BEGIN; SET LOCAL app.tenant_id = 'nobody'; INSERT INTO app.projects (name) VALUES ('ghost'); COMMIT;`);
    expect(r.stderr).toContain("violates foreign key constraint");
  });

  it("GIVEN FORCE ROW LEVEL SECURITY WHEN the owner role itself reads without context THEN it sees 0 rows", async () => {
    const r = await pg.trySql(`SET ROLE palisade_owner; SELECT count(*) FROM app.projects;`, { database: "palisade" });
    expect(r.stdout.trim()).toBe("0");
  });

  it("GIVEN two dedicated tenants WHEN globex's login connects to umbrella's database THEN the server refuses it", async () => {
    const r = await as("globex", `SELECT 1;`, "tenant_umbrella");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('permission denied for database "tenant_umbrella"');
  });

  it("GIVEN a dedicated tenant WHEN its own login connects to its database THEN it sees its rows under its context", async () => {
    const r = await as("globex", `BEGIN; SET LOCAL app.tenant_id = 'globex'; SELECT name FROM app.projects; COMMIT;`, "tenant_globex");
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("g1");
  });

  it("GIVEN a dedicated tenant's database WHEN a shared tenant's or another dedicated tenant's login connects THEN both are refused, and globex cannot enter the shared database", async () => {
    expect((await as("acme", `SELECT 1;`, "tenant_globex")).stderr).toContain('permission denied for database "tenant_globex"');
    expect((await as("umbrella", `SELECT 1;`, "tenant_globex")).stderr).toContain('permission denied for database "tenant_globex"');
    expect((await as("globex", `SELECT 1;`, "palisade")).stderr).toContain('permission denied for database "palisade"');
  });

  it("GIVEN a dedicated database WHEN a row for another tenant is written there, even under that tenant's context THEN the tenant check rejects it", async () => {
    const r = await as("globex", `BEGIN; SET LOCAL app.tenant_id = 'acme'; INSERT INTO app.projects (name) VALUES ('x'); COMMIT;`, "tenant_globex");
    expect(r.stderr).toMatch(/violates check constraint/);
  });

  it("GIVEN the bootstrap WHEN the roles are read from the catalog THEN app owns nothing and is neither superuser nor BYPASSRLS, the provisioner is CREATEDB CREATEROLE but not superuser", async () => {
    const roles = await pg.sql(
      `SELECT rolname, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles
       WHERE rolname IN ('palisade_owner', 'palisade_app', 'palisade_provisioner', 'palisade_vault') ORDER BY rolname`,
    );
    expect(roles.trim().split("\n")).toEqual([
      "palisade_app|f|f|f|f|f",
      "palisade_owner|f|f|f|f|f",
      "palisade_provisioner|f|f|t|t|t",
      "palisade_vault|f|f|f|t|t",
    ]);
    for (const db of ["palisade", "tenant_globex", "tenant_umbrella"]) {
      const owned = await pg.sql(
        `SELECT count(*) FROM pg_class c WHERE pg_has_role('palisade_app', c.relowner, 'MEMBER') OR pg_has_role('tenant_globex_app', c.relowner, 'MEMBER')`,
        { database: db },
      );
      expect(owned).toBe("0\n");
    }
  });

  it("GIVEN the rendered artifacts WHEN the catalog is read THEN no platform or tenant role has a password", async () => {
    const withPassword = await pg.sql(`SELECT rolname FROM pg_authid WHERE rolpassword IS NOT NULL AND rolname NOT LIKE 'v-%' ORDER BY 1`);
    expect(withPassword).toBe("");
  });

  it("GIVEN every artifact applied already WHEN they are applied again THEN it succeeds and changes nothing", async () => {
    const before = await pg.sql(`SELECT count(*) FROM palisade.tenants; SELECT count(*) FROM app.projects`, { database: "palisade" });
    for (const server of site.postgres.servers) await applySqlFile(pg, join(out.dir, `hosts/cloud/postgres/servers/${server.id}.sql`));
    expect(await pg.sql(`SELECT count(*) FROM palisade.tenants; SELECT count(*) FROM app.projects`, { database: "palisade" })).toBe(before);
  });

  it("GIVEN an issued login WHEN OpenBao's rendered revocation statements run as palisade_vault THEN the login is gone", async () => {
    const role = databaseRoles(site).find((r) => r.name === "tenant-initech")!;
    await pg.sql(issueLoginSql(role.creationStatements, "v-tenant-initech-2"), { database: "palisade", user: "palisade_vault" });
    await pg.sql(issueLoginSql(role.revocationStatements, "v-tenant-initech-2"), { database: "palisade", user: "palisade_vault" });
    expect(await pg.sql(`SELECT count(*) FROM pg_roles WHERE rolname = 'v-tenant-initech-2'`)).toBe("0\n");
  });
});
