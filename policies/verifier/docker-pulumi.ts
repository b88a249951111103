import { arr, containerModel, hostModel, networkModel, str, type DockerArtifactProblem, type DockerHostModel } from "./docker-model.js";
import { addressingProblems } from "./docker-addressing.js";
import { PULUMI_KUBERNETES, PULUMI_STRUCTURE, PULUMI_TYPES, resourceProblems, snakeKeys, snakeName } from "./docker-schema.js";
import { parseJsonWithLines } from "./json-lines.js";

/*
 * Reads the offline Pulumi capture (`pulumi/<stack>.json`: every registered resource with its
 * inputs) into the Docker model. Inputs use the Pulumi SDK's camelCase names; this reader picks
 * them out, `networkModel`/`containerModel` (shared with the Terraform reader) build the model.
 * The same schema as Terraform's (docker-schema.ts, on the inputs renamed to snake_case) says
 * what is refused; a resource type it does not know (say a command:local:Command) is a problem.
 */

type Json = Record<string, unknown>;
interface Captured {
  readonly type: string;
  readonly name: string;
  readonly inputs: Json;
}

const NETWORK = "docker:index/network:Network";
const CONTAINER = "docker:index/container:Container";

export function dockerFromPulumi(path: string, text: string): DockerHostModel {
  const located = parseJsonWithLines(text);
  const doc = (located.value ?? {}) as { stack?: string; resources?: Captured[] };
  const host = doc.stack ?? /pulumi\/([^/]+)\.json$/.exec(path)?.[1] ?? path;
  const problems: DockerArtifactProblem[] = [];
  const problem = (pointer: readonly (string | number)[], message: string) => problems.push({ line: located.lineOf(pointer), message, construct: pointer.join(".") });
  if (!Array.isArray(doc.resources)) problem(["resources"], "the capture has no resources list");
  const resources = Array.isArray(doc.resources) ? doc.resources : [];
  const index = new Map(resources.map((r, i) => [r, i]));
  const dockerStack = resources.some((r) => r?.type === CONTAINER || r?.type === NETWORK);
  resources.forEach((r, i) => {
    const type = String(r?.type);
    const what = `${type}::${String(r?.name)}`;
    const tf = PULUMI_TYPES.get(type);
    if (tf) {
      const inputs = snakeKeys(r.inputs ?? {}) as Json;
      for (const p of resourceProblems(tf, inputs, ["resources", i, "inputs"], what)) problem(p.pointer.map((x, k) => (k > 2 && typeof x === "string" ? camelOf(r.inputs, p.pointer.slice(3, k + 1)) ?? x : x)), p.message);
    } else if (!PULUMI_STRUCTURE.test(type) && !(PULUMI_KUBERNETES.test(type) && !dockerStack)) problem(["resources", i, "type"], `resource type ${type} is not modelled by the verifier: refused`);
  });
  const lineOf = (r: Captured) => (field: string): number => {
    const i = index.get(r)!;
    const key = field ? camelOf(r.inputs, [field]) : undefined;
    return located.lineOf(key && r.inputs && key in r.inputs ? ["resources", i, "inputs", key] : ["resources", i, "inputs", "name"]);
  };
  const networks = resources
    .filter((r) => r.type === NETWORK)
    .map((r) => {
      const n = r.inputs ?? {};
      return networkModel({
        name: str(n.name, r.name),
        driver: n.driver,
        ipam: arr<Json>(n.ipamConfigs)[0] ?? {},
        internal: n.internal,
        options: n.options,
        labels: n.labels,
        construct: `${r.type}::${r.name}`,
      });
    });
  const containers = resources
    .filter((r) => r.type === CONTAINER)
    .map((r) => {
      const c = r.inputs ?? {};
      const caps = c.capabilities as Json | undefined;
      return containerModel({
        name: str(c.name, r.name),
        image: str(c.image),
        labels: c.labels,
        networkMode: c.networkMode,
        networks: arr<Json>(c.networksAdvanced).map((n) => ({ name: str(n.name), ipv4: n.ipv4Address, aliases: n.aliases })),
        ports: c.ports,
        privileged: c.privileged,
        pidMode: c.pidMode,
        ipcMode: c.ipcMode,
        capDrop: caps?.drops,
        capAdd: caps?.adds,
        securityOpts: c.securityOpts,
        readOnly: c.readOnly,
        user: c.user,
        memory: c.memory,
        ulimits: c.ulimits,
        healthcheckTest: (c.healthcheck as Json | undefined)?.tests,
        mounts: arr<Json>(c.mounts).map((m) => ({ type: m.type, source: m.source, target: m.target, readOnly: m.readOnly })),
        volumes: arr<Json>(c.volumes).map((v) => ({ hostPath: v.hostPath, volumeName: v.volumeName, containerPath: v.containerPath, readOnly: v.readOnly })),
        env: arr<unknown>(c.envs).map((e) => (typeof e === "string" ? e : JSON.stringify(e))),
        devices: arr<Json>(c.devices).map((d) => ({ hostPath: d.hostPath, containerPath: d.containerPath })),
        usernsMode: c.usernsMode,
        cgroupnsMode: c.cgroupnsMode,
        construct: `${r.type}::${r.name}`,
        lineOf: lineOf(r),
      });
    });
  const addressed = addressingProblems(
    resources.filter((r) => r.type === NETWORK).map((r) => {
      const n = r.inputs ?? {};
      const ipam = arr<Json>(n.ipamConfigs)[0] ?? {};
      return { name: str(n.name, r.name), subnet: str(ipam.subnet), gateway: str(ipam.gateway), subnetAt: ["resources", index.get(r)!, "inputs", "ipamConfigs", 0, "subnet"], gatewayAt: ["resources", index.get(r)!, "inputs", "ipamConfigs", 0, "gateway"] };
    }),
    resources.filter((r) => r.type === CONTAINER).flatMap((r) => {
      const c = r.inputs ?? {};
      return arr<Json>(c.networksAdvanced).map((n, i) => ({ container: str(c.name, r.name), network: str(n.name), ipv4: str(n.ipv4Address), at: ["resources", index.get(r)!, "inputs", "networksAdvanced", i, ...(n.ipv4Address === undefined ? [] : ["ipv4Address"])] }));
    }),
  );
  for (const p of addressed) problem(p.pointer, p.message);
  return hostModel(host, "pulumi", path, networks, containers, problems);
}

/** The capture's own (camelCase) key for a snake_case path below `inputs`, when it has one. */
function camelOf(inputs: unknown, snakePath: readonly (string | number)[]): string | undefined {
  let cur = inputs as Json | undefined;
  let key: string | undefined;
  for (const part of snakePath) {
    if (!cur || typeof cur !== "object") return undefined;
    if (typeof part === "number") {
      cur = (cur as unknown as unknown[])[part] as Json | undefined;
      key = undefined;
      continue;
    }
    key = Object.keys(cur).find((k) => snakeName(k) === part) ?? part;
    cur = cur[key] as Json | undefined;
  }
  return key;
}
