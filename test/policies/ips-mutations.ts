import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { IPS_JAILS, type Site } from "../../core/index.js";
import { editText } from "./support.js";

/*
 * Edits of the edge's fail2ban files (issue 12, class 12): `MUTATIONS` weaken the IPS, each
 * expecting an ips-weakened finding; `NEUTRAL` change only how the files are written, and must
 * pass. Values come from the planned site (its edge.ips), never from the reference. Used by the
 * verifier's mutation test and by the differential test against fail2ban's own reader.
 */

export const JAIL = "hosts/edge/fail2ban/jail.local";
export const ACTION = "hosts/edge/fail2ban/action.d/palisade-nft.conf";
export const SERVER = "hosts/edge/fail2ban/fail2ban.conf";
/** A jail's filter file (the renderer names it after the jail). */
export const FILTER = (jail: string) => `hosts/edge/fail2ban/filter.d/${jail}.conf`;

export interface IpsMutation {
  readonly name: string;
  readonly apply: (dir: string, site: Site) => void;
  readonly expected: RegExp;
  /** The file and the text its reported line holds. */
  readonly artifact: string;
  readonly marker: string;
}

/** Sets `key = value` in the section named (replacing its line there, else first after the header). */
export const setInSection = (text: string, section: string, key: string, value: string): string => {
  const at = text.indexOf(`[${section}]\n`);
  if (at < 0) throw new Error(`no [${section}]`);
  const next = text.indexOf("\n[", at + 1);
  const end = next < 0 ? text.length : next;
  const re = new RegExp(`^${key} = .*$`, "m");
  const body = text.slice(at, end);
  const edited = re.test(body) ? body.replace(re, `${key} = ${value}`) : body.replace(`[${section}]\n`, `[${section}]\n${key} = ${value}\n`);
  return text.slice(0, at) + edited + text.slice(end);
};
export const firstJail = IPS_JAILS.find((j) => j !== "recidive")!;

