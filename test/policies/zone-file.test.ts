import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseZoneFile } from "../../policies/verifier/knot-zone.js";
import { copyOut, describeMutationSuite, problemLines, verifyDirInProcess } from "./support.js";
import { generatedSiteFile, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL, zoneFile } from "./zone-mutations.js";

/*
 * The records the edge serves, as knotd's zone loader reads the rendered zone file. Each edit
 * changes what resolvers get the way a hand edit would (mail elsewhere, a name pointing away, a
 * delegation, an alias, a wider sender policy, DMARC relaxed, another certificate authority, a
 * replaced DKIM key, what the reader does not model); verify must exit 1 with a dns-weakened
 * finding on the edited line. Rewrites that serve the same records must pass.
 */

describeMutationSuite({
  title: "the zone of %s as knot serves it",
  kind: "dns-weakened",
  sites: [...siteFiles(), generatedSiteFile(7)],
  artifact: zoneFile,
  mutations: MUTATIONS,
  neutral: NEUTRAL,
  more: (planned) => {
    it("GIVEN the primary zone's file removed WHEN verified THEN a dns-weakened finding says it has no rendered zone file", () => {
      const { dir, site } = planned();
      const copy = copyOut(dir);
      rmSync(join(copy, zoneFile(site)));
      expect(problemLines(verifyDirInProcess(copy)).some((l) => /^dns-weakened .*has no rendered zone file/.test(l))).toBe(true);
    });
  },
});

const read = (text: string) => parseZoneFile(`$ORIGIN example.org.\n$TTL 300\n${text}\n`, "example.org.");
const served = (text: string) => {
  const z = read(text);
  expect(z.problems).toEqual([]);
  return z.records.map((r) => `${r.owner} ${r.type} ${r.data}`);
};

describe("a zone file as knot's zone loader reads it, rule by rule", () => {
  it("GIVEN a blank owner WHEN read THEN the record belongs to the previous record's owner, across a directive", () => {
    expect(served("www IN A 192.0.2.1\n$TTL 60\n  IN TXT \"x\"")).toEqual(["www.example.org. A 3221225985", 'www.example.org. TXT "x"']);
  });

  it("GIVEN names relative to a later $ORIGIN, absolute, @ and in upper case WHEN read THEN each is absolute in lower case, and one outside the zone is ignored as knot ignores it", () => {
    expect(served("@ IN NS NS1\nWWW.example.org. IN A 192.0.2.1\n$ORIGIN sub.example.org.\nx IN A 192.0.2.2\n$ORIGIN other.net.\ny IN A 192.0.2.3")).toEqual(["example.org. NS ns1.example.org.", "www.example.org. A 3221225985", "x.sub.example.org. A 3221225986"]);
  });

  it("GIVEN TTL and class in either order, TTL units, and a record over lines in parentheses with comments WHEN read THEN the same records", () => {
    expect(served("a 1h IN A 192.0.2.1\na IN 3600 A 192.0.2.2\na A 192.0.2.3\n@ IN MX ( 10 ; pref\n  mail ) ; host")).toEqual(["a.example.org. A 3221225985", "a.example.org. A 3221225986", "a.example.org. A 3221225987", "example.org. MX 10 mail.example.org."]);
  });

  it("GIVEN generic data (RFC 3597) of an A record and TYPE1 WHEN read THEN it is the address it encodes", () => {
    expect(served("a IN TYPE1 \\# 4 C0000201\nb IN A \\# 4 c0000202")).toEqual(["a.example.org. A 3221225985", "b.example.org. A 3221225986"]);
  });

  it("GIVEN TXT strings with escapes, split in two WHEN read THEN decoded and joined for the judgement, kept apart as knot keeps them", () => {
    const z = read('t IN TXT "v=spf1 \\"a\\"" \\059x "y\\032z"');
    expect(z.problems).toEqual([]);
    expect(z.records[0]!.strings).toEqual(['v=spf1 "a"', ";x", "y z"]);
    expect(z.records[0]!.data).toBe(JSON.stringify('v=spf1 "a";xy z'));
  });

  it("GIVEN what knot refuses or the reader does not model WHEN read THEN each is a problem on its line", () => {
    const cases: [string, number][] = [
      ["a IN A 192.0.2", 3],
      ["a IN A 192.0.2.256", 3],
      ["a IN AAAA 192.0.2.1", 3],
      ['a IN TXT "open', 3],
      ["a IN MX ( 10 b", 3],
      ["a IN MX 70000 b.", 3],
      ["$INCLUDE other.zone", 3],
      ["$GENERATE 1-2 h$ A 192.0.2.$", 3],
      ["a CH TXT x", 3],
      ["a IN CNAME b c", 3],
      ["a IN TYPE1 \\# 3 c00002", 3],
      ["a IN MX \\# 2 000a", 3],
    ];
    for (const [text, line] of cases) expect(read(text).problems.map((p) => p.line), text).toContain(line);
    expect(parseZoneFile("  IN A 192.0.2.1\n", "example.org.").problems.map((p) => p.message)).toEqual(["a record with a blank owner and no previous one"]);
  });
});
