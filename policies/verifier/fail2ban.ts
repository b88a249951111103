import { IPS_ACTION, IPS_JAILS, IPS_LOGS, IPS_REPEAT_JAIL, ipsFailRegexes, type IpsJail, type Site } from "../../core/index.js";
import { parseRange, subtractRanges, type AddrRange } from "./addr.js";
import type { Finding } from "./report-model.js";
import type { SiteModel } from "./site-model.js";

/*
 * The edge IPS as fail2ban reads its files: INI sections where a jail's key falls back to
 * [DEFAULT], `%(key)s` interpolation, continuation lines, `<tag>` substitution in an action from
 * its [Init] (and [Init?family=inet6] for IPv6 bans). Every jail of the IPS must run, count
 * failures at least as strictly as the site says, ban for at least its ban time, exempt only the
 * platform's own addresses, and ban through the action whose command adds the offender to a set
 * of the host's nftables ruleset (the nftables checks then prove that set is consulted before
 * every accept). Each jail must read its own log (the repeat jail: fail2ban's own log, which
 * fail2ban.conf must write at a level that records bans) through a file backend, with its filter's
 * expressions exactly the platform's (the filter's interpolation resolved; no ignoreregex).
 * What fail2ban would also read (a `.local` override, jail.d/, [INCLUDES]), a key or command this
 * module does not model, a repeated section or key: refused, never guessed. The expressions are
 * compared, not evaluated: the lab's ban drill proves they match the daemons' log lines.
 */

export const FAIL2BAN_DIR = (host: string) => `hosts/${host}/fail2ban`;

interface IniValue {
  readonly value: string;
  readonly line: number;
}
interface IniSection {
  readonly line: number;
  readonly keys: Map<string, IniValue>;
}
interface Ini {
  readonly sections: Map<string, IniSection>;
  readonly problems: { line: number; message: string }[];
}

/** Python's ConfigParser as fail2ban configures it, the subset the renderer writes; anything else is a problem. */
export function parseFail2banIni(text: string): Ini {
  const sections = new Map<string, IniSection>();
  const problems: Ini["problems"] = [];
  let current: IniSection | undefined;
  let last: { key: string; section: IniSection } | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const t = raw.replace(/\r$/, "");
    if (/^\s*([#;].*)?$/.test(t)) {
      if (!t.trim()) last = undefined; // a blank line ends a continuation
      return;
    }
    if (/^\s/.test(t)) {
      if (!last) problems.push({ line, message: "an indented line continues no key" });
      else {
        const v = last.section.keys.get(last.key)!;
        last.section.keys.set(last.key, { value: `${v.value}\n${t.trim()}`, line: v.line });
      }
      return;
    }
    const sec = /^\[([^\]]+)\]\s*$/.exec(t);
    if (sec) {
      if (sections.has(sec[1]!)) problems.push({ line, message: `section [${sec[1]}] appears again (fail2ban would merge the two): not modelled` });
      current = sections.get(sec[1]!) ?? { line, keys: new Map() };
      sections.set(sec[1]!, current);
      last = undefined;
      return;
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]\s?(.*)$/.exec(t);
    if (!kv || !current) {
      problems.push({ line, message: current ? "not a key = value line" : "a key before any [section]" });
      return;
    }
    const key = kv[1]!.toLowerCase();
    if (current.keys.has(key)) problems.push({ line, message: `key ${key} appears again in its section (the later one would win): not modelled` });
    current.keys.set(key, { value: kv[2]!.trim(), line });
    last = { key, section: current };
  });
  return { sections, problems };
}

/** fail2ban's time strings (`3600`, `1h`, `10m 30s`, `-1`), in seconds; undefined when not one. */
export function fail2banSeconds(text: string): number | undefined {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) return Number(t);
  const units: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600, hour: 3600, d: 86_400, day: 86_400, w: 604_800, week: 604_800 };
  let total = 0;
  let rest = t;
  while (rest) {
    const m = /^(\d+)\s*(sec|min|hour|day|week|s|m|h|d|w)s?\s*/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return t ? total : undefined;
}

/** Keys of jail.local this module reads or knows to change nothing about banning. */
const JAIL_KEYS = new Set(["enabled", "filter", "logpath", "action", "banaction", "banaction_allports", "ignoreip", "ignoreself", "findtime", "maxretry", "bantime", "backend", "usedns", "port", "protocol"]);
/** The commands of an action's [Definition]: only the ban is a command; start, stop and check may not change anything. */
const ACTION_KEYS = new Set(["actionstart", "actionstop", "actioncheck", "actionban", "actionunban"]);