export const MUTATIONS: readonly IpsMutation[] = [
  { name: `jail ${firstJail} disabled`, apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "enabled", "false")), expected: new RegExp(`jail ${firstJail} enabled .*not enabled`), artifact: JAIL, marker: "enabled = false" },
  { name: `jail ${firstJail} enabled = maybe (not a boolean fail2ban reads)`, apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "enabled", "maybe")), expected: new RegExp(`jail ${firstJail} enabled .*not enabled`), artifact: JAIL, marker: "enabled = maybe" },
  { name: "the sshd jail's section removed", apply: (d) => editText(d, JAIL, (x) => x.replace(/\[sshd\]\n(?:[^[\n].*\n)*/, "")), expected: /jail sshd .*\[sshd\] is missing/, artifact: JAIL, marker: "" },
  { name: "bantime one second under the site's, in [DEFAULT]", apply: (d, s) => editText(d, JAIL, (x) => setInSection(x, "DEFAULT", "bantime", String(s.edge.ips.bantime - 1))), expected: /jail \S+ bantime .*less than the site's/, artifact: JAIL, marker: "bantime = " },
  { name: "bantime 0 written as a time (0m) for one jail", apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "bantime", "0m")), expected: new RegExp(`jail ${firstJail} bantime .*0 s`), artifact: JAIL, marker: "bantime = 0m" },
  { name: "maxretry one over the site's", apply: (d, s) => editText(d, JAIL, (x) => setInSection(x, "DEFAULT", "maxretry", String(s.edge.ips.maxretry + 1))), expected: /jail \S+ maxretry .*not within the site's/, artifact: JAIL, marker: "maxretry = " },
  { name: "findtime one second under the site's", apply: (d, s) => editText(d, JAIL, (x) => setInSection(x, "DEFAULT", "findtime", String(s.edge.ips.findtime - 1))), expected: /jail \S+ findtime .*less than the site's/, artifact: JAIL, marker: "findtime = " },
  { name: "half the internet in ignoreip (0.0.0.0/1)", apply: (d) => editText(d, JAIL, (x) => x.replace(/^ignoreip = /m, "ignoreip = 0.0.0.0/1 ")), expected: /ignoreip 0\.0\.0\.0\/1 .*never bans/, artifact: JAIL, marker: "ignoreip = 0.0.0.0/1" },
  { name: "an IPv6 range beyond the platform's in one jail's ignoreip", apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "ignoreip", "2000::/3")), expected: /ignoreip 2000::\/3 .*never bans/, artifact: JAIL, marker: "ignoreip = 2000::/3" },
  { name: "a host name in ignoreip (resolved by DNS at ban time)", apply: (d) => editText(d, JAIL, (x) => x.replace(/^ignoreip = /m, "ignoreip = friend.example.net ")), expected: /not understood.*ignoreip entry friend\.example\.net/, artifact: JAIL, marker: "ignoreip = friend" },
  { name: "an ignorecommand in one jail (a command decides who is never banned)", apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "ignorecommand", "/bin/true")), expected: new RegExp(`jail ${firstJail} ignorecommand .*is not modelled`), artifact: JAIL, marker: "ignorecommand" },
  { name: "one jail's action replaced by a mail notification", apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "action", "sendmail-whois")), expected: new RegExp(`jail ${firstJail} action .*sendmail-whois`), artifact: JAIL, marker: "action = sendmail-whois" },
  { name: "the action through an interpolation of an unknown key", apply: (d) => editText(d, JAIL, (x) => x.replace(/^action = .*$/m, "action = %(action_mw)s")), expected: /not understood.*%\(action_mw\)s names no key/, artifact: JAIL, marker: "action = %(action_mw)s" },
  { name: "a second [DEFAULT] later in jail.local", apply: (d) => editText(d, JAIL, (x) => `${x}\n[DEFAULT]\nbantime = 1\n`), expected: /section \[DEFAULT\] appears again/, artifact: JAIL, marker: "[DEFAULT]" },
  { name: "[INCLUDES] after = another file", apply: (d) => editText(d, JAIL, (x) => `${x}\n[INCLUDES]\nafter = extra.local\n`), expected: /\[INCLUDES\] makes fail2ban read other files/, artifact: JAIL, marker: "[INCLUDES]" },
  { name: "a jail.d override beside jail.local", apply: (d) => { const f = join(d, "hosts/edge/fail2ban/jail.d/zz.local"); mkdirSync(dirname(f), { recursive: true }); writeFileSync(f, "[sshd]\nenabled = false\n"); }, expected: /fail2ban reads jail\.d\/zz\.local too/, artifact: "hosts/edge/fail2ban/jail.d/zz.local", marker: "" },
  { name: "the action's table renamed (bans into a table the firewall does not have)", apply: (d) => editText(d, ACTION, (x) => x.replace(/^table = .*$/m, "table = elsewhere")), expected: /IPv4 ban by palisade-nft adds the offender to no set/, artifact: ACTION, marker: "actionban" },
  { name: "the IPv6 ban set renamed", apply: (d) => editText(d, ACTION, (x) => x.replace(/(\[Init\?family=inet6\]\n\naddr_set = ).*/, "$1nowhere6")), expected: /IPv6 ban by palisade-nft adds the offender to no set/, artifact: ACTION, marker: "actionban" },
  { name: "the ban command made a no-op", apply: (d) => editText(d, ACTION, (x) => x.replace(/^actionban = [^\n]*\n(?:[ \t]+[^\n]*\n)*/m, "actionban = true\n")), expected: /actionban runs "true"/, artifact: ACTION, marker: "actionban" },
  { name: "actioncheck flushing the whole ruleset (it runs before each ban)", apply: (d) => editText(d, ACTION, (x) => x.replace(/^actioncheck = .*$/m, "actioncheck = nft flush ruleset")), expected: /actioncheck runs "nft flush ruleset" as root/, artifact: ACTION, marker: "actioncheck = nft flush ruleset" },
  { name: "actionunban deleting the firewall's table", apply: (d) => editText(d, ACTION, (x) => x.replace(/^actionunban = .*$/m, "actionunban = <nftables> delete table <table_family> <table>")), expected: /actionunban runs "nft delete table inet \S+" as root/, artifact: ACTION, marker: "actionunban" },
  { name: "an unmodelled key in [DEFAULT] (ignorecommand, reported once)", apply: (d) => editText(d, JAIL, (x) => setInSection(x, "DEFAULT", "ignorecommand", "/bin/true")), expected: /^ips-weakened \[DEFAULT\] ignorecommand /, artifact: JAIL, marker: "ignorecommand" },
  // The filters, the logs and the server's own log (what each jail reads, and what it counts).
  { name: "the sshd filter's second expression deleted (a continuation line)", apply: (d) => editText(d, FILTER("sshd"), (x) => x.replace(/\n[ \t]+%\(__prefix\)s[^\n]*/, "")), expected: /jail sshd filter sshd failregex .*no longer has 1 of the platform's \d+ expressions/, artifact: FILTER("sshd"), marker: "failregex" },
  { name: `the ${firstJail} filter's expression replaced by one that never matches`, apply: (d) => editText(d, FILTER(firstJail), (x) => x.replace(/^failregex = .*$/m, "failregex = ^never$")), expected: new RegExp(`jail ${firstJail} filter ${firstJail} failregex .*no longer has`), artifact: FILTER(firstJail), marker: "failregex = ^never$" },
  { name: `an ignoreregex matching everything in the ${firstJail} filter`, apply: (d) => editText(d, FILTER(firstJail), (x) => x.replace(/^ignoreregex =.*$/m, "ignoreregex = .*")), expected: /ignores lines matching "\.\*"/, artifact: FILTER(firstJail), marker: "ignoreregex = .*" },
  { name: `a prefregex in the ${firstJail} filter (a line must match it before any failregex)`, apply: (d) => editText(d, FILTER(firstJail), (x) => x.replace(/^\[Definition\]$/m, "[Definition]\nprefregex = ^never <F-CONTENT>.+</F-CONTENT>$")), expected: /prefregex is not modelled/, artifact: FILTER(firstJail), marker: "prefregex" },
  { name: `[INCLUDES] in the ${firstJail} filter (fail2ban reads another file first)`, apply: (d) => editText(d, FILTER(firstJail), (x) => `[INCLUDES]\nbefore = common.conf\n\n${x}`), expected: /section \[INCLUDES\] of .* is not modelled/, artifact: FILTER(firstJail), marker: "[INCLUDES]" },
  { name: `the ${firstJail} filter's prefix made to match no syslog line (through the interpolation)`, apply: (d) => editText(d, FILTER(firstJail), (x) => x.replace(/^__prefix = .*$/m, "__prefix = ^never ")), expected: new RegExp(`jail ${firstJail} filter ${firstJail} failregex .*no longer has`), artifact: FILTER(firstJail), marker: "failregex" },
  { name: "the sshd jail reading the portscan filter", apply: (d) => editText(d, JAIL, (x) => setInSection(x, "sshd", "filter", "portscan")), expected: /jail sshd filter .*reads filter portscan, not its own/, artifact: JAIL, marker: "filter = portscan" },
  { name: `jail ${firstJail} reading /dev/null`, apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "logpath", "/dev/null")), expected: new RegExp(`jail ${firstJail} logpath .*reads /dev/null, not `), artifact: JAIL, marker: "logpath = /dev/null" },
  { name: `a pattern in jail ${firstJail}'s logpath`, apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "logpath", "/var/log/*.log")), expected: /not understood.*logpath "\/var\/log\/\*\.log" is not one file's absolute path/, artifact: JAIL, marker: "logpath = /var/log/*.log" },
  { name: "backend = systemd in [DEFAULT] (the journal, not the log files)", apply: (d) => editText(d, JAIL, (x) => setInSection(x, "DEFAULT", "backend", "systemd")), expected: /\[DEFAULT\] backend .*backend = systemd is not one that reads the log files/, artifact: JAIL, marker: "backend = systemd" },
  { name: "the repeat jail reading another log than fail2ban's own", apply: (d) => editText(d, JAIL, (x) => setInSection(x, "recidive", "logpath", "/var/log/other.log")), expected: /jail recidive logpath .*reads \/var\/log\/other\.log, not .*logtarget/, artifact: JAIL, marker: "logpath = /var/log/other.log" },
  { name: "fail2ban's own log sent to syslog (logtarget = SYSLOG)", apply: (d) => editText(d, SERVER, (x) => x.replace(/^logtarget = .*$/m, "logtarget = SYSLOG")), expected: /logtarget = SYSLOG is not a log file the repeat jail/, artifact: SERVER, marker: "logtarget = SYSLOG" },
  { name: "fail2ban logging at WARNING (no Ban notice for the repeat jail)", apply: (d) => editText(d, SERVER, (x) => x.replace(/^loglevel = .*$/m, "loglevel = WARNING")), expected: /loglevel = WARNING writes no "Ban" notice/, artifact: SERVER, marker: "loglevel = WARNING" },
  { name: "fail2ban.conf removed", apply: (d) => rmSync(join(d, SERVER)), expected: /has no hosts\/edge\/fail2ban\/fail2ban\.conf/, artifact: SERVER, marker: "" },
  { name: "actionstop flushing the whole ruleset", apply: (d) => editText(d, ACTION, (x) => x.replace(/^actionstop =$/m, "actionstop = nft flush ruleset")), expected: /actionstop runs a command as root \(nft flush ruleset\)/, artifact: ACTION, marker: "actionstop = nft flush ruleset" },
];

