import type { Site } from "../../core/index.js";
import { CAPABILITIES, allows, parseHcl, parsePolicy, type Capability, type PolicyRule } from "../openbao/hcl.js";
import { DB_CREDENTIAL_TTL, appRoleRoles, databaseConnections, databaseRoles, servicePolicies } from "../openbao/model.js";
import { openbaoDirOf } from "../openbao/render.js";
import { appRoleOf, databaseOf, openbaoTenantName } from "../tenancy/names.js";
import { parseSql, SqlSyntaxError, type PgNode } from "../tenancy/pg-parser.js";
import { checkOpenBaoServer } from "./openbao-server.js";
import type { Finding } from "./report-model.js";

/*
 * OpenBao as OpenBao enforces it, against the model recomputed from the site (never against what
 * the artifacts claim). Read from the three places that configure it: the host files
 * (hosts/<OpenBao's site>/openbao/…, hosts/cloud/openbao/… on one site), the cdktf secrets stack and the Pulumi secrets capture.
 *
 * Policies: every request path and capability a rendered policy grants (path globs `*`, segment
 * wildcards `+`, priority between matching paths, `deny`) must also be granted by the model's
 * policy of that service: no sudo, no wildcard reaching other tenants' credentials, the
 * provisioner never reads credentials, each service only its own paths. AppRoles: each service's
 * tokens carry its own policy only. Database roles: the creation statements, parsed by
 * PostgreSQL's parser, create a login that expires (VALID UNTIL '{{expiration}}'), is never
 * SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, joins its own tenant's app role and
 * no other, and is granted CONNECT on its tenant's database only.
 */

const SECRETS_TF = "cdktf/stacks/secrets/cdk.tf.json";
const SECRETS_PULUMI = "pulumi/secrets.json";

type Kind = "policy" | "approle" | "role" | "connection";

/** One OpenBao object as configured by one artifact, props in the API's (snake_case) names. */
interface Configured {
  readonly kind: Kind;
  readonly name: string;
  readonly artifact: string;
  readonly line: number;
  readonly props: Record<string, unknown>;
}

const TF_TYPES: Record<string, Kind | "other"> = {
  vault_policy: "policy",
  vault_approle_auth_backend_role: "approle",
  vault_database_secret_backend_role: "role",
  vault_database_secret_backend_connection: "connection",
  vault_mount: "other",
  vault_auth_backend: "other",
};
const PULUMI_TYPES: Record<string, Kind | "other"> = {
  "vault:index/policy:Policy": "policy",
  "vault:appRole/authBackendRole:AuthBackendRole": "approle",
  "vault:database/secretBackendRole:SecretBackendRole": "role",
  "vault:database/secretBackendConnection:SecretBackendConnection": "connection",
  "vault:index/mount:Mount": "other",
  "vault:index/authBackend:AuthBackend": "other",
  "pulumi:providers:vault": "other",
  "palisade:index:Secrets": "other",
};

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
function snakeProps(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [snake(k), v]));
}

