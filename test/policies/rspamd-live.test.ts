import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSite } from "../../core/index.js";
import { checkRspamd, RSPAMD_DIR, rspamdEffective, type RspamdEffective } from "../../policies/verifier/rspamd.js";
import { requireTool } from "../helpers/tools.js";
import { tempDir } from "../helpers/paths.js";
import { copyOut } from "./support.js";
import { generatedSiteFile, planSite, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL } from "./rspamd-mutations.js";

/*
 * The rspamd reader against rspamd's own (3.4): `rspamadm --var=LOCAL_CONFDIR=DIR configdump -j`
 * loads the packaged configuration with DIR's local.d and override.d merged in, as rspamd would,
 * and prints what it loaded (no daemon; its attempt to resolve the public fuzzy servers fails at
 * once, offline). For the plan, each rewrite that changes nothing and each weakening the verifier
 * reads, the judged values (DKIM signing, the thresholds, the milter) must be rspamd's; where
 * rspamadm refuses the files, the verifier must report them.
 */

const rspamadm = requireTool("rspamadm", "rspamd");

const files = (dir: string): Map<string, string> => {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(join(dir, RSPAMD_DIR));
  return out;
};

type Dump = Record<string, unknown> & { dkim_signing: Record<string, unknown>; actions: Record<string, unknown>; worker: Record<string, Record<string, unknown>>[] };

function dumpOf(dir: string, scratch: string): Dump | undefined {
  const conf = join(scratch, "confdir");
  mkdirSync(conf, { recursive: true });
  cpSync(join(dir, RSPAMD_DIR), conf, { recursive: true });
  try {
    return JSON.parse(execFileSync(rspamadm.path!, [`--var=LOCAL_CONFDIR=${conf}`, "configdump", "-j"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000, maxBuffer: 64 << 20 })) as Dump;
  } catch {
    return undefined;
  }
}

/** The judged values as rspamd loaded them, in the shape of rspamdEffective (sign_networks without rspamd's own defaults). */
function judgedOf(dump: Dump, defaultNetworks: ReadonlySet<string>): RspamdEffective {
  const d = dump.dkim_signing;
  const proxy = dump.worker.map((w) => w.rspamd_proxy).find((w) => w) as Record<string, unknown>;
  const local = ((proxy.upstream as Record<string, unknown> | undefined)?.local ?? {}) as Record<string, unknown>;
  const arr = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
  const domains = (d.domain ?? {}) as Record<string, Record<string, unknown>>;
  return {
    dkim: { enabled: d.enabled as boolean, sign_inbound: d.sign_inbound as boolean, use_domain: d.use_domain as string, allow_hdrfrom_mismatch: d.allow_hdrfrom_mismatch as boolean, sign_networks: arr(d.sign_networks).filter((n) => !defaultNetworks.has(n)), domains: Object.fromEntries(Object.entries(domains).map(([k, v]) => [k, { selector: v.selector as string | undefined, path: v.path as string | undefined }])) },
    actions: Object.fromEntries(["reject", "add_header", "greylist"].map((k) => [k, typeof dump.actions[k] === "number" ? (dump.actions[k] as number) : undefined])),
    proxy: { milter: proxy.milter as boolean, bind_socket: arr(proxy.bind_socket), self_scan: local.self_scan === true },
  };
}

describe.skipIf(!rspamadm.path)(`the rspamd reader agrees with rspamadm configdump${rspamadm.path ? "" : ` (skipped: ${rspamadm.skipReason})`}`, () => {
  let compared = 0;
  let refusedByBoth = 0;

  it.each([siteFiles()[0]!, generatedSiteFile(7)])("GIVEN %s's rspamd files, their neutral rewrites and their weakenings WHEN rspamadm loads each THEN the verifier reads the judged values rspamd loaded, and reports what rspamd refuses", async ({ file }) => {
    const planned = await planSite(file);
    const site = parseSite(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    const scratch = tempDir("rspamadm");
    const plan = dumpOf(planned, join(scratch, "plan"));
    expect(plan, "rspamadm loads the plan").toBeDefined();
    const defaults = new Set((Array.isArray(plan!.dkim_signing.sign_networks) ? plan!.dkim_signing.sign_networks : []).map(String));
    const variants: { name: string; dir: string }[] = [{ name: "the plan", dir: planned }];
    for (const m of [...NEUTRAL, ...MUTATIONS]) {
      const dir = copyOut(planned);
      m.apply(dir, site);
      variants.push({ name: m.name, dir });
    }
    for (const [i, v] of variants.entries()) {
      const dump = dumpOf(v.dir, join(scratch, String(i)));
      const ours = files(v.dir);
      const findings = checkRspamd(ours, site);
      if (!dump) {
        expect(findings.length, `${v.name}: rspamadm refuses the files, the verifier reports nothing`).toBeGreaterThan(0);
        refusedByBoth++;
        continue;
      }
      // A refusal of what the verifier does not model is allowed (it fails closed); a reading must be rspamd's.
      if (findings.some((f) => /not understood|not modelled|too \(docker-mailserver/.test(f.message))) continue;
      expect(rspamdEffective(ours), v.name).toEqual(judgedOf(dump, defaults));
      compared++;
    }
    expect(existsSync(scratch)).toBe(true);
  });

  it("GIVEN both sites WHEN compared THEN the readings were compared on most variants and rspamadm's refusals were seen", () => {
    // Per site: the plan, 5 neutral rewrites and about 13 weakenings read; 2 refused by rspamadm and reported by the verifier.
    expect(compared).toBeGreaterThanOrEqual(2 * 18);
    expect(refusedByBoth).toBeGreaterThanOrEqual(2 * 2);
  });
});