class Refused extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export function checkIps(files: ReadonlyMap<string, string>, site: Site, m: SiteModel): Finding[] {
  const host = "edge";
  const dir = FAIL2BAN_DIR(host);
  const out: Finding[] = [];
  const finding = (artifact: string, subject: string, message: string, line?: number) =>
    out.push({ id: `ips-weakened:${subject}`, kind: "ips-weakened", severity: "violation", subject, message, layer: "fail2ban", artifact, ...(line ? { line } : {}) });

  // What fail2ban reads besides the files judged here: refused.
  for (const path of [...files.keys()].filter((p) => p.startsWith(`${dir}/`)).sort()) {
    const rel = path.slice(dir.length + 1);
    if (rel === "jail.local" || rel === "fail2ban.conf" || /^(action|filter)\.d\/[^/]+\.conf$/.test(rel)) continue;
    finding(path, path, `fail2ban reads ${rel} too${rel.endsWith(".local") ? " (a .local overrides its .conf)" : ""}, and the verifier does not: refused`);
  }
  const jailPath = `${dir}/jail.local`;
  const jailText = files.get(jailPath);
  if (jailText === undefined) {
    finding(jailPath, jailPath, `the edge has no ${jailPath}: no jail runs, nothing is ever banned`);
    return out;
  }
  const jails = parseFail2banIni(jailText);
  for (const p of jails.problems) finding(jailPath, `${jailPath}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
  if (jails.sections.has("INCLUDES")) finding(jailPath, `${jailPath} [INCLUDES]`, "[INCLUDES] makes fail2ban read other files, which the verifier does not: refused", jails.sections.get("INCLUDES")!.line);
  const defaults = jails.sections.get("DEFAULT");

  const serverLog = serverLogFindings(files, dir, finding);
  const ownRanges = ownAddresses(site);
  const actions = new Set<string>();
  for (const [k, v] of defaults?.keys ?? []) {
    if (!JAIL_KEYS.has(k)) finding(jailPath, `[DEFAULT] ${k}`, `${k} is not modelled (it can change what is banned): refused`, v.line);
  }
  const defaultBackend = defaults?.keys.get("backend");
  if (defaultBackend && !FILE_BACKENDS.has(defaultBackend.value)) finding(jailPath, "[DEFAULT] backend", `backend = ${defaultBackend.value} is not one that reads the log files (${[...FILE_BACKENDS].join(", ")}): the jails without their own backend do not read their logpath`, defaultBackend.line);
  for (const name of IPS_JAILS) {
    const section = jails.sections.get(name);
    if (!section) {
      finding(jailPath, `jail ${name}`, `jail [${name}] is missing: its abuse signal is never banned`);
      continue;
    }
    for (const [k, v] of section.keys) {
      if (!JAIL_KEYS.has(k)) finding(jailPath, `jail ${name} ${k}`, `${k} is not modelled (it can change what is banned): refused`, v.line);
    }
    const get = (key: string, depth = 0): IniValue | undefined => {
      const raw = section.keys.get(key) ?? defaults?.keys.get(key);
      return raw && interpolated(key, raw, (ref, d) => (ref === "__name__" ? { value: name, line: raw.line } : get(ref, d)), depth);
    };
    try {
      const enabled = get("enabled");
      if (!enabled || !/^(true|yes|on|1)$/i.test(enabled.value)) finding(jailPath, `jail ${name} enabled`, `jail [${name}] is not enabled (${enabled ? `enabled = ${enabled.value}` : "enabled is not set; fail2ban's default is false"}): its abuse signal is never banned`, enabled?.line ?? section.line);
      const action = get("action");
      const used = (action?.value ?? "").split("\n").map((x) => x.trim()).filter(Boolean);
      if (used.length === 0 || used.some((a) => a !== IPS_ACTION)) finding(jailPath, `jail ${name} action`, `jail [${name}] bans through ${used.length ? used.join(", ") : "no action"}, not (only) ${IPS_ACTION}: its bans do not (only) reach the firewall's ban sets`, action?.line ?? section.line);
      for (const a of used) actions.add(a);
      const filter = get("filter");
      if (!filter || !/^[\w-]+$/.test(filter.value) || !files.has(`${dir}/filter.d/${filter.value}.conf`)) finding(jailPath, `jail ${name} filter`, `jail [${name}] has filter ${filter ? JSON.stringify(filter.value) : "(none)"}, which is no file of filter.d/ (or has options the verifier does not model): fail2ban does not start the jail`, filter?.line ?? section.line);
      else if (filter.value !== name) finding(jailPath, `jail ${name} filter`, `jail [${name}] reads filter ${filter.value}, not its own (${name}): it counts other failures than the platform's for ${name}`, filter.line);
      else filterFindings(files, dir, name, finding);
      const logpath = get("logpath");
      const logs = (logpath?.value ?? "").split("\n").map((x) => x.trim()).filter(Boolean);
      // A refused entry is a finding of its own: it must not hide the jail's other checks.
      const unread = logs.find((l) => !/^\/[^\s*?[\]]*$/.test(l));
      if (unread !== undefined) finding(jailPath, `jail ${name}:${logpath!.line}`, `not understood, so not trusted: jail [${name}] logpath ${JSON.stringify(unread)} is not one file's absolute path (a pattern or an option): not modelled`, logpath!.line);
      const own = name === IPS_REPEAT_JAIL ? serverLog.target : IPS_LOGS[name];
      if (unread === undefined && own !== undefined && !logs.includes(own)) finding(jailPath, `jail ${name} logpath`, `jail [${name}] reads ${logs.length ? logs.join(", ") : "no log"}, not ${own}${name === IPS_REPEAT_JAIL ? ` (fail2ban's own log, fail2ban.conf's logtarget)` : ""}: the failures it counts are never seen`, logpath?.line ?? section.line);
      // [DEFAULT]'s backend is judged once, below; a jail's own here.
      const backend = section.keys.has("backend") ? get("backend") : undefined;
      if (backend && !FILE_BACKENDS.has(backend.value)) finding(jailPath, `jail ${name} backend`, `jail [${name}] has backend = ${backend.value}, not one that reads the log files (${[...FILE_BACKENDS].join(", ")}): its logpath is not what it reads`, backend.line);
      const seconds = (key: string): { s: number; line: number } | undefined => {
        const v = get(key);
        if (!v) return undefined;
        const s = fail2banSeconds(v.value);
        if (s === undefined) throw new Refused(v.line, `${key} = ${v.value} is not a time fail2ban reads`);
        return { s, line: v.line };
      };
      const ips = site.edge.ips;
      const bantime = seconds("bantime");
      if (!bantime || (bantime.s >= 0 && bantime.s < ips.bantime)) finding(jailPath, `jail ${name} bantime`, `jail [${name}] bans for ${bantime ? `${bantime.s} s` : "fail2ban's default 600 s"}, less than the site's ${ips.bantime} s (edge.ips.bantime)`, bantime?.line ?? section.line);
      if (name !== IPS_REPEAT_JAIL) {
        const findtime = seconds("findtime");
        if (!findtime || findtime.s < ips.findtime) finding(jailPath, `jail ${name} findtime`, `jail [${name}] counts failures over ${findtime ? `${findtime.s} s` : "fail2ban's default 600 s"}, less than the site's ${ips.findtime} s (edge.ips.findtime): slower attacks are never banned`, findtime?.line ?? section.line);
        const maxretry = get("maxretry");
        const n = maxretry && /^\d+$/.test(maxretry.value) ? Number(maxretry.value) : undefined;
        if (maxretry && n === undefined) throw new Refused(maxretry.line, `maxretry = ${maxretry.value} is not a number`);
        if (n === undefined || n > ips.maxretry || n < 1) finding(jailPath, `jail ${name} maxretry`, `jail [${name}] bans after ${n ?? "fail2ban's default 5"} failures, not within the site's ${ips.maxretry} (edge.ips.maxretry)`, maxretry?.line ?? section.line);
      }
      const ignore = get("ignoreip");
      for (const token of (ignore?.value ?? "").split(/[\s,]+/).filter(Boolean)) {
        const r = parseRange(token);
        if (!r || token.includes("-")) throw new Refused(ignore!.line, `ignoreip entry ${token} is no address or CIDR (a name is resolved by DNS at ban time): not modelled`);
        const outside = subtractRanges([r], ownRanges);
        if (outside.length) finding(jailPath, `jail ${name} ignoreip ${token}`, `jail [${name}] never bans ${token}, which is not only the platform's own addresses (loopback, the tunnels, the edge, the uplinks, the admin ranges): offenders there are never banned`, ignore!.line);
      }
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      finding(jailPath, `jail ${name}:${e.line}`, `not understood, so not trusted: jail [${name}] ${e.message}`, e.line);
    }
  }
  for (const a of [...actions].sort()) actionFindings(files, dir, a, m, finding);
  return out;
}

