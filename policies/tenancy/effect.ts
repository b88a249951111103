import type { ClusterFacts, DatabaseFacts } from "./audit.js";
import { REGISTRY_TABLE } from "./names.js";
import { parseSql, type PgNode } from "./pg-parser.js";

/*
 * What the rendered tenancy SQL leaves behind when psql runs it, in order, on an empty
 * PostgreSQL 15 cluster: the catalog facts `audit-db`'s queries would read afterwards
 * (ClusterFacts, DatabaseFacts), so that the verifier judges the artifacts with the audit's own
 * `judge()`. Statements are read by PostgreSQL's parser (libpg-query); psql's meta-commands
 * (\set ON_ERROR_STOP, \connect, \ir, \gexec) as psql runs them.
 *
 * Every statement is assumed to succeed (the scripts run with ON_ERROR_STOP, so a failing one
 * stops the run and leaves less, never more). A statement, meta-command or DO block this model
 * does not know is recorded as unmodelled: the verifier turns that into a finding (what is not
 * understood fails). The differential test (test/tenancy/effect.pg.test.ts) runs the same files
 * on a real PostgreSQL 15 and compares audit-db's findings with the simulation's.
 */

export interface Where {
  readonly file: string;
  readonly line: number;
}

export interface Unmodelled extends Where {
  readonly what: string;
}

interface Role {
  superuser: boolean;
  bypassrls: boolean;
  /** Roles this one is a direct member of. */
  member: Set<string>;
  where: Where;
}

interface Policy {
  name: string;
  permissive: boolean;
  cmd: string;
  roles: string[];
  using: string | null;
  check: string | null;
  where: Where;
}

interface Relation {
  kind: "r" | "v" | "m" | "f";
  owner: string;
  tenant: boolean;
  rls: boolean;
  forced: boolean;
  rlsWhere?: Where;
  forcedWhere?: Where;
  grantees: Set<string>;
  publicGrant: boolean;
  policies: Map<string, Policy>;
  /** Views: relations read, and security_invoker. */
  reads: string[];
  securityInvoker: boolean;
  where: Where;
}

interface Database {
  owner: string;
  /** null: the default ACL (PUBLIC may CONNECT). */
  acl: Map<string, Set<string>> | null;
  aclWhere: Where;
  relations: Map<string, Relation>;
  schemas: Set<string>;
  functions: { name: string; owner: string; where: Where }[];
  registry: { id: string; mode: string; database: string }[];
}

export interface SimulatedCluster {
  /** Registry rows per database (id, mode, database), as inserted. */
  readonly registry: ReadonlyMap<string, readonly { id: string; mode: string; database: string }[]>;
  readonly cluster: ClusterFacts;
  readonly databases: readonly DatabaseFacts[];
  readonly unmodelled: readonly Unmodelled[];
  /** Where each judged object was last set: `table:<db>:<name>:rls|forced`, `policy:<db>:<table>:<name>`, `role:<name>`, `database:<name>`, `relation:<db>:<name>`, `function:<db>:<name>`. */
  readonly where: ReadonlyMap<string, Where>;
}

const SUPERUSER = "postgres";
const PREDEFINED = ["pg_signal_backend", "pg_read_all_data", "pg_write_all_data", "pg_monitor", "pg_read_all_settings", "pg_read_all_stats", "pg_stat_scan_tables", "pg_read_server_files", "pg_write_server_files", "pg_execute_server_program", "pg_checkpoint", "pg_database_owner"];

/** One item of a psql script: a SQL statement or a meta-command, with its first line. */
interface ScriptItem {
  readonly kind: "sql" | "meta";
  readonly text: string;
  readonly line: number;
  /** For `\gexec`: the query buffer it runs. */
  readonly query?: string;
}

