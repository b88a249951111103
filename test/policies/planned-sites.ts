import { existsSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { REFERENCE_SITE, ROOT, tempDir } from "../helpers/paths.js";

/**
 * Every site the mutation tests run over: the reference and each example (examples/*.yaml), each
 * once (examples/reference.yaml is a link to the reference: planning it twice proves nothing more).
 */
export function siteFiles(): { name: string; file: string }[] {
  const dir = join(ROOT, "examples");
  const examples = existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => ({ name: `examples/${f}`, file: join(dir, f) }))
    : [];
  const reference = realpathSync(REFERENCE_SITE);
  return [{ name: "palisade.yaml", file: REFERENCE_SITE }, ...examples.filter((e) => realpathSync(e.file) !== reference)];
}

/** Plans one site into a fresh directory; throws unless the plan wrote its artifacts. */
export async function planSite(file: string): Promise<string> {
  const out = join(tempDir("sites"), "out");
  const r = await runCli(["plan", "--site", file, "--out", out]);
  if (![0, 1].includes(r.code) || !existsSync(join(out, "manifest.json"))) throw new Error(`plan --site ${file} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return out;
}
