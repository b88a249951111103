import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { REFERENCE_SITE, ROOT } from "./paths.js";

export interface ExampleSite {
  readonly name: string;
  readonly file: string;
}

/** Every example platform: the files of examples/, and the reference palisade.yaml unless examples/ holds it. */
export function exampleSites(): ExampleSite[] {
  const dir = join(ROOT, "examples");
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort() : [];
  const examples = files.map((f) => ({ name: f.replace(/\.yaml$/, ""), file: join(dir, f) }));
  return examples.some((e) => e.name === "reference") ? examples : [{ name: "reference", file: REFERENCE_SITE }, ...examples];
}
