import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { Artifact } from "../core/index.js";

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Writes `artifacts` as the new content of `outDir`, atomically: everything goes to a sibling
 * temporary directory first, then one rename swaps it in. A failure before the swap leaves the
 * previous `outDir` byte-for-byte as it was.
 */
export function writeOutAtomic(outDir: string, artifacts: readonly Artifact[]): void {
  const target = resolve(outDir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(target)}.staging-${process.pid}`);
  const old = join(parent, `.${basename(target)}.old-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const a of artifacts) {
      if (a.path.startsWith("/") || a.path.split("/").includes("..")) throw new Error(`artifact path escapes the output: ${a.path}`);
      const file = join(staging, a.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, a.content, { mode: a.mode ?? 0o644 });
    }
    if (existsSync(target)) renameSync(target, old);
    renameSync(staging, target);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(target) && existsSync(old)) renameSync(old, target);
    throw e;
  }
}

/** Reads every file under `dir` as artifacts (relative, sorted). */
export function readArtifacts(dir: string): Artifact[] {
  const out: Artifact[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: relative(dir, p).split("\\").join("/"), content: readFileSync(p, "utf8") });
    }
  };
  walk(dir);
  return out;
}
