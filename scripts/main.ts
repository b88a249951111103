import { SiteError } from "../core/index.js";
import { UsageError, type Command } from "./cli-util.js";
import { plan } from "./commands/plan.js";
import { verify } from "./commands/verify.js";
import { diff } from "./commands/diff.js";
import { query } from "./commands/query.js";
import { keys } from "./commands/keys.js";
import { deploy } from "./commands/deploy.js";
import { destroy } from "./commands/destroy.js";
import { lab } from "./commands/lab.js";
import { tenant } from "./commands/tenant.js";
import { auditDb } from "./commands/audit-db.js";
import { k8s } from "./commands/k8s.js";

/** Every command, in the order `--help` lists them. */
const COMMANDS: readonly Command[] = [plan, verify, diff, query, keys, deploy, destroy, lab, tenant, auditDb, k8s];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "palisade - infrastructure as code for a zero-trust multi-tenant platform, proven segmented",
    "",
    "Usage: palisade <command> [options]   (palisade <command> --help for its options)",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Exit codes: 0 ok, 1 violations or failure, 2 bad input.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`palisade: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof SiteError) {
      console.error(e.format());
      console.error("nothing was written; the previous output is unchanged.");
      return 2;
    }
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
}
