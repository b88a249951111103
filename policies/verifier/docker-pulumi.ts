import { arr, containerModel, hostModel, networkModel, str, type DockerHostModel } from "./docker-model.js";

/*
 * Reads the offline Pulumi capture (`pulumi/<stack>.json`: every registered resource with its
 * inputs) into the Docker model. Inputs use the Pulumi SDK's camelCase names; this reader picks
 * them out, `networkModel`/`containerModel` (shared with the Terraform reader) build the model.
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
  const doc = JSON.parse(text) as { stack?: string; resources?: Captured[] };
  const host = doc.stack ?? /pulumi\/([^/]+)\.json$/.exec(path)?.[1] ?? path;
  const resources = doc.resources ?? [];
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
        construct: `${r.type}::${r.name}`,
      });
    });
  return hostModel(host, "pulumi", path, networks, containers);
}
