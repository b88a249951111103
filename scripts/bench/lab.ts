import { labDown, labUp } from "../../stacks/lab/up.js";
import { runDrill } from "../../stacks/lab/drills.js";
import { labProbe } from "../../stacks/lab/probe.js";
import type { BenchFigure } from "./plan.js";

/**
 * The lab's targets (needs root and the daemons): `lab up` (in-process, after the CLI's start-up;
 * the cloud on dockerd with images from the cache after a first run), the full probe, `lab down`,
 * fiber cut -> HTTPS through the tunnel again, failback, brute force -> source in the nft ban set.
 * Runs on the planned `out/`; the lab is taken down afterwards.
 */
export async function benchLab(outDir = "out"): Promise<BenchFigure[]> {
  await labDown();
  let downS = Number.NaN;
  try {
    // A first up fills the image cache; the figure is the second, with cached images.
    await labUp({ outDir, siteFile: "palisade.yaml" });
    await labDown();
    const up = await labUp({ outDir, siteFile: "palisade.yaml" });
    const probe = await labProbe(up.record);
    const cut = await runDrill(up.record, "fiber-cut");
    const brute = await runDrill(up.record, "brute-force");
    const t0 = Date.now();
    await labDown();
    downS = (Date.now() - t0) / 1000;
    const num = (v: unknown) => (typeof v === "number" ? v : Number.NaN);
    return [
      { name: "lab up (reference site, cached images)", value: up.seconds, unit: "s", target: "<= 10 s" },
      { name: "lab probe (the whole matrix, from inside)", value: probe.seconds, unit: "s", target: "<= 20 s" },
      { name: "lab down", value: downS, unit: "s", target: "<= 3 s" },
      { name: "fiber cut -> HTTPS through the tunnel again", value: num(cut.figures.recovery_s), unit: "s", target: "<= 5 s" },
      { name: "fiber restored -> failback (hold-down included)", value: num(cut.figures.failback_s), unit: "s" },
      { name: "brute force -> source in the nft ban set", value: num(brute.figures.ban_s), unit: "s", target: "<= 1 s" },
    ];
  } finally {
    if (Number.isNaN(downS)) await labDown();
  }
}
