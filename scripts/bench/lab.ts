import { labDown, labUp } from "../../stacks/lab/up.js";
import { runDrill } from "../../stacks/lab/drills.js";
import type { BenchFigure } from "./plan.js";

/**
 * The lab's targets (needs root and the daemons): `lab up` (in-process, after the CLI's start-up),
 * fiber cut -> HTTPS through the tunnel again, failback, brute force -> source in the nft ban set.
 * Runs on the planned `out/`; the lab is taken down afterwards.
 */
export async function benchLab(outDir = "out"): Promise<BenchFigure[]> {
  await labDown();
  try {
    const up = await labUp({ outDir, siteFile: "palisade.yaml" });
    const cut = await runDrill(up.record, "fiber-cut");
    const brute = await runDrill(up.record, "brute-force");
    const num = (v: unknown) => (typeof v === "number" ? v : Number.NaN);
    return [
      { name: "lab up (reference site)", value: up.seconds, unit: "s", target: "<= 5 s" },
      { name: "fiber cut -> HTTPS through the tunnel again", value: num(cut.figures.recovery_s), unit: "s", target: "<= 5 s" },
      { name: "fiber restored -> failback (hold-down included)", value: num(cut.figures.failback_s), unit: "s" },
      { name: "brute force -> source in the nft ban set", value: num(brute.figures.ban_s), unit: "s", target: "<= 1 s" },
    ];
  } finally {
    await labDown();
  }
}
