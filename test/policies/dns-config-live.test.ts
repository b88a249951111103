import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KNOT_TSIG_INCLUDE, parseSite, tsigKeyId, type Site } from "../../core/index.js";
import { KNOT_CONF, knotCanonical, parseKnotConf } from "../../policies/verifier/knot.js";
import { requireTool } from "../helpers/tools.js";
import { tempDir } from "../helpers/paths.js";
import { copyOut } from "./support.js";
import { generatedSiteFile, planSite, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL } from "./dns-mutations.js";

/*
 * The knot.conf reader against knot's own: `knotc -c FILE conf-export OUT` (Knot 3.2, no server,
 * no root) loads the file as knotd would (includes expanded, values normalized, sections merged,
 * the last of a repeated key kept) and writes what it loaded. For the plan, each rewrite that
 * changes nothing and each weakening, the verifier's reading must equal knot's export read back;
 * where knot refuses the file, the verifier must refuse it too. The TSIG include (the host's secret
 * file) is replaced by a scratch file defining the keys the configuration names, with throwaway
 * secrets that never leave the test's directory.
 */

const knotc = requireTool("knotc", "knot");

interface KnotRead {
  readonly ok: boolean;
  readonly exported?: string;
  readonly error?: string;
}

function readByKnot(conf: string, dir: string, site: Site): KnotRead {
  mkdirSync(dir, { recursive: true });
  const keys = join(dir, "tsig.conf");
  const ids = [...new Set([...site.edge.dns.secondaries.map((s) => tsigKeyId(s.id)), "tsig-attacker"])];
  // Throwaway 32-byte keys: knot checks the references, never the secret's strength.
  writeFileSync(keys, `key:\n${ids.map((id, i) => `  - id: ${id}\n    algorithm: hmac-sha256\n    secret: ${Buffer.alloc(32, i + 1).toString("base64")}\n`).join("")}`);
  const file = join(dir, "knot.conf");
  // Sites without a secondary include no key file; the mutations that name tsig-attacker need one.
  const text = conf.includes(KNOT_TSIG_INCLUDE) ? conf.replace(KNOT_TSIG_INCLUDE, keys) : `include: "${keys}"\n${conf}`;
  writeFileSync(file, text);
  const out = join(dir, "export.conf");
  try {
    execFileSync(knotc.path!, ["-c", file, "conf-export", out], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    return { ok: true, exported: readFileSync(out, "utf8") };
  } catch (e) {
    return { ok: false, error: String((e as { stderr?: Buffer }).stderr ?? e) };
  }
}

/** The verifier's reading (of knot's export: without the key section it adds from the include). */
function canonical(text: string, exported = false): { problems: string[]; value: Record<string, unknown> } {
  const conf = parseKnotConf(exported ? text.replace(/^key:\n(?:(?: {2}.*)?\n)*/m, "") : text);
  // An include of anything but the keys file is refused by the check (checkDns), like a problem.
  const refused = conf.includes.filter((i) => !i.path.endsWith("/tsig.conf")).map((i) => `${i.line}: include ${i.path}`);
  return { problems: [...conf.problems.map((p) => `${p.line}: ${p.message}`), ...refused], value: knotCanonical(conf) };
}

describe.skipIf(!knotc.path)(`the knot.conf reader agrees with knotc's own${knotc.path ? "" : ` (skipped: ${knotc.skipReason})`}`, () => {
  let compared = 0;
  let refusedByBoth = 0;

  it.each([...siteFiles(), generatedSiteFile(7)])("GIVEN %s's plan, its neutral rewrites and its weakenings WHEN knot loads each THEN the verifier reads what knot loaded, and refuses what knot refuses", async ({ file }) => {
    const planned = await planSite(file);
    const site = parseSite(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    const scratch = tempDir("knotc");
    const variants: { name: string; text: string }[] = [{ name: "the plan", text: readFileSync(join(planned, KNOT_CONF), "utf8") }];
    for (const m of [...NEUTRAL, ...MUTATIONS]) {
      const dir = copyOut(planned);
      m.apply(dir, site);
      variants.push({ name: m.name, text: readFileSync(join(dir, KNOT_CONF), "utf8") });
    }
    for (const [i, v] of variants.entries()) {
      const knot = readByKnot(v.text, join(scratch, String(i)), site);
      const ours = canonical(v.text);
      if (!knot.ok) {
        // knot refuses it: the verifier must not have read it as a working configuration.
        expect(ours.problems.length, `${v.name}: knot refuses (${knot.error}) but the verifier reads it`).toBeGreaterThan(0);
        refusedByBoth++;
        continue;
      }
      // A refusal of what the verifier does not model is allowed (it fails closed); a reading must be knot's.
      if (ours.problems.length) continue;
      const theirs = canonical(knot.exported!, true);
      expect(theirs.problems, `${v.name}: the verifier cannot read knot's export`).toEqual([]);
      expect(ours.value, v.name).toEqual(theirs.value);
      compared++;
    }
  });

  it("GIVEN every site WHEN compared THEN the readings were compared on most variants and knot's refusals were seen", () => {
    // 7 neutral rewrites and about 15 weakenings read (not refused) per site, and the tab refused by both.
    expect(compared).toBeGreaterThanOrEqual(7 * 20);
    expect(refusedByBoth).toBeGreaterThanOrEqual(7);
  });
});
