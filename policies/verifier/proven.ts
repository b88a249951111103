import { NFT_PROVEN_SEMANTICS } from "./nftables.js";
import type { Report } from "./report-model.js";

/*
 * What the report may say is proven against the real program, not only read by the verifier's model
 * of it: the evaluators checked by a differential test, each with the program it runs, the test, how
 * many cases the suite runs and the semantics those cases cover. Every other layer (WireGuard, the
 * Docker engines, OpenBao, PostgreSQL's statements) is read by the verifier's model and checked by
 * mutations of the artifacts, which is evidence of another kind. Knot (its configuration and its zone
 * files), Dovecot, rspamd and fail2ban are read by a configuration reader, proven by loading the same files into the real program's own reader.
 */

/** The semantics the HAProxy differential test (test/policies/haproxy-differential.test.ts) sends requests through. */
export const HAPROXY_PROVEN_SEMANTICS: readonly string[] = [
  "every example platform's edge (SNI, tcp mode) and ingress (Host and path, http mode) configuration as rendered, and generated configurations",
  "req.ssl_sni with -i and -m str/beg/end/dom/sub, a ClientHello without SNI, and an unknown name: where it lands (default_backend, or no server)",
  "hdr(host), req.hdr(host) with field(1,:) and lower, hdr_dom/hdr_beg/hdr_end; a Host with a port, a trailing dot, upper case or a prefix or suffix added",
  "path, path_beg, path_end, path_dir and path_sub, case-sensitive, with query strings and sub-paths",
  "use_backend in order with if/unless, named ACLs (several lines ORed), anonymous { } conditions, ! and || / or; then default_backend",
  "tcp-request content accept/reject, http-request deny and redirect before use_backend, and a backend's own deny or reject",
  "src matches behind the PROXY protocol header (accept-proxy), with and without the header",
];

/** The semantics the Knot differential test (test/policies/dns-config-live.test.ts) loads through knotc. */
export const KNOT_PROVEN_SEMANTICS: readonly string[] = [
  "every example platform's knot.conf as rendered and a generated platform's, each with its rewrites that change nothing and its weakenings (test/policies/dns-mutations.ts)",
  "a single-valued key given twice keeps the last (dnssec-signing on, then off), a multi-valued one adds its values, a section given twice merges",
  "names case-insensitive and absolute (Example.NET is example.net.), TSIG key ids too; booleans on/off/true/false; integers with a sign or leading zeros; options in upper case",
  "[ lists ], \"quoted\" values, # comments after a blank, ACL addresses as hosts, networks and first-last ranges, the include of the TSIG keys file",
  "what knot refuses (a tab, a duplicate id, a key without its secret) is refused by the verifier too",
];

/** The semantics the zone-file differential test (test/policies/zone-live.test.ts) loads into knotd. */
export const ZONE_PROVEN_SEMANTICS: readonly string[] = [
  "every example platform's primary zone as rendered and a generated platform's, each with its rewrites that change nothing and its weakenings (test/policies/zone-mutations.ts), and records generated in every written form",
  "a blank owner is the previous record's; @, names relative to the current $ORIGIN, absolute names, names in upper case, an escaped dot inside a label; a record outside the zone ignored",
  "TTL and class in either order, TTL units, records over lines in ( ), ; comments, quoted character-strings with \\\" and \\DDD escapes, a string over 255 bytes split",
  "A and AAAA in their notations, TYPEnnn and RFC 3597 generic data (an A written as \\# 4 …), MX, NS, CNAME, DNAME, PTR, CAA, TXT and SOA data",
  "what knot refuses ($INCLUDE of a missing file, $GENERATE, another class, a bad address, an open quote or parenthesis, generic data too short for its type) is reported by the verifier too",
];

/** The semantics the Dovecot differential test (test/policies/dovecot-live.test.ts) asks doveconf about. */
export const DOVECOT_PROVEN_SEMANTICS: readonly string[] = [
  "every example platform's dovecot.conf as rendered, with its rewrites that change nothing and its weakenings (test/policies/dovecot-mutations.ts)",
  "the last assignment wins; a # after a value is a comment; quoted values; booleans in any case",
  "protocol NAME and !NAME filters, remote and local filters by address and network, a protocol filter inside a remote one",
  "the value of ssl, disable_plaintext_auth, ssl_min_protocol, auth_mechanisms and protocols for nine kinds of connection (protocol, remote and local address): always one the verifier found",
  "what Dovecot 2.3 refuses (a setting it does not know) is refused by the verifier too",
];

/** The semantics the rspamd differential test (test/policies/rspamd-live.test.ts) loads through rspamadm. */
export const RSPAMD_PROVEN_SEMANTICS: readonly string[] = [
  "the first example platform's and a generated platform's local.d files (DKIM signing, actions, the milter) as rendered, with their rewrites that change nothing and their weakenings (test/policies/rspamd-mutations.ts)",
  "UCL: = and : and no separator, ; or nothing between keys, key \"name\" { } as nested objects, # and /* */ comments, booleans as on/off, yes/no, true/false",
  "a local.d key overriding rspamd's default, a key it leaves out taking the default, sign_networks adding to rspamd's own",
  "what rspamd refuses (an .include of a missing file, a null threshold) is reported by the verifier too",
];

