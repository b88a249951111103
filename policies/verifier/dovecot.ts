import { DOVECOT_PASSDB, DOVECOT_USERDB } from "../../core/index.js";
import { parseRange, type AddrRange } from "./addr.js";
import type { Finding } from "./report-model.js";

/*
 * Dovecot (2.3) as it reads dovecot.conf, for one question: can a mail password cross the network
 * in clear, or a login succeed without the password file? A line is `key = value` (the last
 * assignment wins), a section `name [arg] {` ... `}`, a `#` after a blank starts a comment, a
 * value may be "quoted". Filters override settings for some connections: `protocol NAME` (or
 * `!NAME`), `remote IP[/bits]`, `local IP[/bits]` (a protocol filter may sit inside those, not the
 * reverse), `local_name NAME`. Rather than ranking overlapping filters, every place a setting is
 * given must hold: TLS required, plaintext authentication off, TLS 1.2 at least, only the PLAIN
 * and LOGIN mechanisms (over TLS), only the rendered protocols, and every password and user
 * database the rendered one (no `nopassword`, no other driver, no root user). `!include`, a
 * `$setting` expansion, a key or section the renderer never writes: refused. The differential test
 * (test/policies/dovecot-live.test.ts) asks `doveconf -f ... -h` for the value each connection
 * gets: it must be one this reader found for that connection.
 */

export const DOVECOT_CONF = "hosts/edge/mail/dovecot/dovecot.conf";

/** The settings judged, and Dovecot's defaults where the file does not set them. */
export const DOVECOT_JUDGED = { ssl: "yes", disable_plaintext_auth: "yes", ssl_min_protocol: "TLSv1.2", auth_mechanisms: "plain", protocols: "" } as const;
type Judged = keyof typeof DOVECOT_JUDGED;
const BOOLEAN_SETTINGS: ReadonlySet<string> = new Set(["disable_plaintext_auth", "ssl_prefer_server_ciphers", "auth_verbose"]);
/** Keys the renderer writes, by where they may appear ("" the top level or a filter; else the section type). */
const KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  "": new Set(["protocols", "listen", "ssl", "ssl_cert", "ssl_key", "ssl_min_protocol", "ssl_prefer_server_ciphers", "disable_plaintext_auth", "auth_mechanisms", "auth_verbose", "log_path", "syslog_facility", "mail_location", "mail_home", "postmaster_address"]),
  passdb: new Set(["driver", "args"]),
  userdb: new Set(["driver", "args"]),
  service: new Set([]),
  inet_listener: new Set(["port", "ssl"]),
  unix_listener: new Set(["mode", "user", "group"]),
};
const FILTERS = new Set(["protocol", "remote", "local", "local_name"]);
const RENDERED_PROTOCOLS = new Set(["imap", "lmtp"]);
const STRONG_TLS = new Set(["TLSv1.2", "TLSv1.3"]);
const MECHANISMS = new Set(["plain", "login"]);

export interface DovecotFilter {
  readonly protocol?: { readonly name: string; readonly not: boolean };
  readonly remote?: AddrRange;
  readonly local?: AddrRange;
  readonly localName?: string;
}
interface Setting {
  readonly value: string;
  readonly line: number;
}
interface Scope {
  readonly filter: DovecotFilter;
  readonly line: number;
  readonly settings: Map<string, Setting>;
}
interface Db {
  readonly kind: "passdb" | "userdb";
  readonly line: number;
  readonly settings: Map<string, Setting>;
}
export interface DovecotConf {
  /** The top level first (no filter), then each filter block in file order. */
  readonly scopes: readonly Scope[];
  readonly dbs: readonly Db[];
  readonly problems: readonly { readonly line: number; readonly message: string }[];
}

