import { describe, expect, it } from "vitest";
import { loadSite, siteOfServer } from "../../core/index.js";
import {
  PLATFORM_ROLES,
  TENANT_PREDICATE,
  TenantInputError,
  bootstrapSql,
  renderTenancy,
  serverFor,
  tenantDatabase,
  tenantRoles,
  tenantSql,
  tenantTableSql,
} from "../../policies/tenancy/index.js";
import { REFERENCE_SITE } from "../helpers/cli.js";
import { siteWithTenants } from "./support.js";
import { siteFiles } from "../policies/planned-sites.js";

const site = loadSite(REFERENCE_SITE);
/** SQL without its -- comments (which explain, in words, that there are no passwords). */
const code = (sql: string) => sql.replace(/--[^\n]*/g, "");
const byPath = (path: string) => renderTenancy(site).find((a) => a.path === path)?.content ?? "";

describe("tenantTableSql", () => {
  const sql = tenantTableSql("app.projects");

  it("GIVEN a tenant table WHEN rendered THEN it enables and FORCES row-level security", () => {
    expect(sql).toContain("ALTER TABLE app.projects ENABLE ROW LEVEL SECURITY;");
    expect(sql).toContain("ALTER TABLE app.projects FORCE ROW LEVEL SECURITY;");
    expect(sql).not.toContain("NO FORCE");
    expect(sql).not.toContain("DISABLE");
  });

  it("GIVEN a tenant table WHEN rendered THEN the one policy checks reads (USING) and writes (WITH CHECK) against NULLIF(current_setting('app.tenant_id', true), '')", () => {
    expect(TENANT_PREDICATE).toBe("tenant_id = NULLIF(current_setting('app.tenant_id', true), '')");
    expect(sql).toContain(`USING (${TENANT_PREDICATE})`);
    expect(sql).toContain(`WITH CHECK (${TENANT_PREDICATE})`);
    expect(sql.match(/CREATE POLICY/g)).toHaveLength(1);
    expect(sql).not.toMatch(/USING \(true\)|WITH CHECK \(true\)|AS RESTRICTIVE/);
  });

  it("GIVEN a tenant table WHEN rendered THEN only the app role gets DML, PUBLIC nothing", () => {
    expect(sql).toContain("REVOKE ALL ON app.projects FROM PUBLIC;");
    expect(sql).toContain("GRANT SELECT, INSERT, UPDATE, DELETE ON app.projects TO palisade_app;");
    expect(tenantTableSql("app.x", { appRole: "tenant_globex_app" })).toContain("TO tenant_globex_app;");
    expect(sql).not.toMatch(/GRANT ALL|TRUNCATE|REFERENCES|TRIGGER/);
  });

  it("GIVEN a name that is not schema-qualified WHEN rendered THEN it is refused", () => {
    expect(() => tenantTableSql("projects")).toThrow(TenantInputError);
    expect(() => tenantTableSql("a.b.c")).toThrow(/schema-qualified/);
  });

  it("GIVEN an odd identifier WHEN rendered THEN it is quoted, not spliced", () => {
    expect(tenantTableSql('app.x"; DROP TABLE y; --')).toContain('app."x""; DROP TABLE y; --"');
  });
});

