import { createHash } from "node:crypto";
import { isIpv6 } from "./cidr.js";
import { routedHosts, zoneOf } from "./declaration.js";
import { siteNames } from "./site-derived.js";
import type { Site } from "./site-schema.js";

/*
 * The edge's Knot DNS fixed shape, shared by its renderer (edge/dns.ts) and the verifier, which
 * requires it of the rendered knot.conf: where the zones are read from, the DNSSEC policy's id,
 * the TSIG include and key ids of the secondaries, the response rate limit; and the records of
 * each zone.
 */

/** The file, on the edge host, that holds the TSIG keys for zone transfers (never rendered by Palisade). */
export const KNOT_TSIG_INCLUDE = "/etc/palisade/secrets/knot-tsig.conf";
/** Where the container sees the rendered knot directory (bind mount, read-only) and its state volume. */
export const KNOT_CONFIG_DIR = "/config";
export const KNOT_STORAGE_DIR = "/storage";
/** Id of the DNSSEC policy in knot.conf. */
export const KNOT_DNSSEC_POLICY = "palisade";
/** Response rate limiting (mod-rrl): answers per second per source network, and every slip-th one truncated instead of dropped. */
export const KNOT_RRL = { rateLimit: 200, slip: 2 } as const;
/** TSIG key id for one secondary; the key file on the host must define a key with this id. */
export const tsigKeyId = (secondaryId: string) => `tsig-${secondaryId}`;

/** One resource record of a rendered zone, as zone-file text: its owner relative to the zone (`@` for the apex). */
export interface ZoneRecord {
  readonly owner: string;
  readonly type: string;
  readonly data: string;
}

/** Splits a TXT value into quoted character-strings of at most 255 bytes (RFC 1035), as zone-file text. */
export function txtStrings(value: string): string {
  if (/["\\]/.test(value)) throw new Error(`TXT value contains a quote or backslash: ${JSON.stringify(value)}`);
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255)}"`);
  return parts.length === 1 ? parts[0]! : `( ${parts.join(" ")} )`;
}

/** The MTA-STS policy the `_mta-sts` record announces (served at https://mta-sts.<domain>/.well-known/mta-sts.txt). */
export function mtaStsPolicy(site: Site): string {
  return ["version: STSv1", "mode: enforce", `mx: ${siteNames(site).mail}`, "max_age: 604800", ""].join("\r\n");
}

/** DKIM TXT value: `v=DKIM1; k=ed25519; p=...` (the public half only). */
export function dkimRecordValue(site: Site): string | null {
  const key = site.publicKeys.dkim;
  if (!key) return null;
  return `v=DKIM1; k=${site.edge.mail.dkimAlgorithm}; p=${key}`;
}

/** SOA RNAME form of an e-mail address: dots in the local part escaped, `@` becomes a dot. */
function rname(email: string): string {
  const [local, domain] = email.split("@") as [string, string];
  return `${local.replace(/\./g, "\\.")}.${domain}.`;
}

/** The SOA record of a zone, but its serial (derived from the content by the renderer). */
export function zoneSoa(site: Site, serial: string): ZoneRecord {
  return { owner: "@", type: "SOA", data: `${siteNames(site).ns1}. ${rname(site.site.contactEmail)} ( ${serial} 3600 900 1209600 300 )` };
}

/**
 * Every record but the SOA of one of the site's zones, in the rendered order: what the edge's
 * renderer writes and what the verifier requires knot to serve, one derivation for both. The
 * primary zone holds the name servers, mail and MTA-STS; every zone gets its apex and the routed
 * names inside it.
 */
export function zoneRecords(site: Site, zone = site.site.domain): ZoneRecord[] {
  const n = siteNames(site);
  const primary = zone === site.site.domain;
  const contact = site.site.contactEmail;
  const rel = (fqdn: string) => (fqdn === zone ? "@" : fqdn.slice(0, -(zone.length + 1)));
  const rr: ZoneRecord[] = [];
  const add = (owner: string, type: string, data: string) => rr.push({ owner, type, data });

  add("@", "NS", `${n.ns1}.`);
  const secondaries = [...site.edge.dns.secondaries].sort((a, b) => a.id.localeCompare(b.id));
  for (const sec of secondaries) add("@", "NS", `${sec.id}.${site.site.domain}.`);
  if (primary) add("@", "MX", `10 ${n.mail}.`);
  // A zone without mail says so: no sender may use its names.
  add("@", "TXT", txtStrings(primary ? "v=spf1 mx -all" : "v=spf1 -all"));
  add("@", "CAA", `0 issue "letsencrypt.org"`);
  add("@", "CAA", `0 issuewild ";"`);
  add("@", "CAA", `0 iodef "mailto:${contact}"`);
  const routed = routedHosts(site).filter((h) => zoneOf(site, h) === zone && h !== zone);
  const own = primary ? [n.mail, n.mtaSts, n.ns1] : [];
  for (const name of [zone, ...[...new Set([...routed, ...own])].sort()]) {
    add(rel(name), "A", site.edge.ipv4);
    add(rel(name), "AAAA", site.edge.ipv6);
  }
  if (primary) {
    add(rel(n.mail), "TXT", txtStrings("v=spf1 a -all"));
    for (const sec of secondaries) add(sec.id, isIpv6(sec.address) ? "AAAA" : "A", sec.address);
  }
  add("_dmarc", "TXT", txtStrings(`v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:${contact}`));
  if (primary) {
    add("_mta-sts", "TXT", txtStrings(`v=STSv1; id=${createHash("sha256").update(mtaStsPolicy(site)).digest("hex").slice(0, 20)}`));
    add("_smtp._tls", "TXT", txtStrings(`v=TLSRPTv1; rua=mailto:${contact}`));
  }
  const dkim = primary ? dkimRecordValue(site) : null;
  if (dkim) add(`${site.edge.mail.dkimSelector}._domainkey`, "TXT", txtStrings(dkim));
  return rr;
}

/** A record as a line of the rendered zone file. */
export function zoneLine(r: ZoneRecord): string {
  return `${r.owner.padEnd(24)} IN ${r.type.padEnd(6)} ${r.data}`;
}
