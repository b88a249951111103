import { DOVECOT_PASSDB, DOVECOT_USERDB, MAIL_SECRETS, RSPAMD_ACTIONS, RSPAMD_MILTER, siteNames, type Artifact, type Topology } from "../core/index.js";
import { EDGE_DIR, allTunnelFacts, header } from "./private/edge-facts.js";

export { MAIL_SECRETS };
/** The mail host's certificate chain (public): delivered to the edge by the certificate pipeline. */
export const mailCertPath = (t: Topology) => `/etc/palisade/tls/${siteNames(t.site).mail}/fullchain.pem`;
/** rspamd's milter, which signs DKIM and filters spam for every message Postfix handles. */
export const MAIL_MILTER = `inet:${RSPAMD_MILTER}`;

const kv = (pairs: readonly (readonly [string, string])[]) => pairs.map(([k, v]) => `${k} = ${v}`);

/** Postfix main.cf: MX for the domain, no open relay, TLS everywhere a password travels. */
export function renderMainCf(t: Topology): string {
  const n = siteNames(t.site);
  return [
    header("#", "Postfix main.cf of the edge mail host").trimEnd(),
    ...kv([
      ["compatibility_level", "3.6"],
      ["myhostname", n.mail],
      ["mydomain", n.apex],
      ["myorigin", "$mydomain"],
      ["mydestination", "localhost"],
      ["inet_interfaces", "all"],
      ["inet_protocols", "all"],
      // Loopback, and the tunnel for the api's transactional mail. Nothing else may relay unauthenticated.
      ["mynetworks", `127.0.0.0/8 [::1]/128 ${allTunnelFacts(t).map((tun) => `${tun.subnet4} [${tun.subnet6.split("/")[0]}]/${tun.subnet6.split("/")[1]}`).join(" ")}`],
      ["alias_maps", ""],
      ["alias_database", ""],
      ["biff", "no"],
      ["append_dot_mydomain", "no"],
      ["readme_directory", "no"],
      ["recipient_delimiter", "+"],
      ["message_size_limit", "26214400"],
      ["mailbox_size_limit", "0"],
      ["virtual_mailbox_domains", n.apex],
      ["virtual_transport", "lmtp:unix:private/dovecot-lmtp"],
      ["disable_vrfy_command", "yes"],
      ["smtpd_helo_required", "yes"],
      ["smtpd_banner", "$myhostname ESMTP"],
      // Port 25: no open relay.
      ["smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"],
      ["smtpd_recipient_restrictions", "reject_unauth_pipelining, reject_non_fqdn_recipient, reject_unknown_recipient_domain"],
      ["smtpd_sender_restrictions", "reject_non_fqdn_sender, reject_unknown_sender_domain"],
      ["smtpd_sasl_type", "dovecot"],
      ["smtpd_sasl_path", "private/auth"],
      ["smtpd_sasl_auth_enable", "no"],
      ["smtpd_sasl_security_options", "noanonymous"],
      ["smtpd_tls_cert_file", mailCertPath(t)],
      ["smtpd_tls_key_file", MAIL_SECRETS.tlsKey],
      ["smtpd_tls_security_level", "may"],
      ["smtpd_tls_auth_only", "yes"],
      ["smtpd_tls_protocols", ">=TLSv1.2"],
      ["smtpd_tls_mandatory_protocols", ">=TLSv1.2"],
      ["smtpd_tls_loglevel", "1"],
      ["smtp_tls_security_level", "may"],
      ["smtp_tls_protocols", ">=TLSv1.2"],
      ["smtp_tls_loglevel", "1"],
      // rspamd: spam filtering and DKIM signing.
      ["smtpd_milters", MAIL_MILTER],
      ["non_smtpd_milters", "$smtpd_milters"],
      ["milter_default_action", "tempfail"],
      ["milter_protocol", "6"],
      ["maillog_file", ""],
    ]),
    "",
  ].join("\n");
}

