import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSite } from "../../core/index.js";
import { MAIN_CF, MASTER_CF, checkMailRelay } from "../../policies/verifier/postfix.js";
import { copyOut, editText, problemLines, verifyCli, verifyDirInProcess } from "./support.js";
import { planSite, siteFiles } from "./planned-sites.js";
import { RELAY_MUTATIONS } from "./relay-mutations.js";

/*
 * Class 12 of issue 12: Postfix is never an open relay. Each mutation edits the rendered main.cf
 * or master.cf the way an attacker (or a hurried operator) would; verify must exit 1 with an
 * open-relay finding naming the file and the line that decides it. The same mutations run
 * against the real Postfix in test/edge/postfix-relay-live.test.ts.
 */


/** The last line starting so (main.cf: the last definition is the one Postfix uses). */
function lineNumberOf(text: string, start: string | RegExp): number {
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) if (typeof start === "string" ? lines[i]!.startsWith(start) : start.test(lines[i]!)) return i + 1;
  return 0;
}

describe.each(siteFiles())("the Postfix of %s is never an open relay", ({ file }) => {
  let planned: string;

  it("GIVEN the plan WHEN verified THEN no smtpd service relays for an outside client", async () => {
    planned = await planSite(file);
    expect(problemLines(verifyDirInProcess(planned)).filter((l) => l.startsWith("open-relay"))).toEqual([]);
  });

  it.each(RELAY_MUTATIONS)("GIVEN '%s' WHEN palisade verify runs THEN it exits 1 with an open-relay finding naming the file and the line", async (_n, path, edit, lineStart) => {
    const dir = copyOut(planned);
    editText(dir, path, edit);
    const r = await verifyCli(dir);
    expect(r.code, r.stdout).toBe(1);
    const findings = r.report.findings.filter((f) => f.kind === "open-relay");
    const text = readFileSync(join(dir, path), "utf8");
    expect(findings.map((f) => `${f.artifact}:${f.line}`), findings.map((f) => f.message).join("\n")).toContain(`${path}:${lineNumberOf(text, lineStart)}`);
  });

  it("GIVEN main.cf and master.cf both removed WHEN palisade verify runs THEN it exits 1: Postfix would relay by the host's own, unverified configuration", async () => {
    const dir = copyOut(planned);
    rmSync(join(dir, MAIN_CF));
    rmSync(join(dir, MASTER_CF));
    const r = await verifyCli(dir);
    expect(r.code, r.stdout).toBe(1);
    expect(r.report.findings.filter((f) => f.kind === "open-relay").map((f) => `${f.artifact}: ${f.message}`)).toEqual([`${MAIN_CF}: the edge has neither ${MAIN_CF} nor ${MASTER_CF}: Postfix would relay by the host's own configuration, which was not verified (its mynetworks and relay restrictions unknown)`]);
  });
});

describe("the relay decision, unit by unit", () => {
  const site = parseSite(readFileSync(siteFiles()[0]!.file, "utf8"));
  const ctx = { trusted: [site.tunnel.subnet, site.tunnel.subnet6], ownDomain: site.site.domain };
  const master = "smtp inet n - n - - smtpd\n";
  const relay = (main: string) => checkMailRelay(new Map([[MAIN_CF, main], [MASTER_CF, master]]), ctx);

  it("GIVEN only loopback in mynetworks and reject_unauth_destination WHEN judged THEN the service is closed", () => {
    expect(relay("compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n")).toEqual([]);
  });

  it("GIVEN no relay restrictions at all WHEN judged THEN Postfix's default (defer_unauth_destination) closes it", () => {
    expect(relay("compatibility_level = 3.6\nmynetworks = 127.0.0.0/8\n")).toEqual([]);
  });

  it("GIVEN a `#` after a value WHEN judged THEN it is part of the value, as Postfix reads it (not a comment)", () => {
    expect(relay("compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 # 0.0.0.0/0\n").map((f) => f.message).join()).toMatch(/not an address/);
  });

  it("GIVEN warn_if_reject before the only rejection WHEN judged THEN the rejection only logs and the relay is open", () => {
    expect(relay("compatibility_level = 3.6\nmynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = warn_if_reject reject_unauth_destination\n")).toHaveLength(1);
  });

  it("GIVEN mynetworks expanded from another parameter WHEN judged THEN the expansion is read", () => {
    expect(relay("compatibility_level = 3.6\nwide = 0.0.0.0/0\nmynetworks = 127.0.0.0/8 $wide\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n")).toHaveLength(1);
  });

  it("GIVEN a missing master.cf WHEN judged THEN that is a finding, not a pass", () => {
    expect(checkMailRelay(new Map([[MAIN_CF, "mynetworks = 127.0.0.0/8\n"]]), ctx)).toHaveLength(1);
  });

  it("GIVEN neither main.cf nor master.cf WHEN judged THEN that is a finding, not a pass", () => {
    expect(checkMailRelay(new Map(), ctx).map((f) => f.kind)).toEqual(["open-relay"]);
  });
});
