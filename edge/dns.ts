import { isIpv6, KNOT_CONFIG_DIR, KNOT_DNSSEC_POLICY, KNOT_RRL, KNOT_STORAGE_DIR, KNOT_TSIG_INCLUDE, routedHosts, siteNames, siteZones, tsigKeyId, zoneOf, type Artifact, type Topology } from "../core/index.js";
import { EDGE_DIR, digest, header } from "./private/edge-facts.js";

export { KNOT_CONFIG_DIR, KNOT_DNSSEC_POLICY, KNOT_STORAGE_DIR, KNOT_TSIG_INCLUDE, tsigKeyId };

/** Splits a TXT value into quoted character-strings of at most 255 bytes (RFC 1035), as zone-file text. */
export function txtStrings(value: string): string {
  if (/["\\]/.test(value)) throw new Error(`TXT value contains a quote or backslash: ${JSON.stringify(value)}`);
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255)}"`);
  return parts.length === 1 ? parts[0]! : `( ${parts.join(" ")} )`;
}

/** The MTA-STS policy the `_mta-sts` record announces (served at https://mta-sts.<domain>/.well-known/mta-sts.txt). */
export function mtaStsPolicy(t: Topology): string {
  return ["version: STSv1", "mode: enforce", `mx: ${siteNames(t.site).mail}`, "max_age: 604800", ""].join("\r\n");
}

/** SOA RNAME form of an e-mail address: dots in the local part escaped, `@` becomes a dot. */
function rname(email: string): string {
  const [local, domain] = email.split("@") as [string, string];
  return `${local.replace(/\./g, "\\.")}.${domain}.`;
}

/** DKIM TXT value: `v=DKIM1; k=ed25519; p=...` (the public half only). */
export function dkimRecordValue(t: Topology): string | null {
  const key = t.site.publicKeys.dkim;
  if (!key) return null;
  return `v=DKIM1; k=${t.site.edge.mail.dkimAlgorithm}; p=${key}`;
}

/**
 * The zone file of one of the site's zones (default: the primary domain). The primary zone holds
 * the name servers, mail and MTA-STS; every zone gets its apex and the routed names inside it.
 * The serial is derived from the content (stable between plans).
 */
export function renderZone(t: Topology, zone = t.site.site.domain): Artifact {
  const s = t.site;
  const n = siteNames(s);
  const d = zone;
  const primary = zone === s.site.domain;
  const contact = s.site.contactEmail;
  const rel = (fqdn: string) => (fqdn === d ? "@" : fqdn.slice(0, -(d.length + 1)));
  const rr: string[] = [];
  const add = (name: string, type: string, value: string) => rr.push(`${name.padEnd(24)} IN ${type.padEnd(6)} ${value}`);

  add("@", "NS", `${n.ns1}.`);
  const secondaries = [...s.edge.dns.secondaries].sort((a, b) => a.id.localeCompare(b.id));
  for (const sec of secondaries) add("@", "NS", `${sec.id}.${s.site.domain}.`);
  if (primary) add("@", "MX", `10 ${n.mail}.`);
  // A zone without mail says so: no sender may use its names.
  add("@", "TXT", txtStrings(primary ? "v=spf1 mx -all" : "v=spf1 -all"));
  add("@", "CAA", `0 issue "letsencrypt.org"`);
  add("@", "CAA", `0 issuewild ";"`);
  add("@", "CAA", `0 iodef "mailto:${contact}"`);
  const routed = routedHosts(s).filter((h) => zoneOf(s, h) === zone && h !== d);
  const own = primary ? [n.mail, n.mtaSts, n.ns1] : [];
  for (const name of [d, ...[...new Set([...routed, ...own])].sort()]) {
    add(rel(name), "A", s.edge.ipv4);
    add(rel(name), "AAAA", s.edge.ipv6);
  }
  if (primary) {
    add(rel(n.mail), "TXT", txtStrings("v=spf1 a -all"));
    for (const sec of secondaries) add(sec.id, isIpv6(sec.address) ? "AAAA" : "A", sec.address);
  }
  add("_dmarc", "TXT", txtStrings(`v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:${contact}`));
  if (primary) {
    add("_mta-sts", "TXT", txtStrings(`v=STSv1; id=${digest(mtaStsPolicy(t), 20)}`));
    add("_smtp._tls", "TXT", txtStrings(`v=TLSRPTv1; rua=mailto:${contact}`));
  }
  const dkim = primary ? dkimRecordValue(t) : null;
  if (dkim) add(`${s.edge.mail.dkimSelector}._domainkey`, "TXT", txtStrings(dkim));

  const body = (serial: string) =>
    [
      header(";", `zone ${d} (authoritative on the edge; Knot signs it with DNSSEC)`).trimEnd(),
      dkim || !primary ? null : "; no DKIM record: publicKeys.dkim is not set in the site file (run `palisade keys`)",
      `$ORIGIN ${d}.`,
      "$TTL 3600",
      `@ IN SOA ${n.ns1}. ${rname(contact)} ( ${serial} 3600 900 1209600 300 )`,
      ...rr,
      "",
    ]
      .filter((l): l is string => l !== null)
      .join("\n");
  // Content-derived serial in 1..2^31-1. Knot loads with `zonefile-load: difference-no-serial` and
  // `serial-policy: increment`, so what secondaries see still only goes up.
  const serial = (parseInt(digest(body("SERIAL"), 8), 16) % 0x7fffffff) + 1;
  return { path: `${EDGE_DIR}/knot/zones/${d}.zone`, content: body(String(serial)) };
}

