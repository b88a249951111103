import { siteNames, type Site } from "../../core/index.js";
import { KNOT_ZONES_DIR } from "../../policies/verifier/knot-zone.js";
import { editText, type SuiteMutation } from "./support.js";

/*
 * Edits of the primary zone's rendered file, as an attacker with write access to the artifacts
 * would make them: `MUTATIONS` change what knot serves (mail delivered elsewhere, a name pointing
 * away, a delegation, an alias, a wider sender policy, DMARC without reject, another certificate
 * authority, a replaced DKIM key, what the reader does not model), each expecting a dns-weakened
 * finding on the line that holds the edit; `NEUTRAL` change only how the file is written (knot
 * serves the same records) and must pass. Names come from the planned site, never from the
 * reference. Used by the verifier's mutation test and the differential test against knotd.
 */

export const zoneFile = (s: Site) => `${KNOT_ZONES_DIR}/${s.site.domain}.zone`;
const edit = (d: string, s: Site, f: (x: string) => string) => editText(d, zoneFile(s), f);
/** The record lines of a rendered zone: owner, `IN`, type, data. */
const RECORD = /^(\S+)( +)IN( +)([A-Z]+)( +)(.*)$/gm;
const append = (line: string) => (x: string) => `${x}${line}\n`;
/** A label for the names the mutations add (any the site does not route). */
const SPARE = "palisade-mutation";

