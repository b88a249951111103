import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { htmlFormatter, markdownFormatter } from "../../policies/report/index.js";
import { DIFFERENTIAL_PROOFS, type Report } from "../../policies/verifier/index.js";
import { ROOT } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { siteFiles } from "./planned-sites.js";

/*
 * Issue 12: the report says which semantics are proven against the real programs, in every format a
 * person reads. On every example's plan: report.json lists them per evaluator, index.html has the
 * section in its table of contents with every semantic, each evaluator's test and its case count,
 * segmentation.md the same; and what the report claims of each test is what the test runs.
 */

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

describe.each(siteFiles())("the proven semantics in the report of $name", ({ file }) => {
  it("GIVEN the plan WHEN its report is read THEN report.json, index.html and segmentation.md each name every differentially proven semantic, its program, test and cases", async () => {
    const planned = await planOnce(file);
    const report = planned.json<Report>("report/report.json");
    const html = planned.text("report/index.html");
    const md = planned.text("report/segmentation.md");
    expect(Object.keys(report.proven ?? {}).sort()).toEqual(Object.keys(DIFFERENTIAL_PROOFS).sort());
    expect(html).toContain('<a href="#proven">');
    expect(html).toContain('<section id="proven">');
    const section = html.slice(html.indexOf('<section id="proven">'), html.indexOf("</section>", html.indexOf('<section id="proven">')));
    for (const [k, proof] of Object.entries(DIFFERENTIAL_PROOFS)) {
      const semantics = (report.proven as Record<string, readonly string[]> | undefined)![k]!;
      expect(semantics.length, k).toBeGreaterThan(3);
      for (const s of semantics) {
        expect(section).toContain(escapeHtml(s));
        expect(md).toContain(`- ${s.replace(/\|/g, "\\|")}`);
      }
      for (const text of [proof.test, proof.cases]) {
        expect(section).toContain(escapeHtml(text));
        expect(md).toContain(text);
      }
    }
  });
});

describe("a report without proven semantics", () => {
  it("GIVEN a report.json that records none WHEN rendered THEN the page says so and the Markdown has no such section (nothing is claimed)", async () => {
    const planned = await planOnce();
    const report = { ...planned.json<Report>("report/report.json"), proven: undefined };
    const html = htmlFormatter.render(report);
    expect(html).toContain("records no differentially proven semantics");
    expect(markdownFormatter.render(report)).not.toContain("## Proven against the real programs");
  });
});

describe("what the report claims of each differential test", () => {
  const text = (p: string) => readFileSync(join(ROOT, p), "utf8");
  it("GIVEN each proof's test file WHEN read THEN it exists and its defaults are the case counts the report states", () => {
    const nft = text(DIFFERENTIAL_PROOFS.nftables.test);
    const nftDefault = /PALISADE_NFT_FUZZ_CASES \?\? (\d+)/.exec(nft)?.[1];
    expect(nftDefault).toBeDefined();
    expect(DIFFERENTIAL_PROOFS.nftables.cases).toMatch(new RegExp(`^${nftDefault} generated`));
    const hap = text(DIFFERENTIAL_PROOFS.haproxy.test);
    const perConfig = /HAPROXY_DIFF_N \?\? (\d+)/.exec(hap)?.[1];
    const generated = /HAPROXY_DIFF_CONFIGS \?\? (\d+)/.exec(hap)?.[1];
    expect(perConfig && generated).toBeTruthy();
    expect(DIFFERENTIAL_PROOFS.haproxy.cases).toMatch(new RegExp(`^${perConfig} generated requests per configuration.* and ${generated} generated ones`));
  });

  it("GIVEN the configuration readers' proofs WHEN their case counts are compared with the mutation modules their tests run THEN they are those modules' own", async () => {
    const [dns, dovecot, ips, zones, rspamd] = await Promise.all([import("./dns-mutations.js"), import("./dovecot-mutations.js"), import("./ips-mutations.js"), import("./zone-mutations.js"), import("./rspamd-mutations.js")]);
    expect(DIFFERENTIAL_PROOFS.rspamd.cases).toMatch(new RegExp(`^the plan, ${rspamd.NEUTRAL.length} rewrites that change nothing and ${rspamd.MUTATIONS.length} weakenings`));
    const live = text(DIFFERENTIAL_PROOFS.zones.test);
    // One syntax case per line of the SYNTAX list (the test file is read, not imported: importing it would run it).
    const syntax = /const SYNTAX[^=]*= \[\n([\s\S]*?)\n\];/.exec(live)![1]!.split("\n").filter((l) => /^ {2}"/.test(l)).length;
    const seeds = /seed <= (\d+)/.exec(live)?.[1];
    const perSeed = /generated\(zone, seed, (\d+)\)/.exec(live)?.[1];
    expect(DIFFERENTIAL_PROOFS.zones.cases).toMatch(new RegExp(`^the plan, ${zones.NEUTRAL.length} rewrites that change nothing and ${zones.MUTATIONS.length} weakenings of the primary zone, ${syntax} syntax cases and ${seeds} sets of ${perSeed} generated records`));
    expect(DIFFERENTIAL_PROOFS.knot.cases).toMatch(new RegExp(`^the plan, ${dns.NEUTRAL.length} rewrites that change nothing and ${dns.MUTATIONS.length} weakenings`));
    expect(DIFFERENTIAL_PROOFS.dovecot.cases).toMatch(new RegExp(`^the plan, ${dovecot.NEUTRAL.length} rewrites that change nothing and ${dovecot.MUTATIONS.length} weakenings`));
    expect(DIFFERENTIAL_PROOFS.fail2ban.cases).toMatch(new RegExp(`^the plan, ${ips.NEUTRAL.length} rewrites that change nothing and ${ips.MUTATIONS.length} weakenings`));
    for (const k of ["knot", "zones", "dovecot", "rspamd", "fail2ban"] as const) expect(text(DIFFERENTIAL_PROOFS[k].test)).toMatch(/MUTATIONS, NEUTRAL/);
  });

  it("GIVEN a case count that is not the test's WHEN compared as above THEN the check would fail (the pattern is not vacuous)", () => {
    expect("2999 generated (ruleset, packet) pairs").not.toMatch(new RegExp(`^${/PALISADE_NFT_FUZZ_CASES \?\? (\d+)/.exec(text(DIFFERENTIAL_PROOFS.nftables.test))![1]} generated`));
  });
});
