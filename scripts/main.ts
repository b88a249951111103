import { UsageError, type Command } from "./cli-util.js";

/**
 * A command as `--help` lists it. Its module, and everything that module imports (the model, the
 * renderers, the engine SDKs), loads only when the command runs: `palisade --help` starts in a
 * fraction of a second.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: "init", summary: "write a new site file from an example platform; it plans and verifies as it is", load: async () => (await import("./commands/init.js")).init },
  { name: "plan", summary: "render every artifact into out/, verify it and write the report", load: async () => (await import("./commands/plan.js")).plan },
  { name: "verify", summary: "re-derive reachability from the artifacts in out/, check it, write the report", load: async () => (await import("./commands/verify.js")).verify },
  { name: "diff", summary: "semantic segmentation diff between two artifact directories (Markdown)", load: async () => (await import("./commands/diff.js")).diff },
  { name: "query", summary: "may SRC reach DST (on PORT)? the verdict and the hop-by-hop trace; --from/--to list", load: async () => (await import("./commands/query.js")).query },
  { name: "keys", summary: "create the site's keys in .palisade/secrets/ and print the public halves", load: async () => (await import("./commands/keys.js")).keys },
  { name: "deploy", summary: "plan, refuse on violations, then apply the stacks with tofu/terraform or pulumi", load: async () => (await import("./commands/deploy.js")).deploy },
  { name: "destroy", summary: "destroy the deployed stacks in reverse order, behind a typed confirmation", load: async () => (await import("./commands/destroy.js")).destroy },
  { name: "lab", summary: "the platform in network namespaces with real daemons: up, probe, drill NAME, down", load: async () => (await import("./commands/lab.js")).lab },
  { name: "tenant", summary: "add, remove or list tenants on a PostgreSQL server", load: async () => (await import("./commands/tenant.js")).tenant },
  { name: "audit-db", summary: "check a live PostgreSQL server for tenant-isolation weaknesses", load: async () => (await import("./commands/audit-db.js")).auditDb },
  { name: "k8s", summary: "NetworkPolicy connectivity of any Kubernetes manifests (netpol-analyzer's list and diff formats)", load: async () => (await import("./commands/k8s.js")).k8s },
];

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
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`palisade: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await entry.load()).run(rest);
  } catch (e) {
    // Loaded here, not at the top: it brings the site schema and its parser, which --help does not need.
    const { SiteError } = await import("../core/site-loader.js");
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
