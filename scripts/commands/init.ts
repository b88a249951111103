import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { defaultExample, listExamples, scaffoldText, type Example } from "../../stacks/scaffold.js";
import { parseOptions, printHelp, UsageError, type Command } from "../cli-util.js";

const HELP = `palisade init [--from NAME] [--out FILE] [--list]

Writes a new site file, started from one of the example platforms (examples/, and the reference
palisade.yaml), with its comments and a $schema reference for your editor. It plans and verifies
as it is; edit it to declare your own platform. Never overwrites a file.

Options:
  --from NAME  the example to start from (default: minimal, or reference where there is no minimal);
               --list shows them
  --out FILE   the site file to write (default: palisade.yaml, which plan reads by default)
  --list       list the examples, one line each, and exit
  -h, --help   this text

Exit: 0 written, 2 bad input (an unknown example, an existing file: nothing written).`;

function listing(examples: readonly Example[]): string {
  const width = Math.max(...examples.map((e) => e.name.length));
  return examples.map((e) => `  ${e.name.padEnd(width)}  ${e.description}`).join("\n");
}

export const init: Command = {
  name: "init",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("init", argv, { from: { type: "string" }, out: { type: "string" }, list: { type: "boolean" } });
    if (values.help) return printHelp(HELP);
    const examples = listExamples();
    if (values.list) {
      console.log(listing(examples));
      return 0;
    }
    const name = values.from as string | undefined;
    const example = name === undefined ? defaultExample(examples) : examples.find((e) => e.name === name);
    if (!example) {
      throw new UsageError(`palisade init: --from ${JSON.stringify(name)} is not an example; nothing written. Expected one of:\n${listing(examples)}`);
    }
    const out = (values.out as string | undefined) ?? "palisade.yaml";
    const text = scaffoldText(example, out);
    mkdirSync(dirname(out), { recursive: true });
    try {
      writeFileSync(out, text, { flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new UsageError(`palisade init: cannot write ${out} (${(e as NodeJS.ErrnoException).code ?? "error"}); nothing written`);
      throw new UsageError(`palisade init: ${out} already exists; nothing written.\n  fix: choose a new file with --out FILE, or move ${out} away first`);
    }
    const site = out === "palisade.yaml" ? "" : ` --site ${out}`;
    console.log(`wrote ${out} from the example "${example.name}"${example.description ? `: ${example.description}` : ""}`);
    const steps: [string, string][] = [
      [`npx palisade plan${site}`, "validate, render into out/ and verify (no root, no network)"],
      [`edit ${out}, plan again`, "your domain, addresses, services, flows and tenants"],
      [`npx palisade keys${site}`, `create the keys; paste the publicKeys it prints into ${out}`],
      [`npx palisade deploy${site}`, "plan, refuse on any violation, then apply (docs/runbook.md)"],
    ];
    const width = Math.max(...steps.map(([c]) => c.length));
    console.log(["", "next:", ...steps.map(([c, why]) => `  ${c.padEnd(width)}  ${why}`)].join("\n"));
    return 0;
  },
};