/** Splits a psql script as psql does: quotes, dollar quotes and comments hide `;` and `\`. */
export function splitPsql(text: string): ScriptItem[] {
  const out: ScriptItem[] = [];
  let buf = "";
  let bufLine = 1;
  let line = 1;
  let i = 0;
  const push = () => {
    if (buf.trim() !== "") out.push({ kind: "sql", text: buf.trim(), line: bufLine });
    buf = "";
  };
  while (i < text.length) {
    const c = text[i]!;
    if (buf.trim() === "") bufLine = line;
    if (c === "\n") line++;
    if (c === "-" && text[i + 1] === "-") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      let depth = 0;
      let j = i;
      do {
        if (text.startsWith("/*", j)) (depth++, (j += 2));
        else if (text.startsWith("*/", j)) (depth--, (j += 2));
        else {
          if (text[j] === "\n") line++;
          j++;
        }
      } while (depth > 0 && j < text.length);
      buf += " ";
      i = j;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === c && text[j + 1] === c) j += 2;
        else if (text[j] === c) break;
        else j++;
      }
      const chunk = text.slice(i, j + 1);
      line += (chunk.match(/\n/g) ?? []).length;
      buf += chunk;
      i = j + 1;
      continue;
    }
    if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (m) {
        const end = text.indexOf(m[0], i + m[0].length);
        const stop = end < 0 ? text.length : end + m[0].length;
        const chunk = text.slice(i, stop);
        line += (chunk.match(/\n/g) ?? []).length;
        buf += chunk;
        i = stop;
        continue;
      }
    }
    if (c === "\\") {
      const end = text.indexOf("\n", i);
      const meta = text.slice(i, end < 0 ? text.length : end).trim();
      if (/^\\g(exec)?\b/.test(meta)) {
        out.push({ kind: "meta", text: meta, line, query: buf.trim() });
        buf = "";
      } else {
        push();
        out.push({ kind: "meta", text: meta, line });
      }
      i = end < 0 ? text.length : end;
      continue;
    }
    if (c === ";") {
      buf += ";";
      push();
      i++;
      continue;
    }
    buf += c;
    i++;
  }
  push();
  return out;
}

const DO_CREATE_ROLE = /^\s*BEGIN\s+IF\s+NOT\s+EXISTS\s*\(\s*SELECT\s+FROM\s+pg_catalog\.pg_roles\s+WHERE\s+rolname\s*=\s*'([^']+)'\s*\)\s+THEN\s+(CREATE\s+ROLE\s[^;]*;)\s*END\s+IF\s*;\s*END\s*$/i;
const DO_RAISE_GUARD = /^\s*BEGIN\s+IF\s+EXISTS\s*\(\s*SELECT\s+FROM\s+[A-Za-z_.]+\s+WHERE\s[^;]*\)\s+THEN\s+RAISE\s+EXCEPTION\s+'[^']*'(\s*,\s*'[^']*')*\s*;\s*END\s+IF\s*;\s*END\s*$/i;
const GEXEC_CREATE_DB = /^SELECT\s+'(CREATE DATABASE [A-Za-z_][A-Za-z0-9_]*(?: OWNER [A-Za-z_][A-Za-z0-9_]*)?)'\s+WHERE\s+NOT\s+EXISTS\s*\(\s*SELECT\s+FROM\s+pg_catalog\.pg_database\s+WHERE\s+datname\s*=\s*'([A-Za-z_][A-Za-z0-9_]*)'\s*\)$/i;

const qualify = (rv: PgNode): string => `${rv.schemaname ?? "public"}.${rv.relname}`;
const roleName = (spec: PgNode | undefined, current: string): string => {
  const r = (spec?.RoleSpec ?? spec) as PgNode | undefined;
  if (!r) return "?";
  if (r.roletype === "ROLESPEC_PUBLIC") return "public";
  if (r.roletype === "ROLESPEC_CURRENT_USER" || r.roletype === "ROLESPEC_SESSION_USER" || r.roletype === "ROLESPEC_CURRENT_ROLE") return current;
  return String(r.rolename);
};
const CMD: Record<string, string> = { all: "*", select: "r", insert: "a", update: "w", delete: "d" };

