import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { bootstrapSql } from "../../policies/tenancy/index.js";
import { run as tenant } from "../../scripts/commands/tenant.js";
import { describeRoot } from "../helpers/root.js";
import { startPostgres, type PgCluster } from "../helpers/postgres.js";
import { siteWithTenants, writeSiteFile } from "./support.js";

/*
 * `palisade tenant add|remove|list` against a real PostgreSQL 15, connected as the provisioner
 * role the bootstrap creates (CREATEDB CREATEROLE, not superuser).
 */

const { text } = siteWithTenants([
  { id: "acme", name: "Acme", mode: "shared" },
  { id: "globex", name: "Globex", mode: "dedicated", region: "us-east" },
]);

describeRoot("palisade tenant on a real PostgreSQL 15", () => {
  let pg: PgCluster;
  let siteFile: { file: string; cleanup: () => void };
  let url: string;
  let stderr: string[];

  /** What the server holds of a tenant: database, roles, registry row. Empty when nothing. */
  async function traces(id: string): Promise<string[]> {
    const snake = id.replaceAll("-", "_");
    const out = await pg.sql(
      `SELECT 'database ' || datname FROM pg_database WHERE datname = 'tenant_${snake}'
       UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE rolname IN ('tenant_${snake}_owner', 'tenant_${snake}_app')
       ORDER BY 1;`,
    );
    const reg = await pg.sql(`SELECT 'registry ' || id FROM palisade.tenants WHERE id = '${id}'`, { database: "palisade" });
    return [...out.split("\n"), ...reg.split("\n")].filter(Boolean);
  }

  beforeAll(async () => {
    pg = await startPostgres();
    await pg.sql(bootstrapSql());
    siteFile = writeSiteFile(text);
    url = pg.url("palisade", "palisade_provisioner");
  });

  beforeEach(() => {
    stderr = [];
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void stderr.push(a.map(String).join(" ")));
    return () => vi.restoreAllMocks();
  });

  afterAll(async () => {
    await pg?.stop();
    siteFile?.cleanup();
  });

  it("GIVEN a shared tenant in the site file WHEN tenant add runs THEN the registry holds it and no database or role is created", async () => {
    expect(await tenant(["add", "acme", "--url", url, "--site", siteFile.file])).toBe(0);
    expect(await traces("acme")).toEqual(["registry acme"]);
  });

  it("GIVEN a dedicated tenant WHEN tenant add runs THEN it gets its own database and roles, CONNECT only for its app role, and tables under FORCE RLS owned by its owner", async () => {
    expect(await tenant(["add", "globex", "--url", url, "--site", siteFile.file])).toBe(0);
    expect(await traces("globex")).toEqual(["database tenant_globex", "role tenant_globex_app", "role tenant_globex_owner", "registry globex"]);
    const connect = await pg.sql(
      `SELECT coalesce(string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, ',' ORDER BY 1), '')
       FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = 'tenant_globex' AND a.privilege_type = 'CONNECT'`,
    );
    expect(connect.trim().split(",").sort()).toEqual(["tenant_globex_app", "tenant_globex_owner"]);
    const tables = await pg.sql(
      `SELECT relname || ' ' || pg_get_userbyid(relowner) || ' ' || relrowsecurity || relforcerowsecurity FROM pg_class
       WHERE relnamespace = 'app'::regnamespace AND relkind = 'r' ORDER BY 1`,
      { database: "tenant_globex" },
    );
    expect(tables.trim().split("\n")).toEqual(["invoices tenant_globex_owner truetrue", "projects tenant_globex_owner truetrue"]);
  });

  it("GIVEN registered tenants WHEN tenant list runs THEN it exits 0", async () => {
    const log = vi.spyOn(console, "log");
    expect(await tenant(["list", "--url", url])).toBe(0);
    const printed = log.mock.calls.map((c) => String(c[0])).join("\n");
    expect(printed).toContain("acme\tshared");
    expect(printed).toContain("globex\tdedicated\tus-east\ttenant_globex");
  });

  it("GIVEN a tenant already added WHEN it is added again THEN it fails and the existing tenant is untouched", async () => {
    expect(await tenant(["add", "globex", "--url", url, "--site", siteFile.file])).toBe(1);
    expect(stderr.join("\n")).toContain('database "tenant_globex" already exists');
    expect(await traces("globex")).toEqual(["database tenant_globex", "role tenant_globex_app", "role tenant_globex_owner", "registry globex"]);
  });

  it("GIVEN a pre-existing role that conflicts WHEN a dedicated add fails after CREATE DATABASE THEN the database is dropped and nothing of the tenant remains", async () => {
    await pg.sql(`CREATE ROLE tenant_gamma_app NOLOGIN;`);
    try {
      expect(await tenant(["add", "gamma", "--url", url, "--mode", "dedicated", "--name", "Gamma", "--region", "eu-west"])).toBe(1);
      expect(stderr.join("\n")).toContain('role "tenant_gamma_app" already exists');
      expect(stderr.join("\n")).toContain("undone: drop database tenant_gamma");
      // Only the conflicting role that was there before remains; the provisioner did not drop it.
      expect(await traces("gamma")).toEqual(["role tenant_gamma_app"]);
    } finally {
      await pg.sql(`DROP ROLE tenant_gamma_app;`);
    }
  });

  it("GIVEN a failure in the last step (schema in the new database) WHEN a dedicated add runs THEN the committed roles, registry row and database are all undone", async () => {
    // Every new database copies template1: a schema `app` the tenant owner may not use breaks the last step.
    await pg.sql(`CREATE SCHEMA app; REVOKE ALL ON SCHEMA app FROM PUBLIC;`, { database: "template1" });
    try {
      expect(await tenant(["add", "delta", "--url", url, "--mode", "dedicated", "--name", "Delta", "--region", "eu-west"])).toBe(1);
      const err = stderr.join("\n");
      expect(err).toContain("failed at step \"create the tenant schema in tenant_delta");
      expect(err).toContain("undone: drop roles tenant_delta_app, tenant_delta_owner and the registry row");
      expect(err).not.toContain("COULD NOT UNDO");
      expect(await traces("delta")).toEqual([]);
    } finally {
      await pg.sql(`DROP SCHEMA app;`, { database: "template1" });
    }
  });

  it("GIVEN a dedicated tenant WHEN tenant remove runs THEN its database, roles and registry row are gone", async () => {
    expect(await tenant(["remove", "globex", "--url", url])).toBe(0);
    expect(await traces("globex")).toEqual([]);
  });

  it("GIVEN a shared tenant with rows WHEN tenant remove runs THEN it refuses and keeps the tenant", async () => {
    await pg.sql(`INSERT INTO app.projects (tenant_id, name) VALUES ('acme', 'keep')`, { database: "palisade" });
    expect(await tenant(["remove", "acme", "--url", url])).toBe(1);
    expect(stderr.join("\n")).toContain("violates foreign key constraint");
    expect(await traces("acme")).toEqual(["registry acme"]);
    await pg.sql(`DELETE FROM app.projects WHERE tenant_id = 'acme'`, { database: "palisade" });
    expect(await tenant(["remove", "acme", "--url", url])).toBe(0);
    expect(await traces("acme")).toEqual([]);
  });

  it("GIVEN a tenant the registry does not know WHEN tenant remove runs THEN it exits 1 saying so", async () => {
    expect(await tenant(["remove", "nobody", "--url", url])).toBe(1);
    expect(stderr.join("\n")).toContain("no such tenant");
  });

  it.each([
    [["add", "Bad_Id", "--url", "U", "--mode", "shared", "--name", "x"], "is not valid"],
    [["add", "acme"], "--url is required"],
    [["frobnicate", "--url", "U"], "expected add, remove or list"],
    [["add", "zeta", "--url", "U", "--site", "SITE"], "is not in"],
    [["add", "zeta", "--url", "U", "--mode", "dedicated", "--name", "Z"], "needs --region"],
    [["add", "zeta", "--url", "U", "--mode", "sideways", "--name", "Z"], "is not one of"],
    [["add", "acme", "--url", "U", "--site", "/nonexistent/palisade.yaml"], "cannot be read"],
    [["remove", "acme", "--url", "U", "--site", "SITE"], "only applies to add"],
  ])("GIVEN bad input %j WHEN tenant runs THEN it exits 2 with a clear message and touches nothing", async (argv, message) => {
    const args = argv.map((a) => (a === "SITE" ? siteFile.file : a === "U" ? url : a));
    expect(await tenant(args)).toBe(2);
    expect(stderr.join("\n")).toContain(message);
  });
});
