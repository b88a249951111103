import { describe, expect, it } from "vitest";
import { parseUcl, RSPAMD_FILES } from "../../policies/verifier/rspamd.js";
import { describeMutationSuite } from "./support.js";
import { generatedSiteFile, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL } from "./rspamd-mutations.js";

/*
 * The edge's spam filter and DKIM signer as rspamd reads its local.d files. Each edit signs what
 * it must not, turns signing or scanning off, raises a threshold, opens the milter or adds what
 * the reader does not model; verify must exit 1 with a mail-weakened finding in the edited file.
 * Rewrites that change nothing rspamd does must pass.
 */

describeMutationSuite({
  title: "the rspamd files of %s as rspamd reads them",
  kind: "mail-weakened",
  sites: [...siteFiles(), generatedSiteFile(7)],
  artifact: () => RSPAMD_FILES.dkim,
  mutations: MUTATIONS,
  neutral: NEUTRAL,
});

describe("UCL as rspamd reads it, rule by rule", () => {
  const keys = (text: string) => [...parseUcl(text).root.keys()];
  it("GIVEN =, : and no separator, ; , or nothing between keys WHEN read THEN the same keys", () => {
    expect(keys("a = 1; b: 2, c 3\nd { e = f }")).toEqual(["a", "b", "c", "d"]);
  });

  it("GIVEN key \"name\" { } WHEN read THEN an object under the key, then the name", () => {
    const up = parseUcl('upstream "local" { self_scan = yes; }').root.get("upstream");
    expect(up?.kind === "object" && [...up.entries.keys()]).toEqual(["local"]);
  });

  it("GIVEN a key twice, a macro, a section or string left open WHEN read THEN each is a problem on its line", () => {
    const cases: [string, number][] = [
      ["a = 1;\na = 2;", 2],
      ['.include "x"', 1],
      ["a {\n b = 1;", 1],
      ['a = "open\n', 1],
      ["a = <<EOD\nx\nEOD", 1],
      ["/* open", 1],
    ];
    for (const [text, line] of cases) expect(parseUcl(text).problems.map((p) => p.line), text).toContain(line);
  });
});
