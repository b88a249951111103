import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { listExamples } from "../../stacks/scaffold.js";
import { runCli, runCliProcess } from "../helpers/cli.js";
import { ROOT, tempDir } from "../helpers/paths.js";

const examples = listExamples();

describe("palisade init", () => {
  it("GIVEN an empty directory WHEN init, plan and verify run there with no options THEN each exits 0 and plan verifies", () => {
    const dir = tempDir("init-default");
    const init = runCliProcess(["init"], dir);
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/^wrote palisade\.yaml from the example "[\w-]+"/);
    expect(init.stdout).toContain("npx palisade plan ");
    const plan = runCliProcess(["plan"], dir);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/^verify: PASS/m);
    expect(runCliProcess(["verify"], dir).code).toBe(0);
  }, 180_000);

  it.each(examples.map((e) => [e.name]))("GIVEN --from %s WHEN the written file is planned THEN it verifies, and its $schema resolves to the package's schema", async (name) => {
    const dir = tempDir("init-from");
    const site = join(dir, "nested", "site.yaml");
    const init = await runCli(["init", "--from", name, "--out", site]);
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`--site ${site}`);
    const text = readFileSync(site, "utf8");
    const schema = (parse(text) as { $schema: string }).$schema;
    expect(resolve(dirname(site), schema)).toBe(join(ROOT, "palisade.schema.json"));
    expect(text.split("\n")[0]).toBe(`# yaml-language-server: $schema=${schema}`);
    expect(text.split("\n").filter((l) => l.startsWith("$schema:"))).toHaveLength(1);
    const plan = await runCli(["plan", "--site", site, "--out", join(dir, "out")]);
    expect(plan.code, plan.stderr).toBe(0);
    expect((await runCli(["verify", "--out", join(dir, "out")])).code).toBe(0);
  }, 120_000);

  it("GIVEN an existing file WHEN init would write it THEN it exits 2 with the fix and leaves the file as it was", async () => {
    const file = join(tempDir("init-exists"), "palisade.yaml");
    writeFileSync(file, "mine\n");
    const r = await runCli(["init", "--out", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file} already exists; nothing written`);
    expect(r.stderr).toContain("fix: choose a new file with --out FILE");
    expect(readFileSync(file, "utf8")).toBe("mine\n");
  });

  it("GIVEN an unknown example WHEN init runs THEN it exits 2 listing every example and writes nothing", async () => {
    const file = join(tempDir("init-unknown"), "site.yaml");
    const r = await runCli(["init", "--from", "no-such-example", "--out", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from "no-such-example" is not an example');
    for (const e of examples) expect(r.stderr).toMatch(new RegExp(`^  ${e.name}\\s`, "m"));
    expect(existsSync(file)).toBe(false);
  });

  it("GIVEN --list WHEN run THEN it names every example of examples/ (and the reference) with its one-line description", async () => {
    const r = await runCli(["init", "--list"]);
    expect(r.code).toBe(0);
    expect(examples.map((e) => e.name)).toContain("reference");
    for (const e of examples) {
      expect(e.description, `${e.name} starts with a comment saying what it shows`).not.toBe("");
      expect(r.stdout.split("\n")).toContainEqual(`  ${e.name.padEnd(Math.max(...examples.map((x) => x.name.length)))}  ${e.description}`);
    }
  });
});