describe("bootstrapSql", () => {
  const sql = bootstrapSql();

  it("GIVEN the bootstrap WHEN rendered THEN the app role is NOSUPERUSER NOBYPASSRLS NOLOGIN and owns nothing (no OWNER TO it)", () => {
    expect(sql).toContain(`ALTER ROLE ${PLATFORM_ROLES.app} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;`);
    expect(sql).not.toMatch(/OWNER TO palisade_app|AUTHORIZATION palisade_app/);
  });

  it("GIVEN the bootstrap WHEN rendered THEN the provisioner is CREATEDB CREATEROLE and never SUPERUSER or BYPASSRLS", () => {
    expect(sql).toContain(`ALTER ROLE ${PLATFORM_ROLES.provisioner} LOGIN NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;`);
    expect(sql.replaceAll("NOSUPERUSER", "")).not.toContain("SUPERUSER");
    expect(sql.replaceAll("NOBYPASSRLS", "")).not.toContain("BYPASSRLS");
  });

  it("GIVEN the bootstrap WHEN rendered THEN the shared database is owned by the owner role and CONNECT is revoked from PUBLIC", () => {
    expect(sql).toContain("CREATE DATABASE palisade OWNER palisade_owner");
    expect(sql).toContain("REVOKE ALL ON DATABASE palisade FROM PUBLIC;");
    expect(sql).toContain("SET LOCAL ROLE palisade_owner;");
  });

  it("GIVEN the bootstrap WHEN rendered THEN no password is set: only PASSWORD NULL at creation, never on re-apply", () => {
    const passwords = code(sql).match(/PASSWORD[^;\n]*;?/g) ?? [];
    expect(passwords.length).toBe(2);
    for (const p of passwords) expect(p).toBe("PASSWORD NULL;");
    expect(code(sql)).not.toMatch(/ALTER ROLE [^;]*PASSWORD/);
  });

  it("GIVEN the bootstrap WHEN rendered THEN the example tenant tables are under the tenant policy", () => {
    for (const t of ["app.projects", "app.invoices"]) {
      expect(sql).toContain(`ALTER TABLE ${t} FORCE ROW LEVEL SECURITY;`);
      expect(sql).toContain(`CREATE POLICY tenant_isolation ON ${t}`);
    }
    expect(sql).toContain("FOREIGN KEY (tenant_id, project_id) REFERENCES app.projects (tenant_id, id)");
  });

  it("GIVEN the same input WHEN rendered twice THEN the text is identical", () => {
    expect(bootstrapSql()).toBe(sql);
    expect(renderTenancy(site)).toEqual(renderTenancy(site));
  });
});

describe("dedicated tenants", () => {
  const globex = site.tenants.find((t) => t.id === "globex")!;
  const sql = tenantSql(globex, "pg-us (region us-east)");

  it("GIVEN a dedicated tenant WHEN rendered THEN it gets its own database and roles, and CONNECT is revoked from PUBLIC and granted to its app role only", () => {
    expect(tenantDatabase("globex")).toBe("tenant_globex");
    expect(tenantRoles("globex")).toEqual({ owner: "tenant_globex_owner", app: "tenant_globex_app" });
    expect(sql).toContain("CREATE DATABASE tenant_globex");
    expect(sql).toContain("ALTER DATABASE tenant_globex OWNER TO tenant_globex_owner;");
    expect(sql).toContain("REVOKE ALL ON DATABASE tenant_globex FROM PUBLIC;");
    expect(sql).toContain("GRANT CONNECT ON DATABASE tenant_globex TO tenant_globex_app;");
    expect(sql).not.toMatch(/GRANT CONNECT ON DATABASE tenant_globex TO [^;]*(PUBLIC|palisade_app)/);
    expect(sql).toContain("CHECK (tenant_id = 'globex')");
  });

  it("GIVEN a dedicated tenant WHEN placed THEN its region chooses the server, with no fallback", () => {
    expect(serverFor(site, globex).id).toBe("pg-us");
    expect(serverFor(site, site.tenants.find((t) => t.id === "acme")!).id).toBe("pg-main");
    expect(() => serverFor(site, { id: "x", name: "X", mode: "dedicated", region: "mars" })).toThrow(/no PostgreSQL server serves that region/);
  });

  it("GIVEN an invalid tenant id WHEN rendered THEN it is refused", () => {
    expect(() => tenantDatabase("Bad_Id")).toThrow(TenantInputError);
    expect(() => tenantSql({ id: "x'; DROP", name: "n", mode: "shared" }, "s")).toThrow(TenantInputError);
  });
});

