import { defaultOpsContext, destroy as runDestroy } from "../../stacks/ops/index.js";
import { parseOptions, printHelp, type Command } from "../cli-util.js";
import { ENGINE_RUN_OPTIONS, engineRunOptions, exitOnOpsError } from "../ops-cli.js";

const HELP = `palisade destroy [--engine cdktf|pulumi] [--stack S] [--yes --confirm SITE-NAME] [--site F] [--out D]

Removes what deploy created, in reverse order (secrets -> each site, last first -> edge), after the operator types
the site's name. Non-interactively it needs both --yes and --confirm with the site's name.
Same preconditions, secrets handling and failure report as deploy.

Options:
  --engine E         cdktf or pulumi (default: cdktf)
  --stack S          only this stack: edge, a site (cloud, or a site's id) or secrets
                     (default: all, in reverse order)
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
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("destroy", argv, { ...ENGINE_RUN_OPTIONS, confirm: { type: "string" } });
    if (values.help) return printHelp(HELP);
    return exitOnOpsError(() => runDestroy({ ...engineRunOptions("destroy", values), confirm: values.confirm as string | undefined }, defaultOpsContext()));
  },
};
