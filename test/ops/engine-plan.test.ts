import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { planStep, enginePlan, engineSummary } from "../../stacks/ops/deploy.js";
import { runCli } from "../helpers/cli.js";
import { installStandins, sandbox, type Sandbox } from "./standins.js";

const SUITE = "(stand-in engines: no providers or Pulumi CLI here)";

async function planned(sb: Sandbox, engine: "cdktf" | "pulumi" | "both" = "both") {
  await planStep(sb.siteFile, "out", engine, sb.ctx());
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe(`palisade plan --engine-plan ${SUITE}`, () => {
  it("GIVEN tofu, keys and reachable hosts WHEN the engine plan runs THEN `tofu plan` runs per stack (no -out plan file) and its summary is printed", async () => {
    const sb = sandbox();
    await planned(sb);
    const code = await enginePlan({ siteFile: "palisade.yaml", outDir: "out", engine: "both", secretsDir: ".palisade/secrets" }, sb.ctx());
    expect(code).toBe(0);
    const plans = sb.calls().filter((c) => c.args.includes("plan"));
    expect(plans.map((c) => c.args.join(" "))).toEqual([
      "-chdir=out/cdktf/stacks/edge plan -input=false -lock=false",
      "-chdir=out/cdktf/stacks/cloud plan -input=false -lock=false",
      "-chdir=out/cdktf/stacks/secrets plan -input=false -lock=false",
    ]);
    expect(plans.some((c) => c.args.some((a) => a.startsWith("-out")))).toBe(false);
    expect(sb.output()).toContain("edge: Plan: 2 to add, 0 to change, 0 to destroy.");
    expect(sb.calls().some((c) => c.args.includes("apply"))).toBe(false);
  });

  it("GIVEN only pulumi WHEN the engine plan runs THEN `pulumi preview` runs per stack and its Resources summary is printed", async () => {
    const sb = sandbox({ tools: ["pulumi", "ssh"] });
    await planned(sb);
    expect(await enginePlan({ siteFile: "palisade.yaml", outDir: "out", engine: "both", secretsDir: ".palisade/secrets" }, sb.ctx())).toBe(0);
    expect(sb.calls().filter((c) => c.args.includes("preview")).map((c) => c.args.join(" "))).toContain("preview --stack edge --non-interactive");
    expect(sb.calls().some((c) => c.args.includes("up"))).toBe(false);
    expect(sb.output()).toContain("edge: + 13 to create");
  });

  it("GIVEN no engine on PATH WHEN the engine plan runs THEN it prints a note with the install hint and exits 0", async () => {
    const sb = sandbox({ tools: ["ssh"] });
    await planned(sb);
    expect(await enginePlan({ siteFile: "palisade.yaml", outDir: "out", engine: "both", secretsDir: ".palisade/secrets" }, sb.ctx())).toBe(0);
    expect(sb.output()).toContain("note: engine plan skipped: tofu/terraform and pulumi not on PATH");
  });

  it("GIVEN a host SSH cannot reach WHEN the engine plan runs THEN it prints a note naming the host, runs no engine and exits 0", async () => {
    const sb = sandbox();
    await planned(sb);
    const code = await enginePlan({ siteFile: "palisade.yaml", outDir: "out", engine: "cdktf", secretsDir: ".palisade/secrets" }, sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "deploy@10.77.0.2", STANDIN_FAIL_CODE: "255" } }));
    expect(code).toBe(0);
    expect(sb.output()).toContain("note: engine plan skipped");
    expect(sb.output()).toContain("deploy@10.77.0.2");
    expect(sb.calls().filter((c) => c.tool !== "ssh")).toEqual([]);
  });

  it("GIVEN an engine whose plan fails WHEN the engine plan runs THEN it exits 1 and names the stack", async () => {
    const sb = sandbox();
    await planned(sb);
    const code = await enginePlan({ siteFile: "palisade.yaml", outDir: "out", engine: "cdktf", secretsDir: ".palisade/secrets" }, sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "stacks/cloud plan", STANDIN_FAIL_CODE: "1" } }));
    expect(code).toBe(1);
    expect(sb.output()).toContain("engine plan: stack cloud failed");
  });

  it("GIVEN `palisade plan --engine-plan` and no engine on PATH WHEN run THEN it exits as plain plan does, with a note", async () => {
    const bin = join(mkdtempSync(join(tmpdir(), "palisade-noengine-")), "bin");
    installStandins(bin, []);
    vi.stubEnv("PATH", bin);
    const out = join(mkdtempSync(join(tmpdir(), "palisade-plan-")), "out");
    const err: string[] = [];
    const write = vi.spyOn(process.stderr, "write").mockImplementation((t: string | Uint8Array) => (err.push(String(t)), true));
    let withEnginePlan, plain;
    try {
      withEnginePlan = await runCli(["plan", "--out", out, "--engine-plan"]);
      plain = await runCli(["plan", "--out", `${out}-plain`]);
    } finally {
      write.mockRestore();
    }
    // The exit code is the plan's own verdict (0 or 1): the skipped engine plan adds no failure.
    expect(withEnginePlan.code).toBe(plain.code);
    expect(err.join("")).toContain("note: engine plan skipped");
  });
});

describe("engine summaries", () => {
  it.each([
    ["tofu with changes", "Refreshing...\nPlan: 3 to add, 1 to change, 0 to destroy.\n", "Plan: 3 to add, 1 to change, 0 to destroy."],
    ["tofu without changes", "No changes. Your infrastructure matches the configuration.\n", "No changes. Your infrastructure matches the configuration."],
    ["pulumi preview", "Previewing update (edge)\n\nResources:\n    + 2 to create\n    11 unchanged\n\n", "+ 2 to create; 11 unchanged"],
    ["unknown output", "something else\n", "(no summary line in the engine's output)"],
  ])("GIVEN %s WHEN summarized THEN the operator reads the engine's own summary", (_n, output, expected) => {
    expect(engineSummary(output)).toBe(expected);
  });
});