/** The semantics the fail2ban differential test (test/policies/ips-config-live.test.ts) reads with fail2ban-client. */
export const FAIL2BAN_PROVEN_SEMANTICS: readonly string[] = [
  "the first example platform's jail.local, filters, fail2ban.conf and ban action as rendered, with its rewrites that change nothing and its weakenings (test/policies/ips-mutations.ts)",
  "a jail's keys falling back to [DEFAULT], %(key)s interpolation, indented continuation lines, booleans as fail2ban reads them",
  "bantime and findtime with units as fail2ban counts them, maxretry, ignoreip, the jail's action",
  "the action's <tags> from [Init], its ban, check, unban, start and stop commands",
  "each jail's logpath and backend, its filter's failregex and ignoreregex as fail2ban compiles them (%(__prefix)s resolved, each line stripped), fail2ban.conf's logtarget and loglevel",
  "every weakening the verifier reports is read by fail2ban as a jail configuration other than the plan's",
];

export interface DifferentialProof {
  /** The real program the cases run through, and how. */
  readonly program: string;
  /** The test that runs them in the suite. */
  readonly test: string;
  /** How many cases the suite runs, and how to run more. */
  readonly cases: string;
}

/** Each differentially proven evaluator, keyed as `report.json → proven`. The suite defaults are the tests' own (checked by test/policies/proven.test.ts). */
export const DIFFERENTIAL_PROOFS: { readonly nftables: DifferentialProof; readonly haproxy: DifferentialProof; readonly knot: DifferentialProof; readonly zones: DifferentialProof; readonly dovecot: DifferentialProof; readonly rspamd: DifferentialProof; readonly fail2ban: DifferentialProof } = {
  nftables: {
    program: "the Linux kernel's nftables: each generated ruleset loaded with nft -f in a throwaway network namespace and the packet really sent through it",
    test: "test/policies/nft-differential.test.ts",
    cases: "3000 generated (ruleset, packet) pairs in the suite, seed 1 (PALISADE_NFT_FUZZ_CASES; npm run fuzz:nft -- N for more)",
  },
  haproxy: {
    program: "haproxy itself, running each configuration on loopback; each generated request sent to it and where it landed compared",
    test: "test/policies/haproxy-differential.test.ts",
    cases: "150 generated requests per configuration (HAPROXY_DIFF_N), on every example's two configurations and 6 generated ones (HAPROXY_DIFF_CONFIGS)",
  },
  knot: {
    program: "Knot DNS 3.2 itself: each configuration loaded with knotc conf-export, which writes what knotd would load; the verifier's reading must equal it",
    test: "test/policies/dns-config-live.test.ts",
    cases: "the plan, 7 rewrites that change nothing and 22 weakenings of knot.conf, on every example and a generated platform",
  },
  zones: {
    program: "Knot DNS 3.2's zone loader itself: a knotd of the test's own (a control socket, no listening socket) loads each zone file with knotc zone-reload, and knotc zone-read prints what it serves; the verifier's records must equal them",
    test: "test/policies/zone-live.test.ts",
    cases: "the plan, 6 rewrites that change nothing and 17 weakenings of the primary zone, 40 syntax cases and 12 sets of 25 generated records, on every example and a generated platform",
  },
  dovecot: {
    program: "Dovecot 2.3 itself: doveconf -f protocol=... -f remote=... -f local=... prints each setting's value for such a connection",
    test: "test/policies/dovecot-live.test.ts",
    cases: "the plan, 4 rewrites that change nothing and 23 weakenings of dovecot.conf, on every example, for 9 kinds of connection",
  },
  rspamd: {
    program: "rspamd 3.4 itself: rspamadm --var=LOCAL_CONFDIR=DIR configdump -j prints the configuration rspamd loads with the files merged in; the verifier's judged values must equal it",
    test: "test/policies/rspamd-live.test.ts",
    cases: "the plan, 5 rewrites that change nothing and 19 weakenings of the rspamd files, on the first example and a generated platform",
  },
  fail2ban: {
    program: "fail2ban 1.0 itself: fail2ban-client -c DIR -d prints the jails as the server would be configured from the files",
    test: "test/policies/ips-config-live.test.ts",
    cases: "the plan, 7 rewrites that change nothing and 37 weakenings of the first example's fail2ban files",
  },
};

/** `report.json → proven`: the semantics each differential test covers. */
export function provenSemantics(): Required<NonNullable<Report["proven"]>> {
  return { nftables: NFT_PROVEN_SEMANTICS, haproxy: HAPROXY_PROVEN_SEMANTICS, knot: KNOT_PROVEN_SEMANTICS, zones: ZONE_PROVEN_SEMANTICS, dovecot: DOVECOT_PROVEN_SEMANTICS, rspamd: RSPAMD_PROVEN_SEMANTICS, fail2ban: FAIL2BAN_PROVEN_SEMANTICS };
}
