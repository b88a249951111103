import { defaultOpsContext, deploy as runDeploy } from "../../stacks/ops/index.js";
import { parseOptions, printHelp, type Command } from "../cli-util.js";
import { ENGINE_RUN_OPTIONS, engineRunOptions, exitOnOpsError } from "../ops-cli.js";

const HELP = `palisade deploy [--engine cdktf|pulumi] [--stack S] [--yes] [--site F] [--out D]

Plans (exactly as palisade plan, into D), refuses if the verifier finds a violation or a mandatory
finding, checks every precondition (the engine on PATH, the secrets in .palisade/secrets/, the
publicKeys in the site file, SSH to each Docker host), asks for confirmation, then applies the
stacks in order edge -> each site (cloud in the one-site form) -> secrets, streaming the engine's output.

Before each host's stack (the edge, each site) it installs that host's files over SSH: out/hosts/<host>/X
becomes /etc/palisade/X (where the containers' bind mounts read it), the host's private keys go to
/etc/palisade/secrets/ (0600), then the firewall is checked and loaded (nft -c, nft -f) and the
tunnel synced (wg syncconf, or wg-quick up). The script and the keys travel on ssh's stdin only.
Load the edge's firewall from an address in site.adminCidrs: it admits SSH only from there.

cdktf runs OpenTofu (preferred; state encrypted with the state passphrase) or Terraform; state is
kept in .palisade/state/. Secrets reach the engine only through its environment (TF_VAR_*,
PULUMI_CONFIG_PASSPHRASE) or stdin (pulumi config set --secret), never its command line or out/.

Options:
  --engine E         cdktf or pulumi (default: cdktf)
  --stack S          only this stack: edge, a site (cloud, or a site's id) or secrets
                     (default: all, in order)
  --yes              do not ask (required when stdin is not a terminal)
  --site F           the site file (default: palisade.yaml)
  --out D            the output directory (default: out/)
  --secrets D        the secrets directory (default: .palisade/secrets)
  --skip-ssh-check   do not check SSH to the Docker hosts (CI dry runs with stand-in engines)
  --skip-host-files  do not install host files and keys over SSH (you put them there another way)
  -h, --help         this text

Exit: 0 applied, 1 refused by the verifier or aborted, 2 a precondition is missing (the message
says which and the fix), otherwise the failing engine's exit code (the message says which stack
failed and which were already applied).`;

export const deploy: Command = {
  name: "deploy",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("deploy", argv, { ...ENGINE_RUN_OPTIONS, "skip-host-files": { type: "boolean" } });
    if (values.help) return printHelp(HELP);
    const opts = { ...engineRunOptions("deploy", values), skipHostFiles: values["skip-host-files"] === true };
    return exitOnOpsError(() => runDeploy(opts, defaultOpsContext()));
  },
};
