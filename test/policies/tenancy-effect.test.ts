import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { copyOut, problemLines, verifyDirInProcess } from "./support.js";
import { planSite, siteFiles } from "./planned-sites.js";
import { SQL_MUTATIONS, siteOf } from "./tenancy-mutations.js";

/*
 * Class 8 of issue 12: tenancy by effect, not by statement. Each mutation changes what the rendered
 * SQL leaves behind; verify must exit 1 with a tenant-isolation finding naming the file and line.
 * The claims file (tenants.json) is not trusted: deleting it deletes no check.
 */

describe.each(siteFiles())("the tenancy of %s, by effect", ({ file }) => {
  let planned: string;

  it("GIVEN the plan WHEN verified THEN the SQL's effect is isolated (no tenant-isolation finding)", async () => {
    planned = await planSite(file);
    expect(problemLines(verifyDirInProcess(planned)).filter((l) => l.startsWith("tenant-isolation"))).toEqual([]);
  });

  it.each(SQL_MUTATIONS.map((m) => [m.name, m] as const))("GIVEN '%s' WHEN palisade verify runs THEN it exits 1 naming the artifact and line", async (_n, m) => {
    const site = siteOf(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    const e = m.edit(site);
    if (!e) return; // the site has no tenant of the kind this mutation needs
    const dir = copyOut(planned);
    appendFileSync(join(dir, e.file), e.append);
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code, r.stdout).toBe(1);
    const lines = problemLines(verifyDirInProcess(dir)).filter((l) => l.startsWith("tenant-isolation"));
    expect(lines.some((l) => m.expected.test(l) && /\.sql line \d+\)/.test(l)), `expected ${m.expected} among:\n${lines.join("\n")}`).toBe(true);
  });

  it("GIVEN tenants.json deleted and a later NO FORCE WHEN verified THEN the check still runs (claims are not trusted)", () => {
    const dir = copyOut(planned);
    rmSync(join(dir, "hosts/cloud/postgres/tenants.json"));
    appendFileSync(join(dir, "hosts/cloud/postgres/bootstrap.sql"), "\\connect palisade\nALTER TABLE app.projects NO FORCE ROW LEVEL SECURITY;\n");
    expect(problemLines(verifyDirInProcess(dir)).some((l) => /rls-not-forced/.test(l))).toBe(true);
  });

  it("GIVEN a tenant's SQL file emptied WHEN verified THEN the site's tenant is missing its database or registry row", () => {
    const site = siteOf(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    const t = site.tenants[0];
    if (!t) return;
    const dir = copyOut(planned);
    const path = join(dir, `hosts/cloud/postgres/tenants/${t.id}.sql`);
    rmSync(path);
    appendFileSync(path, "-- emptied\n");
    expect(problemLines(verifyDirInProcess(dir)).some((l) => new RegExp(`tenant ${t.id} .*(not created|not registered)`).test(l))).toBe(true);
  });
});
