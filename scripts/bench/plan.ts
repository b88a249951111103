import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const MAXRSS_PRELOAD = fileURLToPath(new URL("./maxrss.mjs", import.meta.url));

export interface Run {
  readonly wall: number;
  readonly rssMb: number;
}

/** One cold process: its wall time and (through the preload) its peak RSS. */
function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Run {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { encoding: "utf8", env: { ...env, NODE_OPTIONS: `--import ${MAXRSS_PRELOAD}` } });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  // Every node process reports (npx and tsx start children); the largest is the one doing the work.
  const kb = [...r.stderr.matchAll(/MAXRSS_KB (\d+)/g)].map((m) => Number(m[1]));
  return { wall, rssMb: Math.max(0, ...kb) / 1024 };
}

/** The yardstick's command: the `app` of cdktf.json, what `cdktf synth` runs. */
export function yardstickApp(): string {
  return (JSON.parse(readFileSync("cdktf.json", "utf8")) as { app: string }).app;
}

/** One cold run of the yardstick (cdktf's own synth of the reference app), writing under `dir`. */
export function yardstickSynth(dir: string): Run {
  return timed("sh", ["-c", yardstickApp()], { ...process.env, CDKTF_OUTDIR: join(dir, "cdktf.out") });
}

/**
 * `palisade plan` on the reference site (both engines, verify, report), as `npm run plan` runs it
 * (`scripts/palisade.mjs`, the compiled CLI), against the yardstick: cdktf's own synth of the same
 * app, the `app` command of cdktf.json (what `cdktf synth` runs). The two alternate, run by run, so
 * both see the same machine; medians of cold processes.
 */
export function benchPlan(runs = 7): BenchFigure[] {
  const dist = spawnSync(process.execPath, ["scripts/dist.mjs", "check"]);
  if (dist.status !== 0) {
    const b = spawnSync(process.execPath, ["scripts/dist.mjs", "build"], { stdio: "inherit" });
    if (b.status !== 0) throw new Error("npm run build failed");
  }
  const app = yardstickApp();
  const plans: Run[] = [];
  const synths: Run[] = [];
  const helps: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), "palisade-bench-"));
    try {
      plans.push(timed(process.execPath, ["scripts/palisade.mjs", "plan", "--out", join(out, "plan")]));
      synths.push(yardstickSynth(out));
      helps.push(timed(process.execPath, ["scripts/palisade.mjs", "--help"]));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  const plan = median(plans.map((r) => r.wall));
  const synth = median(synths.map((r) => r.wall));
  return [
    { name: `plan wall time (both engines, verify, report), median of ${runs}`, value: plan, unit: "s" },
    { name: `cdktf synth of the same app (${app}), median of ${runs}`, value: synth, unit: "s" },
    { name: "plan / cdktf synth, side by side", value: plan / synth, unit: "x", target: "<= 1" },
    { name: "plan peak RSS (max)", value: Math.max(...plans.map((r) => r.rssMb)), unit: "MB", target: "<= 400 MB" },
    { name: `palisade --help wall time, median of ${runs}`, value: median(helps.map((r) => r.wall)), unit: "s", target: "well under 1 s" },
  ];
}
