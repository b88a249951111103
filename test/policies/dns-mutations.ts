import { siteZones, type Site } from "../../core/index.js";
import { KNOT_CONF } from "../../policies/verifier/knot.js";
import { editText } from "./support.js";

/*
 * Edits of the edge's knot.conf: `MUTATIONS` weaken the authoritative DNS (a zone open to
 * transfer or update, served unsigned, walkable or from another file, an extra zone, no rate
 * limit, what knot reads that the verifier does not), each expecting a dns-weakened finding on the
 * line that holds the edit; `NEUTRAL` change only how the file is written, and must pass. Zones
 * and secondaries come from the planned site, never from the reference. Used by the verifier's
 * mutation test and by the differential test against knotc's own reader.
 */

export interface DnsMutation {
  readonly name: string;
  readonly apply: (dir: string, site: Site) => void;
  readonly expected: RegExp;
  /** Text the reported line holds ("" when the finding is about something absent). */
  readonly marker: string;
}

const primaryZone = (s: Site) => siteZones(s)[0]!;
const edit = (d: string, f: (x: string) => string) => editText(d, KNOT_CONF, f);
/** Adds a section before the rate limit's (the renderer's order keeps sections apart). */
const withSection = (text: string, block: string) => text.replace(/^mod-rrl:$/m, `${block}\n\nmod-rrl:`);
/** Adds a key line to the primary zone's item, right after its `- domain:` line (a multi-valued key adds up). */
const inZone = (text: string, s: Site, line: string) => text.replace(new RegExp(`^(  - domain: ${primaryZone(s).replace(/\./g, "\\.")})$`, "m"), `$1\n    ${line}`);
/** Adds an ACL and puts it on the primary zone. */
const withAcl = (text: string, s: Site, id: string, body: string[]) => inZone(withSection(text, ["acl:", `  - id: ${id}`, ...body.map((b) => `    ${b}`)].join("\n")), s, `acl: [ ${id} ]`);

