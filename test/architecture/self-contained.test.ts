import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";

// Built from parts so this file does not cite them itself.
const OUTSIDE = [["DESIGN", ".md"].join(""), ["/work", "/"].join(""), ["shared", "/notes"].join("")];

describe("the repository documents itself", () => {
  it("GIVEN every tracked file WHEN searched THEN none cites a design document or note outside the repository", () => {
    const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter((f) => f && !f.endsWith("package-lock.json"));
    const cites: string[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, f), "utf8");
      } catch {
        continue; // deleted in the working tree, not yet committed
      }
      text.split("\n").forEach((line, i) => {
        for (const o of OUTSIDE) if (line.includes(o)) cites.push(`${f}:${i + 1}: ${o}`);
      });
    }
    expect(cites).toEqual([]);
  });

  it("GIVEN docs/architecture.md WHEN read THEN it describes the pipeline, the layers, the dependency rule and the artifacts", () => {
    const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
    for (const heading of ["## The pipeline", "## Layers and the dependency rule", "## Artifact contracts"]) expect(doc).toContain(heading);
    expect(doc).toContain("core ← edge | tunnel | cluster | policies ← stacks ← scripts");
  });
});
