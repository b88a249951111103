import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** `palisade plan` on the reference site, both engines, cold process each run: wall time and peak RSS. */
export function benchPlan(runs = 5): BenchFigure[] {
  const walls: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), "palisade-bench-"));
    const start = process.hrtime.bigint();
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/bench/plan-child.ts", "plan", "--out", out],
      { encoding: "utf8" },
    );
    walls.push(Number(process.hrtime.bigint() - start) / 1e9);
    const m = /MAXRSS_KB (\d+)/.exec(r.stderr);
    if (m) rss.push(Number(m[1]) / 1024);
    rmSync(out, { recursive: true, force: true });
    if (r.status !== 0 && r.status !== 1) throw new Error(`plan failed in the bench: ${r.stderr}`);
  }
  return [
    { name: "plan wall time, median of " + runs + " cold runs", value: median(walls), unit: "s", target: "<= 3 s" },
    { name: "plan peak RSS (max)", value: Math.max(...rss), unit: "MB", target: "<= 400 MB" },
  ];
}
