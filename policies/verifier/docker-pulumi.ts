import { arr, bool, labelsOf, listensOf, num, str, type DockerContainerModel, type DockerHostModel, type DockerNetworkModel } from "./docker-model.js";

/*
 * Reads the offline Pulumi capture (`pulumi/<stack>.json`: every registered resource with its
 * inputs) into the Docker model. Inputs use the Pulumi SDK's camelCase names.
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
  const networks: DockerNetworkModel[] = resources
    .filter((r) => r.type === NETWORK)
    .map((r) => {
      const n = r.inputs ?? {};
      const ipam = arr<Json>(n.ipamConfigs)[0] ?? {};
      const opts = (n.options ?? {}) as Record<string, unknown>;
      return {
        name: str(n.name, r.name),
        driver: str(n.driver, "bridge"),
        subnet: str(ipam.subnet),
        gateway: str(ipam.gateway),
        internal: bool(n.internal),
        bridge: str(opts["com.docker.network.bridge.name"]),
        masquerade: str(opts["com.docker.network.bridge.enable_ip_masquerade"], "true") !== "false",
        construct: `${r.type}::${r.name}`,
      };
    });
  const containers: DockerContainerModel[] = resources
    .filter((r) => r.type === CONTAINER)
    .map((r) => {
      const c = r.inputs ?? {};
      const labels = labelsOf(c.labels);
      const caps = (c.capabilities ?? {}) as Json;
      const hc = c.healthcheck as Json | undefined;
      const mounts = [
        ...arr<Json>(c.mounts).map((m) => ({ type: str(m.type, "volume"), source: str(m.source), target: str(m.target), readOnly: bool(m.readOnly) })),
        ...arr<Json>(c.volumes).map((v) => ({
          type: v.hostPath ? "bind" : "volume",
          source: str(v.hostPath ?? v.volumeName),
          target: str(v.containerPath),
          readOnly: bool(v.readOnly),
        })),
      ];
      return {
        name: str(c.name, r.name),
        service: labels["palisade.service"] ?? str(c.name, r.name),
        image: str(c.image),
        networkMode: str(c.networkMode, "bridge"),
        networks: arr<Json>(c.networksAdvanced).map((n) => ({ network: str(n.name), ipv4: str(n.ipv4Address), aliases: arr<string>(n.aliases).map(String) })),
        ports: arr<Json>(c.ports).map((p) => ({ ip: str(p.ip), external: num(p.external) || num(p.internal), internal: num(p.internal), protocol: str(p.protocol, "tcp") === "udp" ? "udp" : "tcp" })),
        listens: listensOf(labels),
        labels,
        privileged: bool(c.privileged),
        pidMode: str(c.pidMode),
        ipcMode: str(c.ipcMode),
        capDrop: arr<string>(caps.drops).map(String),
        capAdd: arr<string>(caps.adds).map(String),
        securityOpts: arr<string>(c.securityOpts).map(String),
        readOnly: bool(c.readOnly),
        user: str(c.user),
        memory: num(c.memory),
        ulimits: arr<Json>(c.ulimits).map((u) => ({ name: str(u.name), soft: num(u.soft), hard: num(u.hard) })),
        hasHealthcheck: !!hc && arr(hc.tests).length > 0 && str(arr(hc.tests)[0]) !== "NONE",
        mounts,
        env: arr<unknown>(c.envs).map((e) => (typeof e === "string" ? e : JSON.stringify(e))),
        construct: `${r.type}::${r.name}`,
      };
    });
  networks.sort((a, b) => a.name.localeCompare(b.name));
  containers.sort((a, b) => a.name.localeCompare(b.name));
  return { host, engine: "pulumi", artifact: path, networks, containers };
}
