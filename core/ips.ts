/*
 * The edge IPS's fixed shape, shared by its renderer (edge/ips.ts) and the verifier, which requires
 * it of the rendered fail2ban files: these jails run, each bans through this action.
 */

/** Every jail of the edge IPS, one per abuse signal; `recidive` re-bans repeat offenders of the others. */
export const IPS_JAILS = ["dovecot", "haproxy-sni", "portscan", "postfix-sasl", "recidive", "sshd"] as const;
export type IpsJail = (typeof IPS_JAILS)[number];

/** The jail that reads fail2ban's own log: its thresholds are its own, not the site's. */
export const IPS_REPEAT_JAIL: IpsJail = "recidive";

/** The custom fail2ban action that adds offenders to the firewall's ban sets (it owns no table or chain). */
export const IPS_ACTION = "palisade-nft";
