import { openbaoDir, postgresDir } from "../../core/index.js";
import type { Intent } from "../intent.js";
import type { TenantIsolationRow } from "../tenancy/report.js";
import type { Finding } from "./report-model.js";

/*
 * Tenant isolation, checked on the artifacts: the declared isolation of each tenant
 * (hosts/<OpenBao's site>/postgres/tenants.json, rendered by plan) is only a claim; each of its layers
 * must be backed by the statement that implements it in the rendered SQL or OpenBao files.
 * A layer without evidence is a violation. (`palisade audit-db` checks a live database.)
 */

/**
 * Where the files are: a server's, in the directory holding its entry file (`hosts/<site>/postgres/servers/<id>.sql`;
 * whether that is its site is checked with the site, in tenancy-effect.ts), else with OpenBao's site, from the intent.
 */
interface Dirs {
  readonly server: (serverId: string) => string;
  readonly openbao: string;
  readonly declaration: string;
}

function dirsOf(files: ReadonlyMap<string, string>, intent: Pick<Intent, "peers"> | undefined): Dirs {
  const openbaoHost = intent?.peers.find((p) => p.id === "openbao")?.host ?? "cloud";
  const server = (id: string) => {
    const entry = [...files.keys()].sort().find((p) => p.startsWith("hosts/") && p.endsWith(`/postgres/servers/${id}.sql`));
    return entry ? entry.slice(0, entry.length - `/servers/${id}.sql`.length) : postgresDir(openbaoHost);
  };
  return { server, openbao: openbaoDir(openbaoHost), declaration: `${postgresDir(openbaoHost)}/tenants.json` };
}

export interface TenantLayerEvidence {
  /** Layer name (`postgres-rls`, `postgres-database`, …) and the claim made for it. */
  readonly layer: string;
  readonly claim: string;
  readonly status: "evidenced" | "missing";
  readonly artifact?: string;
  /** The statement found, or what was looked for and not found. */
  readonly construct: string;
}
/** A tenant as declared, with each declared layer replaced by its evidence in the artifacts. */
export interface TenantRecord extends Omit<TenantIsolationRow, "layers"> {
  readonly layers: readonly TenantLayerEvidence[];
}

const norm = (sql: string) => sql.replace(/\s+/g, " ");

/** Tables created in a SQL file that carry a tenant_id column. */
function tenantTables(sql: string): string[] {
  const out: string[] = [];
  for (const m of sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([\w.]+) \(([\s\S]*?)\n\);/g)) {
    if (/\btenant_id\b/.test(m[2]!)) out.push(m[1]!);
  }
  return out;
}

function rlsEvidence(file: string, sql: string): Omit<TenantLayerEvidence, "layer" | "claim"> {
  const text = norm(sql);
  const tables = tenantTables(sql);
  if (tables.length === 0) return { status: "missing", artifact: file, construct: "no tenant-scoped table (with a tenant_id column) is created here" };
  for (const table of tables) {
    const t = table.replace(/\./g, "\\.");
    const enabled = new RegExp(`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`).test(text);
    const forced = new RegExp(`ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`).test(text);
    const policy = new RegExp(`CREATE POLICY \\w+ ON ${t} [^;]*USING \\(tenant_id = NULLIF\\(current_setting\\('app\\.tenant_id', true\\), ''\\)\\)[^;]*WITH CHECK \\(tenant_id = NULLIF\\(current_setting\\('app\\.tenant_id', true\\), ''\\)\\)`).test(text);
    if (!enabled || !forced || !policy) {
      const lacking = [!enabled && "ENABLE ROW LEVEL SECURITY", !forced && "FORCE ROW LEVEL SECURITY", !policy && "a policy USING and WITH CHECK tenant_id = current_setting('app.tenant_id')"].filter(Boolean).join(", ");
      return { status: "missing", artifact: file, construct: `${table}: no ${lacking}` };
    }
  }
  return { status: "evidenced", artifact: file, construct: `ENABLE + FORCE ROW LEVEL SECURITY and a tenant_id policy (USING and WITH CHECK) on ${tables.join(", ")}` };
}

function find(files: ReadonlyMap<string, string>, file: string, pattern: RegExp, what: string): Omit<TenantLayerEvidence, "layer" | "claim"> {
  const text = files.get(file);
  if (text === undefined) return { status: "missing", artifact: file, construct: `${file} is not rendered (looked for ${what})` };
  const m = pattern.exec(norm(text));
  return m ? { status: "evidenced", artifact: file, construct: m[0].trim() } : { status: "missing", artifact: file, construct: `not found: ${what}` };
}

