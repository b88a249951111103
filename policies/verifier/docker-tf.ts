import { arr, containerModel, hostModel, networkModel, str, type DockerHostModel } from "./docker-model.js";

/*
 * Reads a cdktf-synthesized stack (`cdktf/stacks/<stack>/cdk.tf.json`) into the Docker model.
 * Terraform references (`${docker_network.X.name}`, `${docker_image.Y.image_id}`) are resolved
 * against the same file; an unresolvable reference stays as written (and then matches nothing).
 * This reader picks out the provider's snake_case fields; `networkModel`/`containerModel` (shared
 * with the Pulumi reader) build the model.
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
  const networks = Object.entries(res.docker_network ?? {}).map(([id, n]) =>
    networkModel({
      name: str(n.name, id),
      driver: n.driver,
      ipam: arr<Json>(n.ipam_config)[0] ?? {},
      internal: n.internal,
      options: n.options,
      labels: n.labels,
      construct: `docker_network.${id}`,
    }),
  );
  const containers = Object.entries(res.docker_container ?? {}).map(([id, c]) => {
    const caps = c.capabilities as Json | undefined;
    return containerModel({
      name: str(c.name, id),
      image: resolve(c.image),
      labels: c.labels,
      networkMode: c.network_mode,
      networks: arr<Json>(c.networks_advanced).map((n) => ({ name: resolve(n.name), ipv4: n.ipv4_address, aliases: n.aliases })),
      ports: c.ports,
      privileged: c.privileged,
      pidMode: c.pid_mode,
      ipcMode: c.ipc_mode,
      capDrop: caps?.drop,
      capAdd: caps?.add,
      securityOpts: c.security_opts,
      readOnly: c.read_only,
      user: c.user,
      memory: c.memory,
      ulimits: c.ulimit,
      healthcheckTest: (c.healthcheck as Json | undefined)?.test,
      mounts: arr<Json>(c.mounts).map((m) => ({ type: m.type, source: m.source, target: m.target, readOnly: m.read_only })),
      volumes: arr<Json>(c.volumes).map((v) => ({ hostPath: v.host_path, volumeName: v.volume_name, containerPath: v.container_path, readOnly: v.read_only })),
      env: arr<string>(c.env).map(String),
      construct: `docker_container.${id}`,
    });
  });
  return hostModel(host, "cdktf", path, networks, containers);
}