/** The 1-based line of the first line containing `needle` (after line `from`). */
function lineOf(text: string, needle: string, from = 0): number {
  const lines = text.split("\n");
  for (let i = from; i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1;
  return from + 1;
}

function finding(kind: "openbao-policy" | "openbao-role", subject: string, message: string, artifact: string, line: number): Finding {
  return { id: `${kind}:${subject}@${artifact}`, kind, severity: "violation", subject, message: `${message} (${artifact} line ${line})`, layer: "openbao", artifact, line };
}

/** Every OpenBao object the artifacts configure; unreadable or unknown things become findings. */
function configured(files: ReadonlyMap<string, string>, bad: Finding[], dir: string): Configured[] {
  const out: Configured[] = [];
  for (const [path, text] of files) {
    const elsewhere = /^hosts\/([^/]+)\/openbao\//.exec(path);
    if (elsewhere && !path.startsWith(`${dir}/`)) {
      bad.push(finding("openbao-role", `${path} misplaced`, `${path} is an OpenBao file on host ${elsewhere[1]}, but OpenBao runs on the site whose files are under ${dir}/: it would never read it (move it there)`, path, 1));
      continue;
    }
    const m = new RegExp(`^${dir}/(policies|approle|database/roles|database/connections)/([^/]+)\\.(hcl|json)$`).exec(path);
    if (!m) continue;
    const kind: Kind = m[1] === "policies" ? "policy" : m[1] === "approle" ? "approle" : m[1] === "database/roles" ? "role" : "connection";
    if (kind === "policy") {
      out.push({ kind, name: m[2]!, artifact: path, line: 1, props: { policy: text } });
      continue;
    }
    try {
      const props = JSON.parse(text) as Record<string, unknown>;
      out.push({ kind, name: String(props.name ?? props.role_name ?? m[2]), artifact: path, line: 1, props });
    } catch (e) {
      bad.push(finding("openbao-role", path, `cannot read ${path}: ${(e as Error).message}`, path, 1));
    }
  }
  const tf = files.get(SECRETS_TF);
  if (tf !== undefined) {
    try {
      const json = JSON.parse(tf) as { resource?: Record<string, Record<string, Record<string, unknown>>> };
      for (const [type, resources] of Object.entries(json.resource ?? {})) {
        for (const [id, props] of Object.entries(resources)) {
          const kind = TF_TYPES[type];
          const line = lineOf(tf, `"${id}"`, lineOf(tf, `"${type}"`) - 1);
          if (kind === undefined) bad.push(finding("openbao-policy", `${type}.${id}`, `resource type ${type} is not modelled by the verifier: what OpenBao would do with it is not checked, so it is refused`, SECRETS_TF, line));
          else if (kind !== "other") out.push({ kind, name: String(props.name ?? props.role_name ?? id), artifact: SECRETS_TF, line, props });
        }
      }
    } catch (e) {
      bad.push(finding("openbao-policy", SECRETS_TF, `cannot read ${SECRETS_TF}: ${(e as Error).message}`, SECRETS_TF, 1));
    }
  }
  const pu = files.get(SECRETS_PULUMI);
  if (pu !== undefined) {
    try {
      const json = JSON.parse(pu) as { resources?: { type: string; name: string; inputs?: Record<string, unknown> }[] };
      for (const r of json.resources ?? []) {
        const kind = PULUMI_TYPES[r.type];
        const line = lineOf(pu, `"name": ${JSON.stringify(r.name)}`);
        const props = snakeProps(r.inputs ?? {});
        if (kind === undefined) bad.push(finding("openbao-policy", `${r.type} ${r.name}`, `resource type ${r.type} is not modelled by the verifier: what OpenBao would do with it is not checked, so it is refused`, SECRETS_PULUMI, line));
        else if (kind !== "other") out.push({ kind, name: String(props.name ?? props.role_name ?? r.name), artifact: SECRETS_PULUMI, line, props });
      }
    } catch (e) {
      bad.push(finding("openbao-policy", SECRETS_PULUMI, `cannot read ${SECRETS_PULUMI}: ${(e as Error).message}`, SECRETS_PULUMI, 1));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Policies

/** Concrete request paths that exercise a pattern: `+` becomes a segment, a trailing `*` nothing, a name, a subpath. */
function instances(pattern: string): string[] {
  const glob = pattern.endsWith("*");
  const body = (glob ? pattern.slice(0, -1) : pattern).split("/").map((s) => (s === "+" ? "x-other" : s)).join("/");
  return glob ? [body, `${body}x-other`, `${body}x-other/y`] : [body];
}

function probePaths(site: Site, rules: readonly PolicyRule[], model: readonly PolicyRule[]): string[] {
  const paths = new Set<string>();
  for (const r of [...rules, ...model]) for (const p of instances(r.path)) paths.add(p);
  for (const t of site.tenants) for (const sub of ["creds", "static-creds", "roles", "config"]) paths.add(`database/${sub}/${openbaoTenantName(t.id)}`);
  for (const p of ["database/creds/tenant-other", "database/creds/other", "database/static-creds/other", "sys/policies/acl/root", "auth/token/create", "sys/mounts", "kv/data/other/x", "database/rotate-root/x"]) paths.add(p);
  return [...paths].sort();
}

const GRANTS = CAPABILITIES.filter((c) => c !== "deny");

/** Policy text → rules with the line of each path block; an error for what OpenBao's parser would not read the same way. */
function readPolicy(text: string): { rules: (PolicyRule & { line: number })[] } | { error: string; line: number } {
  try {
    const rules = parsePolicy(text);
    const blocks = parseHcl(text).blocks;
    return { rules: rules.map((r, i) => ({ ...r, line: blocks[i]?.line ?? 1 })) };
  } catch (e) {
    const m = /line (\d+)/.exec((e as Error).message);
    return { error: (e as Error).message, line: m ? Number(m[1]) : 1 };
  }
}

function checkPolicy(c: Configured, site: Site): Finding[] {
  const text = typeof c.props.policy === "string" ? c.props.policy : undefined;
  if (text === undefined) return [finding("openbao-policy", `policy ${c.name}`, `policy ${c.name} has no policy text`, c.artifact, c.line)];
  // Inside an engine's JSON the policy is one string: lines are counted from the resource.
  const at = (line: number) => (c.artifact.endsWith(".hcl") ? line : c.line);
  const read = readPolicy(text);
  if ("error" in read) return [finding("openbao-policy", `policy ${c.name}`, `policy ${c.name} is not read the way OpenBao reads it, so it is refused: ${read.error}`, c.artifact, at(read.line))];
  const model = servicePolicies(site).find((p) => p.name === c.name)?.rules ?? [];
  const out: Finding[] = [];
  for (const r of read.rules.filter((x) => x.capabilities.includes("sudo"))) {
    out.push(finding("openbao-policy", `policy ${c.name} sudo ${r.path}`, `policy ${c.name} grants sudo on ${r.path}: sudo opens root-protected endpoints and no service of the model needs it`, c.artifact, at(r.line)));
  }
  const excess = new Map<string, { rule: PolicyRule & { line: number }; grants: string[] }>();
  for (const path of probePaths(site, read.rules, model)) {
    for (const cap of GRANTS) {
      if (cap === "sudo" || !allows(read.rules, path, cap as Capability) || allows(model, path, cap as Capability)) continue;
      const rule = read.rules.filter((r) => allows([r], path, cap as Capability)).sort((a, b) => a.line - b.line)[0] ?? read.rules[0]!;
      const e = excess.get(rule.path) ?? { rule, grants: [] };
      e.grants.push(`${cap} ${path}`);
      excess.set(rule.path, e);
    }
  }
  for (const { rule, grants } of excess.values()) {
    const creds = grants.filter((g) => /database\/(static-)?creds\//.test(g));
    const wildcard = /[*+]/.test(rule.path);
    const why =
      creds.length > 0 && c.name === "provisioner"
        ? "the provisioner must never read credentials"
        : creds.length > 0 && wildcard
          ? "a wildcard on credentials reaches roles of tenants that are not this service's"
          : creds.length > 0
            ? "these are not the credentials of this service's tenants"
            : `the model's ${c.name} policy does not grant it`;
    out.push(finding("openbao-policy", `policy ${c.name} path ${rule.path}`, `policy ${c.name}: path ${JSON.stringify(rule.path)} grants ${grants.slice(0, 4).join(", ")}${grants.length > 4 ? ` and ${grants.length - 4} more` : ""} beyond least privilege (${why})`, c.artifact, at(rule.line)));
  }
  return out;
}

/** The policy names a token policy entry resolves to: a literal, or a cdktf reference `${vault_policy.X.name}`. */
function policyName(entry: unknown): string {
  const s = String(entry);
  const ref = /^\$\{vault_policy\.([A-Za-z0-9_-]+)\.name\}$/.exec(s);
  return ref ? ref[1]! : s;
}

function checkAppRole(c: Configured, site: Site): Finding[] {
  const role = String(c.props.role_name ?? c.name);
  const model = appRoleRoles(site).find((r) => r.name === role);
  if (!model) return [finding("openbao-policy", `approle ${role}`, `AppRole ${role} is not a service of the model: whoever holds its secret-id gets its policies`, c.artifact, c.line)];
  const out: Finding[] = [];
  const policies = (Array.isArray(c.props.token_policies) ? c.props.token_policies : []).map(policyName);
  const extra = policies.filter((p) => !model.tokenPolicies.includes(p));
  if (extra.length > 0) out.push(finding("openbao-policy", `approle ${role} token_policies`, `AppRole ${role}'s tokens carry ${extra.join(", ")} besides its own policy ${model.tokenPolicies.join(", ")}: each service gets only its own`, c.artifact, c.line));
  if (c.props.token_no_default_policy !== true) out.push(finding("openbao-policy", `approle ${role} default policy`, `AppRole ${role}'s tokens get the default policy (token_no_default_policy is not true)`, c.artifact, c.line));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Database roles

const PLACEHOLDER = { name: "palisade_tmpl_name", password: "palisade_tmpl_password", expiration: "palisade_tmpl_expiration" } as const;

/** OpenBao's templates replaced by markers PostgreSQL's parser accepts; an unknown template is an error. */
function substitute(stmt: string): string {
  return stmt.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_m, name: string) => {
    const v = PLACEHOLDER[name as keyof typeof PLACEHOLDER];
    if (!v) throw new SqlSyntaxError(`template {{${name}}} is not one the database plugin fills here (name, password, expiration)`, undefined);
    return v;
  });
}

const roleNames = (list: PgNode | undefined): string[] => (list?.List?.items ?? []).map((i: PgNode) => String(i.RoleSpec?.rolename ?? (i.RoleSpec?.roletype === "ROLESPEC_PUBLIC" ? "PUBLIC" : "?")));
const FORBIDDEN_ATTRS: Record<string, string> = { superuser: "SUPERUSER", createrole: "CREATEROLE", createdb: "CREATEDB", isreplication: "REPLICATION", bypassrls: "BYPASSRLS" };

/** What one creation statement list does, judged against the tenant's role and database. */
function judgeCreation(statements: readonly string[], tenant: Site["tenants"][number]): string[] {
  const problems: string[] = [];
  const app = appRoleOf(tenant);
  const db = databaseOf(tenant);
  let created = false;
  for (const raw of statements) {
    let stmts;
    try {
      stmts = parseSql(substitute(raw));
    } catch (e) {
      problems.push(`a creation statement does not parse as PostgreSQL reads it (${(e as Error).message}): ${raw}`);
      continue;
    }
    for (const s of stmts) {
      if (s.type === "CreateRoleStmt" && s.node.role === PLACEHOLDER.name && s.node.stmt_type !== "ROLESTMT_GROUP") {
        created = true;
        const opts = (s.node.options ?? []).map((o: PgNode) => o.DefElem as PgNode);
        const get = (n: string) => opts.filter((o: PgNode) => o.defname === n);
        for (const [attr, word] of Object.entries(FORBIDDEN_ATTRS)) if (get(attr).some((o: PgNode) => o.arg?.Boolean?.boolval === true || o.arg?.Integer?.ival === 1)) problems.push(`the login is created ${word}`);
        const login = s.node.stmt_type === "ROLESTMT_USER" || get("canlogin").some((o: PgNode) => o.arg?.Boolean?.boolval === true);
        if (!login) problems.push("the role is not created LOGIN");
        const until = get("validUntil").map((o: PgNode) => o.arg?.String?.sval);
        if (!until.includes(PLACEHOLDER.expiration)) problems.push(`the login does not expire with its lease (no VALID UNTIL '{{expiration}}'${until.length ? `; VALID UNTIL ${until.map((u: unknown) => `'${String(u)}'`).join(", ")}` : ""})`);
        const inRoles = get("addroleto").flatMap((o: PgNode) => roleNames(o.arg));
        const others = inRoles.filter((r: string) => r !== app);
        if (others.length) problems.push(`the login joins ${others.join(", ")} besides the tenant's own app role ${app}: another tenant's (or a platform) role's privileges`);
        if (!inRoles.includes(app)) problems.push(`the login does not join the tenant's app role ${app}`);
        for (const o of [...get("rolemembers"), ...get("adminmembers")]) problems.push(`the statement makes ${roleNames(o.arg).join(", ")} members of the login (ROLE/ADMIN): they get the tenant's privileges`);
        const known = new Set(["canlogin", "password", "validUntil", "addroleto", "rolemembers", "adminmembers", "inherit", "connectionlimit", ...Object.keys(FORBIDDEN_ATTRS)]);
        for (const o of opts) if (!known.has(o.defname)) problems.push(`option ${o.defname} of CREATE ROLE is not modelled`);
      } else if (s.type === "GrantStmt" && s.node.is_grant && s.node.objtype === "OBJECT_DATABASE") {
        const dbs = (s.node.objects ?? []).map((o: PgNode) => String(o.String?.sval));
        const privs = (s.node.privileges ?? []).map((p: PgNode) => String(p.AccessPriv?.priv_name));
        const badDbs = dbs.filter((d: string) => d !== db);
        if (badDbs.length) problems.push(`GRANT ${privs.join(", ") || "ALL"} ON DATABASE ${badDbs.join(", ")}: the tenant's database is ${db}`);
      } else if (s.type === "GrantRoleStmt" && s.node.is_grant) {
        const granted = (s.node.granted_roles ?? []).map((r: PgNode) => String(r.AccessPriv?.priv_name));
        const others = granted.filter((r: string) => r !== app);
        if (others.length) problems.push(`GRANT ${others.join(", ")} TO …: membership in roles other than the tenant's app role ${app}`);
      } else {
        problems.push(`statement ${s.type} is not one a tenant login's creation needs (CREATE ROLE, GRANT CONNECT on its database, GRANT its app role): it is not trusted`);
      }
    }
  }
  if (!created) problems.push(`no statement creates the login "{{name}}"`);
  return problems;
}

/** Renewal may only move VALID UNTIL; revocation may only end sessions and drop the login. */
function judgeLifecycle(statements: readonly string[], which: "renew" | "revocation"): string[] {
  const problems: string[] = [];
  for (const raw of statements) {
    let stmts;
    try {
      stmts = parseSql(substitute(raw));
    } catch (e) {
      problems.push(`a ${which} statement does not parse (${(e as Error).message}): ${raw}`);
      continue;
    }
    for (const s of stmts) {
      const onLogin = (spec: PgNode | undefined) => spec?.RoleSpec?.rolename === PLACEHOLDER.name;
      const ok =
        which === "renew"
          ? s.type === "AlterRoleStmt" && s.node.role?.rolename === PLACEHOLDER.name && (s.node.options ?? []).every((o: PgNode) => o.DefElem?.defname === "validUntil")
          : (s.type === "DropRoleStmt" && (s.node.roles ?? []).every(onLogin)) ||
            (s.type === "SelectStmt" && JSON.stringify(s.node.targetList ?? []).includes('"pg_terminate_backend"') && !/"(?:[A-Za-z]*Stmt)"/.test(JSON.stringify(s.node))) ||
            (s.type === "GrantStmt" && s.node.is_grant === false);
      if (!ok) problems.push(`${which} statement ${s.type} does more than ${which === "renew" ? "move the login's VALID UNTIL" : "end the login's sessions and drop it"}: ${raw}`);
    }
  }
  return problems;
}

function checkRole(c: Configured, site: Site, files: ReadonlyMap<string, string>): Finding[] {
  const tenant = site.tenants.find((t) => openbaoTenantName(t.id) === c.name);
  if (!tenant) return [finding("openbao-role", `database role ${c.name}`, `database role ${c.name} belongs to no tenant of the site: whoever may read its credentials gets a login the model does not know`, c.artifact, c.line)];
  const list = (k: string) => (Array.isArray(c.props[k]) ? (c.props[k] as unknown[]).map(String) : []);
  const keyOf = (k: string) => (c.artifact.startsWith("pulumi/") ? k.replace(/_([a-z])/g, (_m, ch: string) => ch.toUpperCase()) : k);
  const problems: [string, string][] = [
    ...judgeCreation(list("creation_statements"), tenant).map((p): [string, string] => [keyOf("creation_statements"), p]),
    ...judgeLifecycle(list("renew_statements"), "renew").map((p): [string, string] => [keyOf("renew_statements"), p]),
    ...judgeLifecycle(list("revocation_statements"), "revocation").map((p): [string, string] => [keyOf("revocation_statements"), p]),
  ];
  const maxTtl = Number(c.props.max_ttl ?? 0);
  const defTtl = Number(c.props.default_ttl ?? 0);
  if (!(maxTtl > 0 && maxTtl <= DB_CREDENTIAL_TTL.maxSeconds)) problems.push([keyOf("max_ttl"), `max_ttl ${String(c.props.max_ttl)}: credentials must expire within ${DB_CREDENTIAL_TTL.maxSeconds} s`]);
  if (!(defTtl > 0 && defTtl <= (maxTtl || DB_CREDENTIAL_TTL.maxSeconds))) problems.push([keyOf("default_ttl"), `default_ttl ${String(c.props.default_ttl)} is not a short positive lease within max_ttl`]);
  const dbName = policyNameRef(c.props.db_name, "vault_database_secret_backend_connection");
  const ownConnection = databaseConnections(site).find((x) => x.name === c.name)?.name;
  if (dbName !== undefined && dbName !== ownConnection && dbName !== ownConnection?.replace(/-/g, "_")) problems.push([keyOf("db_name"), `db_name ${dbName}: the role must use its tenant's own connection ${ownConnection}`]);
  return problems.map(([key, p], i) => finding("openbao-role", `database role ${c.name} #${i + 1}`, `database role ${c.name} (tenant ${tenant.id}): ${p}`, c.artifact, propLine(c, key, files)));
}

/** The line of a property inside the object's artifact: the key's line after the resource's own. */
function propLine(c: Configured, key: string, files: ReadonlyMap<string, string>): number {
  const text = files.get(c.artifact) ?? "";
  return lineOf(text, `"${key}"`, c.line - 1);
}

/** A cdktf reference `${TYPE.X.name}` → X; a literal stays itself. */
function policyNameRef(v: unknown, type: string): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  const m = new RegExp(`^\\$\\{${type}\\.([A-Za-z0-9_-]+)\\.name\\}$`).exec(s);
  return m ? m[1]! : s;
}

function checkConnection(c: Configured, site: Site): Finding[] {
  const model = databaseConnections(site).find((x) => x.name === c.name);
  if (!model) return [finding("openbao-role", `database connection ${c.name}`, `database connection ${c.name} belongs to no tenant of the site`, c.artifact, c.line)];
  const allowed = Array.isArray(c.props.allowed_roles) ? (c.props.allowed_roles as unknown[]).map(String) : ["(missing: every role)"];
  const extra = allowed.filter((r) => !model.allowedRoles.includes(r));
  if (extra.length === 0) return [];
  return [finding("openbao-role", `database connection ${c.name} allowed_roles`, `database connection ${c.name} lets roles ${extra.join(", ")} use it besides ${model.allowedRoles.join(", ")}: another tenant's role would get logins on this tenant's server`, c.artifact, c.line)];
}

/** OpenBao findings over every artifact that configures it. */
export function checkOpenBao(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  const bad: Finding[] = [];
  const dir = openbaoDirOf(site);
  const all = configured(files, bad, dir);
  const out = [...bad];
  for (const c of all) {
    if (c.kind === "policy") out.push(...checkPolicy(c, site));
    else if (c.kind === "approle") out.push(...checkAppRole(c, site));
    else if (c.kind === "role") out.push(...checkRole(c, site, files));
    else out.push(...checkConnection(c, site));
  }
  // Every tenant of the site has its role where OpenBao reads roles from (host files): a missing one is not "nothing to check".
  for (const r of databaseRoles(site)) {
    const path = `${dir}/database/roles/${r.name}.json`;
    if (!files.has(path) && all.some((c) => c.kind === "role")) out.push(finding("openbao-role", `database role ${r.name} missing`, `tenant role ${r.name} of the site is not rendered`, path, 1));
  }
  out.push(...checkOpenBaoServer(files, site));
  return out;
}
