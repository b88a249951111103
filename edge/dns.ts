import { dkimRecordValue, KNOT_CONFIG_DIR, KNOT_DNSSEC_POLICY, KNOT_RRL, KNOT_STORAGE_DIR, KNOT_TSIG_INCLUDE, mtaStsPolicy, siteZones, tsigKeyId, txtStrings, zoneLine, zoneRecords, zoneSoa, type Artifact, type Topology } from "../core/index.js";
import { EDGE_DIR, digest, header } from "./private/edge-facts.js";

export { dkimRecordValue, KNOT_CONFIG_DIR, KNOT_DNSSEC_POLICY, KNOT_STORAGE_DIR, KNOT_TSIG_INCLUDE, mtaStsPolicy, tsigKeyId, txtStrings };

/**
 * The zone file of one of the site's zones (default: the primary domain). The primary zone holds
 * the name servers, mail and MTA-STS; every zone gets its apex and the routed names inside it.
 * The serial is derived from the content (stable between plans).
 */
export function renderZone(t: Topology, zone = t.site.site.domain): Artifact {
  const s = t.site;
  const primary = zone === s.site.domain;
  const rr = zoneRecords(s, zone).map(zoneLine);
  const body = (serial: string) =>
    [
      header(";", `zone ${zone} (authoritative on the edge; Knot signs it with DNSSEC)`).trimEnd(),
      !primary || dkimRecordValue(s) ? null : "; no DKIM record: publicKeys.dkim is not set in the site file (run `palisade keys`)",
      `$ORIGIN ${zone}.`,
      "$TTL 3600",
      `@ IN SOA ${zoneSoa(s, serial).data}`,
      ...rr,
      "",
    ]
      .filter((l): l is string => l !== null)
      .join("\n");
  // Content-derived serial in 1..2^31-1. Knot loads with `zonefile-load: difference-no-serial` and
  // `serial-policy: increment`, so what secondaries see still only goes up.
  const serial = (parseInt(digest(body("SERIAL"), 8), 16) % 0x7fffffff) + 1;
  return { path: `${EDGE_DIR}/knot/zones/${zone}.zone`, content: body(String(serial)) };
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
