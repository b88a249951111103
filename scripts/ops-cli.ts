import { DEFAULT_SECRETS_DIR, OpsError, type DeployOptions } from "../stacks/ops/index.js";
import { oneOf } from "./cli-util.js";

/*
 * What the commands built on stacks/ops share: the options of the two that drive an engine
 * (deploy, destroy) and how those become the library's `DeployOptions`; how an `OpsError` (a
 * missing precondition, a refusal) ends a command (deploy, destroy, keys).
 */

/** The options of deploy and destroy (destroy adds --confirm). */
export const ENGINE_RUN_OPTIONS = {
  engine: { type: "string" },
  stack: { type: "string" },
  yes: { type: "boolean" },
  site: { type: "string" },
  out: { type: "string" },
  secrets: { type: "string" },
  "skip-ssh-check": { type: "boolean" },
} as const;

/** The parsed `ENGINE_RUN_OPTIONS` with their defaults; a bad --engine is a UsageError naming `command`. */
export function engineRunOptions(command: string, values: Readonly<Record<string, unknown>>): DeployOptions {
  return {
    engine: oneOf(command, "engine", values.engine as string | undefined, ["cdktf", "pulumi"] as const, "cdktf"),
    stack: values.stack as string | undefined,
    yes: values.yes === true,
    siteFile: (values.site as string | undefined) ?? "palisade.yaml",
    outDir: (values.out as string | undefined) ?? "out",
    secretsDir: (values.secrets as string | undefined) ?? DEFAULT_SECRETS_DIR,
    skipSshCheck: values["skip-ssh-check"] === true,
  };
}

/** Runs `call`; an `OpsError` becomes its message on stderr and its exit code, anything else propagates. */
export async function exitOnOpsError(call: () => number | Promise<number>): Promise<number> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof OpsError) {
      console.error(e.message);
      return e.exitCode;
    }
    throw e;
  }
}
