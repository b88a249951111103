import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { parseSite, type Artifact, type Site, type Tenant } from "../../core/index.js";
import { referenceData } from "../helpers/sites.js";
import type { PgCluster } from "../helpers/postgres.js";

/** The reference site with other tenants, as YAML text and as a parsed Site. */
export function siteWithTenants(tenants: Tenant[]): { text: string; site: Site } {
  const data = referenceData();
  data.tenants = tenants;
  const text = stringify(data);
  return { text, site: parseSite(text, "test-site.yaml") };
}

/** A site file in a temp dir; returns its path and a cleanup. */
export function writeSiteFile(text: string): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "palisade-site-"));
  const file = join(dir, "palisade.yaml");
  writeFileSync(file, text);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes artifacts into a fresh temp dir (as `plan` would into out/). */
export function writeArtifacts(artifacts: readonly Artifact[]): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "palisade-out-"));
  for (const a of artifacts) {
    mkdirSync(dirname(join(dir, a.path)), { recursive: true });
    writeFileSync(join(dir, a.path), a.content, { mode: a.mode ?? 0o644 });
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Applies a rendered SQL entry file as the superuser, exactly as an operator would with psql -f. */
export async function applySqlFile(pg: PgCluster, file: string): Promise<void> {
  await pg.sql(`\\i ${file}\n`);
}

/** Fills in the templates of an OpenBao creation statement, as OpenBao does when it issues a login. */
export function issueLoginSql(statements: readonly string[], name: string): string {
  const expiration = new Date(Date.now() + 3600_000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "+00");
  return statements
    .map((s) => s.replaceAll("{{name}}", name).replaceAll("{{password}}", `pw-${name}-not-a-secret`).replaceAll("{{expiration}}", expiration))
    .join("\n");
}

/** A tiny seeded PRNG (mulberry32), so a randomized test can be replayed from its seed: the fuzz generator's one. */
export { rng as prng } from "../../scripts/nft-fuzz/generate.js";
