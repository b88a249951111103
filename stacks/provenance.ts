import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import type { Provenance } from "../policies/verifier/index.js";
import { sha256 } from "./output.js";

/*
 * The report's provenance, gathered at the edge of the program (it reads git and the
 * environment): the manifest's hashes and versions, the commit of the git repository that holds
 * the output directory, and a run date only when one is given. No clock is read here: two runs of
 * the same inputs in the same commit write the same bytes.
 */

/** A run date `YYYY-MM-DD`: --date, else SOURCE_DATE_EPOCH (seconds, UTC), else none. Throws on a malformed value. */
export function runDate(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(flag) || Number.isNaN(Date.parse(`${flag}T00:00:00Z`))) throw new Error(`--date ${JSON.stringify(flag)} is not a date; expected YYYY-MM-DD, e.g. --date 2026-12-01`);
    return flag;
  }
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === "") return undefined;
  if (!/^\d+$/.test(epoch)) throw new Error(`SOURCE_DATE_EPOCH=${JSON.stringify(epoch)} is not a number of seconds since 1970-01-01 UTC`);
  return new Date(Number(epoch) * 1000).toISOString().slice(0, 10);
}

function git(cwd: string, args: string[]): string | undefined {
  const r = spawnSync("git", ["-C", cwd, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The commit of the repository holding `outDir` (which may not exist yet), or undefined outside one. */
export function gitOf(outDir: string): Provenance["git"] {
  let dir = resolve(outDir);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const top = git(dir, ["rev-parse", "--show-toplevel"]);
  const commit = top ? git(dir, ["rev-parse", "HEAD"]) : undefined;
  if (!top || !commit) return undefined;
  const status = git(top, ["status", "--porcelain", "--untracked-files=no"]);
  return { commit, dirty: status !== undefined && status !== "", outDir: relative(top, resolve(outDir)).split("\\").join("/") || "." };
}

interface ManifestShape {
  palisade?: string;
  inputs?: { site?: string };
  versions?: Record<string, string>;
}

/** Provenance from `manifest.json`'s text, the output directory's repository and the run date. */
export function provenanceOf(manifestText: string | undefined, outDir: string, date: string | undefined, palisadeVersion: string): Provenance {
  let manifest: ManifestShape = {};
  try {
    manifest = manifestText ? (JSON.parse(manifestText) as ManifestShape) : {};
  } catch {
    manifest = {};
  }
  const g = gitOf(outDir);
  return {
    ...(manifest.inputs?.site ? { siteSha256: manifest.inputs.site } : {}),
    ...(manifestText !== undefined ? { manifestSha256: sha256(manifestText) } : {}),
    palisade: manifest.palisade ?? palisadeVersion,
    engines: manifest.versions ?? {},
    ...(g ? { git: g } : {}),
    ...(date ? { date } : {}),
  };
}
