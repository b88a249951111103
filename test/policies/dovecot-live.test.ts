import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOVECOT_CONF, DOVECOT_JUDGED, parseDovecotConf, possibleValues, type DovecotContext } from "../../policies/verifier/dovecot.js";
import { requireTool } from "../helpers/tools.js";
import { tempDir } from "../helpers/paths.js";
import { copyOut, editText } from "./support.js";
import { planSite, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL } from "./dovecot-mutations.js";

/*
 * The dovecot.conf reader against Dovecot's own: `doveconf -c FILE -f protocol=P -f remote=IP
 * -f local=IP SETTING...` (Dovecot 2.3, no server, no root) prints the value each setting has for
 * such a connection, filters applied as the server applies them. For the plan, each rewrite that
 * changes nothing and each weakening, on every example, the value doveconf gives for every
 * judged setting and every connection tried must be one the verifier found for that connection
 * (it judges all of them); where doveconf refuses the file, the verifier must refuse it too.
 */

const doveconf = requireTool("doveconf", "dovecot-core");

const CONTEXTS: readonly DovecotContext[] = [
  {},
  { protocol: "imap" },
  { protocol: "lmtp" },
  { protocol: "pop3" },
  { remote: "198.51.100.7" },
  { remote: "10.1.2.3" },
  { protocol: "imap", remote: "10.1.2.3" },
  { protocol: "imap", remote: "203.0.113.99" },
  { local: "203.0.113.10" },
];
const SETTINGS = Object.keys(DOVECOT_JUDGED) as (keyof typeof DOVECOT_JUDGED)[];

function byDoveconf(file: string, c: DovecotContext): Map<string, string> | { error: string } {
  const filters = [...(c.protocol ? ["-f", `protocol=${c.protocol}`] : []), ...(c.remote ? ["-f", `remote=${c.remote}`] : []), ...(c.local ? ["-f", `local=${c.local}`] : [])];
  try {
    const out = execFileSync(doveconf.path!, ["-c", file, ...filters, ...SETTINGS], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    return new Map(out.split("\n").flatMap((l) => {
      const m = /^([a-z_]+) = ?(.*)$/.exec(l);
      return m ? [[m[1]!, m[2]!] as [string, string]] : [];
    }));
  } catch (e) {
    return { error: String((e as { stderr?: string }).stderr ?? e) };
  }
}

describe.skipIf(!doveconf.path)(`the dovecot.conf reader agrees with doveconf${doveconf.path ? "" : ` (skipped: ${doveconf.skipReason})`}`, () => {
  let compared = 0;
  let refusedByBoth = 0;

  it.each(siteFiles())("GIVEN %s's plan, its neutral rewrites and its weakenings WHEN doveconf reads each for every connection THEN its value is one the verifier found, and a file doveconf refuses is refused", async ({ file }) => {
    const planned = await planSite(file);
    const variants: { name: string; text: string }[] = [{ name: "the plan", text: readFileSync(join(planned, DOVECOT_CONF), "utf8") }];
    for (const m of [...NEUTRAL, ...MUTATIONS]) {
      const dir = copyOut(planned);
      editText(dir, DOVECOT_CONF, m.edit);
      variants.push({ name: m.name, text: readFileSync(join(dir, DOVECOT_CONF), "utf8") });
    }
    const scratch = tempDir("doveconf");
    for (const [i, v] of variants.entries()) {
      const path = join(scratch, `${i}.conf`);
      writeFileSync(path, v.text);
      const ours = parseDovecotConf(v.text);
      for (const c of CONTEXTS) {
        const theirs = byDoveconf(path, c);
        if ("error" in theirs) {
          expect(ours.problems.length, `${v.name}: doveconf refuses (${theirs.error}) but the verifier reads it`).toBeGreaterThan(0);
          refusedByBoth++;
          break;
        }
        // A refusal of what the verifier does not model is allowed (it fails closed); a reading must hold doveconf's value.
        if (ours.problems.length) break;
        for (const s of SETTINGS) {
          const norm = (x: string) => (s === "disable_plaintext_auth" ? x.toLowerCase() : x);
          expect(possibleValues(ours, s, c).map(norm), `${v.name}: ${s} for ${JSON.stringify(c)}`).toContain(norm(theirs.get(s) ?? ""));
          compared++;
        }
      }
    }
  });

  it("GIVEN every example WHEN compared THEN most variants were compared setting by setting and connection by connection, and doveconf's refusals were seen", () => {
    // 5 settings, 9 connections, the plan, 4 neutral rewrites and about 19 weakenings read (not refused) per example.
    expect(compared).toBeGreaterThanOrEqual(6 * 20 * 9 * 5);
    // Dovecot 2.4's auth_allow_cleartext is an unknown setting to 2.3: refused by both, on every example.
    expect(refusedByBoth).toBeGreaterThanOrEqual(6);
  });
});