/** Postfix master.cf: 25 (MX), 587 (submission, STARTTLS required), 465 (implicit TLS). */
export function renderMasterCf(): string {
  const svc = (name: string, type: string, priv: string, chroot: string, wakeup: string, limit: string, command: string, opts: readonly string[] = []) =>
    [`${name.padEnd(10)} ${type.padEnd(5)} ${priv.padEnd(7)} -       ${chroot.padEnd(7)} ${wakeup.padEnd(7)} ${limit.padEnd(7)} ${command}`, ...opts.map((o) => `  -o ${o}`)];
  const authOnly = [
    "smtpd_sasl_auth_enable=yes",
    "smtpd_tls_auth_only=yes",
    "smtpd_recipient_restrictions=permit_sasl_authenticated,reject",
    "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
    "smtpd_sender_restrictions=reject_non_fqdn_sender",
    "milter_macro_daemon_name=ORIGINATING",
  ];
  return [
    header("#", "Postfix master.cf of the edge mail host").trimEnd(),
    "# service  type  private unpriv  chroot  wakeup  maxproc command + args",
    ...svc("smtp", "inet", "n", "n", "-", "-", "smtpd"),
    ...svc("submission", "inet", "n", "n", "-", "-", "smtpd", ["syslog_name=postfix/submission", "smtpd_tls_security_level=encrypt", ...authOnly]),
    ...svc("smtps", "inet", "n", "n", "-", "-", "smtpd", ["syslog_name=postfix/smtps", "smtpd_tls_wrappermode=yes", ...authOnly]),
    ...svc("pickup", "unix", "n", "n", "60", "1", "pickup"),
    ...svc("cleanup", "unix", "n", "n", "-", "0", "cleanup"),
    ...svc("qmgr", "unix", "n", "n", "300", "1", "qmgr"),
    ...svc("tlsmgr", "unix", "-", "n", "1000?", "1", "tlsmgr"),
    ...svc("rewrite", "unix", "-", "n", "-", "-", "trivial-rewrite"),
    ...svc("bounce", "unix", "-", "n", "-", "0", "bounce"),
    ...svc("defer", "unix", "-", "n", "-", "0", "bounce"),
    ...svc("trace", "unix", "-", "n", "-", "0", "bounce"),
    ...svc("verify", "unix", "-", "n", "-", "1", "verify"),
    ...svc("flush", "unix", "n", "n", "1000?", "0", "flush"),
    ...svc("proxymap", "unix", "-", "n", "-", "-", "proxymap"),
    ...svc("proxywrite", "unix", "-", "n", "-", "1", "proxymap"),
    ...svc("smtp", "unix", "-", "n", "-", "-", "smtp"),
    ...svc("relay", "unix", "-", "n", "-", "-", "smtp", ["syslog_name=postfix/$service_name"]),
    ...svc("showq", "unix", "n", "n", "-", "-", "showq"),
    ...svc("error", "unix", "-", "n", "-", "-", "error"),
    ...svc("retry", "unix", "-", "n", "-", "-", "error"),
    ...svc("discard", "unix", "-", "n", "-", "-", "discard"),
    ...svc("local", "unix", "-", "n", "-", "-", "local"),
    ...svc("virtual", "unix", "-", "n", "-", "-", "virtual"),
    ...svc("lmtp", "unix", "-", "n", "-", "-", "lmtp"),
    ...svc("anvil", "unix", "-", "n", "-", "1", "anvil"),
    ...svc("scache", "unix", "-", "n", "-", "1", "scache"),
    ...svc("postlog", "unix-dgram", "n", "n", "-", "1", "postlogd"),
    "",
  ].join("\n");
}

