import { loadSite } from "../../core/index.js";
import { DEFAULT_SECRETS_DIR, ensureKeys, publicKeysYaml } from "../../stacks/ops/index.js";
import { parseOptions, printHelp, type Command } from "../cli-util.js";
import { exitOnOpsError } from "../ops-cli.js";

const HELP = `palisade keys [--site F] [--dir D] [--rotate NAME]...

Creates every key the site needs in D (default .palisade/secrets/; directory 0700, files 0600,
git-ignored): WireGuard key pairs of the edge and of each private-cloud site (the cloud, or each entry of sites), the DKIM key (edge.mail.dkimAlgorithm),
the TSIG key for zone transfers (knot-tsig.conf, a Knot include file), the OpenTofu state
passphrase, the Pulumi passphrase and the engines' secrets (database passwords, ...).

An existing key is never overwritten. --rotate NAME replaces one, keeping the old value as
NAME.previous until a deploy that replaces it succeeds.

Prints only public halves (stdout): the publicKeys section to paste into the site file, and on a
platform of several sites each site's key with its field (sites[i].publicKey);
what was created or kept goes to stderr.

Options:
  --site F        the site file (default: palisade.yaml)
  --dir D         the secrets directory (default: .palisade/secrets)
  --rotate NAME   replace this key (repeatable): wireguard-edge, wireguard-cloud (or a site's
                  keyFile, wireguard-<id>), dkim, tsig,
                  state-passphrase, or an engine secret such as postgres-superuser-password
  -h, --help      this text

Exit: 0 ok, 2 bad input.`;

export const keys: Command = {
  name: "keys",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("keys", argv, {
      site: { type: "string" },
      dir: { type: "string" },
      rotate: { type: "string", multiple: true },
    });
    if (values.help) return printHelp(HELP);
    const site = loadSite((values.site as string | undefined) ?? "palisade.yaml");
    const dir = (values.dir as string | undefined) ?? DEFAULT_SECRETS_DIR;
    return exitOnOpsError(() => {
      const r = ensureKeys(site, dir, { rotate: (values.rotate as string[] | undefined) ?? [] });
      for (const k of r.created) console.error(`created  ${dir}/${k.file}  (${k.purpose})`);
      for (const k of r.rotated) console.error(`rotated  ${dir}/${k.file}  (old value kept as ${k.file}.previous until a deploy succeeds)`);
      if (r.created.length + r.rotated.length === 0) console.error(`all ${r.kept.length} keys already exist in ${dir}/ (nothing overwritten)`);
      for (const n of r.notes) console.error(`note: ${n}`);
      console.log(publicKeysYaml(r.publicKeys).trimEnd());
      return 0;
    });
  },
};
