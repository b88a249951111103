import { IPS_ACTION, IPS_JAILS, IPS_REPEAT_JAIL, type Site } from "../../core/index.js";
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
 * every accept). What fail2ban would also read (a `.local` override, jail.d/, [INCLUDES]), a key or
 * command this module does not model, a repeated section or key: refused, never guessed. The
 * filters' regular expressions are not evaluated here: the lab's ban drill proves them.
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

  const ownRanges = ownAddresses(site);
  const actions = new Set<string>();
  for (const [k, v] of defaults?.keys ?? []) {
    if (!JAIL_KEYS.has(k)) finding(jailPath, `[DEFAULT] ${k}`, `${k} is not modelled (it can change what is banned): refused`, v.line);
  }
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
      if (!raw || !raw.value.includes("%")) return raw;
      if (depth > 10) throw new Refused(raw.line, `${key}: interpolation nests too deep`);
      const value = raw.value.replace(/%(%|\(([^)]+)\)s)/g, (all, _x, ref?: string) => {
        if (all === "%%") return "%";
        const inner = ref === "__name__" ? { value: name, line: raw.line } : get(ref!.toLowerCase(), depth + 1);
        if (!inner) throw new Refused(raw.line, `${key}: %(${ref})s names no key`);
        return inner.value;
      });
      if (/%(?!%)/.test(value.replace(/%%/g, ""))) throw new Refused(raw.line, `${key}: an interpolation that is not %(key)s`);
      return { value, line: raw.line };
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
