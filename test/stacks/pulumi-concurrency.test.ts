import { expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { buildPlatform } from "../../stacks/platform.js";
import { renderPulumi } from "../../stacks/engines.js";
import { siteFiles } from "../policies/planned-sites.js";

/*
 * The library's callers may plan several platforms at once in one process (the API, a test
 * runner). The Pulumi SDK keeps one runtime per thread, so in-thread captures take turns
 * (stacks/pulumi-jobs.ts); without that, interleaved captures registered resources into each
 * other's stacks.
 */
it("GIVEN every example's platform WHEN their Pulumi captures run at once in one thread THEN each capture is byte-identical to the one made alone", async () => {
  const topologies = siteFiles().map((s) => buildPlatform(loadSite(s.file)).topology);
  const alone = [];
  for (const t of topologies) alone.push(await renderPulumi(t));
  const together = await Promise.all(topologies.map((t) => renderPulumi(t)));
  expect(together).toEqual(alone);
}, 240_000);
