import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

/*
 * One directory per `vitest run` where each site is planned once and shared by every test file
 * (see planOnce in plan-once.ts): a plan takes seconds, and most files read the same few sites.
 * Nothing is planned here; the first file that asks for a site plans it, the others copy it. Both
 * projects (pure, host) run this setup in the one vitest process: named by its pid and start time
 * (never a stale directory of an earlier, killed run), they share it.
 */
export default function setup(project: TestProject): () => void {
  const dir = join(tmpdir(), `palisade-plan-cache-${process.pid}-${Math.round(performance.timeOrigin)}`);
  mkdirSync(dir, { recursive: true });
  project.provide("palisadePlanCache", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    palisadePlanCache: string;
  }
}
