import { describe, expect, it } from "vitest";
import { isTenantScoped, judge, type ClusterFacts, type DatabaseFacts, type PolicyFacts } from "../../policies/tenancy/index.js";

/* The audit's judgement, without a server: the facts are what the catalog queries return. */

describe("isTenantScoped (expressions as PostgreSQL deparses them)", () => {
  it.each([
    ["(tenant_id = NULLIF(current_setting('app.tenant_id'::text, true), ''::text))", true],
    ["(NULLIF(current_setting('app.tenant_id'::text, true), ''::text) = tenant_id)", true],
    ["(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)", true],
    ["(tenant_id = current_setting('app.tenant_id'::text))", true],
    ["((tenant_id = NULLIF(current_setting('app.tenant_id'::text, true), ''::text)) AND (v > 0))", true],
    ["true", false],
    [null, false],
    ["(tenant_id IS NOT NULL)", false],
    ["(tenant_id = current_user)", false],
    ["(tenant_id <> NULLIF(current_setting('app.tenant_id'::text, true), ''::text))", false],
    ["((tenant_id = NULLIF(current_setting('app.tenant_id'::text, true), ''::text)) OR (v > 0))", false],
    ["(tenant_id = current_setting('app.other'::text))", false],
    ["(current_setting('app.tenant_id'::text) IS NOT NULL)", false],
  ])("GIVEN %s THEN tenant-scoped is %s", (expr, expected) => {
    expect(isTenantScoped(expr)).toBe(expected);
  });

  it("GIVEN OR inside a string literal WHEN judged THEN it is not mistaken for a widening OR", () => {
    expect(isTenantScoped("((tenant_id = current_setting('app.tenant_id'::text)) AND (name <> 'A OR B'::text))")).toBe(true);
  });
});

const cluster: ClusterFacts = {
  roles: [{ name: "app", superuser: false, bypassrls: false, memberOf: ["app"] }],
  databases: [{ name: "db", allowConn: true, publicConnect: false, canConnect: true }],
};
const good = "(tenant_id = NULLIF(current_setting('app.tenant_id'::text, true), ''::text))";
const policy = (p: Partial<PolicyFacts>): PolicyFacts => ({ table: "app.t", name: "p", permissive: true, cmd: "*", roles: ["public"], using: good, check: good, ...p });
const db = (policies: PolicyFacts[]): DatabaseFacts => ({
  database: "db",
  hasRegistry: false,
  tables: [{ name: "app.t", owner: "owner", rls: true, forced: true }],
  policies,
  grantees: ["app"],
  views: [],
  functions: [],
  owned: [{ name: "app.t", kind: "r", owner: "owner" }],
});
const kinds = (policies: PolicyFacts[]) => judge(cluster, [db(policies)]).findings.map((f) => `${f.kind} ${f.object}`);

describe("judge: policies", () => {
  it("GIVEN only the tenant policy WHEN judged THEN there is no finding", () => {
    expect(kinds([policy({})])).toEqual([]);
  });

  it("GIVEN an UPDATE policy without WITH CHECK WHEN judged THEN its USING (the tenant check) also decides new rows", () => {
    expect(kinds([policy({ cmd: "w", check: null })])).toEqual([]);
  });

  it("GIVEN an INSERT policy without WITH CHECK WHEN judged THEN it admits no row (PostgreSQL skips it) and is not a finding", () => {
    expect(kinds([policy({ name: "ins", cmd: "a", using: null, check: null })])).toEqual([]);
  });

  it("GIVEN an INSERT policy WITH CHECK (true) WHEN judged THEN it admits any tenant", () => {
    expect(kinds([policy({ name: "ins", cmd: "a", using: null, check: "true" })])).toEqual(["policy-admits-any-tenant app.t policy ins"]);
  });

  it("GIVEN a wide permissive policy next to a restrictive tenant policy for ALL and PUBLIC WHEN judged THEN the restrictive one bounds it and there is no finding", () => {
    expect(kinds([policy({ name: "wide", using: "true", check: "true" }), policy({ name: "guard", permissive: false })])).toEqual([]);
  });

  it("GIVEN a restrictive policy limited to one role WHEN judged THEN it does not excuse a wide permissive policy", () => {
    expect(kinds([policy({ name: "wide", using: "true", check: "true" }), policy({ name: "guard", permissive: false, roles: ["app"] })])).toEqual([
      "policy-admits-any-tenant app.t policy wide",
    ]);
  });
});

describe("judge: roles", () => {
  it("GIVEN an app role that can SET ROLE to a BYPASSRLS role WHEN judged THEN the escalation is found", () => {
    const c: ClusterFacts = {
      ...cluster,
      roles: [
        { name: "app", superuser: false, bypassrls: false, memberOf: ["app", "etl"] },
        { name: "etl", superuser: false, bypassrls: true, memberOf: ["etl"] },
      ],
    };
    const f = judge(c, [db([policy({})])]).findings;
    expect(f.map((x) => `${x.kind} ${x.object}`)).toEqual(["app-role-bypassrls app"]);
    expect(f[0]!.detail).toContain("etl");
  });

  it("GIVEN an owner role that is not granted access WHEN judged THEN it is not treated as an app role", () => {
    expect(judge(cluster, [db([policy({})])]).appRoles).toEqual(["app"]);
  });
});

describe("the psql client's URL handling", () => {
  it("GIVEN a URL with a password WHEN prepared for psql THEN the password moves out of the argument and out of messages", async () => {
    const { splitPassword, redactUrl } = await import("../../policies/tenancy/index.js");
    expect(splitPassword("postgresql://prov:s%40cret@db:5432/palisade")).toEqual({ url: "postgresql://prov@db:5432/palisade", password: "s@cret" });
    expect(splitPassword("postgresql://prov@db/palisade?password=x&sslmode=require")).toEqual({ url: "postgresql://prov@db/palisade?sslmode=require", password: "x" });
    expect(splitPassword("postgresql:///palisade?host=/tmp")).toEqual({ url: "postgresql:///palisade?host=/tmp" });
    expect(redactUrl("postgresql://prov:secret@db/palisade")).toBe("postgresql://prov:***@db/palisade");
  });
});
