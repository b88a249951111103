// The one-way dependency rule of docs/architecture.md, checked on every source file:
//   core <- edge | tunnel | cluster | policies <- stacks <- scripts
// policies never imports stacks; only stacks/cdktf and stacks/pulumi import an engine SDK;
// the two engine folders never import each other; nothing imports scripts/ or test/.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const LAYERS: Record<string, readonly string[]> = {
  core: [],
  edge: ["core"],
  tunnel: ["core"],
  cluster: ["core"],
  policies: ["core"],
  stacks: ["core", "edge", "tunnel", "cluster", "policies", "stacks"],
  scripts: ["core", "edge", "tunnel", "cluster", "policies", "stacks", "scripts"],
};
const ENGINE_SDK = /^(cdktf|@cdktf\/|@pulumi\/)/;

export interface ImportViolation {
  readonly file: string;
  readonly specifier: string;
  readonly rule: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

export function importViolations(root = ROOT): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const layer of Object.keys(LAYERS)) {
    let files: string[] = [];
    try {
      files = sourceFiles(join(root, layer));
    } catch {
      continue;
    }
    for (const file of files) {
      const rel = relative(root, file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith(".")) {
          const target = relative(root, resolve(dirname(file), spec)).split("/")[0]!;
          const targetTop = relative(root, resolve(dirname(file), spec));
          if (target === "test" || (target === "scripts" && layer !== "scripts")) {
            violations.push({ file: rel, specifier: spec, rule: "nothing imports scripts/ or test/" });
          } else if (target !== layer && !LAYERS[layer]!.includes(target)) {
            violations.push({ file: rel, specifier: spec, rule: `${layer}/ may import only ${LAYERS[layer]!.join(", ") || "nothing of the project"}` });
          }
          const inCdktf = rel.startsWith("stacks/cdktf/");
          const inPulumi = rel.startsWith("stacks/pulumi/");
          if ((inCdktf && targetTop.startsWith("stacks/pulumi")) || (inPulumi && targetTop.startsWith("stacks/cdktf"))) {
            violations.push({ file: rel, specifier: spec, rule: "the two engine folders never import each other" });
          }
        } else if (ENGINE_SDK.test(spec) && !rel.startsWith("stacks/cdktf/") && !rel.startsWith("stacks/pulumi/")) {
          violations.push({ file: rel, specifier: spec, rule: "only stacks/cdktf and stacks/pulumi import an engine SDK" });
        }
      }
    }
  }
  return violations;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const v = importViolations();
  for (const x of v) console.error(`${x.file}: imports ${x.specifier}: ${x.rule}`);
  console.log(v.length === 0 ? "imports: the one-way dependency rule holds" : `imports: ${v.length} violation(s)`);
  process.exitCode = v.length === 0 ? 0 : 1;
}