/** The text of the parenthesised expression starting at `location` in `sql` (what follows USING / WITH CHECK). */
function exprText(sql: string, location: number | undefined): string | null {
  if (location === undefined || location < 0) return null;
  let start = location;
  while (start > 0 && sql[start - 1] !== "(") start--;
  let depth = 1;
  let j = start;
  let quote: string | null = null;
  for (; j < sql.length && depth > 0; j++) {
    const ch = sql[j]!;
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
  }
  return sql.slice(start, j - 1).trim();
}

/** The smallest location in a node tree (where an expression starts in the statement text). */
function firstLocation(n: unknown): number | undefined {
  let best: number | undefined;
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === "object") {
      for (const [k, v] of Object.entries(x)) {
        if (k === "location" && typeof v === "number" && v >= 0) best = best === undefined ? v : Math.min(best, v);
        else walk(v);
      }
    }
  };
  walk(n);
  return best;
}

function rangeVars(n: unknown, out: string[] = []): string[] {
  if (Array.isArray(n)) n.forEach((x) => rangeVars(x, out));
  else if (n && typeof n === "object") {
    for (const [k, v] of Object.entries(n)) {
      if (k === "RangeVar") out.push(qualify(v as PgNode));
      else rangeVars(v, out);
    }
  }
  return out;
}

