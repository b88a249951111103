import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Command } from "../../scripts/cli-util.js";
import { plan } from "../../scripts/commands/plan.js";
import { COMMANDS } from "../../scripts/main.js";
import { hashTree, REFERENCE_SITE, ROOT, runCli, seedOut, stackTraceLines } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";

/** Every command module under scripts/commands/: each exports one `Command`. New commands join automatically. */
async function allCommands(): Promise<Command[]> {
  const out: Command[] = [];
  for (const file of readdirSync(join(ROOT, "scripts/commands")).filter((f) => f.endsWith(".ts")).sort()) {
    const mod = (await import(join(ROOT, "scripts/commands", file))) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      if (v && typeof v === "object" && typeof (v as Command).run === "function" && typeof (v as Command).name === "string") out.push(v as Command);
    }
  }
  return out;
}

/** The options `plan` promises (README's command table). */
const PLAN_OPTIONS = [
  ["--site", "F"],
  ["--out", "D"],
  ["--engine", "E"],
  ["--base", "D"],
  ["--strict", ""],
] as const;

describe("palisade --help", () => {
  it("GIVEN --help WHEN run THEN it exits 0 and lists every command module with its summary", async () => {
    const commands = await allCommands();
    expect(commands.map((c) => c.name)).toContain("plan");
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of commands) {
      const entry = COMMANDS.find((e) => e.name === c.name);
      expect(entry, `scripts/commands defines ${c.name} but main.ts does not list it`).toBeDefined();
      expect(r.stdout).toMatch(new RegExp(`^  ${c.name}\\s+${entry!.summary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    }
    expect(r.stdout).toContain("Exit codes: 0 ok, 1 violations or failure, 2 bad input.");
  });

  it("GIVEN each listed command WHEN loaded THEN it is the module's command of that name", async () => {
    for (const entry of COMMANDS) expect((await entry.load()).name).toBe(entry.name);
  });

  it("GIVEN no arguments WHEN run THEN it prints the usage and exits 2", async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("Usage: palisade <command>");
  });

  it("GIVEN an unknown command WHEN run THEN it exits 2 naming it, with the usage", async () => {
    const r = await runCli(["deplyo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('palisade: unknown command "deplyo"');
    expect(r.stderr).toContain("Commands:");
  });
});

describe("palisade plan --help", () => {
  it.each(PLAN_OPTIONS)("GIVEN plan --help WHEN run THEN it describes %s", async (flag, metavar) => {
    const r = await runCli(["plan", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ {2}${flag}${metavar ? ` ${metavar}` : ""} +\\S`, "m"));
    expect(r.stdout).toBe(plan.help);
  });

  it("GIVEN plan --help WHEN read THEN every option it describes is one the parser accepts", async () => {
    const described = [...plan.help.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)( [A-Z])?/gm)].map((m) => [m[1]!, Boolean(m[2])] as const);
    expect(described.map(([f]) => f)).toEqual(expect.arrayContaining(PLAN_OPTIONS.map(([f]) => f)));
    for (const [flag, takesValue] of described) {
      const r = await runCli(["plan", flag, ...(takesValue ? ["x"] : []), "--help"]);
      expect({ flag, code: r.code, stderr: r.stderr }).toEqual({ flag, code: 0, stderr: "" });
    }
  });

  it("GIVEN -h WHEN run THEN it is the same help", async () => {
    expect((await runCli(["plan", "-h"])).stdout).toBe(plan.help);
  });
});

describe("palisade plan with bad options", () => {
  let out: string;
  let before: Record<string, string>;
  beforeAll(async () => {
    out = join(tempDir("cli"), "out");
    seedOut(out, (await planOnce()).dir);
    before = hashTree(out);
  });

  it("GIVEN an unknown option WHEN planned THEN it exits 2 naming the option and pointing at --help, writing nothing", async () => {
    const r = await runCli(["plan", "--sight", REFERENCE_SITE, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("palisade plan: Unknown option '--sight'; see palisade plan --help");
    expect(stackTraceLines(r.stderr)).toEqual([]);
    expect(hashTree(out)).toEqual(before);
  });

  it("GIVEN an unexpected positional argument WHEN planned THEN it exits 2 naming it", async () => {
    const r = await runCli(["plan", "palisade.yaml", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'palisade.yaml'");
    expect(hashTree(out)).toEqual(before);
  });

  it("GIVEN --engine foo WHEN planned THEN it exits 2 listing the engines, writing nothing", async () => {
    const r = await runCli(["plan", "--site", REFERENCE_SITE, "--engine", "foo", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('palisade plan: --engine "foo" is not one of cdktf, pulumi, both');
    expect(hashTree(out)).toEqual(before);
  });

  it("GIVEN --site without its value WHEN planned THEN it exits 2 saying the option needs an argument", async () => {
    const r = await runCli(["plan", "--site"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^palisade plan: Option '--site <value>' argument missing; see palisade plan --help$/);
  });
});

describe("palisade plan --strict", () => {
  it("GIVEN the reference site (images without digests) and an existing output WHEN planned with --strict THEN it exits 1, names each warning as an error and writes nothing", async () => {
    const out = join(tempDir("strict"), "out");
    seedOut(out, (await planOnce()).dir);
    const before = hashTree(out);
    const r = await runCli(["plan", "--site", REFERENCE_SITE, "--out", out, "--strict"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("error: [image-digest] image haproxy:2.8 of ingress has no digest; pin it in images.ingress.digest");
    expect(r.stdout).not.toContain("warning:");
    expect(r.stderr).toMatch(/^plan --strict: \d+ warning\(s\) are failures; nothing written to /m);
    expect(hashTree(out)).toEqual(before);
  });

  it("GIVEN no output directory yet WHEN planned with --strict on the reference site THEN the directory is still not created", async () => {
    const out = join(tempDir("strict"), "out");
    const r = await runCli(["plan", "--site", REFERENCE_SITE, "--out", out, "--strict"]);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it("GIVEN the reference site WHEN planned without --strict THEN the same findings are warnings, the artifacts are written and the exit code is the verifier's verdict", async () => {
    const r = (await planOnce()).result;
    expect(r.stdout).toContain("warning: [image-digest] image haproxy:2.8 of ingress has no digest");
    expect(r.stdout).toMatch(/^plan: \d+ files in .+ \(resources: /m);
    expect(r.code).toBe(/^verify: FAIL/m.test(r.stdout) ? 1 : 0);
  });
});