/**
 * A value with ConfigParser's interpolation resolved, as fail2ban configures it: `%(key)s` is the
 * value `lookup` gives (itself resolved), `%%` a percent sign; any other `%` is refused.
 */
function interpolated(key: string, raw: IniValue, lookup: (ref: string, depth: number) => IniValue | undefined, depth: number): IniValue {
  if (!raw.value.includes("%")) return raw;
  if (depth > 10) throw new Refused(raw.line, `${key}: interpolation nests too deep`);
  const value = raw.value.replace(/%(%|\(([^)]+)\)s|)/g, (all, _x, ref?: string) => {
    if (all === "%%") return "%";
    if (!ref) throw new Refused(raw.line, `${key}: an interpolation that is not %(key)s`);
    const inner = lookup(ref.toLowerCase(), depth + 1);
    if (!inner) throw new Refused(raw.line, `${key}: %(${ref})s names no key`);
    return inner.value;
  });
  return { value, line: raw.line };
}

/** fail2ban's backends that read the jail's logpath files (systemd reads the journal instead). */
const FILE_BACKENDS: ReadonlySet<string> = new Set(["auto", "polling", "pyinotify"]);
/** fail2ban.conf's keys this module reads or knows to change nothing about banning. */
const SERVER_KEYS: ReadonlySet<string> = new Set(["loglevel", "logtarget", "syslogsocket", "socket", "pidfile", "allowipv6", "dbfile", "dbpurgeage", "dbmaxmatches"]);
/** Log levels at which fail2ban writes its "Ban" notices, which the repeat jail reads (NOTICE is 25). */
const BAN_LOGGED: ReadonlySet<string> = new Set(["NOTICE", "INFO", "DEBUG", "TRACEDEBUG", "HEAVYDEBUG"]);