export function parseDovecotConf(text: string): DovecotConf {
  const top: Scope = { filter: {}, line: 0, settings: new Map() };
  const scopes: Scope[] = [top];
  const dbs: Db[] = [];
  const problems: { line: number; message: string }[] = [];
  /** Open sections, innermost last: a filter scope, a database, or another section (by type). */
  const stack: { type: string; scope: Scope; db?: Db }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const problem = (message: string) => problems.push({ line, message });
    let t = raw.replace(/\r$/, "");
    // A # outside quotes starts a comment, even right after a value (Dovecot warns, and cuts there).
    let quoted = false;
    for (let k = 0; k < t.length; k++) {
      if (t[k] === '"') quoted = !quoted;
      else if (t[k] === "#" && !quoted) {
        t = t.slice(0, k);
        break;
      }
    }
    t = t.trim();
    if (!t) return;
    if (t.startsWith("!")) return problem(`${t.split(/\s/)[0]} makes Dovecot read other files, which the verifier does not: refused`);
    if (t === "}") {
      if (!stack.pop()) problem("a } closes no section");
      return;
    }
    const open = /^([a-z_]+)(?:\s+(.+?))?\s*\{$/.exec(t);
    const inner = stack[stack.length - 1];
    const scope = inner?.scope ?? top;
    if (open) {
      const [, type, arg] = open as unknown as [string, string, string | undefined];
      if (FILTERS.has(type)) {
        if (inner && inner.type !== "filter") return problem(`a ${type} filter inside ${inner.type} is not modelled: refused`);
        const filter = filterOf(type, arg, inner?.scope.filter ?? {});
        if (typeof filter === "string") return problem(filter);
        const s: Scope = { filter, line, settings: new Map() };
        scopes.push(s);
        stack.push({ type: "filter", scope: s });
        return;
      }
      if (type === "passdb" || type === "userdb") {
        if (inner && inner.type !== "filter") return problem(`${type} inside ${inner.type} is not modelled: refused`);
        const db: Db = { kind: type, line, settings: new Map() };
        dbs.push(db);
        stack.push({ type, scope, db });
        return;
      }
      // A service at the top level, its listeners inside it; nothing else.
      const parent = inner?.type ?? "";
      const allowed = type === "service" ? parent === "" : type === "inet_listener" || type === "unix_listener" ? parent === "service" : false;
      if (!allowed) return problem(`section ${type}${inner ? ` inside ${inner.type}` : ""} is not modelled (it can change who logs in, or how): refused`);
      if (!arg) return problem(`section ${type} needs a name`);
      stack.push({ type, scope });
      return;
    }
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(t);
    if (!kv) return problem(`${JSON.stringify(t)} is no setting (key = value) and no section`);
    const [, key, rawValue] = kv as unknown as [string, string, string];
    const where = inner && inner.type !== "filter" ? inner.type : "";
    if (!KEYS[where]?.has(key)) return problem(`${where ? `${where} ` : ""}${key} is not modelled (it can change who logs in, or how): refused`);
    let value = rawValue.trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    if (value.includes("$")) return problem(`${key} = ${value}: a $setting expansion is not modelled: refused`);
    if (BOOLEAN_SETTINGS.has(key)) {
      const b = value.toLowerCase();
      if (b !== "yes" && b !== "no") return problem(`${key} = ${value} is no boolean Dovecot reads (yes or no)`);
      value = b;
    }
    const target = inner?.db ? inner.db.settings : where ? undefined : scope.settings;
    target?.set(key, { value, line });
  });
  if (stack.length) problems.push({ line: text.split("\n").length, message: `${stack.length} section(s) not closed` });
  return { scopes, dbs, problems };
}

function filterOf(type: string, arg: string | undefined, outer: DovecotFilter): DovecotFilter | string {
  if (!arg || /\s/.test(arg)) return `${type} ${arg ?? ""}: one name or address expected (Dovecot refuses a list)`;
  if (type === "protocol") {
    if (outer.protocol) return "a protocol filter inside another: refused";
    const not = arg.startsWith("!");
    return { ...outer, protocol: { name: not ? arg.slice(1) : arg, not } };
  }
  if (type === "local_name") return { ...outer, localName: arg };
  if (outer.protocol) return `protocol { ${type} { .. } } is not allowed by Dovecot (remote { protocol { .. } } is)`;
  const r = parseRange(arg);
  if (!r) return `${type} ${arg}: not an address or network`;
  return type === "remote" ? { ...outer, remote: r } : { ...outer, local: r };
}

/** A connection, as `doveconf -f` describes one: its protocol and its addresses. */
export interface DovecotContext {
  readonly protocol?: string;
  readonly remote?: string;
  readonly local?: string;
}

const inRange = (r: AddrRange, ip: string | undefined) => {
  const a = ip === undefined ? undefined : parseRange(ip);
  return !!a && a.v === r.v && r.lo <= a.lo && a.hi <= r.hi;
};
function matches(f: DovecotFilter, c: DovecotContext): boolean {
  if (f.localName !== undefined) return false; // never chosen by doveconf -f; judged wherever it stands
  if (f.protocol && (c.protocol === undefined || (c.protocol === f.protocol.name) === f.protocol.not)) return false;
  if (f.remote && !inRange(f.remote, c.remote)) return false;
  if (f.local && !inRange(f.local, c.local)) return false;
  return true;
}

