import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Project root: the CLI resolves its defaults (palisade.yaml, out/) against the working directory. */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** The reference site, palisade.yaml. */
export const REFERENCE_SITE = join(ROOT, "palisade.yaml");

/** A fresh temporary directory, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `palisade-${prefix}-`));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
