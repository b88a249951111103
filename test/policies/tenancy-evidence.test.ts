import { describe, expect, it } from "vitest";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut, editText, verifyDirInProcess } from "./support.js";
import { readArtifacts } from "../../stacks/output.js";
import { checkTenantIsolation } from "../../policies/verifier/tenancy.js";
import { malformedJsonFindings } from "../../policies/verifier/daemon-findings.js";

const planned = await planOnce();
const report = verifyDirInProcess(planned.dir);

describe("tenant isolation in the report, backed by the rendered SQL and OpenBao files", () => {
  it.each([
    ["acme", ["postgres-rls", "postgres-registry", "postgres-role", "openbao-credentials"]],
    ["globex", ["postgres-database", "postgres-placement", "postgres-role", "postgres-check", "postgres-rls", "openbao-credentials"]],
  ])("GIVEN the reference plan WHEN verified THEN tenant %s has evidence for each of its layers", (tenant, layers) => {
    const t = report.tenants.find((x) => x.tenant === tenant);
    expect(t?.layers.map((l) => l.layer)).toEqual(layers);
    for (const l of t!.layers) expect(l, `${tenant} ${l.layer}`).toMatchObject({ status: "evidenced" });
  });

  it("GIVEN the dedicated tenant WHEN verified THEN its database evidence is the REVOKE from PUBLIC in its own SQL file", () => {
    const db = report.tenants.find((x) => x.tenant === "globex")!.layers.find((l) => l.layer === "postgres-database")!;
    expect(db.artifact).toBe("hosts/cloud/postgres/tenants/globex.sql");
    expect(db.construct).toBe("REVOKE ALL ON DATABASE tenant_globex FROM PUBLIC; CONNECT granted to tenant_globex_app only");
  });

  it("GIVEN the reference plan WHEN the HTML report is read THEN its tenant isolation section lists both tenants", () => {
    const html = planned.text("report/index.html");
    const section = html.slice(html.indexOf('<section id="tenant-isolation">'), html.indexOf('<section id="lab-expected-vs-observed">'));
    expect(section).toContain("acme");
    expect(section).toContain("tenant_globex");
    expect(section).not.toContain("missing");
  });

  it("GIVEN the dedicated tenant's database granted to another tenant's role WHEN verified THEN the database layer is missing, naming the role", () => {
    const dir = copyOut(planned.dir, "tenancy-grant");
    editText(dir, "hosts/cloud/postgres/tenants/globex.sql", (t) => t.replace("GRANT CONNECT ON DATABASE tenant_globex TO tenant_globex_app;", "GRANT CONNECT ON DATABASE tenant_globex TO tenant_globex_app, palisade_app;"));
    const f = verifyDirInProcess(dir).findings.find((x) => x.id === "tenant-isolation:globex/postgres-database");
    expect(f?.construct).toContain("palisade_app");
  });

  it("GIVEN one dedicated table without its tenant CHECK WHEN verified THEN the check layer is missing for that table", () => {
    const dir = copyOut(planned.dir, "tenancy-check");
    editText(dir, "hosts/cloud/postgres/tenants/globex.sql", (t) => t.replace(" CHECK (tenant_id = 'globex'),", ","));
    const f = verifyDirInProcess(dir).findings.find((x) => x.id === "tenant-isolation:globex/postgres-check");
    expect(f?.construct).toBe("no CHECK (tenant_id = 'globex') on app.projects");
  });

  it("GIVEN the dedicated tenant's REVOKE removed WHEN verified THEN the layer is missing and the run fails naming the tenant", () => {
    const dir = copyOut(planned.dir, "tenancy");
    editText(dir, "hosts/cloud/postgres/tenants/globex.sql", (t) => t.replace("REVOKE ALL ON DATABASE tenant_globex FROM PUBLIC;", ""));
    const r = verifyDirInProcess(dir);
    expect(r.summary.verdict).toBe("fail");
    expect(r.findings.map((f) => f.id)).toContain("tenant-isolation:globex/postgres-database");
  });
});

describe("the tenant isolation declaration read as data, never trusted to be well formed", () => {
  const path = "hosts/cloud/postgres/tenants.json";
  const files = new Map(readArtifacts(planned.dir).map((a) => [a.path, a.content]));
  const withDeclaration = (text: string) => new Map([...files, [path, text]]);

  it("GIVEN tenants.json that is not JSON WHEN checked THEN no exception and no tenant (the JSON finding with its line is malformedJsonFindings')", () => {
    const broken = withDeclaration(files.get(path)!.replace("[", "[[,"));
    expect(checkTenantIsolation(broken)).toEqual({ tenants: [], findings: [] });
    expect(malformedJsonFindings(broken)).toEqual([expect.objectContaining({ kind: "bad-artifact", artifact: path, line: 2 })]);
  });

  it.each([
    ["an object without tenants", "{}\n", 1, /it has no list of tenants/],
    ["null", "null\n", 1, /it has no list of tenants/],
    ["a tenant whose layers is not a list", files.get(path)!.replace(/"layers": \[[^\]]*\]/, '"layers": "all"'), 0, /tenant #1 \(\w+\) its layers is not a list of strings/],
    ["a tenant that is a string", '{ "tenants": ["acme"] }\n', 1, /tenant #1 is not an object/],
  ])("GIVEN tenants.json holding %s WHEN checked THEN one bad-artifact naming the file and the line, and no exception", (_n, text, line, message) => {
    const r = checkTenantIsolation(withDeclaration(text));
    expect(r.tenants).toEqual([]);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ kind: "bad-artifact", severity: "violation", artifact: path });
    expect(f.message).toMatch(message);
    // The line: the file's first, or the line of the tenant that is not one.
    expect(f.line).toBe(line || text.split("\n").findIndex((l) => l.includes('"tenant": ')) + 1);
  });
});