describe("renderTenancy", () => {
  it("GIVEN the reference site WHEN rendered THEN it writes bootstrap, one file per tenant, one entry per server and the declared isolation under hosts/cloud/postgres/", () => {
    expect(renderTenancy(site).map((a) => a.path)).toEqual([
      "hosts/cloud/postgres/bootstrap.sql",
      "hosts/cloud/postgres/servers/pg-main.init.sh",
      "hosts/cloud/postgres/servers/pg-main.sql",
      "hosts/cloud/postgres/servers/pg-us.init.sh",
      "hosts/cloud/postgres/servers/pg-us.sql",
      "hosts/cloud/postgres/tenants.json",
      "hosts/cloud/postgres/tenants/acme.sql",
      "hosts/cloud/postgres/tenants/globex.sql",
    ]);
  });

  it.each(["pg-main", "pg-us"])("GIVEN server %s WHEN rendered THEN its init hook runs the server's entry file at its real path (so \\ir resolves), and is executable", (server) => {
    const hook = renderTenancy(site).find((a) => a.path === `hosts/cloud/postgres/servers/${server}.init.sh`)!;
    expect(hook.mode).toBe(0o755);
    expect(hook.content).toContain(`-f /etc/palisade/postgres/servers/${server}.sql`);
    expect(hook.content).toContain("ON_ERROR_STOP=1");
  });

  it("GIVEN tenants in two regions WHEN rendered THEN each server's entry includes exactly its own tenants", () => {
    expect(byPath("hosts/cloud/postgres/servers/pg-main.sql")).toContain("\\ir ../tenants/acme.sql");
    expect(byPath("hosts/cloud/postgres/servers/pg-main.sql")).not.toContain("globex");
    expect(byPath("hosts/cloud/postgres/servers/pg-us.sql")).toContain("\\ir ../tenants/globex.sql");
    expect(byPath("hosts/cloud/postgres/servers/pg-us.sql")).not.toContain("acme");
  });

  it("GIVEN any rendered artifact WHEN scanned THEN it carries no password, key or secret value", () => {
    const { site: many } = siteWithTenants([
      { id: "a", name: "A", mode: "shared" },
      { id: "b-2", name: "B", mode: "dedicated", region: "eu-west" },
    ]);
    for (const a of [...renderTenancy(site), ...renderTenancy(many)]) {
      expect(code(a.content).replaceAll("PASSWORD NULL", "")).not.toMatch(/PASSWORD|password\s*=|secret|BEGIN [A-Z ]*PRIVATE KEY/i);
    }
  });
});

/* Every example: each PostgreSQL file under the site that runs it (hosts/<site>/postgres), the one-site form under hosts/cloud. */
describe.each(siteFiles())("renderTenancy's paths on %s", ({ file }) => {
  const s = loadSite(file);
  const paths = renderTenancy(s).map((a) => a.path);
  it("GIVEN the site WHEN rendered THEN each server's files, its tenants' SQL and a bootstrap are under its site's directory, the declaration under OpenBao's site, nothing under a host that is not a site", () => {
    const siteIds = new Set(s.sites.map((x) => x.id));
    for (const p of paths) expect(siteIds.has(p.split("/")[1]!), p).toBe(true);
    for (const server of s.postgres.servers) {
      const dir = `hosts/${siteOfServer(s, server).id}/postgres`;
      expect(paths, server.id).toEqual(expect.arrayContaining([`${dir}/servers/${server.id}.sql`, `${dir}/servers/${server.id}.init.sh`, `${dir}/bootstrap.sql`]));
      for (const other of s.sites.filter((x) => x.id !== siteOfServer(s, server).id)) expect(paths.filter((p) => p.startsWith(`hosts/${other.id}/postgres/servers/${server.id}.`)), server.id).toEqual([]);
    }
    for (const t of s.tenants) expect(paths, t.id).toContain(`hosts/${siteOfServer(s, serverFor(s, t)).id}/postgres/tenants/${t.id}.sql`);
    expect(paths).toContain(`hosts/${s.sites[0]!.id}/postgres/tenants.json`);
    if (s.sites.length === 1 && s.sites[0]!.path === "cloud") expect(paths.every((p) => p.startsWith("hosts/cloud/postgres/"))).toBe(true);
  });
});
