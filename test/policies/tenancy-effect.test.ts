import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { openbaoSite, postgresDir, postgresDirOf } from "../../core/index.js";
import { serverFor } from "../../policies/tenancy/names.js";
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
    const site = siteOf(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    rmSync(join(dir, `${postgresDir(openbaoSite(site).id)}/tenants.json`));
    appendFileSync(join(dir, `${postgresDirOf(site, site.postgres.servers[0]!)}/bootstrap.sql`), "\\connect palisade\nALTER TABLE app.projects NO FORCE ROW LEVEL SECURITY;\n");
    expect(problemLines(verifyDirInProcess(dir)).some((l) => /rls-not-forced/.test(l))).toBe(true);
  });

  it("GIVEN a tenant's SQL file emptied WHEN verified THEN the site's tenant is missing its database or registry row", () => {
    const site = siteOf(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    const t = site.tenants[0];
    if (!t) return;
    const dir = copyOut(planned);
    const path = join(dir, `${postgresDirOf(site, serverFor(site, t))}/tenants/${t.id}.sql`);
    rmSync(path);
    appendFileSync(path, "-- emptied\n");
    expect(problemLines(verifyDirInProcess(dir)).some((l) => new RegExp(`tenant ${t.id} .*(not created|not registered)`).test(l))).toBe(true);
  });

  it("GIVEN a server's entry file moved under another host's directory WHEN verified THEN exit 1: misplaced, and its site's entry is not rendered", () => {
    const site = siteOf(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    const server = site.postgres.servers[0]!;
    const entry = `${postgresDirOf(site, server)}/servers/${server.id}.sql`;
    const moved = `hosts/edge/postgres/servers/${server.id}.sql`;
    const dir = copyOut(planned);
    mkdirSync(dirname(join(dir, moved)), { recursive: true });
    renameSync(join(dir, entry), join(dir, moved));
    const lines = problemLines(verifyDirInProcess(dir));
    expect(lines.some((l) => l.includes(`${moved} is a file of server ${server.id}`) && l.includes(`expected ${entry}`)), lines.join("\n")).toBe(true);
    expect(lines.some((l) => l.includes(`${entry} is not rendered`)), lines.join("\n")).toBe(true);
  });
});
