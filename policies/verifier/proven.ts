import { NFT_PROVEN_SEMANTICS } from "./nftables.js";

/*
 * What the report may say is proven against the real program, not only read by the verifier's model
 * of it: the evaluators checked by a differential test, each with the program it runs, the test, how
 * many cases the suite runs and the semantics those cases cover. Every other layer (WireGuard, the
 * Docker engines, OpenBao, PostgreSQL's statements) is read by the verifier's model and checked by
 * mutations of the artifacts, which is evidence of another kind.
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

export interface DifferentialProof {
  /** The real program the cases run through, and how. */
  readonly program: string;
  /** The test that runs them in the suite. */
  readonly test: string;
  /** How many cases the suite runs, and how to run more. */
  readonly cases: string;
}

/** Each differentially proven evaluator, keyed as `report.json → proven`. The suite defaults are the tests' own (checked by test/policies/proven.test.ts). */
export const DIFFERENTIAL_PROOFS: { readonly nftables: DifferentialProof; readonly haproxy: DifferentialProof } = {
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
};

/** `report.json → proven`: the semantics each differential test covers. */
export function provenSemantics(): { readonly nftables: readonly string[]; readonly haproxy: readonly string[] } {
  return { nftables: NFT_PROVEN_SEMANTICS, haproxy: HAPROXY_PROVEN_SEMANTICS };
}
