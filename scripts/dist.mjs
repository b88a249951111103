// The compiled CLI and library in dist/ (`npm run build`, which `npm ci` runs as `prepare`), and
// whether it is older than the TypeScript it was compiled from. Plain JavaScript: it runs before
// anything is compiled.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** Written after a successful build, dated when the build started. */
const STAMP = join(ROOT, "dist", "build-stamp");
const SOURCE_DIRS = ["core", "edge", "tunnel", "cluster", "policies", "stacks", "scripts"];
const CONFIG_FILES = ["tsconfig.json", "tsconfig.build.json"];

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * True when dist/ holds a build at least as new as every source file. An installed package ships
 * dist/ without its sources: nothing to compare, so its build is current.
 */
export function distIsCurrent() {
  if (!existsSync(STAMP)) return false;
  const built = statSync(STAMP).mtimeMs;
  const dirs = SOURCE_DIRS.map((d) => join(ROOT, d)).filter((d) => existsSync(d));
  const configs = CONFIG_FILES.map((f) => join(ROOT, f)).filter((f) => existsSync(f));
  return dirs.every((d) => newestSource(d) <= built) && configs.every((f) => statSync(f).mtimeMs <= built);
}

/** Compiles with tsc (incremental), then stamps dist/ with the time the build started. */
export function build() {
  const started = new Date();
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
  if (r.status !== 0) return r.status ?? 1;
  writeFileSync(STAMP, "");
  utimesSync(STAMP, started, started);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command] = process.argv.slice(2);
  if (command === "build") process.exitCode = build();
  else if (command === "check") process.exitCode = distIsCurrent() ? 0 : 1;
  else {
    console.error("usage: node scripts/dist.mjs build|check");
    process.exitCode = 2;
  }
}
