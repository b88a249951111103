import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

/*
 * One directory per `vitest run` where each site is planned once and shared by every test file
 * (see planOnce in plan-once.ts): a plan takes seconds, and most files read the same few sites.
 * Nothing is planned here; the first file that asks for a site plans it, the others copy it.
 */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "palisade-plan-cache-"));
  project.provide("palisadePlanCache", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    palisadePlanCache: string;
  }
}
