/*
 * The edge mail host's fixed shape, shared by its renderer (edge/mail.ts) and the verifier, which
 * requires it of the rendered Dovecot configuration: where the secrets are read from on the host,
 * and who the users are (a password file, one unprivileged mail user); and rspamd's thresholds and
 * milter address, which it requires of the rendered rspamd files.
 */

/** Private key paths on the edge host: read there by the daemons, never rendered. */
export const MAIL_SECRETS = {
  dkimKey: "/etc/palisade/secrets/dkim.key",
  tlsKey: "/etc/palisade/secrets/mail-tls.key",
  dovecotUsers: "/etc/palisade/secrets/dovecot-users",
} as const;

/** Dovecot's only password database: the host's password file, Argon2id hashes. */
export const DOVECOT_PASSDB = { driver: "passwd-file", args: `scheme=ARGON2ID username_format=%u ${MAIL_SECRETS.dovecotUsers}` } as const;
/** Dovecot's user database: every user is the unprivileged mail user 5000, in its own maildir. */
export const DOVECOT_USERDB = { driver: "static", args: "uid=5000 gid=5000 home=/var/mail/%d/%n allow_all_users=yes" } as const;

/** rspamd's spam score thresholds (actions.conf): the renderer writes them, the verifier holds them as maxima. */
export const RSPAMD_ACTIONS = { reject: 15, add_header: 6, greylist: 4 } as const;
/** rspamd's milter for Postfix, on loopback only (worker-proxy.inc's bind_socket; Postfix's smtpd_milters). */
export const RSPAMD_MILTER = "127.0.0.1:11332";
