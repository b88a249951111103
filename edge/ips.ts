import { IPS_ACTION, IPS_FILTERS, IPS_LOGS, type Artifact, type IpsJail, type Topology } from "../core/index.js";
import { EDGE_BAN_SETS, EDGE_FW_TABLE } from "./firewall.js";
import { EDGE_DIR, allTunnelFacts, header } from "./private/edge-facts.js";

/** The custom fail2ban action that adds offenders to the firewall's ban sets (it owns no table or chain). */
export const EDGE_IPS_ACTION = IPS_ACTION;

/** Jails of the edge IPS, the log each reads (as rsyslog writes it on the edge host), by name. */
export const EDGE_JAILS = IPS_LOGS;
export type EdgeJail = IpsJail;

/** Repeat offenders: banned for a week after five bans in a day (any jail). */
export const EDGE_RECIDIVE = { findtime: 86_400, maxretry: 5, bantime: 604_800 } as const;

export interface IpsOptions {
  /**
   * Where fail2ban keeps its ban database.
   * @default "/var/lib/fail2ban/fail2ban.sqlite3" - bans survive restarts (the lab passes ":memory:")
   */
  readonly dbfile?: string;
  /**
   * Directory for fail2ban's socket, pid file and own log (the recidive jail reads that log).
   * @default "/var/run/fail2ban"
   */
  readonly runDir?: string;
}

/** fail2ban regular expressions. `__prefix` eats what is left of a syslog line once the date is cut. */
export const EDGE_FILTERS = IPS_FILTERS;

function renderFilter(jail: EdgeJail): string {
  const f = EDGE_FILTERS[jail];
  // '%' is ConfigParser's interpolation character: double any that the expressions contain.
  const esc = (s: string) => s.replace(/%/g, "%%");
  return [
    header("#", `fail2ban filter "${jail}": ${f.description}`).trimEnd(),
    "",
    "[Definition]",
    "",
    `__prefix = ${esc(f.prefix)}`,
    "",
    `failregex = ${f.failregex.map((r, i) => `${i === 0 ? "" : "            "}%(__prefix)s${esc(r)}`).join("\n")}`,
    "",
    "ignoreregex =",
    "",
  ].join("\n");
}

function renderAction(): string {
  return [
    header("#", "fail2ban action: add offenders to the edge firewall's ban sets").trimEnd(),
    `# The firewall (nftables.conf) owns table inet ${EDGE_FW_TABLE} and the sets ${EDGE_BAN_SETS.v4} / ${EDGE_BAN_SETS.v6},`,
    "# checked before any accept. This action creates nothing; it only adds elements, each with the",
    "# jail's ban time as its nft timeout. A new ban replaces an older element, so a recidive ban",
    "# (a week) outlasts the short ban that triggered it. Unbanning is left to the element's timeout,",
    "# so that the end of a short ban cannot lift a longer one. Manual unban on the host:",
    `#   nft delete element inet ${EDGE_FW_TABLE} ${EDGE_BAN_SETS.v4} { 192.0.2.1 }`,
    "",
    "[Definition]",
    "",
    "actionstart =",
    "",
    "actionstop =",
    "",
    "actioncheck = <nftables> list set <table_family> <table> <addr_set> > /dev/null",
    "",
    "actionban = <nftables> delete element <table_family> <table> <addr_set> \\{ <ip> \\} 2> /dev/null || :",
    "            <nftables> add element <table_family> <table> <addr_set> \\{ <ip> timeout <bantime>s \\}",
    "",
    "actionunban = :",
    "",
    "[Init]",
    "",
    "nftables = nft",
    `table = ${EDGE_FW_TABLE}`,
    "table_family = inet",
    `addr_set = ${EDGE_BAN_SETS.v4}`,
    "",
    "[Init?family=inet6]",
    "",
    `addr_set = ${EDGE_BAN_SETS.v6}`,
    "",
  ].join("\n");
}

/** fail2ban for the edge: one jail per abuse signal, every ban into the firewall's nft sets. */
export function renderIps(t: Topology, options: IpsOptions = {}): Artifact[] {
  const dbfile = options.dbfile ?? "/var/lib/fail2ban/fail2ban.sqlite3";
  const runDir = options.runDir ?? "/var/run/fail2ban";
  const ownLog = `${runDir}/fail2ban.log`;
  const ips = t.site.edge.ips;
  const tunnels = allTunnelFacts(t);
  const ignore = [
    "127.0.0.1/8",
    "::1",
    ...tunnels.flatMap((tun) => [tun.subnet4, tun.subnet6]),
    t.site.edge.ipv4,
    t.site.edge.ipv6,
    // The sites' uplink addresses: the tunnels and the failover probes come from them, and a ban
    // would cut a site off.
    ...t.site.sites.flatMap((s) => s.uplinks.map((u) => u.address.split("/")[0]!).sort()),
    ...[...t.site.site.adminCidrs].sort(),
  ];
  const dir = `${EDGE_DIR}/fail2ban`;
  const fail2banConf = [
    header("#", "fail2ban server settings").trimEnd(),
    "[Definition]",
    "loglevel = INFO",
    "syslogsocket = auto",
    // Decided here rather than probed: `auto` looks the host's name up when actions start.
    "allowipv6 = yes",
    `logtarget = ${ownLog}`,
    `socket = ${runDir}/fail2ban.sock`,
    `pidfile = ${runDir}/fail2ban.pid`,
    `dbfile = ${dbfile}`,
    "dbpurgeage = 7d",
    "",
  ].join("\n");
  const jail = (name: EdgeJail, extra: readonly string[] = []) => [
    `[${name}]`,
    "enabled = true",
    `filter = ${name}`,
    `logpath = ${name === "recidive" ? ownLog : EDGE_JAILS[name]}`,
    ...extra,
    "",
  ];
  const jailLocal = [
    header("#", "fail2ban jails of the edge host").trimEnd(),
    "# Every jail bans into the firewall's sets (all ports) through action.d/palisade-nft.conf.",
    "",
    "[DEFAULT]",
    "# The edge's own addresses are listed in ignoreip, so ignoreself (which resolves the host's",
    "# names, AAAA included, on the first failure and again every 5 minutes) stays off: no DNS",
    "# lookup on the ban path, whose resolver timeout would hold a jail's first ban for seconds.",
    `ignoreip = ${ignore.join(" ")}`,
    "ignoreself = false",
    `findtime = ${ips.findtime}`,
    `maxretry = ${ips.maxretry}`,
    `bantime = ${ips.bantime}`,
    "backend = auto",
    "usedns = no",
    `banaction = ${EDGE_IPS_ACTION}`,
    `banaction_allports = ${EDGE_IPS_ACTION}`,
    `action = ${EDGE_IPS_ACTION}`,
    "",
    ...jail("sshd"),
    ...jail("postfix-sasl"),
    ...jail("dovecot"),
    ...jail("haproxy-sni"),
    ...jail("portscan"),
    ...jail("recidive", [`findtime = ${EDGE_RECIDIVE.findtime}`, `maxretry = ${EDGE_RECIDIVE.maxretry}`, `bantime = ${EDGE_RECIDIVE.bantime}`]),
  ].join("\n");
  const jails = Object.keys(EDGE_FILTERS) as EdgeJail[];
  return [
    { path: `${dir}/fail2ban.conf`, content: fail2banConf },
    { path: `${dir}/jail.local`, content: jailLocal },
    { path: `${dir}/action.d/${EDGE_IPS_ACTION}.conf`, content: renderAction() },
    ...jails.sort().map((j) => ({ path: `${dir}/filter.d/${j}.conf`, content: renderFilter(j) })),
  ];
}