/**
 * fail2ban.conf: where the server logs (the repeat jail's log) and whether its bans are logged at
 * all. `target`: the log file, undefined when there is none to read.
 */
function serverLogFindings(files: ReadonlyMap<string, string>, dir: string, finding: (artifact: string, subject: string, message: string, line?: number) => void): { target?: string } {
  const path = `${dir}/fail2ban.conf`;
  const text = files.get(path);
  if (text === undefined) {
    finding(path, path, `the edge has no ${path}: the server's log target and level are the host's own, and the repeat jail (${IPS_REPEAT_JAIL}) reads a log nothing verified`);
    return {};
  }
  const ini = parseFail2banIni(text);
  for (const p of ini.problems) finding(path, `${path}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
  for (const [name, sec] of ini.sections) {
    if (name !== "Definition") {
      finding(path, `${path} [${name}]`, `section [${name}] is not modelled: refused`, sec.line);
      continue;
    }
    for (const [k, v] of sec.keys) if (!SERVER_KEYS.has(k) || v.value.includes("%")) finding(path, `${path} ${k}`, `${k} = ${v.value} is not modelled: refused`, v.line);
  }
  const def = ini.sections.get("Definition");
  const level = def?.keys.get("loglevel");
  const levelValue = (level?.value ?? "INFO").toUpperCase();
  const logged = BAN_LOGGED.has(levelValue) || (/^\d+$/.test(levelValue) && Number(levelValue) <= 25);
  if (!logged) finding(path, `${path} loglevel`, `loglevel = ${level!.value} writes no "Ban" notice (NOTICE and below): the repeat jail (${IPS_REPEAT_JAIL}) never sees a ban, repeat offenders are never banned for longer`, level!.line);
  const target = def?.keys.get("logtarget");
  if (!target || !/^\/[^\s*?[\]]*$/.test(target.value)) {
    finding(path, `${path} logtarget`, `logtarget = ${target?.value ?? "(not set)"} is not a log file the repeat jail (${IPS_REPEAT_JAIL}) can read: repeat offenders are never banned for longer`, target?.line ?? def?.line);
    return {};
  }
  return { target: target.value };
}

/** Keys of a filter's [Definition] this module reads; `__prefix` is the renderer's helper, interpolated into failregex. */
const FILTER_KEYS: ReadonlySet<string> = new Set(["__prefix", "failregex", "ignoreregex"]);

/**
 * The jail's filter as fail2ban reads it: its [Definition]'s failregex (interpolation resolved,
 * one expression per line) must be the platform's for the jail, and nothing may be ignored. Any
 * other section or key (prefregex, datepattern, maxlines, journalmatch, [INCLUDES], [Init]) changes
 * what matches: refused.
 */
function filterFindings(files: ReadonlyMap<string, string>, dir: string, jail: IpsJail, finding: (artifact: string, subject: string, message: string, line?: number) => void): void {
  const filter = jail;
  const path = `${dir}/filter.d/${filter}.conf`;
  const ini = parseFail2banIni(files.get(path)!);
  const subject = (what: string) => `jail ${jail} filter ${filter} ${what}`;
  for (const p of ini.problems) finding(path, `${path}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
  if (ini.problems.length) return;
  for (const [name, sec] of ini.sections) if (name !== "Definition") finding(path, subject(`[${name}]`), `section [${name}] of ${path} is not modelled (it can change what the filter matches): refused`, sec.line);
  const def = ini.sections.get("Definition");
  if (!def) {
    finding(path, subject("[Definition]"), `${path} has no [Definition]: jail [${jail}] has no expression, nothing is ever banned`);
    return;
  }
  for (const [k, v] of def.keys) if (!FILTER_KEYS.has(k)) finding(path, subject(k), `${k} is not modelled (it changes what the filter matches): refused`, v.line);
  const resolve = (key: string, depth = 0): IniValue | undefined => {
    const raw = def.keys.get(key);
    return raw && interpolated(key, raw, resolve, depth);
  };
  try {
    const lines = (key: string) => (resolve(key)?.value ?? "").split("\n").map((x) => x.trim()).filter(Boolean);
    const failregex = lines("failregex");
    const want = ipsFailRegexes(jail);
    const at = def.keys.get("failregex")?.line ?? def.line;
    const missing = want.filter((r) => !failregex.includes(r));
    const extra = failregex.filter((r) => !want.includes(r));
    if (missing.length) finding(path, subject("failregex"), `the filter of jail [${jail}] no longer has ${missing.length} of the platform's ${want.length} expressions (the first: ${JSON.stringify(missing[0])}): those failures are never counted`, at);
    if (extra.length) finding(path, subject("failregex +"), `the filter of jail [${jail}] has an expression the platform does not declare (${JSON.stringify(extra[0])}): it bans on lines nothing verified`, at);
    const ignored = lines("ignoreregex");
    if (ignored.length) finding(path, subject("ignoreregex"), `the filter of jail [${jail}] ignores lines matching ${JSON.stringify(ignored[0])}: failures that match it are never counted`, def.keys.get("ignoreregex")!.line);
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    finding(path, `${path}:${e.line}`, `not understood, so not trusted: ${e.message}`, e.line);
  }
}

/** The platform's own addresses, from the site: what the IPS may exempt. */
function ownAddresses(site: Site): AddrRange[] {
  const cidrs = ["127.0.0.0/8", "::1", site.edge.ipv4, site.edge.ipv6, ...site.sites.flatMap((s) => [s.tunnel.subnet, s.tunnel.subnet6, ...s.uplinks.map((u) => u.address.split("/")[0]!)]), ...site.site.adminCidrs];
  return cidrs.flatMap((c) => parseRange(c) ?? []);
}

/** The action's ban, as fail2ban runs it: each family's command must add the offender to a set of the edge's ruleset. */
function actionFindings(files: ReadonlyMap<string, string>, dir: string, name: string, m: SiteModel, finding: (artifact: string, subject: string, message: string, line?: number) => void): void {
  const path = `${dir}/action.d/${name}.conf`;
  const text = files.get(path);
  if (text === undefined) {
    finding(path, `action ${name}`, `the jails ban through action ${name}, and ${path} is not rendered: fail2ban does not start them`);
    return;
  }
  const ini = parseFail2banIni(text);
  for (const p of ini.problems) finding(path, `${path}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
  const def = ini.sections.get("Definition");
  if (!def) {
    finding(path, `action ${name}`, `${path} has no [Definition]: no ban command`);
    return;
  }
  for (const [k, v] of def.keys) {
    if (!ACTION_KEYS.has(k)) finding(path, `action ${name} ${k}`, `${k} is not modelled (fail2ban runs it as root): refused`, v.line);
  }
  for (const k of ["actionstart", "actionstop"]) {
    const v = def.keys.get(k);
    if (v && v.value) finding(path, `action ${name} ${k}`, `${k} runs a command as root (${v.value.split("\n")[0]}), which the verifier does not model: refused (the firewall owns its table and sets)`, v.line);
  }
  const ruleset = m.hosts.get("edge")?.nft;
  // Not rendered yet: the firewall's own verdicts are pending, and so is what its sets hold.
  if (!ruleset) return;
  const sets = new Set(ruleset.sets.map((s) => s.key));
  for (const [section, family] of [["Init", "IPv4"], ["Init?family=inet6", "IPv6"]] as const) {
    const tags = new Map<string, string>([...(ini.sections.get("Init")?.keys ?? [])].map(([k, v]) => [k, v.value]));
    for (const [k, v] of section === "Init" ? [] : (ini.sections.get(section)?.keys ?? [])) tags.set(k, v.value);
    const ban = def.keys.get("actionban");
    const commands = (ban?.value ?? "").replace(/<([\w-]+)>/g, (all, t: string) => tags.get(t.toLowerCase()) ?? all).split("\n").map((x) => x.trim());
    const adds = commands.map((c) => /^nft\s+(?:add|create)\s+element\s+(\S+)\s+(\S+)\s+(\S+)\s+\\?\{\s*<ip>(?:\s+timeout\s+<bantime>s)?\s*\\?\}$/.exec(c)).filter((x): x is RegExpExecArray => x !== null);
    const unknown = commands.filter((c) => c && !/^nft\s+(?:add|create)\s+element\s/.test(c) && !/^nft\s+delete\s+element\s+\S+\s+\S+\s+\S+\s+\\?\{\s*<ip>\s*\\?\}\s+2>\s*\/dev\/null\s+\|\|\s+:$/.test(c));
    if (unknown.length) finding(path, `action ${name} actionban ${family}`, `actionban runs ${JSON.stringify(unknown[0])} for an ${family} ban, which the verifier does not model: refused`, ban?.line);
    // The check runs before each ban and the unban at its end, both as root: only their rendered forms.
    for (const [k, form] of [["actioncheck", /^(nft\s+list\s+set\s+\S+\s+\S+\s+\S+\s+>\s*\/dev\/null)?$/], ["actionunban", /^(:|nft\s+delete\s+element\s+\S+\s+\S+\s+\S+\s+\\?\{\s*<ip>\s*\\?\})?$/]] as const) {
      const v = def.keys.get(k);
      const text = (v?.value ?? "").replace(/<([\w-]+)>/g, (all, t: string) => (t === "ip" ? all : (tags.get(t.toLowerCase()) ?? all))).trim();
      if (v && !form.test(text)) finding(path, `action ${name} ${k} ${family}`, `${k} runs ${JSON.stringify(text.split("\n")[0])} as root, which the verifier does not model: refused`, v.line);
    }
    const into = adds.filter((a) => sets.has(`${a[1]}/${a[2]}/${a[3]}`));
    if (into.length === 0) finding(path, `action ${name} ${family}`, `an ${family} ban by ${name} adds the offender to no set of hosts/edge/nftables.conf (${adds.length ? adds.map((a) => `${a[1]} ${a[2]} ${a[3]}`).join(", ") : "no nft add element command"}): a ban blocks nothing`, ban?.line);
  }
}

/** The ban sets an action of a host adds to: `addr_set` of its [Init] and [Init?family=inet6], as fail2ban reads them. */
export function banSetsOf(files: ReadonlyMap<string, string>, host: string): { path: string; sets: string[] }[] {
  const out: { path: string; sets: string[] }[] = [];
  for (const [path, text] of files) {
    if (!path.startsWith(`${FAIL2BAN_DIR(host)}/action.d/`) || !path.endsWith(".conf")) continue;
    const ini = parseFail2banIni(text);
    const sets = ["Init", "Init?family=inet6"].flatMap((s) => ini.sections.get(s)?.keys.get("addr_set")?.value ?? []).filter(Boolean);
    if (sets.length) out.push({ path, sets: [...new Set(sets)].sort() });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}