/** Runs the entry file of a server (and what it includes) against an empty simulated cluster. */
export function simulateServer(files: ReadonlyMap<string, string>, entry: string): SimulatedCluster {
  const roles = new Map<string, Role>();
  const where = new Map<string, Where>();
  const unmodelled: Unmodelled[] = [];
  const origin: Where = { file: "(initdb)", line: 0 };
  roles.set(SUPERUSER, { superuser: true, bypassrls: true, member: new Set(), where: origin });
  for (const p of PREDEFINED) roles.set(p, { superuser: false, bypassrls: false, member: new Set(), where: origin });
  const dbs = new Map<string, Database>();
  const newDb = (owner: string, at: Where): Database => ({ owner, acl: null, aclWhere: at, relations: new Map(), schemas: new Set(["public"]), functions: [], registry: [] });
  dbs.set("postgres", newDb(SUPERUSER, origin));
  let current = "postgres";
  let localRole: string | undefined;
  let sessionRole: string | undefined;
  const user = () => localRole ?? sessionRole ?? SUPERUSER;

  const ensureRole = (name: string, at: Where): Role => {
    let r = roles.get(name);
    if (!r) {
      r = { superuser: false, bypassrls: false, member: new Set(), where: at };
      roles.set(name, r);
    }
    return r;
  };
  const applyRoleOptions = (name: string, options: PgNode[], at: Where, creating: boolean) => {
    const r = ensureRole(name, at);
    for (const o of options.map((x) => x.DefElem as PgNode)) {
      const on = o.arg?.Boolean?.boolval === true || o.arg?.Integer?.ival === 1;
      if (o.defname === "superuser") r.superuser = on;
      else if (o.defname === "bypassrls") r.bypassrls = on;
      else if (o.defname === "addroleto" && creating) for (const s of o.arg?.List?.items ?? []) r.member.add(roleName(s, user()));
      else if ((o.defname === "rolemembers" || o.defname === "adminmembers") && creating) for (const s of o.arg?.List?.items ?? []) ensureRole(roleName(s, user()), at).member.add(name);
      else if (["canlogin", "password", "validUntil", "inherit", "createdb", "createrole", "isreplication", "connectionlimit"].includes(o.defname)) continue;
      else unmodelled.push({ ...at, what: `role option ${o.defname}` });
    }
    where.set(`role:${name}`, at);
  };
  const rel = (name: string): Relation | undefined => dbs.get(current)?.relations.get(name);

  const runStatement = (sql: string, at: Where) => {
    let stmts;
    try {
      stmts = parseSql(sql);
    } catch (e) {
      unmodelled.push({ ...at, what: `does not parse as PostgreSQL 15 reads it: ${(e as Error).message}` });
      return;
    }
    for (const s of stmts) {
      const n = s.node;
      const db = dbs.get(current)!;
      switch (s.type) {
        case "TransactionStmt":
          if (n.kind === "TRANS_STMT_BEGIN" || n.kind === "TRANS_STMT_START") break;
          if (n.kind === "TRANS_STMT_COMMIT") {
            localRole = undefined;
            break;
          }
          unmodelled.push({ ...at, what: `transaction control ${n.kind}` });
          break;
        case "VariableSetStmt": {
          const name = String(n.name ?? "");
          if (name === "role" || name === "session_authorization") {
            const value = n.kind === "VAR_RESET" ? undefined : String(n.args?.[0]?.A_Const?.sval?.sval ?? n.args?.[0]?.String?.sval ?? "");
            if (n.is_local) localRole = value;
            else sessionRole = value;
          } else if (!["search_path", "client_min_messages", "statement_timeout", "lock_timeout"].includes(name)) {
            unmodelled.push({ ...at, what: `SET ${name}` });
          }
          break;
        }
        case "CreateRoleStmt":
          if (roles.has(n.role)) unmodelled.push({ ...at, what: `CREATE ROLE ${n.role}: the role already exists here (psql would stop)` });
          applyRoleOptions(String(n.role), n.options ?? [], at, true);
          break;
        case "AlterRoleStmt":
          applyRoleOptions(roleName(n.role, user()), n.options ?? [], at, false);
          break;
        case "DropRoleStmt":
          for (const r of n.roles ?? []) roles.delete(roleName(r, user()));
          break;
        case "GrantRoleStmt":
          for (const g of n.granted_roles ?? []) {
            const granted = String(g.AccessPriv?.priv_name);
            for (const t of n.grantee_roles ?? []) {
              const grantee = ensureRole(roleName(t, user()), at);
              if (n.is_grant) grantee.member.add(granted);
              else grantee.member.delete(granted);
              where.set(`role:${roleName(t, user())}`, at);
            }
          }
          break;
        case "GrantStmt": {
          const grantees = (n.grantees ?? []).map((g: PgNode) => roleName(g, user()));
          const privs = (n.privileges ?? []).map((p: PgNode) => String(p.AccessPriv?.priv_name)) as string[];
          if (n.objtype === "OBJECT_DATABASE") {
            for (const o of n.objects ?? []) {
              const name = String(o.String?.sval);
              const d = dbs.get(name);
              if (!d) {
                unmodelled.push({ ...at, what: `GRANT on database ${name}, which does not exist here` });
                continue;
              }
              d.acl ??= new Map([["public", new Set(["connect", "temporary"])], [d.owner, new Set(["connect", "temporary", "create"])]]);
              const all = privs.length === 0 ? ["connect", "temporary", "create"] : privs.map((p) => (p === "temp" ? "temporary" : p));
              for (const g of grantees) {
                const set = d.acl.get(g) ?? new Set<string>();
                for (const p of all) n.is_grant ? set.add(p) : set.delete(p);
                d.acl.set(g, set);
              }
              d.aclWhere = at;
              where.set(`database:${name}`, at);
            }
          } else if (n.objtype === "OBJECT_TABLE") {
            const targets: string[] =
              n.targtype === "ACL_TARGET_ALL_IN_SCHEMA"
                ? (n.objects ?? []).flatMap((o: PgNode) => [...db.relations.keys()].filter((k) => k.startsWith(`${String(o.String?.sval)}.`)))
                : (n.objects ?? []).map((o: PgNode) => qualify(o.RangeVar));
            for (const t of targets) {
              const r = db.relations.get(t);
              if (!r) {
                unmodelled.push({ ...at, what: `GRANT on ${t}, which does not exist here` });
                continue;
              }
              for (const g of grantees) {
                where.set(`grant:${current}:${t}`, at);
                if (g === "public") r.publicGrant = n.is_grant;
                else if (n.is_grant) r.grantees.add(g);
                else if (privs.length === 0) r.grantees.delete(g);
                else unmodelled.push({ ...at, what: `REVOKE of some privileges on ${t} from ${g}` });
              }
            }
          } else if (!["OBJECT_SCHEMA", "OBJECT_SEQUENCE", "OBJECT_FUNCTION", "OBJECT_TYPE"].includes(n.objtype)) {
            unmodelled.push({ ...at, what: `GRANT on ${n.objtype}` });
          }
          break;
        }
        case "CreatedbStmt": {
          const owner = (n.options ?? []).map((o: PgNode) => o.DefElem).find((o: PgNode) => o.defname === "owner");
          dbs.set(String(n.dbname), newDb(owner ? String(owner.arg?.String?.sval) : user(), at));
          break;
        }
        case "AlterOwnerStmt":
          if (n.objectType === "OBJECT_DATABASE") {
            const d = dbs.get(String(n.object?.String?.sval));
            if (d) d.owner = roleName(n.newowner, user());
          } else if (n.objectType !== "OBJECT_SCHEMA") unmodelled.push({ ...at, what: `ALTER ${n.objectType} OWNER` });
          break;
        case "CreateSchemaStmt":
          db.schemas.add(String(n.schemaname));
          break;
        case "CreateStmt": {
          const name = qualify(n.relation);
          if (db.relations.has(name) && n.if_not_exists) break;
          const cols = (n.tableElts ?? []) as PgNode[];
          if (cols.some((c) => c.TableLikeClause) || (n.inhRelations ?? []).length > 0 || n.partbound) unmodelled.push({ ...at, what: `CREATE TABLE ${name} with LIKE, INHERITS or PARTITION OF` });
          const tenant = cols.some((c) => c.ColumnDef?.colname === "tenant_id");
          db.relations.set(name, { kind: "r", owner: user(), tenant, rls: false, forced: false, grantees: new Set(), publicGrant: false, policies: new Map(), reads: [], securityInvoker: false, where: at });
          where.set(`relation:${current}:${name}`, at);
          break;
        }
        case "AlterTableStmt": {
          const name = qualify(n.relation);
          const r = rel(name);
          if (!r) {
            if (!n.missing_ok) unmodelled.push({ ...at, what: `ALTER TABLE ${name}, which does not exist here` });
            break;
          }
          for (const c of (n.cmds ?? []).map((x: PgNode) => x.AlterTableCmd as PgNode)) {
            if (c.subtype === "AT_EnableRowSecurity") (r.rls = true), (r.rlsWhere = at);
            else if (c.subtype === "AT_DisableRowSecurity") (r.rls = false), (r.rlsWhere = at);
            else if (c.subtype === "AT_ForceRowSecurity") (r.forced = true), (r.forcedWhere = at);
            else if (c.subtype === "AT_NoForceRowSecurity") (r.forced = false), (r.forcedWhere = at);
            else if (c.subtype === "AT_ChangeOwner") r.owner = roleName(c.newowner, user());
            else if (c.subtype === "AT_AddColumn") r.tenant ||= c.def?.ColumnDef?.colname === "tenant_id";
            else if (c.subtype === "AT_DropColumn" && c.name === "tenant_id") r.tenant = false;
            else if (c.subtype === "AT_SetRelOptions" && n.objtype === "OBJECT_VIEW") {
              for (const o of c.def?.List?.items ?? []) if (o.DefElem?.defname === "security_invoker") r.securityInvoker = /^(true|on|1|yes|t|y)$/i.test(String(o.DefElem.arg?.String?.sval ?? o.DefElem.arg?.Boolean?.boolval ?? "true"));
            } else if (!["AT_AddConstraint", "AT_DropConstraint", "AT_AlterColumnType", "AT_SetNotNull", "AT_DropNotNull", "AT_ColumnDefault"].includes(c.subtype)) {
              unmodelled.push({ ...at, what: `ALTER TABLE ${name} ${c.subtype}` });
            }
          }
          break;
        }
        case "CreatePolicyStmt": {
          const table = qualify(n.table);
          const r = rel(table);
          if (!r) {
            unmodelled.push({ ...at, what: `CREATE POLICY on ${table}, which does not exist here` });
            break;
          }
          r.policies.set(String(n.policy_name), {
            name: String(n.policy_name),
            permissive: n.permissive !== false,
            cmd: CMD[String(n.cmd_name ?? "all")] ?? "*",
            roles: (n.roles ?? []).map((x: PgNode) => roleName(x, user())).sort(),
            using: n.qual ? exprText(sql, firstLocation(n.qual) ?? undefined) : null,
            check: n.with_check ? exprText(sql, firstLocation(n.with_check) ?? undefined) : null,
            where: at,
          });
          where.set(`policy:${current}:${table}:${n.policy_name}`, at);
          break;
        }
        case "AlterPolicyStmt": {
          const r = rel(qualify(n.table));
          const p = r?.policies.get(String(n.policy_name));
          if (!p) {
            unmodelled.push({ ...at, what: `ALTER POLICY ${n.policy_name}, which does not exist here` });
            break;
          }
          if (n.roles) p.roles = (n.roles as PgNode[]).map((x) => roleName(x, user())).sort();
          if (n.qual) p.using = exprText(sql, firstLocation(n.qual));
          if (n.with_check) p.check = exprText(sql, firstLocation(n.with_check));
          p.where = at;
          where.set(`policy:${current}:${qualify(n.table)}:${n.policy_name}`, at);
          break;
        }
        case "DropStmt": {
          for (const o of n.objects ?? []) {
            const parts = ((o.List?.items ?? []) as PgNode[]).map((x) => String(x.String?.sval));
            if (n.removeType === "OBJECT_POLICY") {
              const [policy, ...tbl] = [parts.pop()!, ...parts];
              const name = tbl.length === 1 ? `public.${tbl[0]}` : tbl.join(".");
              rel(name)?.policies.delete(policy);
              where.set(`table:${current}:${name}:policies`, at);
            } else if (["OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW"].includes(n.removeType)) {
              db.relations.delete(parts.length === 1 ? `public.${parts[0]}` : parts.join("."));
            } else if (n.removeType !== "OBJECT_INDEX") unmodelled.push({ ...at, what: `DROP ${n.removeType}` });
          }
          break;
        }
        case "ViewStmt":
        case "CreateTableAsStmt": {
          const into = s.type === "ViewStmt" ? n.view : n.into?.rel;
          const name = qualify(into);
          const opts = ((s.type === "ViewStmt" ? n.options : n.into?.options) ?? []) as PgNode[];
          const invoker = opts.some((o) => o.DefElem?.defname === "security_invoker" && /^(true|on|1|yes|t|y)$/i.test(String(o.DefElem.arg?.String?.sval ?? o.DefElem.arg?.Boolean?.boolval ?? "true")));
          const kind = s.type === "ViewStmt" ? "v" : n.objtype === "OBJECT_MATVIEW" ? "m" : "r";
          db.relations.set(name, { kind, owner: user(), tenant: false, rls: false, forced: false, grantees: new Set(), publicGrant: false, policies: new Map(), reads: rangeVars(n.query), securityInvoker: invoker, where: at });
          if (kind === "r") unmodelled.push({ ...at, what: `CREATE TABLE ${name} AS (copies rows)` });
          where.set(`relation:${current}:${name}`, at);
          break;
        }
        case "CreateFunctionStmt": {
          const opts = ((n.options ?? []) as PgNode[]).map((o) => o.DefElem as PgNode);
          const definer = opts.some((o) => o.defname === "security" && o.arg?.Boolean?.boolval === true);
          const pinned = opts.some((o) => o.defname === "set" && o.arg?.VariableSetStmt?.name === "search_path");
          const fname = ((n.funcname ?? []) as PgNode[]).map((x) => String(x.String?.sval)).join(".");
          if (definer && !pinned) db.functions.push({ name: fname, owner: user(), where: at });
          break;
        }
        case "InsertStmt": {
          const target = qualify(n.relation);
          if (target !== REGISTRY_TABLE) {
            if (db.relations.get(target)?.tenant) break; // rows do not change isolation
            unmodelled.push({ ...at, what: `INSERT INTO ${target}` });
            break;
          }
          const cols = ((n.cols ?? []) as PgNode[]).map((c) => String(c.ResTarget?.name));
          for (const row of n.selectStmt?.SelectStmt?.valuesLists ?? []) {
            const vals = ((row.List?.items ?? []) as PgNode[]).map((v) => v.A_Const?.sval?.sval as string | undefined);
            const get = (c: string) => vals[cols.indexOf(c)];
            db.registry.push({ id: String(get("id")), mode: String(get("mode")), database: String(get("database")) });
          }
          break;
        }
        case "DoStmt": {
          const body = String(((n.args ?? []) as PgNode[]).find((a) => a.DefElem?.defname === "as")?.DefElem?.arg?.String?.sval ?? "");
          const create = DO_CREATE_ROLE.exec(body);
          if (create) {
            const inner = parseSql(create[2]!)[0];
            if (inner?.type === "CreateRoleStmt" && inner.node.role === create[1]) {
              if (!roles.has(create[1]!)) applyRoleOptions(create[1]!, inner.node.options ?? [], at, true);
              break;
            }
          }
          if (DO_RAISE_GUARD.test(body)) break;
          unmodelled.push({ ...at, what: "a DO block whose body is not one of the rendered shapes (create a role if missing; a guard that raises)" });
          break;
        }
        case "SelectStmt": {
          // A SELECT changes nothing unless a function it calls does: only side-effect-free ones are known.
          const fns = [...JSON.stringify(n).matchAll(/"funcname":\[((?:\{"String":\{"sval":"[^"]+"\}\},?)+)\]/g)].map((m) => [...m[1]!.matchAll(/"sval":"([^"]+)"/g)].map((x) => x[1]).pop());
          const unknown = fns.filter((f) => !["set_config", "current_setting", "nullif", "format", "quote_ident", "quote_literal"].includes(String(f)));
          if (unknown.length > 0) unmodelled.push({ ...at, what: `SELECT calling ${unknown.join(", ")}` });
          break;
        }
        case "IndexStmt":
        case "CommentStmt":
          break;
        default:
          unmodelled.push({ ...at, what: `statement ${s.type}` });
      }
    }
  };

  const runFile = (path: string, depth: number) => {
    const text = files.get(path);
    if (text === undefined) {
      unmodelled.push({ file: path, line: 0, what: `${path} is included but not rendered` });
      return;
    }
    if (depth > 10) {
      unmodelled.push({ file: path, line: 0, what: "includes nest too deep" });
      return;
    }
    const dir = path.split("/").slice(0, -1);
    for (const item of splitPsql(text)) {
      const at = { file: path, line: item.line };
      if (item.kind === "sql") {
        runStatement(item.text, at);
        continue;
      }
      const [cmd, ...args] = item.text.split(/\s+/);
      if (cmd === "\\set" && args[0] === "ON_ERROR_STOP") continue;
      if ((cmd === "\\connect" || cmd === "\\c") && args.length === 1 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(args[0]!)) {
        if (!dbs.has(args[0]!)) unmodelled.push({ ...at, what: `\\connect ${args[0]}: no such database here (psql would stop)` });
        else current = args[0]!;
        localRole = undefined;
        sessionRole = undefined;
        continue;
      }
      if ((cmd === "\\ir" || cmd === "\\include_relative") && args.length === 1) {
        const parts = [...dir];
        for (const p of args[0]!.split("/")) p === ".." ? parts.pop() : p !== "." && parts.push(p);
        runFile(parts.join("/"), depth + 1);
        continue;
      }
      if (cmd === "\\gexec") {
        const m = GEXEC_CREATE_DB.exec((item.query ?? "").replace(/\s+/g, " ").trim());
        if (m) {
          if (!dbs.has(m[2]!)) runStatement(m[1]!, at);
          continue;
        }
      }
      unmodelled.push({ ...at, what: `psql meta-command ${item.text}` });
    }
  };
  runFile(entry, 0);

  // The facts, as audit-db's queries return them.
  const closure = (name: string): string[] => {
    const r = roles.get(name);
    if (r?.superuser) return [...roles.keys()].sort();
    const seen = new Set([name]);
    const stack = [name];
    while (stack.length) for (const m of roles.get(stack.pop()!)?.member ?? []) if (!seen.has(m) && roles.has(m)) (seen.add(m), stack.push(m));
    return [...seen].sort();
  };
  const cluster: ClusterFacts = {
    roles: [...roles.entries()]
      .filter(([n]) => !n.startsWith("pg_"))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, r]) => ({ name, superuser: r.superuser, bypassrls: r.bypassrls, memberOf: closure(name) })),
    databases: [...dbs.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, d]) => ({ name, allowConn: true, publicConnect: d.acl === null || (d.acl.get("public")?.has("connect") ?? false), canConnect: true, connectRoles: d.acl ? [...d.acl.entries()].filter(([g, p]) => g !== "public" && p.has("connect")).map(([g]) => g).sort() : [d.owner] })),
  };
  for (const [name, d] of dbs) where.set(`database:${name}`, d.aclWhere);
  const databases: DatabaseFacts[] = [...dbs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, d]) => {
      const tenantTables = [...d.relations.entries()].filter(([, r]) => r.kind === "r" && r.tenant).sort(([a], [b]) => (a < b ? -1 : 1));
      for (const [t, r] of tenantTables) {
        if (r.rlsWhere) where.set(`table:${name}:${t}:rls`, r.rlsWhere);
        if (r.forcedWhere) where.set(`table:${name}:${t}:forced`, r.forcedWhere);
      }
      const tenantNames = new Set(tenantTables.map(([t]) => t));
      const basesOf = (v: string, seen = new Set<string>()): string[] => {
        const r = d.relations.get(v);
        if (!r || seen.has(v)) return [];
        seen.add(v);
        return r.reads.flatMap((x) => (tenantNames.has(x) ? [x] : basesOf(x, seen)));
      };
      const views = [...d.relations.entries()]
        .filter(([, r]) => r.kind === "v" || r.kind === "m")
        .map(([v, r]) => ({ name: v, kind: r.kind, owner: r.owner, securityInvoker: r.securityInvoker, bases: [...new Set(basesOf(v))].sort() }))
        .filter((v) => v.bases.length > 0)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      return {
        database: name,
        hasRegistry: d.relations.has(REGISTRY_TABLE),
        tables: tenantTables.map(([t, r]) => ({ name: t, owner: r.owner, rls: r.rls, forced: r.forced, publicGrant: r.publicGrant })),
        policies: tenantTables
          .flatMap(([t, r]) => [...r.policies.values()].map((p) => ({ table: t, name: p.name, permissive: p.permissive, cmd: p.cmd, roles: p.roles.length ? p.roles : ["public"], using: p.using, check: p.check })))
          .sort((a, b) => (a.table + a.name < b.table + b.name ? -1 : 1)),
        grantees: [...new Set(tenantTables.flatMap(([, r]) => [...r.grantees].filter((g) => g !== r.owner)))],
        views,
        functions: d.functions.map((f) => ({ name: f.name, owner: f.owner })),
        owned: [...d.relations.entries()].map(([o, r]) => ({ name: o, kind: r.kind, owner: r.owner })),
        ...(d.relations.has(REGISTRY_TABLE) ? { dedicated: d.registry.filter((x) => x.mode === "dedicated").map((x) => x.database).sort() } : {}),
      };
    });
  const registry = new Map([...dbs.entries()].map(([name, d]) => [name, d.registry]));
  return { cluster, databases, unmodelled, where, registry };
}