export const MUTATIONS: readonly SuiteMutation[] = [
  { name: "an MX preferred over the site's, to another server", apply: (d, s) => edit(d, s, append("@ IN MX 5 mx.attacker.example.")), expected: /serves \S+ MX 5 mx\.attacker\.example\., which the site does not declare: mail for/, marker: "mx.attacker.example" },
  { name: "the site's MX pointed at another server", apply: (d, s) => edit(d, s, (x) => x.replace(/( IN MX +10 )\S+/, "$1mx.attacker.example.")), expected: /serves \S+ MX 10 mx\.attacker\.example\./, marker: "mx.attacker.example" },
  { name: "a wildcard record (every unknown name resolves)", apply: (d, s) => edit(d, s, append("* IN A 198.51.100.66")), expected: /serves \*\.\S+ A 198\.51\.100\.66, which the site does not declare/, marker: "198.51.100.66" },
  { name: "the apex's address replaced", apply: (d, s) => edit(d, s, (x) => x.replace(/^(@ +IN A +)\S+$/m, "$1198.51.100.66")), expected: /serves \S+ A 198\.51\.100\.66/, marker: "198.51.100.66" },
  { name: "an address in RFC 3597 generic form (TYPE1)", apply: (d, s) => edit(d, s, append(`${SPARE} IN TYPE1 \\# 4 C6336442`)), expected: new RegExp(`serves ${SPARE}\\.\\S+ A 198\\.51\\.100\\.66`), marker: "TYPE1" },
  { name: "a record with a blank owner (the previous record's)", apply: (d, s) => edit(d, s, (x) => x.replace(/^(\S+ +IN MX .*)$/m, "$1\n\tIN A 198.51.100.67")), expected: /serves \S+ A 198\.51\.100\.67/, marker: "198.51.100.67" },
  { name: "a name delegated to another server (NS)", apply: (d, s) => edit(d, s, append(`${SPARE} IN NS ns.attacker.example.`)), expected: new RegExp(`serves ${SPARE}\\.\\S+ NS ns\\.attacker\\.example\\., which the site does not declare: .* is delegated`), marker: "ns.attacker.example" },
  { name: "an alias to another host (CNAME)", apply: (d, s) => edit(d, s, append(`${SPARE} IN CNAME attacker.example.`)), expected: /CNAME attacker\.example\., which the site does not declare: .* becomes an alias/, marker: "CNAME" },
  { name: "the sender policy widened to +all", apply: (d, s) => edit(d, s, (x) => x.replace(/^(@ +IN TXT +)"v=spf1 [^"]*"$/m, '$1"v=spf1 +all"')), expected: /TXT "v=spf1 \+all", which the site does not declare: a sender policy/, marker: "+all" },
  { name: "DMARC relaxed to p=none", apply: (d, s) => edit(d, s, (x) => x.replace(/p=reject; sp=/, "p=none; sp=")), expected: /v=DMARC1; p=none.*which the site does not declare: a DMARC policy/, marker: "p=none" },
  { name: "another certificate authority allowed (CAA)", apply: (d, s) => edit(d, s, (x) => x.replace(/issue "letsencrypt\.org"/, 'issue "evil-ca.example"')), expected: /CAA 0 issue "evil-ca\.example", which the site does not declare: a certificate authority the site does not name/, marker: "evil-ca.example" },
  { name: "the CAA issue record removed", apply: (d, s) => edit(d, s, (x) => x.replace(/^.* IN CAA +0 issue "letsencrypt\.org"\n/m, "")), expected: /does not serve \S+ CAA 0 issue "letsencrypt\.org", which the site declares: any certificate authority/, marker: "" },
  { name: "the DKIM key replaced", apply: (d, s) => edit(d, s, (x) => x.replace(/(v=DKIM1; k=\w+; p=)[^"]+/, `$1${Buffer.alloc(32, 7).toString("base64")}`)), expected: /TXT "v=DKIM1.*which the site does not declare: a DKIM key the site does not hold/, marker: "v=DKIM1", applies: (s) => !!s.publicKeys.dkim },
  { name: "another file included ($INCLUDE)", apply: (d, s) => edit(d, s, append("$INCLUDE /etc/knot/extra.zone")), expected: /not understood, so not trusted: \$INCLUDE \/etc\/knot\/extra\.zone: knot reads another file/, marker: "$INCLUDE" },
  { name: "a record in another class (CH)", apply: (d, s) => edit(d, s, append(`${SPARE} CH TXT "x"`)), expected: /not understood, so not trusted: class CH is not modelled/, marker: "CH TXT" },
  { name: "a quoted string left open", apply: (d, s) => edit(d, s, append(`${SPARE} IN TXT "v=spf1 +all`)), expected: /not understood, so not trusted: an unterminated quoted string/, marker: "v=spf1 +all" },
  { name: "the mail host's address moved", apply: (d, s) => edit(d, s, (x) => x.replace(new RegExp(`^(${siteNames(s).mail.slice(0, -(s.site.domain.length + 1)).replace(/\./g, "\\.")} +IN A +)\\S+$`, "m"), "$1198.51.100.68")), expected: /A 198\.51\.100\.68, which the site does not declare/, marker: "198.51.100.68" },
];

/** The owner of a record line as an absolute name in upper case. */
const upperAbsolute = (owner: string, zone: string) => (owner === "@" ? `${zone}.` : `${owner}.${zone}.`).toUpperCase();

export const NEUTRAL: readonly { readonly name: string; readonly apply: (dir: string, site: Site) => void }[] = [
  { name: "owners as absolute names in upper case", apply: (d, s) => edit(d, s, (x) => x.replace(RECORD, (_m, o: string, a: string, b: string, t: string, c: string, v: string) => `${upperAbsolute(o, s.site.domain)}${a}IN${b}${t}${c}${v}`)) },
  { name: "records in reverse order", apply: (d, s) => edit(d, s, (x) => {
    const lines = x.split("\n");
    const first = lines.findIndex((l) => / IN (?!SOA)[A-Z]+ /.test(l));
    return [...lines.slice(0, first), ...lines.slice(first).filter((l) => l).reverse(), ""].join("\n");
  }) },
  { name: "TTLs written out, class before or after them, or left out", apply: (d, s) => {
    let i = 0;
    edit(d, s, (x) => x.replace(RECORD, (_m, o: string, _a: string, _b: string, t: string, _c: string, v: string) => [`${o} 1h IN ${t} ${v}`, `${o} IN 3600 ${t} ${v}`, `${o} ${t} ${v}`][i++ % 3]!));
  } },
  { name: "comments, blank lines and a record split over lines", apply: (d, s) => edit(d, s, (x) => x.replace(/^(\S+ +IN MX +)(\d+) (\S+)$/m, "; the site's mail host\n\n$1( $2 ; preference\n    $3 )").replace(/^(.* IN CAA .*)$/gm, "$1 ; CAA")) },
  { name: "a TXT value split into two character-strings", apply: (d, s) => edit(d, s, (x) => x.replace(/"v=spf1 ([^"]*) -all"/, '"v=spf1 $1" " -all"')) },
  { name: "a record given twice (knot keeps one)", apply: (d, s) => edit(d, s, (x) => x.replace(/^(.* IN CAA +0 issuewild .*)$/m, "$1\n$1")) },
];
