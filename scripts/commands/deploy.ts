import { DEFAULT_SECRETS_DIR, defaultOpsContext, deploy as runDeploy, OpsError } from "../../stacks/ops/index.js";
import { oneOf, parseOptions, type Command } from "../cli-util.js";

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
    const { values } = parseOptions("deploy", argv, {
      engine: { type: "string" },
      stack: { type: "string" },
      yes: { type: "boolean" },
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
      return await runDeploy(
        {
          engine: oneOf("deploy", "engine", values.engine as string | undefined, ["cdktf", "pulumi"] as const, "cdktf"),
          stack: values.stack as string | undefined,
          yes: values.yes === true,
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
