import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KNOT_CONF, knotCanonical, parseKnotConf } from "../../policies/verifier/knot.js";
import { copyOut, describeMutationSuite, problemLines, verifyDirInProcess } from "./support.js";
import { generatedSiteFile, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL } from "./dns-mutations.js";

/*
 * The edge's authoritative DNS as knotd reads knot.conf. Each edit weakens it the way a hand edit
 * would (a zone open to transfer or update, unsigned, walkable, read from another file, an extra
 * zone, no rate limit, a file or module knot would read that the verifier does not); verify must
 * exit 1 with a dns-weakened finding on the line that holds the edit. Zones and secondaries are
 * the planned site's own (dns-mutations.ts). Rewrites that change nothing knot does must pass.
 */

describeMutationSuite({
  title: "the DNS of %s as knot reads it",
  kind: "dns-weakened",
  sites: [...siteFiles(), generatedSiteFile(7)],
  artifact: () => KNOT_CONF,
  mutations: MUTATIONS,
  neutral: NEUTRAL,
  more: (planned) => {
    it("GIVEN knot.conf removed WHEN verified THEN a dns-weakened finding says the zones are not served as verified", () => {
      const dir = copyOut(planned().dir);
      rmSync(join(dir, KNOT_CONF));
      expect(problemLines(verifyDirInProcess(dir)).some((l) => /^dns-weakened .*has no hosts\/edge\/knot\/knot\.conf/.test(l))).toBe(true);
    });
  },
});

describe("knot.conf as knotd reads it, rule by rule", () => {
  it("GIVEN a single-valued key twice, a multi-valued key twice and a section twice WHEN read THEN the last value wins, the values add up, the sections merge", () => {
    const c = parseKnotConf("policy:\n  - id: p\n    nsec3: on\n    nsec3: off\nacl:\n  - id: a\n    action: transfer\n    action: notify\nacl:\n  - id: b\n    deny: on\n");
    expect(c.problems).toEqual([]);
    expect(knotCanonical(c)).toEqual({ acl: [{ action: ["transfer", "notify"], id: ["a"] }, { deny: ["on"], id: ["b"] }], policy: [{ id: ["p"], nsec3: ["off"] }] });
  });

  it("GIVEN names, booleans, integers and options in knot's other spellings WHEN read THEN normalized as knot normalizes them", () => {
    const c = parseKnotConf('zone:\n  - domain: Example.NET\n    dnssec-signing: "true"\nmod-rrl:\n  - id: d\n    rate-limit: 0200\n    slip: +2\nacl:\n  - id: a\n    action: [ TRANSFER, "query" ] # both\n');
    expect(c.problems).toEqual([]);
    expect(knotCanonical(c)).toEqual({ acl: [{ action: ["transfer", "query"], id: ["a"] }], "mod-rrl": [{ id: ["d"], "rate-limit": ["200"], slip: ["2"] }], zone: [{ "dnssec-signing": ["on"], domain: ["example.net."] }] });
  });

  it("GIVEN what knot refuses (a tab, a # after a value, ragged indentation, an item without its id first, a repeated id, an empty list, a bare value with a space) WHEN read THEN each is a problem on its line", () => {
    const cases: [string, number][] = [
      ["acl:\n\t- id: a\n", 2],
      ["acl:\n  - id: a\n    action: transfer#x\n", 3],
      ["server:\n    rundir: /a\n   identity: x\n", 3],
      ["acl:\n  - address: 1.2.3.4\n    id: a\n", 2],
      ["acl:\n  - id: a\n  - id: a\n", 3],
      ["acl:\n  - id: a\n    action: [ ]\n", 3],
      ["server:\n    identity: foo bar\n", 2],
      ["ACL:\n  - id: a\n", 1],
    ];
    for (const [text, line] of cases) expect(parseKnotConf(text).problems.map((p) => p.line), text).toContain(line);
  });
});