/** knot.conf: authoritative only, DNSSEC (ECDSA P-256, NSEC3), transfers only to the TSIG-keyed secondaries. */
export function renderKnotConf(t: Topology): Artifact {
  const s = t.site;
  const at = (addr: string) => `${addr}@53`;
  const secondaries = [...s.edge.dns.secondaries].sort((a, b) => a.id.localeCompare(b.id));
  const lines = [
    header("#", "Knot DNS on the edge: authoritative only (no recursion), DNSSEC-signed").trimEnd(),
    "",
    "server:",
    "    rundir: \"/run/knot\"",
    `    listen: [ ${at(s.edge.ipv4)}, ${at(s.edge.ipv6)} ]`,
    "    identity: \"\"",
    "    version: \"\"",
    "",
    "log:",
    "  - target: syslog",
    "    any: info",
    "",
    "database:",
    `    storage: "${KNOT_STORAGE_DIR}"`,
    "",
  ];
  if (secondaries.length) {
    lines.push(
      `# TSIG keys (${secondaries.map((x) => tsigKeyId(x.id)).join(", ")}) live only on the host, in this file (mode 0600):`,
      `include: "${KNOT_TSIG_INCLUDE}"`,
      "",
      "remote:",
      ...secondaries.flatMap((x) => [`  - id: ${x.id}`, `    address: ${at(x.address)}`, `    key: ${tsigKeyId(x.id)}`]),
      "",
      "acl:",
      ...secondaries.flatMap((x) => [`  - id: xfr-${x.id}`, `    address: ${x.address}`, `    key: ${tsigKeyId(x.id)}`, "    action: transfer"]),
      "",
    );
  }
  lines.push(
    "mod-rrl:",
    "  - id: default",
    `    rate-limit: ${KNOT_RRL.rateLimit}`,
    `    slip: ${KNOT_RRL.slip}`,
    "",
    "policy:",
    `  - id: ${KNOT_DNSSEC_POLICY}`,
    "    algorithm: ecdsap256sha256",
    "    nsec3: on",
    "",
    "template:",
    "  - id: default",
    `    storage: "${KNOT_CONFIG_DIR}/zones"`,
    "    semantic-checks: on",
    "    global-module: mod-rrl/default",
    "    # The zone file is read-only: never write back; keep the signed zone in the journal.",
    "    zonefile-sync: -1",
    "    zonefile-load: difference-no-serial",
    "    journal-content: all",
    "    serial-policy: increment",
    "",
    "zone:",
    ...siteZones(s).flatMap((zone) => [
      `  - domain: ${zone}`,
      `    file: "${zone}.zone"`,
      "    dnssec-signing: on",
      `    dnssec-policy: ${KNOT_DNSSEC_POLICY}`,
      ...(secondaries.length
        ? [`    notify: [ ${secondaries.map((x) => x.id).join(", ")} ]`, `    acl: [ ${secondaries.map((x) => `xfr-${x.id}`).join(", ")} ]`]
        : ["    # no secondaries: zone transfers are refused to everyone"]),
    ]),
    "",
  );
  return { path: `${EDGE_DIR}/knot/knot.conf`, content: lines.join("\n") };
}

export function renderDns(t: Topology): Artifact[] {
  return [renderKnotConf(t), ...siteZones(t.site).map((z) => renderZone(t, z))];
}
