import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOVECOT_CONF, parseDovecotConf, possibleValues } from "../../policies/verifier/dovecot.js";
import { copyOut, describeMutationSuite, editText, problemLines, verifyDirInProcess } from "./support.js";
import { generatedSiteFile, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL } from "./dovecot-mutations.js";

/*
 * The edge's IMAP server as Dovecot reads dovecot.conf. Each edit lets a password cross the
 * network in clear or a login through without the password file, globally or in a filter for
 * some connections; verify must exit 1 with a mail-weakened finding on the edited line. Rewrites
 * that change nothing Dovecot does must pass.
 */

describeMutationSuite({
  title: "the IMAP server of %s as Dovecot reads it",
  kind: "mail-weakened",
  sites: [...siteFiles(), generatedSiteFile(7)],
  artifact: () => DOVECOT_CONF,
  mutations: MUTATIONS.map((m) => ({ ...m, apply: (dir: string) => editText(dir, DOVECOT_CONF, m.edit) })),
  neutral: NEUTRAL.map((m) => ({ ...m, apply: (dir: string) => editText(dir, DOVECOT_CONF, m.edit) })),
  more: (planned) => {
    it("GIVEN dovecot.conf removed WHEN verified THEN a mail-weakened finding says Dovecot would run on the host's own configuration", () => {
      const dir = copyOut(planned().dir);
      rmSync(join(dir, DOVECOT_CONF));
      expect(problemLines(verifyDirInProcess(dir)).some((l) => /^mail-weakened .*has no hosts\/edge\/mail\/dovecot\/dovecot\.conf: Dovecot would run on the host's own configuration/.test(l))).toBe(true);
    });
  },
});

describe("dovecot.conf's filters, rule by rule", () => {
  const conf = parseDovecotConf("ssl = required\nremote 10.0.0.0/8 {\n  ssl = yes\n  protocol imap {\n    ssl = no\n  }\n}\nprotocol !lmtp {\n  ssl_min_protocol = TLSv1.3\n}\n");
  it("GIVEN nested and negated filters WHEN a connection is described THEN the values that may apply are the top level's and each matching filter's", () => {
    expect(conf.problems).toEqual([]);
    expect(possibleValues(conf, "ssl", {})).toEqual(["required"]);
    expect(possibleValues(conf, "ssl", { remote: "10.1.2.3" })).toEqual(["required", "yes"]);
    expect(possibleValues(conf, "ssl", { remote: "10.1.2.3", protocol: "imap" })).toEqual(["required", "yes", "no"]);
    expect(possibleValues(conf, "ssl", { remote: "192.0.2.1", protocol: "imap" })).toEqual(["required"]);
    expect(possibleValues(conf, "ssl_min_protocol", { protocol: "imap" })).toEqual(["TLSv1.2", "TLSv1.3"]);
    expect(possibleValues(conf, "ssl_min_protocol", { protocol: "lmtp" })).toEqual(["TLSv1.2"]);
  });

  it("GIVEN what Dovecot refuses (a remote filter inside a protocol one, a protocol list, an unclosed section, a non-boolean) WHEN read THEN each is a problem on its line", () => {
    const cases: [string, number][] = [
      ["protocol imap {\n  remote 1.2.3.4 {\n  }\n}\n", 2],
      ["protocol imap pop3 {\n}\n", 1],
      ["service imap {\n", 2],
      ["disable_plaintext_auth = maybe\n", 1],
    ];
    for (const [text, line] of cases) expect(parseDovecotConf(text).problems.map((p) => p.line), text).toContain(line);
  });
});
