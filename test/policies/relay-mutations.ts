import { MAIN_CF, MASTER_CF } from "../../policies/verifier/postfix.js";

/* Edits of the rendered Postfix files that open a relay: used by the static test and by the real-Postfix differential test. */

/** [name, file, edit, how the line the finding must name starts]. */
export const RELAY_MUTATIONS: readonly [string, string, (t: string) => string, string | RegExp][] = [
  ["trust half the internet in mynetworks", MAIN_CF, (t) => t.replace(/^mynetworks = /m, "mynetworks = 0.0.0.0/1 "), "mynetworks = 0.0.0.0/1"],
  ["trust an IPv4-mapped IPv6 range in mynetworks", MAIN_CF, (t) => t.replace(/^mynetworks = /m, "mynetworks = [::ffff:0.0.0.0]/96 "), "mynetworks = [::ffff:0.0.0.0]/96"],
  ["widen mynetworks on a continuation line", MAIN_CF, (t) => t.replace(/^(mynetworks = .*)$/m, "$1\n    192.0.0.0/2"), "mynetworks = "],
  ["permit in smtpd_relay_restrictions before the destination check", MAIN_CF, (t) => t.replace(/^smtpd_relay_restrictions = /m, "smtpd_relay_restrictions = permit, "), "smtpd_relay_restrictions = permit,"],
  ["redefine smtpd_relay_restrictions later without reject_unauth_destination (the last definition wins)", MAIN_CF, (t) => `${t}smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated\n`, "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated"],
  ["permit_mx_backup before the destination check", MAIN_CF, (t) => t.replace(/^smtpd_relay_restrictions = /m, "smtpd_relay_restrictions = permit_mx_backup, "), "smtpd_relay_restrictions = permit_mx_backup"],
  ["drop mynetworks and let the style trust every attached subnet", MAIN_CF, (t) => t.replace(/^mynetworks = .*\n/m, "mynetworks_style = subnet\n"), "mynetworks_style = subnet"],
  ["relay for a foreign domain", MAIN_CF, (t) => `${t}relay_domains = foreign-relay.invalid\n`, "relay_domains = foreign-relay.invalid"],
  ["a lookup table in the relay restrictions (not understood: fails)", MAIN_CF, (t) => t.replace(/^smtpd_relay_restrictions = /m, "smtpd_relay_restrictions = check_client_access hash:/etc/postfix/access, "), "smtpd_relay_restrictions = check_client_access"],
  ["override the relay restrictions of port 25 in master.cf", MASTER_CF, (t) => t.replace(/^(smtp +inet .*smtpd)$/m, "$1\n  -o smtpd_relay_restrictions=permit_mynetworks,permit"), /^smtp +inet/],
  ["open submission in master.cf (permit instead of reject in both of its lists)", MASTER_CF, (t) => t.replace(/(submission[\s\S]*?)smtpd_recipient_restrictions=permit_sasl_authenticated,reject([\s\S]*?)smtpd_relay_restrictions=permit_sasl_authenticated,reject/, "$1smtpd_recipient_restrictions=permit_sasl_authenticated,permit$2smtpd_relay_restrictions=permit"), "submission "],
];
