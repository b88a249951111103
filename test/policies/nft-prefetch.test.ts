import { expect, it } from "vitest";
import { prefetchNftChecks, verifyArtifacts, type Finding } from "../../policies/verifier/index.js";
import { readArtifacts } from "../../stacks/output.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";
import { planSite, siteFiles } from "./planned-sites.js";

/*
 * plan starts `nft -c` on the host rulesets while the engines render (prefetchNftChecks), and the
 * verifier reads those answers: they must be what the verifier finds running nft itself. Every
 * host ruleset of every example is broken with a rule nft refuses (a distinct one each run, so
 * neither run reuses the other's answer): both ways, one nft-rejected finding per host, on the
 * line nft names; the unbroken files, none.
 */

const nft = requireTool("nft", "nftables");
let run = 0;

/** The artifacts with every host ruleset given a rule nft refuses, on a line of its own after the first table's opening. */
function broken(dir: string): { path: string; content: string }[] {
  run++;
  return readArtifacts(dir).map((a) => (/^hosts\/[^/]+\/nftables\.conf$/.test(a.path) ? { ...a, content: a.content.replace(/^(table [^\n]*\{\n)/m, `$1\tchain prefetch_probe_${run} { tcp dport 5432 acept; }\n`) } : a));
}

const rejected = (fs: readonly Finding[]) => fs.filter((f) => f.kind === "nft-rejected").map((f) => ({ id: f.id, subject: f.subject, artifact: f.artifact, layer: f.layer, message: f.message.replace(/prefetch_probe_\d+/g, "N") }));

describeRoot("nft -c answers started early are the verifier's own", () => {
  for (const site of siteFiles()) {
    it.skipIf(!nft.path)(`${site.name}: a refused ruleset is found both ways, an accepted one neither`, { timeout: 120_000 }, async () => {
      const dir = await planSite(site.file);
      const hosts = readArtifacts(dir).filter((a) => /^hosts\/[^/]+\/nftables\.conf$/.test(a.path)).length;
      expect(hosts).toBeGreaterThan(0);
      const direct = rejected(verifyArtifacts(broken(dir)).findings);
      const early = broken(dir);
      await prefetchNftChecks(early);
      // Without nft on PATH the verifier could not run it: what it finds is the prefetched answer.
      const path = process.env.PATH;
      process.env.PATH = "";
      let prefetched: ReturnType<typeof rejected>;
      try {
        prefetched = rejected(verifyArtifacts(early).findings);
      } finally {
        process.env.PATH = path;
      }
      expect(direct).toHaveLength(hosts);
      expect(direct.every((f) => /:\d+$/.test(f.subject))).toBe(true);
      expect(prefetched).toEqual(direct);
      const clean = readArtifacts(dir);
      await prefetchNftChecks(clean);
      expect(rejected(verifyArtifacts(clean).findings)).toEqual([]);
    });
  }
});
