import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers/paths.js";

/** Runs `body` in a fresh node process (the module cache is per process), with the deferral loaded. */
function fresh(body: string): { status: number | null; stdout: string; stderr: string } {
  const file = join(tempDir("pulumi-defer"), "probe.mts");
  writeFileSync(
    file,
    `import { createRequire } from "node:module";
import { deferPulumiClosureModules } from ${JSON.stringify(join(ROOT, "stacks/pulumi/defer-sdk-modules.ts"))};
const require = createRequire(${JSON.stringify(join(ROOT, "package.json"))});
${body}
`,
  );
  const r = spawnSync(process.execPath, ["--import", "tsx", file], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("deferring @pulumi/pulumi's closure-serialization modules", () => {
  it("GIVEN the deferral WHEN the SDK loads THEN npm's arborist is not loaded, and on first use it is the real one", () => {
    const r = fresh(`
deferPulumiClosureModules();
require("@pulumi/pulumi");
const before = Object.keys(require.cache).filter((k) => k.includes("/@npmcli/arborist/lib/")).length;
const sdk = require.resolve("@pulumi/pulumi/runtime/closure/codePaths.js");
const arborist = createRequire(sdk)("@npmcli/arborist");
const ctor = typeof arborist.Arborist;
const after = Object.keys(require.cache).filter((k) => k.includes("/@npmcli/arborist/lib/")).length;
console.log(JSON.stringify({ before, ctor, afterLoaded: after > 1 }));
`);
    expect(r.stderr).toBe("");
    // before: 1 is the stand-in's own cache entry (arborist's lib/index.js), nothing else of arborist.
    expect(JSON.parse(r.stdout)).toEqual({ before: 1, ctor: "function", afterLoaded: true });
  });

  it("GIVEN no deferral WHEN the SDK loads THEN it loads arborist eagerly (what the deferral saves)", () => {
    const r = fresh(`
require("@pulumi/pulumi");
console.log(Object.keys(require.cache).filter((k) => k.includes("/@npmcli/arborist/lib/")).length > 1);
`);
    expect(r.stdout.trim()).toBe("true");
  });
});
