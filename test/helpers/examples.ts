import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSite, type Site } from "../../core/index.js";
import { ROOT } from "./paths.js";

/** One example platform of `examples/`: its name, its site file and the parsed site. */
export interface Example {
  readonly name: string;
  readonly file: string;
  readonly text: string;
  readonly site: Site;
}

/** The examples directory; `reference.yaml` there is the default palisade.yaml. */
export const EXAMPLES_DIR = join(ROOT, "examples");

/** Every example, sorted by name: generic tests iterate these with `describe.each(examples)`. */
export const examples: readonly Example[] = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((f) => {
    const file = join(EXAMPLES_DIR, f);
    const text = readFileSync(file, "utf8");
    return { name: f.replace(/\.yaml$/, ""), file, text, site: parseSite(text, file) };
  });

/** One example by name (throws when there is none: a test asking for it is wrong). */
export function example(name: string): Example {
  const e = examples.find((x) => x.name === name);
  if (!e) throw new Error(`no example named ${name} in examples/ (${examples.map((x) => x.name).join(", ")})`);
  return e;
}
