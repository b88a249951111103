/*
 * The edge IPS's fixed shape, shared by its renderer (edge/ips.ts) and the verifier, which requires
 * it of the rendered fail2ban files: these jails run, each reads its log with its filter's
 * expressions and bans through this action.
 */

/** Every jail of the edge IPS, one per abuse signal; `recidive` re-bans repeat offenders of the others. */
export const IPS_JAILS = ["dovecot", "haproxy-sni", "portscan", "postfix-sasl", "recidive", "sshd"] as const;
export type IpsJail = (typeof IPS_JAILS)[number];

/** The jail that reads fail2ban's own log: its thresholds are its own, not the site's. */
export const IPS_REPEAT_JAIL: IpsJail = "recidive";

/** The custom fail2ban action that adds offenders to the firewall's ban sets (it owns no table or chain). */
export const IPS_ACTION = "palisade-nft";

/** Prefix of the packets the edge's input policy drops and logs: what the portscan jail reads (edge/firewall.ts logs them). */
export const IPS_DROP_LOG_PREFIX = "palisade-drop: ";
/** HAProxy's log tag for TLS connections, and the backend that takes an unknown or missing SNI (edge/proxy.ts): what the haproxy-sni jail reads. */
export const IPS_SNI_LOG_TAG = "palisade-sni";
export const IPS_REJECT_BACKEND = "be_reject";

/** The log each jail reads (as rsyslog writes it on the edge host); the repeat jail reads fail2ban's own log (fail2ban.conf's logtarget). */
export const IPS_LOGS = {
  sshd: "/var/log/auth.log",
  "postfix-sasl": "/var/log/mail.log",
  dovecot: "/var/log/mail.log",
  "haproxy-sni": "/var/log/haproxy.log",
  portscan: "/var/log/kern.log",
  recidive: "(fail2ban's own log)",
} as const satisfies Record<IpsJail, string>;

/**
 * Each jail's fail2ban filter: `prefix` eats what is left of a syslog line once the date is cut,
 * then one of `failregex` must match. fail2ban strips each expression's line, so none may end in
 * a space (one that did was silently dropped): a word boundary ends the backend's name instead.
 */
export const IPS_FILTERS: Readonly<Record<IpsJail, { readonly prefix: string; readonly failregex: readonly string[]; readonly description: string }>> = {
  sshd: {
    description: "OpenSSH: failed passwords, unknown users, exceeded attempts, scanners that cannot negotiate",
    prefix: String.raw`^\s*(?:\S+\s+)?sshd(?:-session)?(?:\[\d+\])?:\s+(?:error:\s+)?`,
    failregex: [
      String.raw`Failed (?:password|keyboard-interactive/pam) for (?:invalid user )?.* from <HOST> port \d+(?: ssh\d)?\s*$`,
      String.raw`Invalid user .* from <HOST> port \d+\s*$`,
      String.raw`maximum authentication attempts exceeded for (?:invalid user )?.* from <HOST> port \d+(?: ssh\d)? \[preauth\]\s*$`,
      String.raw`Unable to negotiate with <HOST> port \d+: no matching [\w ]+ found\b.*$`,
      String.raw`banner exchange: Connection from <HOST> port \d+: invalid format\s*$`,
    ],
  },
  "postfix-sasl": {
    description: "Postfix smtpd (25, 465, 587): failed SASL authentication",
    prefix: String.raw`^\s*(?:\S+\s+)?postfix(?:-\w+)?(?:/[\w-]+)*/smtpd\[\d+\]:\s+`,
    failregex: [
      String.raw`warning: [-._\w]+\[<HOST>\]: SASL (?:LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5) authentication failed(?::[^,]*)?(?:, sasl_username=\S*)?\s*$`,
    ],
  },
  dovecot: {
    description: "Dovecot login processes: sessions that ended after failed authentication",
    prefix: String.raw`^\s*(?:\S+\s+)?dovecot(?:\[\d+\])?:\s+`,
    failregex: [
      String.raw`(?:imap|pop3|submission|managesieve)-login: (?:Disconnected|Aborted login|Login aborted)\b[^(]*\(auth failed, \d+ attempts?(?: in \d+ secs?)?\).*\brip=<HOST>(?:,|\s*$)`,
    ],
  },
  "haproxy-sni": {
    description: `edge HAProxy: TLS connections with an unknown or missing SNI (routed to ${IPS_REJECT_BACKEND})`,
    prefix: String.raw`^\s*(?:\S+\s+)?(?:haproxy\[\d+\]:\s+)?`,
    failregex: [String.raw`${IPS_SNI_LOG_TAG} client=<HOST> port=\d+ frontend=\S+ backend=${IPS_REJECT_BACKEND}\b`],
  },
  portscan: {
    description: `packets the edge firewall dropped and logged with the prefix "${IPS_DROP_LOG_PREFIX}"`,
    prefix: String.raw`^\s*(?:\S+\s+)?kernel:\s+(?:\[\s*\d+\.\d+\]\s+)?`,
    failregex: [String.raw`${IPS_DROP_LOG_PREFIX.trim()} .*\bSRC=<HOST> DST=\S+`],
  },
  recidive: {
    description: "fail2ban's own log: sources banned again and again by any other jail",
    prefix: String.raw`^\s*(?:\S+\s+)?fail2ban\.actions\s*\[\d+\]:\s+`,
    failregex: [String.raw`NOTICE\s+\[(?!recidive\])[^\]]+\]\s+Ban\s+<HOST>\s*$`],
  },
};

/** A jail's expressions as fail2ban compiles them: the prefix before each of its filter's failregex. */
export function ipsFailRegexes(jail: IpsJail): string[] {
  const f = IPS_FILTERS[jail];
  return f.failregex.map((r) => `${f.prefix}${r}`);
}
