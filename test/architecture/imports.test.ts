import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importViolations } from "../../scripts/check-imports.js";

describe("the one-way dependency rule of docs/architecture.md", () => {
  it("holds for every source file of the project", () => {
    expect(importViolations()).toEqual([]);
  });

  it.each([
    ["core/x.ts", 'import { a } from "../stacks/platform.js";', "core/ may import only"],
    ["policies/x.ts", 'import { a } from "../stacks/platform.js";', "policies/ may import only core"],
    ["edge/x.ts", 'import { App } from "cdktf";', "only stacks/cdktf and stacks/pulumi import an engine SDK"],
    ["stacks/cdktf/x.ts", 'import { a } from "../pulumi/program.js";', "the two engine folders never import each other"],
    ["stacks/x.ts", 'import { a } from "../test/helpers/root.js";', "nothing imports scripts/ or test/"],
  ])("is broken by %s importing what it must not", (file, line, rule) => {
    const root = mkdtempSync(join(tmpdir(), "palisade-imports-"));
    mkdirSync(join(root, file, ".."), { recursive: true });
    writeFileSync(join(root, file), `${line}\n`);
    expect(importViolations(root).map((v) => v.rule).join("\n")).toContain(rule);
  });
});
