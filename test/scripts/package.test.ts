import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { planArtifacts } from "../../stacks/plan.js";
import { sha256 } from "../../stacks/output.js";
import { listExamples } from "../../stacks/scaffold.js";
import { ROOT, tempDir } from "../helpers/paths.js";

/**
 * The package as another project gets it: `npm pack`, the tarball unpacked into a fresh project's
 * node_modules/palisade (what `npm install palisade-x.tgz` puts there), its dependencies linked from
 * this project's node_modules (offline; the registry is not involved). The consumer declares each
 * example site in TypeScript, typechecks against the shipped declarations and runs the compiled
 * JavaScript of the package.
 */
const CONSUMER = `import { buildPlatform, defineSite, planArtifacts, Port, verifyPlan, type SiteInput } from "palisade";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";

const out: Record<string, { verdict: string; files: Record<string, string>; flows: string[] }> = {};
for (const file of readdirSync("sites").sort()) {
  const input = JSON.parse(readFileSync(\`sites/\${file}\`, "utf8")) as SiteInput;
  const site = defineSite(input, file);
  const platform = buildPlatform(site);
  const flows = platform.topology.ledger.flows.map((f) => \`\${f.from.id} => \${f.to.id} : \${f.port}\`);
  const planned = await planArtifacts(site, readFileSync(\`sites/\${file}\`, "utf8"), { engine: "both" });
  const verdict = verifyPlan(planned.artifacts).report.summary.verdict;
  const files: Record<string, string> = {};
  for (const a of planned.artifacts) files[a.path] = createHash("sha256").update(a.content).digest("hex");
  out[file.replace(/\\.json$/, "")] = { verdict, files, flows };
}
const https: Port = Port.HTTPS;
console.log(JSON.stringify({ https: String(https), sites: out }));
`;

const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
let consumer: string;
let tarballFiles: string[];

beforeAll(() => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  if (spawnSync(process.execPath, [join(ROOT, "scripts/dist.mjs"), "check"]).status !== 0) {
    execFileSync(process.execPath, [join(ROOT, "scripts/dist.mjs"), "build"], { stdio: "ignore" });
  }
  const work = tempDir("package");
  // --ignore-scripts: dist/ was just checked or built; `prepare` would rebuild it for nothing.
  const packed = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8" })) as { filename: string; files: { path: string }[] }[];
  tarballFiles = packed[0]!.files.map((f) => f.path);
  consumer = join(work, "consumer");
  const installed = join(consumer, "node_modules", "palisade");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, packed[0]!.filename), "-C", installed, "--strip-components=1"]);
  for (const dep of [...Object.keys(pkg.dependencies), "@types/node"]) {
    mkdirSync(dirname(join(consumer, "node_modules", dep)), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", dep), join(consumer, "node_modules", dep));
  }
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { palisade: "file:palisade.tgz" } }));
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, outDir: "out", types: ["node"], skipLibCheck: true }, include: ["main.ts"] }),
  );
  writeFileSync(join(consumer, "main.ts"), CONSUMER);
  mkdirSync(join(consumer, "sites"));
  for (const e of listExamples()) writeFileSync(join(consumer, "sites", `${e.name}.json`), JSON.stringify(parse(readFileSync(e.file, "utf8"))));
}, 300_000);

describe("the npm package", () => {
  it("GIVEN the tarball WHEN listed THEN it ships the compiled JavaScript with its declarations and the bin, not the TypeScript sources or tests", () => {
    expect(tarballFiles).toContain("dist/stacks/api.js");
    expect(tarballFiles).toContain("dist/stacks/api.d.ts");
    expect(tarballFiles).toContain("scripts/palisade.mjs");
    expect(tarballFiles).toContain("palisade.yaml");
    expect(tarballFiles.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(tarballFiles.filter((f) => f.startsWith("test/"))).toEqual([]);
  });

  it("GIVEN a project that imports from \"palisade\" WHEN typechecked with tsc THEN the shipped declarations type it without error", () => {
    const r = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: consumer, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 120_000);

  it("GIVEN a misuse of an imported type WHEN typechecked THEN tsc rejects it (the declarations are real types, not any)", () => {
    writeFileSync(join(consumer, "misuse.ts"), 'import { Port, defineSite } from "palisade";\nexport const n: number = Port.HTTPS;\nexport const s = defineSite({ site: 42 });\n');
    const r = spawnSync(process.execPath, [TSC, "--noEmit", "--module", "NodeNext", "--moduleResolution", "NodeNext", "--strict", "--skipLibCheck", "--types", "node", "misuse.ts"], { cwd: consumer, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/misuse\.ts\(2,14\): error TS2322: Type 'Port' is not assignable to type 'number'/);
    expect(r.stdout).toMatch(/misuse\.ts\(3,\d+\): error TS2/);
  }, 120_000);

  it("GIVEN each example declared in TypeScript through the API WHEN planned by the installed package THEN it verifies and renders the very files the site file gives", async () => {
    const r = spawnSync(process.execPath, ["out/main.js"], { cwd: consumer, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const got = JSON.parse(r.stdout) as { https: string; sites: Record<string, { verdict: string; files: Record<string, string> }> };
    expect(got.https).toBe("tcp/443");
    for (const e of listExamples()) {
      const fromYaml = await planArtifacts(loadSite(e.file), readFileSync(e.file, "utf8"), { engine: "both" });
      // inputs/site.yaml is the site's own text (here the JSON the API was given): every other file is the same.
      const SITE_COPY = "inputs/site.yaml";
      const expected = Object.fromEntries(fromYaml.artifacts.filter((a) => a.path !== SITE_COPY).map((a) => [a.path, sha256(a.content)]));
      const files = Object.fromEntries(Object.entries(got.sites[e.name]?.files ?? {}).filter(([path]) => path !== SITE_COPY));
      expect(got.sites[e.name]?.verdict, e.name).toBe("pass");
      expect(files, e.name).toEqual(expected);
      expect(Object.keys(got.sites[e.name]?.files ?? {}), e.name).toContain(SITE_COPY);
    }
  }, 300_000);

  it("GIVEN the example of docs/api.md WHEN compiled and run in the project THEN it plans, verifies and writes out/", () => {
    const doc = readFileSync(join(ROOT, "docs/api.md"), "utf8");
    const example = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example, "docs/api.md has a TypeScript example").toBeDefined();
    writeFileSync(join(consumer, "example.ts"), example!);
    const tsc = spawnSync(process.execPath, [TSC, "--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022", "--strict", "--skipLibCheck", "--types", "node", "--outDir", "out", "example.ts"], { cwd: consumer, encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    const r = spawnSync(process.execPath, ["out/example.js"], { cwd: consumer, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^verify: PASS/m);
    expect(JSON.parse(readFileSync(join(consumer, "out/report/report.json"), "utf8"))).toHaveProperty("summary");
  }, 300_000);

  it("GIVEN the installed package WHEN its bin runs --help THEN it lists the commands", () => {
    const r = spawnSync(process.execPath, [join(consumer, "node_modules/palisade/scripts/palisade.mjs"), "--help"], { cwd: consumer, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("Usage: palisade <command>");
  });
});
