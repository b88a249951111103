import { describe, expect, it } from "vitest";
import { IPS_JAILS, ipsFailRegexes } from "../../core/index.js";
import { fail2banSeconds, parseFail2banIni } from "../../policies/verifier/fail2ban.js";
import { describeMutationSuite } from "./support.js";
import { generatedSiteFile, siteFiles } from "./planned-sites.js";
import { JAIL, MUTATIONS, NEUTRAL } from "./ips-mutations.js";

/*
 * Class 12 of issue 12, the IPS half: fail2ban's jails as fail2ban reads them. Each edit weakens
 * the edge IPS the way a hand edit would (a jail off or gone, thresholds looser than the site's,
 * an exemption for outside addresses, a ban that adds to no set, a file fail2ban also reads);
 * verify must exit 1 with an ips-weakened finding on the line that holds the edit. The values are
 * the planned site's own (its edge.ips), never the reference's (ips-mutations.ts). Rewrites that
 * change nothing fail2ban does must pass.
 */

describeMutationSuite({
  title: "the IPS of %s as fail2ban reads it",
  kind: "ips-weakened",
  sites: [...siteFiles(), generatedSiteFile(7)],
  artifact: () => JAIL,
  mutations: MUTATIONS,
  neutral: NEUTRAL,
  // An unmodelled [DEFAULT] key is not repeated for every jail that inherits it.
  oneFindingPerLine: true,
});

describe("fail2ban's formats, unit by unit", () => {
  it("GIVEN the platform's filter expressions WHEN fail2ban strips each line of a failregex THEN none changes (an expression ending in a space would lose it)", () => {
    for (const jail of IPS_JAILS) for (const r of ipsFailRegexes(jail)) expect(r.trim(), jail).toBe(r);
  });

  it("GIVEN fail2ban time strings WHEN read THEN seconds as fail2ban counts them, and undefined for what it does not read", () => {
    expect([fail2banSeconds("3600"), fail2banSeconds("1h"), fail2banSeconds("10m 30s"), fail2banSeconds("1d2h"), fail2banSeconds("-1"), fail2banSeconds("2weeks")]).toEqual([3600, 3600, 630, 93_600, -1, 1_209_600]);
    expect([fail2banSeconds("soon"), fail2banSeconds("1 fortnight"), fail2banSeconds("")]).toEqual([undefined, undefined, undefined]);
  });

  it("GIVEN continuation lines, keys in any case and comments WHEN parsed THEN values join by line breaks under lower-case keys", () => {
    const ini = parseFail2banIni("# c\n[Definition]\nActionBan = a\n    b\n; c\n\n[Init]\nx: 1\n");
    expect(ini.problems).toEqual([]);
    expect(ini.sections.get("Definition")!.keys.get("actionban")!.value).toBe("a\nb");
    expect(ini.sections.get("Init")!.keys.get("x")!.value).toBe("1");
  });

  it("GIVEN a repeated key, a key before any section and a stray indented line WHEN parsed THEN each is a problem with its line", () => {
    expect(parseFail2banIni("k = 1\n[a]\nk = 1\nk = 2\n\n  stray\n").problems.map((p) => p.line)).toEqual([1, 4, 6]);
  });
});
