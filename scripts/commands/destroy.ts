import { DEFAULT_SECRETS_DIR, defaultOpsContext, destroy as runDestroy, OpsError } from "../../stacks/ops/index.js";
import { oneOf, parseOptions, type Command } from "../cli-util.js";

const HELP = `palisade destroy [--engine cdktf|pulumi] [--stack S] [--yes --confirm SITE-NAME] [--site F] [--out D]

Removes what deploy created, in reverse order (secrets -> cloud -> edge), after the operator types
the site's name. Non-interactively it needs both --yes and --confirm with the site's name.
Same preconditions, secrets handling and failure report as deploy.

Options:
  --engine E         cdktf or pulumi (default: cdktf)
  --stack S          only this stack: edge, cloud or secrets (default: all, in reverse order)
  --yes              do not ask; requires --confirm
  --confirm NAME     the site's name (site.name in the site file)
  --site F           the site file (default: palisade.yaml)
  --out D            the output directory (default: out/)
  --secrets D        the secrets directory (default: .palisade/secrets)
  --skip-ssh-check   do not check SSH to the Docker hosts
  -h, --help         this text

Exit: 0 destroyed, 1 aborted, 2 a precondition or the confirmation is missing, otherwise the
failing engine's exit code.`;

export const destroy: Command = {
  name: "destroy",
  summary: "destroy the deployed stacks in reverse order, behind a typed confirmation",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("destroy", argv, {
      engine: { type: "string" },
      stack: { type: "string" },
      yes: { type: "boolean" },
      confirm: { type: "string" },
      site: { type: "string" },
      out: { type: "string" },
      secrets: { type: "string" },
      "skip-ssh-check": { type: "boolean" },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    try {
      return await runDestroy(
        {
          engine: oneOf("destroy", "engine", values.engine as string | undefined, ["cdktf", "pulumi"] as const, "cdktf"),
          stack: values.stack as string | undefined,
          yes: values.yes === true,
          confirm: values.confirm as string | undefined,
          siteFile: (values.site as string | undefined) ?? "palisade.yaml",
          outDir: (values.out as string | undefined) ?? "out",
          secretsDir: (values.secrets as string | undefined) ?? DEFAULT_SECRETS_DIR,
          skipSshCheck: values["skip-ssh-check"] === true,
        },
        defaultOpsContext(),
      );
    } catch (e) {
      if (e instanceof OpsError) {
        console.error(e.message);
        return e.exitCode;
      }
      throw e;
    }
  },
};
