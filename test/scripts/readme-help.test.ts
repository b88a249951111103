import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../scripts/main.js";
import { ROOT, runCli } from "../helpers/cli.js";

/*
 * README, `palisade --help` and each command's --help say the same thing about the commands: every
 * command has its row in README's table, every option a row shows is one its --help describes, and
 * every option a --help describes is one the command's parser accepts. Nothing here names a
 * command's options: they are read from README and from each help text.
 */
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** README's command table rows, by command name (a row's first cell starts with `palisade <name>`). */
function readmeRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of README.split("\n")) {
    const m = /^\| `palisade ([a-z0-9-]+)[^|]*?(?:\\\|[^|]*?)*\|/.exec(line);
    if (m) rows.set(m[1]!, line.slice(0, line.indexOf(" | ", 2) + 1));
  }
  return rows;
}

/** The options a help text describes in its Options list: `  --flag` or `  -x, --flag`, with whether it takes a value. */
function describedOptions(help: string): { flag: string; takesValue: boolean }[] {
  const out: { flag: string; takesValue: boolean }[] = [];
  // An option line may list several (`  --dir1 A, --dir2 B  …`): every flag before the description.
  for (const line of help.split("\n").filter((l) => /^ {2}-/.test(l))) {
    const head = line.trim().split(/ {2,}/)[0]!;
    for (const m of head.matchAll(/(--[a-z0-9-]+)( [A-Z][A-Za-z0-9-]*)?/g)) if (m[1] !== "--help") out.push({ flag: m[1]!, takesValue: Boolean(m[2]) });
  }
  return out;
}

/** The first subcommand of a help's usage line (`palisade lab up|probe|…` gives `up`), when it has subcommands. */
function firstSubcommand(name: string, help: string): string[] {
  const m = new RegExp(`^palisade ${name} ([a-z][a-z0-9-]*)[| ]`).exec(help);
  return m ? [m[1]!] : [];
}

async function helpOf(name: string): Promise<string> {
  const r = await runCli([name, "--help"]);
  expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: "" });
  return r.stdout;
}

describe("README and --help agree with the commands", () => {
  it("GIVEN README WHEN read THEN it starts with exactly the two set-up commands", () => {
    expect(README.startsWith("# Palisade\n\n```sh\nnpm ci && npm run plan\n./scripts/install-deps.sh && npm ci && npm test\n```\n")).toBe(true);
  });

  it("GIVEN palisade --help's commands WHEN README's command table is read THEN each has its row, and no row names another command", () => {
    const rows = readmeRows();
    expect([...rows.keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  it.each(COMMANDS.map((c) => c.name))("GIVEN README's row for %s WHEN its options are read THEN each is one its --help describes", async (name) => {
    const row = readmeRows().get(name);
    expect(row, `README has no row for ${name}`).toBeDefined();
    const help = await helpOf(name);
    const described = new Set(describedOptions(help).map((o) => o.flag));
    const inRow = [...new Set([...row!.matchAll(/(?<![\w-])(--[a-z0-9-]+)/g)].map((m) => m[1]!))];
    expect(inRow.filter((f) => !described.has(f))).toEqual([]);
    // A short option in the row (-o) is one the help describes too.
    for (const short of [...row!.matchAll(/(?<![\w-])(-[a-z])(?= )/g)].map((m) => m[1]!)) expect(help).toMatch(new RegExp(`^ {2}${short}, --`, "m"));
  });

  it.each(COMMANDS.map((c) => c.name))("GIVEN `palisade %s --help` WHEN each option it describes is given THEN the parser accepts it (exit 0, the help)", async (name) => {
    const help = await helpOf(name);
    const options = describedOptions(help);
    expect(options.length, `${name} --help describes no option`).toBeGreaterThan(0);
    const sub = firstSubcommand(name, help);
    for (const { flag, takesValue } of options) {
      const r = await runCli([name, ...sub, flag, ...(takesValue ? ["x"] : []), "--help"]);
      expect({ flag, code: r.code, stderr: r.stderr }).toEqual({ flag, code: 0, stderr: "" });
    }
    // Negative: an option no help describes is refused, naming it.
    const bogus = await runCli([name, ...sub, "--no-such-option", "--help"]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("--no-such-option");
  });
});
