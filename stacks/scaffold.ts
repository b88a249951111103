/**
 * `palisade init`: a new site file, started from one of the example platforms this package ships
 * (examples/*.yaml, and the reference palisade.yaml). The example's comments are kept; the file gains
 * a header saying where it came from and a `$schema` reference that resolves from where it is written.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { PACKAGE_ROOT } from "./package-root.js";

export interface Example {
  readonly name: string;
  readonly file: string;
  /** The example's first comment line: what it shows. */
  readonly description: string;
}

/** The example `init` starts from when given no `--from`: the smallest platform, while there is one. */
export const PREFERRED_DEFAULT_EXAMPLES = ["minimal", "reference"] as const;

function firstComment(text: string): string {
  for (const line of text.split("\n")) {
    const m = /^#\s*(.*)$/.exec(line);
    if (m && !m[1]!.startsWith("yaml-language-server")) return m[1]!.trim();
    if (m === null && line.trim() !== "") break;
  }
  return "";
}

/** Every example, by name (sorted): examples/<name>.yaml, and `reference` (palisade.yaml) unless examples/ has its own. */
export function listExamples(root = PACKAGE_ROOT): Example[] {
  const dir = join(root, "examples");
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => ({ name: f.slice(0, -".yaml".length), file: join(dir, f) })) : [];
  if (!files.some((f) => f.name === "reference") && existsSync(join(root, "palisade.yaml"))) files.push({ name: "reference", file: join(root, "palisade.yaml") });
  return files
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((f) => ({ ...f, description: firstComment(readFileSync(f.file, "utf8")) }));
}

export function defaultExample(examples: readonly Example[]): Example | undefined {
  for (const name of PREFERRED_DEFAULT_EXAMPLES) {
    const e = examples.find((x) => x.name === name);
    if (e) return e;
  }
  return examples[0];
}

/** A path as a site file's `$schema` writes it: relative, with forward slashes, starting with `./` or `../`. */
function schemaReference(outFile: string, root: string): string {
  const rel = relative(dirname(resolve(outFile)), join(root, "palisade.schema.json")).split(sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/** The new site file's text: the example's, with a header and its `$schema` pointing at this package's schema. */
export function scaffoldText(example: Example, outFile: string, root = PACKAGE_ROOT): string {
  const schema = schemaReference(outFile, root);
  const body = readFileSync(example.file, "utf8")
    .split("\n")
    .filter((line) => !/^# yaml-language-server: \$schema=/.test(line) && !/^\$schema:/.test(line))
    .join("\n");
  return [
    `# yaml-language-server: $schema=${schema}`,
    `# Site file written by \`palisade init\` from the example "${example.name}". Edit it to declare your`,
    "# own platform; the schema above gives your editor completion and checks. `palisade plan` validates",
    "# it (path, value, what is expected and the fix for each mistake), renders and verifies everything.",
    "#",
    `$schema: ${schema}`,
    body.replace(/^\n+/, ""),
  ].join("\n");
}
