import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeTfJson } from "../../stacks/cdktf/synth.js";
import { planOnce } from "../helpers/plan-once.js";

const planned = await planOnce();

describe("the cdktf app that cdktf.json names (what `cdktf synth` runs)", () => {
  it("GIVEN cdktf.json's app command and CDKTF_OUTDIR WHEN run THEN it writes the same stacks as palisade plan", () => {
    const cdktfJson = JSON.parse(readFileSync("cdktf.json", "utf8")) as { app: string };
    expect(cdktfJson.app).toBe("npx tsx stacks/cdktf/main.ts");
    const outdir = mkdtempSync(join(tmpdir(), "palisade-cdktf-app-"));
    execFileSync("npx", ["tsx", "stacks/cdktf/main.ts"], { env: { ...process.env, CDKTF_OUTDIR: outdir }, stdio: "pipe" });
    for (const stack of ["edge", "cloud", "secrets"]) {
      const synthesized = normalizeTfJson(readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
      expect(synthesized, stack).toBe(planned.text(`cdktf/stacks/${stack}/cdk.tf.json`));
    }
  });
});
