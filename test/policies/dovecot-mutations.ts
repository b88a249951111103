/*
 * Edits of the edge's dovecot.conf: `MUTATIONS` let a password cross the network in clear or a
 * login through without the password file (globally, or in a filter for some protocol or
 * addresses), each expecting a mail-weakened finding on the line that holds the edit; `NEUTRAL`
 * change only how the file is written, and must pass. Used by the verifier's mutation test and by
 * the differential test against doveconf.
 */

export interface DovecotMutation {
  readonly name: string;
  readonly edit: (text: string) => string;
  readonly expected: RegExp;
  /** Text the reported line holds ("" when the finding is about something absent). */
  readonly marker: string;
}

const set = (key: string, value: string) => (x: string) => x.replace(new RegExp(`^${key} = .*$`, "m"), `${key} = ${value}`);
const append = (block: string) => (x: string) => `${x.trimEnd()}\n${block}\n`;

export const MUTATIONS: readonly DovecotMutation[] = [
  { name: "TLS optional (ssl = yes)", edit: set("ssl", "yes"), expected: /ssl = yes: TLS is optional/, marker: "ssl = yes" },
  { name: "TLS off", edit: set("ssl", "no"), expected: /ssl = no: IMAP without TLS/, marker: "ssl = no" },
  { name: "ssl required, then no further down (the last wins)", edit: (x) => x.replace(/^(auth_verbose = .*)$/m, "$1\nssl = no"), expected: /ssl = no: IMAP without TLS/, marker: "ssl = no" },
  { name: "plaintext authentication allowed", edit: set("disable_plaintext_auth", "no"), expected: /disable_plaintext_auth = no: passwords may be sent before TLS/, marker: "disable_plaintext_auth" },
  { name: "plaintext authentication allowed, spelled NO", edit: set("disable_plaintext_auth", "NO"), expected: /disable_plaintext_auth = no: passwords/, marker: "disable_plaintext_auth = NO" },
  { name: "plaintext authentication for the whole internet (remote 0.0.0.0/0)", edit: append("remote 0.0.0.0/0 {\n  disable_plaintext_auth = no\n}"), expected: /disable_plaintext_auth = no \(in the filter on line \d+\)/, marker: "disable_plaintext_auth = no" },
  { name: "TLS off for IMAP only (protocol imap)", edit: append("protocol imap {\n  ssl = no\n}"), expected: /ssl = no \(in the filter on line \d+\)/, marker: "ssl = no" },
  { name: "TLS off for everything but LMTP (protocol !lmtp)", edit: append("protocol !lmtp {\n  ssl = no\n}"), expected: /ssl = no \(in the filter on line/, marker: "ssl = no" },
  { name: "TLS off for IMAP from a private range (remote > protocol)", edit: append("remote 10.0.0.0/8 {\n  protocol imap {\n    ssl = no\n  }\n}"), expected: /ssl = no \(in the filter on line/, marker: "ssl = no" },
  { name: "TLS optional for one server name (local_name)", edit: append("local_name mail.example.net {\n  ssl = yes\n}"), expected: /ssl = yes \(in the filter on line/, marker: "ssl = yes" },
  { name: "TLS 1.0 allowed", edit: set("ssl_min_protocol", "TLSv1"), expected: /ssl_min_protocol = TLSv1 .*at least TLSv1\.2|ssl_min_protocol = TLSv1: at least/, marker: "ssl_min_protocol" },
  { name: "the anonymous mechanism (a login without a password)", edit: set("auth_mechanisms", "plain login anonymous"), expected: /auth_mechanisms anonymous: only plain and login/, marker: "auth_mechanisms" },
  { name: "CRAM-MD5 in upper case", edit: set("auth_mechanisms", "PLAIN CRAM-MD5"), expected: /auth_mechanisms cram-md5/, marker: "auth_mechanisms" },
  { name: "POP3 turned on", edit: set("protocols", "imap lmtp pop3"), expected: /protocols pop3: a service the platform does not run/, marker: "protocols" },
  { name: "a password database that takes any password (static nopassword)", edit: (x) => x.replace(/^passdb \{$/m, "passdb {\n  driver = static\n  args = nopassword=y\n}\npassdb {"), expected: /passdb static nopassword=y: not the rendered passwd-file/, marker: "nopassword" },
  { name: "the password file swapped for another", edit: (x) => x.replace(/^( {2}args = scheme=ARGON2ID username_format=%u ).*$/m, "$1/tmp/users"), expected: /passdb passwd-file .*\/tmp\/users: not the rendered/, marker: "/tmp/users" },
  { name: "a password database for IMAP only, inside a filter", edit: append("protocol imap {\n  passdb {\n    driver = static\n    args = nopassword=y\n  }\n}"), expected: /passdb static nopassword=y/, marker: "nopassword" },
  { name: "mail processes as root (userdb uid=0)", edit: (x) => x.replace(/uid=5000 gid=5000/, "uid=0 gid=0"), expected: /userdb static uid=0 gid=0 .*not the rendered/, marker: "uid=0" },
  { name: "the password database removed", edit: (x) => x.replace(/^passdb \{\n(?: .*\n)*?\}\n/m, ""), expected: /no passdb: the rendered passdb \(passwd-file\) is gone/, marker: "" },
  { name: "another file included", edit: (x) => x.replace(/^(protocols = .*)$/m, "!include_try /etc/dovecot/conf.d/*.conf\n$1"), expected: /!include_try makes Dovecot read other files/, marker: "!include_try" },
  { name: "a $setting expansion", edit: set("auth_mechanisms", "$auth_mechanisms anonymous"), expected: /a \$setting expansion is not modelled/, marker: "auth_mechanisms" },
  { name: "an unmodelled setting (auth_allow_cleartext, Dovecot 2.4's name)", edit: (x) => x.replace(/^(auth_verbose = .*)$/m, "$1\nauth_allow_cleartext = yes"), expected: /auth_allow_cleartext is not modelled/, marker: "auth_allow_cleartext" },
  { name: "a service running as root (service user)", edit: (x) => x.replace(/^service imap-login \{$/m, "service imap-login {\n  user = root"), expected: /service user is not modelled/, marker: "user = root" },
];

export const NEUTRAL: readonly { readonly name: string; readonly edit: (text: string) => string }[] = [
  { name: "values quoted and no spaces around =", edit: (x) => x.replace(/^ssl = required$/m, 'ssl="required"').replace(/^disable_plaintext_auth = yes$/m, "disable_plaintext_auth=YES") },
  { name: "comments after values and between lines", edit: (x) => x.replace(/^(ssl_min_protocol = .*)$/m, "# at least 1.2\n$1 # the minimum") },
  { name: "TLS required again in a filter for the internet", edit: append("remote 0.0.0.0/0 {\n  ssl = required\n  disable_plaintext_auth = yes\n}") },
  { name: "TLS 1.3 as the minimum", edit: set("ssl_min_protocol", "TLSv1.3") },
];
