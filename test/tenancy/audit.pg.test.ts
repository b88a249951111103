import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { auditDatabase, bootstrapSql, psqlClient, tenantSql, tenantTableSql, type AuditResult, type Finding } from "../../policies/tenancy/index.js";
import { run as auditDb } from "../../scripts/commands/audit-db.js";
import { describeRoot } from "../helpers/root.js";
import { startPostgres, type PgCluster } from "../helpers/postgres.js";

/*
 * `palisade audit-db` against a real PostgreSQL 15: the cluster built from the rendered artifacts
 * is clean; each planted weakness is found and named. Each plant lives in its own database (and
 * roles), removed after its test, so that findings never leak from one test into another.
 */

/** A clean tenant table to plant next to: FORCE RLS, the tenant policy, DML for palisade_app. */
const BASELINE = `CREATE SCHEMA app; CREATE TABLE app.good (tenant_id text NOT NULL, v int);\n${tenantTableSql("app.good")}\n`;

describeRoot("palisade audit-db on a real PostgreSQL 15", () => {
  let pg: PgCluster;
  let printed: string[];

  const audit = (appRoles: string[] = []) => auditDatabase(psqlClient(pg.url()), { appRoles });
  const brief = (fs: readonly Finding[]) => fs.map((f) => `${f.kind} ${f.object}`);

  /** Runs `check` against a fresh database `name` holding the baseline plus `plantSql`; removes it (and `roles`) afterwards. */
  async function planted(name: string, plantSql: string, check: (r: AuditResult, mine: Finding[]) => Promise<void> | void, opts: { roles?: string[]; preSql?: string; appRoles?: string[] } = {}) {
    if (opts.preSql) await pg.sql(opts.preSql);
    await pg.sql(`CREATE DATABASE ${name}; REVOKE ALL ON DATABASE ${name} FROM PUBLIC;`);
    try {
      await pg.sql(BASELINE + plantSql, { database: name });
      const r = await audit(opts.appRoles);
      const roles = new Set(opts.roles ?? []);
      await check(r, r.findings.filter((f) => f.database === name || (f.database === undefined && roles.has(f.object))));
    } finally {
      await pg.sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE);`);
      for (const role of [...(opts.roles ?? [])].reverse()) await pg.sql(`DROP ROLE IF EXISTS ${role};`);
    }
  }

  beforeAll(async () => {
    pg = await startPostgres();
    await pg.sql(bootstrapSql());
    await pg.sql(tenantSql({ id: "globex", name: "Globex", mode: "dedicated", region: "us-east" }, "test"));
  });

  beforeEach(() => {
    printed = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void printed.push(a.map(String).join(" ")));
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void printed.push(a.map(String).join(" ")));
    return () => vi.restoreAllMocks();
  });

  afterAll(async () => {
    await pg?.stop();
  });

  describe("a clean server", () => {
    it("GIVEN a server built only from the rendered bootstrap and tenant SQL WHEN audited THEN there are no findings and it exits 0", async () => {
      const r = await audit();
      expect(r.findings).toEqual([]);
      expect(r.databases).toEqual(expect.arrayContaining(["palisade", "tenant_globex"]));
      expect(r.appRoles).toEqual(["palisade_app", "tenant_globex_app"]);
      expect(await auditDb(["--url", pg.url()])).toBe(0);
      expect(printed.join("\n")).toContain("no findings");
    });
  });

  describe("planted weaknesses, one per kind, each named", () => {
    it("GIVEN a table with tenant_id and row-level security disabled WHEN audited THEN rls-disabled names it, and only it", async () => {
      await planted("plant_rls_off", `CREATE TABLE app.notes (tenant_id text, body text); GRANT SELECT ON app.notes TO palisade_app;`, (_, mine) => {
        expect(brief(mine)).toEqual(["rls-disabled app.notes"]);
      });
    });

    it("GIVEN row-level security enabled but not forced WHEN audited THEN rls-not-forced names the table", async () => {
      await planted("plant_rls_unforced", `ALTER TABLE app.good NO FORCE ROW LEVEL SECURITY;`, (_, mine) => {
        expect(brief(mine)).toEqual(["rls-not-forced app.good"]);
        expect(mine[0]!.fix).toContain("FORCE ROW LEVEL SECURITY");
      });
    });

    it("GIVEN row-level security forced but the tenant policy dropped WHEN audited THEN rls-without-policy names the table (closed to every tenant)", async () => {
      await planted("plant_no_policy", `DROP POLICY tenant_isolation ON app.good;`, (_, mine) => {
        expect(brief(mine)).toEqual(["rls-without-policy app.good"]);
        expect(mine[0]!.fix).toContain("CREATE POLICY");
      });
    });

    it("GIVEN a restrictive policy left where the permissive tenant policy was WHEN audited THEN rls-without-policy still names the table", async () => {
      await planted("plant_only_restrictive", `DROP POLICY tenant_isolation ON app.good; CREATE POLICY guard ON app.good AS RESTRICTIVE USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));`, (_, mine) => {
        expect(brief(mine)).toEqual(["rls-without-policy app.good"]);
      });
    });

    it("GIVEN a permissive policy WITH CHECK (true) WHEN audited THEN policy-admits-any-tenant names the policy", async () => {
      await planted("plant_check_true", `CREATE POLICY open_inserts ON app.good FOR INSERT WITH CHECK (true);`, (_, mine) => {
        expect(brief(mine)).toEqual(["policy-admits-any-tenant app.good policy open_inserts"]);
        expect(mine[0]!.detail).toContain("WITH CHECK (true)");
      });
    });

    it("GIVEN a permissive policy whose USING does not reference app.tenant_id WHEN audited THEN policy-admits-any-tenant names it", async () => {
      await planted("plant_qual", `CREATE POLICY any_row ON app.good FOR SELECT USING (tenant_id IS NOT NULL);`, (_, mine) => {
        expect(brief(mine)).toEqual(["policy-admits-any-tenant app.good policy any_row"]);
      });
    });

    it("GIVEN a permissive policy that ORs the tenant check with something else WHEN audited THEN it is found", async () => {
      await planted(
        "plant_or",
        `CREATE POLICY or_public ON app.good USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '') OR v > 0);`,
        (_, mine) => {
          expect(brief(mine)).toEqual(["policy-admits-any-tenant app.good policy or_public"]);
        },
      );
    });

    it("GIVEN an app role that is a superuser WHEN audited THEN app-role-superuser names the role", async () => {
      await planted("plant_su", `GRANT SELECT ON app.good TO plant_app_su;`, (_, mine) => {
        expect(brief(mine)).toEqual(["app-role-superuser plant_app_su"]);
      }, { preSql: `CREATE ROLE plant_app_su SUPERUSER NOLOGIN;`, roles: ["plant_app_su"] });
    });

    it("GIVEN an app role with BYPASSRLS WHEN audited THEN app-role-bypassrls names the role", async () => {
      await planted("plant_bypass", `GRANT SELECT ON app.good TO plant_app_bypass;`, (_, mine) => {
        expect(brief(mine)).toEqual(["app-role-bypassrls plant_app_bypass"]);
      }, { preSql: `CREATE ROLE plant_app_bypass BYPASSRLS NOLOGIN;`, roles: ["plant_app_bypass"] });
    });

    it("GIVEN an app role that owns a table WHEN audited THEN app-role-owns-table names the table", async () => {
      await planted(
        "plant_owner",
        `GRANT SELECT ON app.good TO plant_app_owner; CREATE TABLE app.scratch (x int); ALTER TABLE app.scratch OWNER TO plant_app_owner;`,
        (_, mine) => {
          expect(brief(mine)).toEqual(["app-role-owns-table app.scratch"]);
          expect(mine[0]!.detail).toContain("plant_app_owner");
        },
        { preSql: `CREATE ROLE plant_app_owner NOLOGIN;`, roles: ["plant_app_owner"] },
      );
    });

    it("GIVEN --app-role naming a login that can SET ROLE to a table owner WHEN audited THEN the owned table is found through the membership", async () => {
      await planted(
        "plant_member",
        `CREATE TABLE app.scratch (x int); ALTER TABLE app.scratch OWNER TO plant_owner_group;`,
        (r, mine) => {
          expect(r.appRoles).toEqual(["plant_login"]);
          expect(brief(mine)).toEqual(["app-role-owns-table app.scratch"]);
          expect(mine[0]!.detail).toContain("can SET ROLE to");
        },
        { preSql: `CREATE ROLE plant_owner_group NOLOGIN; CREATE ROLE plant_login LOGIN IN ROLE plant_owner_group;`, roles: ["plant_owner_group", "plant_login"], appRoles: ["plant_login"] },
      );
    });

    it("GIVEN views over a tenant table, directly and through a security_invoker view WHEN audited THEN each view without security_invoker is named and the invoker view is not", async () => {
      await planted(
        "plant_views",
        `CREATE VIEW app.all_rows AS SELECT * FROM app.good;
         CREATE VIEW app.safe WITH (security_invoker = true) AS SELECT * FROM app.good;
         CREATE VIEW app.wrapped AS SELECT * FROM app.safe;
         CREATE VIEW app.unrelated AS SELECT 1 AS one;`,
        (_, mine) => {
          expect(brief(mine)).toEqual(["view-without-security-invoker app.all_rows", "view-without-security-invoker app.wrapped"]);
          expect(mine[1]!.detail).toContain("app.good");
        },
      );
    });

    it("GIVEN a materialized view over a tenant table WHEN audited THEN it is named", async () => {
      await planted("plant_matview", `CREATE MATERIALIZED VIEW app.snapshot AS SELECT * FROM app.good;`, (_, mine) => {
        expect(brief(mine)).toEqual(["materialized-view-over-tenant-table app.snapshot"]);
      });
    });

    it("GIVEN a SECURITY DEFINER function without a pinned search_path WHEN audited THEN it is named and a pinned one is not", async () => {
      await planted(
        "plant_definer",
        `CREATE FUNCTION app.peek(t text) RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM app.good WHERE tenant_id = t';
         CREATE FUNCTION app.pinned() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS 'SELECT 1::bigint';`,
        (_, mine) => {
          expect(brief(mine)).toEqual(["security-definer-without-search-path app.peek(t text)"]);
        },
      );
    });

    it("GIVEN a database holding tenant data with CONNECT granted to PUBLIC WHEN audited THEN database-connect-public names the database", async () => {
      await planted("plant_public", `GRANT CONNECT ON DATABASE plant_public TO PUBLIC;`, (_, mine) => {
        expect(brief(mine)).toEqual(["database-connect-public plant_public"]);
      });
    });

    it("GIVEN a dedicated database with CONNECT granted to PUBLIC but no tables yet WHEN audited THEN the registry makes it count and it is named", async () => {
      await pg.sql(`GRANT CONNECT ON DATABASE tenant_globex TO PUBLIC;`);
      try {
        const r = await audit();
        expect(brief(r.findings)).toEqual(["database-connect-public tenant_globex"]);
      } finally {
        await pg.sql(`REVOKE CONNECT ON DATABASE tenant_globex FROM PUBLIC;`);
      }
    });
  });

  describe("the command", () => {
    it("GIVEN a planted weakness WHEN audit-db runs THEN it exits 1 and prints the object", async () => {
      await planted("plant_cmd", `ALTER TABLE app.good DISABLE ROW LEVEL SECURITY;`, async () => {
        expect(await auditDb(["--url", pg.url()])).toBe(1);
        expect(printed.join("\n")).toContain("rls-disabled: plant_cmd/app.good");
      });
    });

    it.each([
      [[], "--url is required"],
      [["--url", "URL", "--app-role", "no_such_role"], "no such role"],
      [["--url", "URL", "--bogus"], "Unknown option"],
    ])("GIVEN bad input %j WHEN audit-db runs THEN it exits 2 with a clear message", async (argv, message) => {
      expect(await auditDb(argv.map((a) => (a === "URL" ? pg.url() : a)))).toBe(2);
      expect(printed.join("\n")).toContain(message);
    });

    it("GIVEN a URL where no server listens WHEN audit-db runs THEN it exits 2 with psql's reason", async () => {
      expect(await auditDb(["--url", "postgresql://postgres@127.0.0.1:1/postgres"])).toBe(2);
      expect(printed.join("\n")).toMatch(/connection|refused/i);
    });
  });
});