function evidenceFor(files: ReadonlyMap<string, string>, t: TenantIsolationRow, layer: string, dirs: Dirs): Omit<TenantLayerEvidence, "layer" | "claim"> {
  const SQL_DIR = dirs.server(t.server.split(" ")[0]!);
  const tenantFile = `${SQL_DIR}/tenants/${t.tenant}.sql`;
  const bootstrap = `${SQL_DIR}/bootstrap.sql`;
  const db = t.database.replace(/\W/g, "\\$&");
  const appRole = t.roles[1] ?? "";
  switch (layer) {
    case "postgres-rls": {
      const file = t.mode === "dedicated" ? tenantFile : bootstrap;
      const sql = files.get(file);
      return sql === undefined ? { status: "missing", artifact: file, construct: `${file} is not rendered` } : rlsEvidence(file, sql);
    }
    case "postgres-database": {
      const revoked = find(files, tenantFile, new RegExp(`REVOKE (ALL|CONNECT) ON DATABASE ${db} FROM PUBLIC`), `REVOKE CONNECT ON DATABASE ${t.database} FROM PUBLIC`);
      if (revoked.status === "missing") return revoked;
      // Every grant on the database goes to the tenant's own app role, and to nobody else.
      const grantees = [...norm(files.get(tenantFile) ?? "").matchAll(new RegExp(`GRANT [^;]* ON DATABASE ${db} TO ([^;]+);`, "g"))].flatMap((m) => m[1]!.split(",").map((g) => g.trim()));
      const others = grantees.filter((g) => g !== appRole);
      if (others.length) return { status: "missing", artifact: tenantFile, construct: `access to ${t.database} is granted to ${others.join(", ")} besides ${appRole}` };
      return grantees.length ? { ...revoked, construct: `${revoked.construct}; CONNECT granted to ${appRole} only` } : revoked;
    }
    case "postgres-role":
      return find(
        files,
        t.mode === "dedicated" ? tenantFile : bootstrap,
        new RegExp(`ALTER ROLE ${appRole.replace(/\W/g, "\\$&")} [^;]*NOSUPERUSER[^;]*NOBYPASSRLS`),
        `ALTER ROLE ${appRole} … NOSUPERUSER … NOBYPASSRLS`,
      );
    case "postgres-check": {
      // On every tenant-scoped table of the tenant's file, not just somewhere in it.
      const sql = files.get(tenantFile);
      if (sql === undefined) return { status: "missing", artifact: tenantFile, construct: `${tenantFile} is not rendered` };
      const check = `CHECK (tenant_id = '${t.tenant}')`;
      const tables = [...sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([\w.]+) \(([\s\S]*?)\n\);/g)].filter((m) => /\btenant_id\b/.test(m[2]!));
      const lacking = tables.filter((m) => !norm(m[2]!).includes(check)).map((m) => m[1]!);
      if (tables.length === 0 || lacking.length) return { status: "missing", artifact: tenantFile, construct: tables.length ? `no ${check} on ${lacking.join(", ")}` : "no tenant-scoped table" };
      return { status: "evidenced", artifact: tenantFile, construct: `${check} on ${tables.map((m) => m[1]).join(", ")}` };
    }
    case "postgres-registry":
      return find(files, bootstrap, /REFERENCES palisade\.tenants ?\(id\)/, "tenant_id REFERENCES palisade.tenants (id)");
    case "postgres-placement": {
      const serverId = t.server.split(" ")[0]!;
      return find(files, `${SQL_DIR}/servers/${serverId}.sql`, new RegExp(`\\\\ir \\.\\./tenants/${t.tenant}\\.sql`), `\\ir ../tenants/${t.tenant}.sql on server ${serverId}`);
    }
    case "openbao-credentials": {
      const name = t.openbaoPaths[0]?.split("/").pop() ?? `tenant-${t.tenant}`;
      return find(files, `${dirs.openbao}/database/roles/${name}.json`, /VALID UNTIL '\{\{expiration\}\}'/, "a creation statement with VALID UNTIL '{{expiration}}'");
    }
    default:
      return { status: "missing", construct: `no check is known for layer ${layer}: the verifier does not guess` };
  }
}