/** Dovecot: IMAPS (993) only, TLS required, authentication for Postfix's SASL, LMTP delivery. */
export function renderDovecotConf(t: Topology): string {
  const d = siteNames(t.site).apex;
  return [
    header("#", "Dovecot of the edge mail host: IMAPS only").trimEnd(),
    "protocols = imap lmtp",
    "listen = *, ::",
    "",
    "ssl = required",
    `ssl_cert = <${mailCertPath(t)}`,
    `ssl_key = <${MAIL_SECRETS.tlsKey}`,
    "ssl_min_protocol = TLSv1.2",
    "ssl_prefer_server_ciphers = yes",
    "",
    "disable_plaintext_auth = yes",
    "auth_mechanisms = plain login",
    "auth_verbose = no",
    "log_path = syslog",
    "syslog_facility = mail",
    "",
    "mail_location = maildir:~/Maildir",
    `mail_home = /var/mail/%d/%n`,
    "",
    "passdb {",
    `  driver = ${DOVECOT_PASSDB.driver}`,
    `  args = ${DOVECOT_PASSDB.args}`,
    "}",
    "userdb {",
    `  driver = ${DOVECOT_USERDB.driver}`,
    `  args = ${DOVECOT_USERDB.args}`,
    "}",
    "",
    "service imap-login {",
    "  # No plaintext IMAP listener: port 143 is closed.",
    "  inet_listener imap {",
    "    port = 0",
    "  }",
    "  inet_listener imaps {",
    "    port = 993",
    "    ssl = yes",
    "  }",
    "}",
    "service pop3-login {",
    "  inet_listener pop3 {",
    "    port = 0",
    "  }",
    "  inet_listener pop3s {",
    "    port = 0",
    "  }",
    "}",
    "service auth {",
    "  unix_listener /var/spool/postfix/private/auth {",
    "    mode = 0660",
    "    user = postfix",
    "    group = postfix",
    "  }",
    "}",
    "service lmtp {",
    "  unix_listener /var/spool/postfix/private/dovecot-lmtp {",
    "    mode = 0600",
    "    user = postfix",
    "    group = postfix",
    "  }",
    "}",
    "",
    `# Mail for ${d} is delivered over LMTP from Postfix.`,
    "protocol lmtp {",
    "  postmaster_address = postmaster@" + d,
    "}",
    "",
  ].join("\n");
}

/** rspamd DKIM signing: the private key stays on the host; the public half is the zone's DKIM record. */
export function renderDkimSigning(t: Topology): string {
  const d = siteNames(t.site).apex;
  return [
    header("#", `rspamd DKIM signing for ${d} (algorithm ${t.site.edge.mail.dkimAlgorithm})`).trimEnd(),
    "enabled = true;",
    "sign_authenticated = true;",
    "sign_local = true;",
    "sign_inbound = false;",
    "use_domain = \"header\";",
    "use_esld = true;",
    "allow_hdrfrom_mismatch = false;",
    "allow_username_mismatch = true;",
    "domain {",
    `  ${d} {`,
    `    selector = "${t.site.edge.mail.dkimSelector}";`,
    `    path = "${MAIL_SECRETS.dkimKey}";`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Every mail file (docker-mailserver mounts the directory at /tmp/docker-mailserver). */
export function renderMail(t: Topology): Artifact[] {
  const dir = `${EDGE_DIR}/mail`;
  return [
    { path: `${dir}/postfix/main.cf`, content: renderMainCf(t) },
    { path: `${dir}/postfix/master.cf`, content: renderMasterCf() },
    { path: `${dir}/dovecot/dovecot.conf`, content: renderDovecotConf(t) },
    { path: `${dir}/rspamd/local.d/dkim_signing.conf`, content: renderDkimSigning(t) },
    {
      path: `${dir}/rspamd/local.d/actions.conf`,
      content: [header("#", "rspamd spam actions (score thresholds)").trimEnd(), ...Object.entries(RSPAMD_ACTIONS).map(([k, v]) => `${k} = ${v};`), ""].join("\n"),
    },
    {
      path: `${dir}/rspamd/local.d/worker-proxy.inc`,
      content: [
        header("#", "rspamd milter for Postfix, on loopback only").trimEnd(),
        `bind_socket = "${MAIL_MILTER.replace(/^inet:/, "")}";`,
        "milter = yes;",
        "timeout = 120s;",
        "upstream \"local\" {",
        "  default = yes;",
        "  self_scan = yes;",
        "}",
        "",
      ].join("\n"),
    },
  ];
}
