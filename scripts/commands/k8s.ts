import {
  connectivity,
  diffConnectivity,
  DIFF_FORMATS,
  formatDiff,
  formatList,
  K8sManifestError,
  LIST_FORMATS,
  loadManifestDir,
} from "../../policies/verifier/k8s/index.js";
import { oneOf, parseOptions, printHelp, UsageError, type Command } from "../cli-util.js";

const HELP = `palisade k8s list --dir D [-o txt|csv|md|json]
palisade k8s diff --dir1 A --dir2 B [-o txt|csv|md]

A NetworkPolicy analyzer for any directory of Kubernetes manifests (.yaml, .yml, .json, many
documents per file, kind: List too), in the output formats of np-guard's netpol-analyzer, so the
two can be compared line by line.

  list   every allowed connection: src => dst : connections, where a peer is a workload
         (ns/name[Deployment]), an external IPv4 range (0.0.0.0-255.255.255.255[External]) or
         {ingress-controller} (the controller behind the Ingress objects)
  diff   the connections of dir2 against dir1: diff-type changed, added, removed

It reads the workloads (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
ReplicationController), NetworkPolicy, Service, Ingress and Namespace (labels) objects; other
kinds that cannot change pod connectivity are ignored with a warning; kinds that can but are not
modelled (AdminNetworkPolicy, Calico/Cilium policies, Routes, Gateway API) are an error. A JSON
file that is a rendered stack (cdktf's cdk.tf.json, a Pulumi capture) contributes its Kubernetes objects.

Options:
  --dir D             the manifests to list
  --dir1 A, --dir2 B  the two manifest sets to compare
  -o, --output F      the format: txt (default), csv, md, json (list only)
  -h, --help          this text

Exit: list 0; diff 0 same, 1 differs; 2 bad input (a manifest the API server would reject or
the analyzer does not model, with its file, object, path, value, what was expected, the fix).`;

function warn(warnings: readonly string[]): void {
  for (const w of warnings) console.error(`warning: ${w}`);
}

function print(text: string): void {
  if (text) console.log(text);
}

export const k8s: Command = {
  name: "k8s",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOptions(
      "k8s",
      argv,
      { dir: { type: "string" }, dir1: { type: "string" }, dir2: { type: "string" }, output: { type: "string", short: "o" } },
      true,
    );
    if (values.help) return printHelp(HELP);
    const [action, ...extra] = positionals;
    if (extra.length) throw new UsageError(`palisade k8s: unexpected argument ${JSON.stringify(extra[0])}; see palisade k8s --help`);
    try {
      switch (action) {
        case "list": {
          const format = oneOf("k8s list", "output", values.output as string | undefined, LIST_FORMATS, "txt");
          if (!values.dir) throw new UsageError("palisade k8s list: --dir D is required; see palisade k8s --help");
          const result = connectivity(loadManifestDir(values.dir as string));
          warn(result.warnings);
          print(formatList(result.connections, format));
          return 0;
        }
        case "diff": {
          const format = oneOf("k8s diff", "output", values.output as string | undefined, DIFF_FORMATS, "txt");
          if (!values.dir1 || !values.dir2) throw new UsageError("palisade k8s diff: --dir1 A and --dir2 B are required; see palisade k8s --help");
          const d = diffConnectivity(loadManifestDir(values.dir1 as string), loadManifestDir(values.dir2 as string));
          warn(d.warnings);
          if (d.lines.length === 0) console.error("No connections diff");
          print(formatDiff(d, format));
          return d.lines.length ? 1 : 0;
        }
        default:
          throw new UsageError(`palisade k8s: expected list or diff, got ${action === undefined ? "nothing" : JSON.stringify(action)}; see palisade k8s --help`);
      }
    } catch (e) {
      if (e instanceof K8sManifestError) {
        console.error(e.format());
        return 2;
      }
      throw e;
    }
  },
};