/** Rewrites that change nothing fail2ban does: verify passes, fail2ban reads the same jails. */
export const NEUTRAL: readonly { readonly name: string; readonly apply: (dir: string, site: Site) => void }[] = [
  { name: "enabled = yes (another of fail2ban's booleans)", apply: (d) => editText(d, JAIL, (x) => setInSection(x, firstJail, "enabled", "yes")) },
  { name: "bantime with a unit (the same seconds)", apply: (d, s) => editText(d, JAIL, (x) => setInSection(x, "DEFAULT", "bantime", `${s.edge.ips.bantime}s`)) },
  { name: "ignoreip continued on an indented line", apply: (d) => editText(d, JAIL, (x) => x.replace(/^(ignoreip = \S+ \S+) /m, "$1\n    ")) },
  { name: "the sshd filter's expressions in another order", apply: (d) => editText(d, FILTER("sshd"), (x) => x.replace(/^failregex = (%\(__prefix\)s.*)\n[ \t]+(%\(__prefix\)s.*)$/m, "failregex = $2\n            $1")) },
  { name: "a filter's prefix written out in each expression instead of %(__prefix)s", apply: (d) => editText(d, FILTER(firstJail), (x) => { const prefix = /^__prefix = (.*)$/m.exec(x)![1]!; return x.replaceAll("%(__prefix)s", prefix); }) },
  { name: "a comment in a filter", apply: (d) => editText(d, FILTER(firstJail), (x) => x.replace(/^ignoreregex =/m, "# nothing ignored\nignoreregex =")) },
  { name: "comments between the keys", apply: (d) => editText(d, JAIL, (x) => x.replace(/^(maxretry = .*)$/m, "# how many failures\n$1\n; a comment too")) },
];
