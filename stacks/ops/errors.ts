/**
 * A problem the operator fixes before anything runs (a missing tool, key, host, confirmation).
 * Commands print `message` and exit with `exitCode`: 2 for missing preconditions and bad input.
 */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "OpsError";
  }
}

/** One unmet precondition: what is missing and the exact fix. */
export interface Problem {
  readonly missing: string;
  readonly fix: string;
}

export function formatProblems(what: string, problems: readonly Problem[]): string {
  const lines = [`${what}: ${problems.length} precondition${problems.length === 1 ? "" : "s"} not met; nothing was applied.`];
  for (const p of problems) lines.push(`  - missing: ${p.missing}`, `    fix: ${p.fix}`);
  return lines.join("\n");
}