export const MUTATIONS: readonly DnsMutation[] = [
  { name: "zone transfer open to everyone (an ACL without address or key)", apply: (d, s) => edit(d, (x) => withAcl(x, s, "open-xfr", ["action: [ transfer ]"])), expected: /acl open-xfr lets any address without TSIG transfer/, marker: "action: [ transfer ]" },
  { name: "zone transfer to 0.0.0.0/0 with a key", apply: (d, s) => edit(d, (x) => withAcl(x, s, "wide-xfr", ["address: 0.0.0.0/0", "key: tsig-attacker", "action: [ transfer ]"])), expected: /acl wide-xfr lets 0\.0\.0\.0\/0 with key tsig-attacker\. transfer/, marker: "action: [ transfer ]" },
  { name: "zone transfer to a /24 without TSIG", apply: (d, s) => edit(d, (x) => withAcl(x, s, "net-xfr", ["address: [ 198.51.100.0/24 ]", "action: [ transfer, query ]"])), expected: /acl net-xfr lets 198\.51\.100\.0\/24 without TSIG transfer/, marker: "action: [ transfer, query ]" },
  { name: "zone transfer to an address range written first-last", apply: (d, s) => edit(d, (x) => withAcl(x, s, "range-xfr", ["address: 192.0.2.1-192.0.2.254", "action: [ transfer ]"])), expected: /acl range-xfr lets 192\.0\.2\.1-192\.0\.2\.254 without TSIG transfer/, marker: "action: [ transfer ]" },
  { name: "dynamic updates from a private range (DDNS)", apply: (d, s) => edit(d, (x) => withAcl(x, s, "ddns", ["address: 10.0.0.0/8", "action: [ update ]"])), expected: /acl ddns lets 10\.0\.0\.0\/8 without TSIG update zone/, marker: "action: [ update ]" },
  { name: "NOTIFY accepted from anyone", apply: (d, s) => edit(d, (x) => withAcl(x, s, "notify-in", ["action: [ notify ]"])), expected: /acl notify-in accepts NOTIFY/, marker: "action: [ notify ]" },
  { name: "dnssec-signing off after on (the last one wins)", apply: (d) => edit(d, (x) => x.replace(/^( {4}dnssec-signing: on)$/m, "$1\n    dnssec-signing: off")), expected: /is served unsigned \(dnssec-signing off\)/, marker: "dnssec-signing: off" },
  { name: "every dnssec-signing line removed (off by default)", apply: (d) => edit(d, (x) => x.replace(/^ {4}dnssec-signing: on\n/gm, "")), expected: /is served unsigned \(dnssec-signing unset/, marker: "domain:" },
  { name: "the DNSSEC policy without NSEC3 (the zone can be walked)", apply: (d) => edit(d, (x) => x.replace(/^( {4})nsec3: on$/m, "$1nsec3: off")), expected: /denies existence with NSEC/, marker: "nsec3: off" },
  { name: "the DNSSEC policy's algorithm set to RSA/SHA-1", apply: (d) => edit(d, (x) => x.replace(/^( {4}algorithm: ).*$/m, "$1rsasha1")), expected: /signed with rsasha1, a SHA-1 algorithm/, marker: "algorithm: rsasha1" },
  { name: "the primary zone read from another file", apply: (d) => edit(d, (x) => x.replace(/^( {4}file: )".*"$/m, '$1"/tmp/evil.zone"')), expected: /is read from \/tmp\/evil\.zone, not from the rendered/, marker: "/tmp/evil.zone" },
  { name: "the zones' storage moved in the default template", apply: (d) => edit(d, (x) => x.replace(/^( {4}storage: )"\/config\/zones"$/m, '$1"/var/lib/knot/zones"')), expected: /is read from \/var\/lib\/knot\/zones\//, marker: "/var/lib/knot/zones" },
  { name: "a zone the site does not declare", apply: (d) => edit(d, (x) => x.replace(/^zone:$/m, 'zone:\n  - domain: evil.example\n    file: "evil.example.zone"')), expected: /zone evil\.example\. is served, but the site declares no such zone/, marker: "domain: evil.example" },
  { name: "the site's primary zone removed", apply: (d, s) => edit(d, (x) => x.replace(new RegExp(`^  - domain: ${primaryZone(s).replace(/\./g, "\\.")}\\n(?: {4}.*\\n| *#.*\\n)*`, "m"), "")), expected: /of the site is not served/, marker: "" },
  { name: "another file included", apply: (d) => edit(d, (x) => x.replace(/^log:$/m, 'include: "/etc/knot/extra.conf"\n\nlog:')), expected: /knot reads \/etc\/knot\/extra\.conf too/, marker: "include" },
  { name: "the rate limit's global module removed", apply: (d) => edit(d, (x) => x.replace(/^ {4}global-module: .*\n/m, "")), expected: /no mod-rrl module applies to every zone/, marker: "" },
  { name: "the rate limit raised tenfold", apply: (d) => edit(d, (x) => x.replace(/^( {4}rate-limit: )(\d+)$/m, (_m, k: string, v: string) => `${k}${Number(v) * 10}`)), expected: /rate-limit \d+: at most/, marker: "rate-limit:" },
  { name: "a zone module knot would run (mod-dnsproxy)", apply: (d, s) => edit(d, (x) => inZone(x, s, "module: mod-dnsproxy/default")), expected: /zone module is not modelled/, marker: "module: mod-dnsproxy" },
  { name: "automatic ACLs turned on for the server", apply: (d) => edit(d, (x) => x.replace(/^( {4}rundir: .*)$/m, "$1\n    automatic-acl: on")), expected: /server automatic-acl is not modelled/, marker: "automatic-acl" },
  { name: "NOTIFY sent to a remote that is no secondary", apply: (d, s) => edit(d, (x) => inZone(withSection(x, "remote:\n  - id: evil\n    address: 192.0.2.66@53"), s, "notify: [ evil ]")), expected: /notifies remote evil \(192\.0\.2\.66@53\), which is no declared secondary/, marker: "notify: [ evil ]" },
  { name: "a TSIG key section inline", apply: (d) => edit(d, (x) => withSection(x, "key:\n  - id: inline\n    algorithm: hmac-sha256")), expected: /section key is not modelled/, marker: "key:" },
  { name: "a tab in an indentation (knot refuses the file)", apply: (d) => edit(d, (x) => x.replace(/^ {4}semantic-checks:/m, "\tsemantic-checks:")), expected: /a tab character/, marker: "semantic-checks" },
];

export const NEUTRAL: readonly { readonly name: string; readonly apply: (dir: string, site: Site) => void }[] = [
  { name: "booleans spelled true, values quoted", apply: (d) => edit(d, (x) => x.replace(/^( {4}dnssec-signing: )on$/gm, "$1true").replace(/^( {4}nsec3: )on$/m, '$1"on"')) },
  { name: "zone names in upper case with the trailing dot", apply: (d) => edit(d, (x) => x.replace(/^( {2}- domain: )(\S+)$/gm, (_m, k: string, z: string) => `${k}${z.toUpperCase()}.`)) },
  { name: "comments and blank lines between the keys", apply: (d) => edit(d, (x) => x.replace(/^( {4}dnssec-policy: .*)$/gm, "    # signed by the palisade policy\n\n$1 # inline comment")) },
  { name: "signing set once in the default template instead of each zone", apply: (d) => edit(d, (x) => x.replace(/^ {4}dnssec-signing: on\n/gm, "").replace(/^( {4}semantic-checks: .*)$/m, "$1\n    dnssec-signing: on")) },
  { name: "a deny-everything ACL put first on the primary zone", apply: (d, s) => edit(d, (x) => withAcl(x, s, "deny-all", ["deny: on"])) },
  { name: "the global module written as a one-element list", apply: (d) => edit(d, (x) => x.replace(/^( {4}global-module: )(.*)$/m, "$1[ $2 ]")) },
  { name: "the rate limit lowered", apply: (d) => edit(d, (x) => x.replace(/^( {4}rate-limit: )\d+$/m, "$1100")) },
];
