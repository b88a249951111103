import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { parseSite, type Site } from "../../core/index.js";
import { auditDatabase, judge, psqlClient, type Finding } from "../../policies/tenancy/index.js";
import { simulateServer } from "../../policies/tenancy/effect.js";
import { SERVER_ENTRY } from "../../policies/verifier/tenancy-effect.js";
import { readArtifacts } from "../../stacks/output.js";
import { describeRoot } from "../helpers/root.js";
import { startPostgres } from "../helpers/postgres.js";
import { copyOut } from "../policies/support.js";
import { planSite, siteFiles } from "../policies/planned-sites.js";
import { SQL_MUTATIONS } from "../policies/tenancy-mutations.js";
import { applySqlFile } from "./support.js";

/*
 * The verifier's static reading of the tenancy SQL (policies/tenancy/effect.ts) against the real
 * thing: each server's rendered entry file, clean and with each mutation, is applied to a scratch
 * PostgreSQL 15 with psql, and `audit-db` inspects the result. The simulation, judged by the same
 * judge(), must find exactly what the live audit finds, or flag the SQL as not understood (it then
 * fails closed): never a live finding that the verifier would miss.
 */

const key = (f: Finding) => `${f.kind} ${f.database ?? "-"} ${f.kind === "security-definer-without-search-path" ? "(function)" : f.object}`;

describeRoot("the tenancy SQL's simulated effect agrees with a real PostgreSQL 15", () => {
  let planned: string;
  let site: Site;
  beforeAll(async () => {
    planned = await planSite(siteFiles()[0]!.file);
    site = parseSite(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
  }, 120_000);

  const cases = [{ name: "the rendered SQL", edit: () => null as { file: string; append: string } | null }, ...SQL_MUTATIONS.map((m) => ({ name: m.name, edit: m.edit }))];

  it.each(cases.map((c) => [c.name, c] as const))("GIVEN %s WHEN applied to PostgreSQL 15 and audited THEN the verifier's simulation finds the same (or refuses the SQL)", async (_n, c) => {
    const dir = copyOut(planned, "effect");
    const e = c.edit(site);
    if (e) appendFileSync(join(dir, e.file), e.append);
    const files = new Map(readArtifacts(dir).map((a) => [a.path, a.content]));
    let shown = 0;
    for (const server of site.postgres.servers) {
      const entry = SERVER_ENTRY(site, server);
      const sim = simulateServer(files, entry);
      const simulated = judge(sim.cluster, sim.databases).findings.map(key).sort();
      const pg = await startPostgres();
      try {
        await applySqlFile(pg, join(dir, entry));
        const live = (await auditDatabase(psqlClient(pg.url()))).findings.map(key).sort();
        if (sim.unmodelled.length > 0) {
          // Refused: the verifier fails on this SQL whatever the server would do.
          expect(e, `the clean SQL must be understood: ${JSON.stringify(sim.unmodelled)}`).not.toBeNull();
        } else {
          expect(simulated, `${server.id}: simulation vs live`).toEqual(live);
        }
        shown += live.length + sim.unmodelled.length;
      } finally {
        await pg.stop();
      }
    }
    // Each mutation weakens isolation on a real server (or is refused): a mutation that changes nothing proves nothing.
    if (e) expect(shown).toBeGreaterThan(0);
  }, 120_000);
});
