import { arr, bool, labelsOf, listensOf, num, str, type DockerContainerModel, type DockerHostModel, type DockerNetworkModel } from "./docker-model.js";

/*
 * Reads a cdktf-synthesized stack (`cdktf/stacks/<stack>/cdk.tf.json`) into the Docker model.
 * Terraform references (`${docker_network.X.name}`, `${docker_image.Y.image_id}`) are resolved
 * against the same file; an unresolvable reference stays as written (and then matches nothing).
 */

type Json = Record<string, unknown>;

export function dockerFromTerraform(path: string, text: string): DockerHostModel {
  const host = /cdktf\/stacks\/([^/]+)\/cdk\.tf\.json$/.exec(path)?.[1] ?? path;
  const doc = JSON.parse(text) as { resource?: Record<string, Record<string, Json>> };
  const res = doc.resource ?? {};
  const resolve = (v: unknown): string => {
    const s = str(v);
    const m = /^\$\{(docker_[a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/.exec(s);
    if (!m) return s;
    const r = res[m[1]!]?.[m[2]!];
    if (!r) return s;
    if (m[1] === "docker_image") return str(r.name, s);
    return str(r[m[3]!] ?? r.name, s);
  };
  const networks: DockerNetworkModel[] = Object.entries(res.docker_network ?? {}).map(([id, n]) => {
    const ipam = arr<Json>(n.ipam_config)[0] ?? {};
    const opts = (n.options ?? {}) as Record<string, unknown>;
    return {
      name: str(n.name, id),
      driver: str(n.driver, "bridge"),
      subnet: str(ipam.subnet),
      gateway: str(ipam.gateway),
      internal: bool(n.internal),
      bridge: str(opts["com.docker.network.bridge.name"]),
      masquerade: str(opts["com.docker.network.bridge.enable_ip_masquerade"], "true") !== "false",
      construct: `docker_network.${id}`,
    };
  });
  const containers: DockerContainerModel[] = Object.entries(res.docker_container ?? {}).map(([id, c]) => {
    const labels = labelsOf(c.labels);
    const caps = (c.capabilities ?? {}) as Json;
    const hc = c.healthcheck as Json | undefined;
    const mounts = [
      ...arr<Json>(c.mounts).map((m) => ({ type: str(m.type, "volume"), source: str(m.source), target: str(m.target), readOnly: bool(m.read_only) })),
      ...arr<Json>(c.volumes).map((v) => ({
        type: v.host_path ? "bind" : "volume",
        source: str(v.host_path ?? v.volume_name),
        target: str(v.container_path),
        readOnly: bool(v.read_only),
      })),
    ];
    return {
      name: str(c.name, id),
      service: labels["palisade.service"] ?? str(c.name, id),
      image: resolve(c.image),
      networkMode: str(c.network_mode, "bridge"),
      networks: arr<Json>(c.networks_advanced).map((n) => ({ network: resolve(n.name), ipv4: str(n.ipv4_address), aliases: arr<string>(n.aliases).map(String) })),
      ports: arr<Json>(c.ports).map((p) => ({ ip: str(p.ip), external: num(p.external) || num(p.internal), internal: num(p.internal), protocol: str(p.protocol, "tcp") === "udp" ? "udp" : "tcp" })),
      listens: listensOf(labels),
      labels,
      privileged: bool(c.privileged),
      pidMode: str(c.pid_mode),
      ipcMode: str(c.ipc_mode),
      capDrop: arr<string>(caps.drop).map(String),
      capAdd: arr<string>(caps.add).map(String),
      securityOpts: arr<string>(c.security_opts).map(String),
      readOnly: bool(c.read_only),
      user: str(c.user),
      memory: num(c.memory),
      ulimits: arr<Json>(c.ulimit).map((u) => ({ name: str(u.name), soft: num(u.soft), hard: num(u.hard) })),
      hasHealthcheck: !!hc && arr(hc.test).length > 0 && str(arr(hc.test)[0]) !== "NONE",
      mounts,
      env: arr<string>(c.env).map(String),
      construct: `docker_container.${id}`,
    };
  });
  networks.sort((a, b) => a.name.localeCompare(b.name));
  containers.sort((a, b) => a.name.localeCompare(b.name));
  return { host, engine: "cdktf", artifact: path, networks, containers };
}