const STRINGS = ["tenant", "mode", "database", "server"] as const;
const LISTS = ["roles", "openbaoPaths", "layers"] as const;

/**
 * The declaration as the verifier reads it, or why it cannot be read: JSON that does not parse is
 * already a finding with its line (malformedJsonFindings, for every JSON file a host reads), so none
 * is added here; JSON of another shape is one finding naming the file and the first row (or line)
 * that is not a tenant. Never an exception: the report must say what is wrong with the file.
 */
function readDeclaration(path: string, text: string): { rows: TenantIsolationRow[] } | { findings: Finding[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { findings: [] };
  }
  const bad = (line: number, what: string): { findings: Finding[] } => ({
    findings: [{ id: `bad-artifact:${path}`, kind: "bad-artifact", severity: "violation", subject: path, message: `cannot read ${path}: ${what}; expected {"tenants": [{${[...STRINGS, ...LISTS].join(", ")}}, ...]} as plan writes it (re-run palisade plan)`, layer: "postgres", artifact: path, line }],
  });
  const rows = (value as { tenants?: unknown } | null)?.tenants;
  if (typeof value !== "object" || value === null || !Array.isArray(rows)) return bad(1, "it has no list of tenants");
  for (const [i, row] of rows.entries()) {
    const r = row as Record<string, unknown> | null;
    const wrong = r === null || typeof r !== "object" ? "is not an object" : [...STRINGS.filter((k) => typeof r[k] !== "string").map((k) => `its ${k} is not a string`), ...LISTS.filter((k) => !Array.isArray(r[k]) || !(r[k] as unknown[]).every((x) => typeof x === "string")).map((k) => `its ${k} is not a list of strings`)][0];
    if (wrong) {
      const tenant = typeof r?.tenant === "string" ? r.tenant : undefined;
      const at = tenant === undefined ? -1 : text.split("\n").findIndex((l) => l.includes(`"tenant": ${JSON.stringify(tenant)}`));
      return bad(at >= 0 ? at + 1 : 1, `tenant #${i + 1}${tenant ? ` (${tenant})` : ""} ${wrong}`);
    }
  }
  return { rows: rows as TenantIsolationRow[] };
}

/** Tenant isolation with its evidence, and a violation for each layer claimed but not found. */
export function checkTenantIsolation(files: ReadonlyMap<string, string>, intent?: Pick<Intent, "peers">): { tenants: TenantRecord[]; findings: Finding[] } {
  const dirs = dirsOf(files, intent);
  const declaration = dirs.declaration;
  const text = files.get(declaration);
  if (text === undefined) {
    // A declaration elsewhere is misplaced: nothing reads it there, so its claims would go unchecked.
    const elsewhere = [...files.keys()].filter((p) => /^hosts\/[^/]+\/postgres\/tenants\.json$/.test(p));
    const findings: Finding[] = elsewhere.map((p) => ({
      id: `tenant-isolation:declaration@${p}`,
      kind: "tenant-isolation",
      severity: "violation",
      subject: "tenant isolation declaration",
      message: `${p} is misplaced: the tenant isolation declaration belongs with OpenBao's site, at ${declaration} (move it there)`,
      layer: "postgres",
      artifact: p,
    }));
    return { tenants: [], findings };
  }
  const read = readDeclaration(declaration, text);
  if ("findings" in read) return { tenants: [], findings: read.findings };
  const declared = read.rows;
  const findings: Finding[] = [];
  const tenants = declared.map((t) => {
    const layers = t.layers.map((claim) => {
      const layer = claim.split(":")[0]!.trim();
      const ev = evidenceFor(files, t, layer, dirs);
      if (ev.status === "missing") {
        findings.push({
          id: `tenant-isolation:${t.tenant}/${layer}`,
          kind: "tenant-isolation",
          severity: "violation",
          subject: `tenant ${t.tenant}`,
          message: `tenant ${t.tenant}: the ${layer} layer is declared but its artifact does not implement it (${ev.construct})`,
          layer,
          artifact: ev.artifact,
          construct: ev.construct,
        });
      }
      return { layer, claim, ...ev };
    });
    return { tenant: t.tenant, mode: t.mode, database: t.database, server: t.server, roles: t.roles, openbaoPaths: t.openbaoPaths, layers };
  });
  return { tenants, findings };
}