/** Every value a setting may have for this connection: the top level's (or the default) and each matching filter's. */
export function possibleValues(conf: DovecotConf, key: Judged, c: DovecotContext): string[] {
  const out = [conf.scopes[0]!.settings.get(key)?.value ?? DOVECOT_JUDGED[key]];
  for (const s of conf.scopes.slice(1)) if (matches(s.filter, c) && s.settings.has(key)) out.push(s.settings.get(key)!.value);
  return out;
}

export function checkDovecot(files: ReadonlyMap<string, string>): Finding[] {
  const out: Finding[] = [];
  const finding = (subject: string, message: string, line?: number) =>
    out.push({ id: `mail-weakened:${subject}`, kind: "mail-weakened", severity: "violation", subject, message, layer: "dovecot", artifact: DOVECOT_CONF, ...(line ? { line } : {}) });
  const text = files.get(DOVECOT_CONF);
  if (text === undefined) {
    // The edge always runs the mail services (edge/mail.ts): without the rendered file, Dovecot
    // runs on whatever configuration the host has, which nothing verified.
    finding(DOVECOT_CONF, `the edge has no ${DOVECOT_CONF}: Dovecot would run on the host's own configuration, which was not verified (its TLS and password database unknown)`);
    return out;
  }
  const conf = parseDovecotConf(text);
  for (const p of conf.problems) finding(`${DOVECOT_CONF}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
  if (conf.problems.length) return out;
  for (const s of conf.scopes) {
    const where = s.line ? ` (in the filter on line ${s.line})` : "";
    const get = (k: Judged) => (s.line ? s.settings.get(k) : (s.settings.get(k) ?? { value: DOVECOT_JUDGED[k], line: 0 }));
    const ssl = get("ssl");
    if (ssl && ssl.value !== "required") finding(`ssl${where}`, `ssl = ${ssl.value}${where}: ${ssl.value === "no" ? "IMAP without TLS" : "TLS is optional"}, so a session (and any mechanism but the plaintext ones) may run in clear`, ssl.line);
    const dpa = get("disable_plaintext_auth");
    if (dpa && dpa.value !== "yes") finding(`disable_plaintext_auth${where}`, `disable_plaintext_auth = no${where}: passwords may be sent before TLS, in clear`, dpa.line);
    const tls = get("ssl_min_protocol");
    if (tls && !STRONG_TLS.has(tls.value)) finding(`ssl_min_protocol${where}`, `ssl_min_protocol = ${tls.value}${where}: at least TLSv1.2`, tls.line);
    const mech = get("auth_mechanisms");
    const weak = mech ? mech.value.toLowerCase().split(/[\s,]+/).filter((m) => m && !MECHANISMS.has(m)) : [];
    if (mech && weak.length) finding(`auth_mechanisms${where}`, `auth_mechanisms ${weak.join(", ")}${where}: only plain and login over TLS are modelled (anonymous logs in without a password)`, mech.line);
    const protocols = get("protocols");
    const extra = protocols ? protocols.value.split(/\s+/).filter((p) => p && !RENDERED_PROTOCOLS.has(p.replace(/^[!+-]/, ""))) : [];
    if (protocols && extra.length) finding(`protocols${where}`, `protocols ${extra.join(", ")}${where}: a service the platform does not run (its listeners and authentication are not verified)`, protocols.line);
  }
  const want = { passdb: DOVECOT_PASSDB, userdb: DOVECOT_USERDB } as const;
  for (const kind of ["passdb", "userdb"] as const) {
    const found = conf.dbs.filter((d) => d.kind === kind);
    if (!found.length) finding(kind, `no ${kind}: the rendered ${kind} (${want[kind].driver}) is gone`);
    for (const d of found) {
      const driver = d.settings.get("driver")?.value;
      const args = d.settings.get("args")?.value;
      if (driver !== want[kind].driver || args !== want[kind].args) finding(`${kind} line ${d.line}`, `${kind} ${driver ?? "(no driver)"} ${args ?? ""}: not the rendered ${want[kind].driver} ${want[kind].args} (${kind === "passdb" ? "another database decides who logs in, nopassword lets anyone" : "another user database decides whose files a login opens, uid 0 is root"})`, (d.settings.get("args") ?? d.settings.get("driver"))?.line ?? d.line);
    }
  }
  return out;
}
