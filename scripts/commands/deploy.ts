import { defaultOpsContext, deploy as runDeploy } from "../../stacks/ops/index.js";
import { parseOptions, printHelp, type Command } from "../cli-util.js";
import { ENGINE_RUN_OPTIONS, engineRunOptions, exitOnOpsError } from "../ops-cli.js";

const HELP = `palisade deploy [--engine cdktf|pulumi] [--stack S] [--yes] [--site F] [--out D]

Plans (exactly as palisade plan, into D), refuses if the verifier finds a violation or a mandatory
finding, checks every precondition (the engine on PATH, the secrets in .palisade/secrets/, the
publicKeys in the site file, SSH to each Docker host), asks for confirmation, then applies the
stacks in order edge -> cloud -> secrets, streaming the engine's output.

cdktf runs OpenTofu (preferred; state encrypted with the state passphrase) or Terraform; state is
kept in .palisade/state/. Secrets reach the engine only through its environment (TF_VAR_*,
PULUMI_CONFIG_PASSPHRASE) or stdin (pulumi config set --secret), never its command line or out/.

Options:
  --engine E         cdktf or pulumi (default: cdktf)
  --stack S          only this stack: edge, cloud or secrets (default: all, in order)
  --yes              do not ask (required when stdin is not a terminal)
  --site F           the site file (default: palisade.yaml)
  --out D            the output directory (default: out/)
  --secrets D        the secrets directory (default: .palisade/secrets)
  --skip-ssh-check   do not check SSH to the Docker hosts (CI dry runs with stand-in engines)
  -h, --help         this text

Exit: 0 applied, 1 refused by the verifier or aborted, 2 a precondition is missing (the message
says which and the fix), otherwise the failing engine's exit code (the message says which stack
failed and which were already applied).`;

export const deploy: Command = {
  name: "deploy",
  summary: "plan, refuse on violations, then apply the stacks with tofu/terraform or pulumi",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("deploy", argv, ENGINE_RUN_OPTIONS);
    if (values.help) return printHelp(HELP);
    return exitOnOpsError(() => runDeploy(engineRunOptions("deploy", values), defaultOpsContext()));
  },
};
