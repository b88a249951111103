import { arr, containerModel, hostModel, networkModel, str, type DockerArtifactProblem, type DockerHostModel } from "./docker-model.js";
import { addressingProblems } from "./docker-addressing.js";
import { resourceProblems, TF_KUBERNETES, TF_OTHER_STACK_TYPES, TF_TYPES } from "./docker-schema.js";
import { parseJsonWithLines } from "./json-lines.js";

/*
 * Reads a cdktf-synthesized stack (`cdktf/stacks/<stack>/cdk.tf.json`) into the Docker model.
 * Terraform references (`${docker_network.X.name}`, `${docker_image.Y.image_id}`) are resolved
 * against the same file; an unresolvable reference stays as written (and then matches nothing).
 * This reader picks out the provider's snake_case fields; `networkModel`/`containerModel` (shared
 * with the Pulumi reader) build the model. What docker-schema.ts does not know (a resource type, a
 * field, a provisioner, a data source or module) is a problem with its line.
 */

type Json = Record<string, unknown>;

const TOP_LEVEL = new Set(["//", "provider", "resource", "terraform", "variable", "output", "locals"]);

/** The line of a resource's field (or of the resource when it has no such field). */
function fieldLine(lineOf: (p: readonly (string | number)[]) => number, base: readonly (string | number)[], raw: Json): (field: string) => number {
  return (field) => lineOf(field && field in raw ? [...base, field] : base);
}

export function dockerFromTerraform(path: string, text: string): DockerHostModel {
  const host = /cdktf\/stacks\/([^/]+)\/cdk\.tf\.json$/.exec(path)?.[1] ?? path;
  const located = parseJsonWithLines(text);
  const doc = (located.value ?? {}) as { resource?: Record<string, Record<string, Json>> } & Json;
  const problems: DockerArtifactProblem[] = [];
  const problem = (pointer: readonly (string | number)[], message: string) => problems.push({ line: located.lineOf(pointer), message, construct: pointer.join(".") });
  if (typeof doc !== "object" || Array.isArray(doc)) problem([], "the file is not a JSON object");
  for (const k of Object.keys(doc)) {
    if (!TOP_LEVEL.has(k)) problem([k], `top-level ${k} is not modelled (data sources and modules run or read what the verifier cannot see): refused`);
  }
  const res = doc.resource ?? {};
  const dockerStack = !!(res.docker_container || res.docker_network);
  for (const [type, byId] of Object.entries(res)) {
    if (TF_KUBERNETES.test(type) && !dockerStack) continue;
    for (const [id, raw] of Object.entries(byId ?? {})) {
      const what = `${type}.${id}`;
      if (TF_TYPES.has(type)) for (const p of resourceProblems(type, raw, ["resource", type, id], what)) problem(p.pointer, p.message);
      else if (!TF_OTHER_STACK_TYPES.test(type)) problem(["resource", type, id], `resource type ${type} is not modelled by the verifier: refused`);
      else if (raw && typeof raw === "object" && ("provisioner" in raw || "connection" in raw)) problem(["resource", type, id], `${what} has a provisioner: refused`);
    }
  }
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
      devices: arr<Json>(c.devices).map((d) => ({ hostPath: d.host_path, containerPath: d.container_path })),
      usernsMode: c.userns_mode,
      cgroupnsMode: c.cgroupns_mode,
      construct: `docker_container.${id}`,
      lineOf: fieldLine(located.lineOf, ["resource", "docker_container", id], c),
    });
  });
  const addressed = addressingProblems(
    Object.entries(res.docker_network ?? {}).map(([id, n]) => {
      const ipam = arr<Json>(n.ipam_config)[0] ?? {};
      return { name: str(n.name, id), subnet: str(ipam.subnet), gateway: str(ipam.gateway), subnetAt: ["resource", "docker_network", id, "ipam_config", 0, "subnet"], gatewayAt: ["resource", "docker_network", id, "ipam_config", 0, "gateway"] };
    }),
    Object.entries(res.docker_container ?? {}).flatMap(([id, c]) => arr<Json>(c.networks_advanced).map((n, i) => ({ container: str(c.name, id), network: resolve(n.name), ipv4: str(n.ipv4_address), at: ["resource", "docker_container", id, "networks_advanced", i, ...(n.ipv4_address === undefined ? [] : ["ipv4_address"])] }))),
  );
  for (const p of addressed) problem(p.pointer, p.message);
  return hostModel(host, "cdktf", path, networks, containers, problems);
}
