/**
 * The lab's applier: a STAND-IN for `terraform apply` (cdktf's cdk.tf.json with the kreuzwerker
 * docker provider) and `pulumi up` (the Pulumi capture), neither of which can run here (no provider
 * registry, no Pulumi CLI). It applies the rendered cloud stack, read from the artifact, to the
 * lab's dockerd through the Docker Engine API, in the kreuzwerker provider's order: images,
 * volumes and networks; then per container: create (attached to the default `bridge`), disconnect
 * from `bridge`, connect each `networks_advanced` entry with its address and aliases, start.
 *
 * Every field of every resource is either mapped to the Engine API or refused: `applyPlanFrom*`
 * throws naming the resource and the field, so nothing an artifact says is silently dropped.
 * References are resolved here: `${docker_image.X.image_id}`, `${docker_network.X.name}`,
 * `${docker_volume.X.name}` and `${var.X}` (the lab's own value for each variable; Pulumi's
 * `[secret]` placeholders likewise).
 */
import type { DockerApi } from "./engine.js";

export interface ApplyNetwork {
  readonly resource: string;
  readonly name: string;
  readonly driver: string;
  readonly internal: boolean;
  readonly ipam: readonly { readonly subnet: string; readonly gateway?: string }[];
  readonly options: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ApplyMount {
  readonly type: "bind" | "volume" | "tmpfs";
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface ApplyContainer {
  readonly resource: string;
  readonly name: string;
  /** The image reference as the artifact names it (`haproxy:2.8`). */
  readonly image: string;
  /** The engine API's body for `POST /containers/create`, complete except for the networks. */
  readonly create: Record<string, unknown>;
  readonly networkMode: string;
  readonly networks: readonly { readonly name: string; readonly ipv4: string; readonly aliases: readonly string[] }[];
  readonly mounts: readonly ApplyMount[];
  readonly labels: Readonly<Record<string, string>>;
  readonly dependsOn: readonly string[];
}

/** A cloud stack as the applier reads it from one engine's artifact. */
export interface ApplyPlan {
  /** Which artifact: `cdktf/stacks/cloud/cdk.tf.json` or `pulumi/cloud.json`. */
  readonly source: string;
  readonly images: readonly { readonly resource: string; readonly name: string }[];
  readonly volumes: readonly { readonly resource: string; readonly name: string }[];
  readonly networks: readonly ApplyNetwork[];
  readonly containers: readonly ApplyContainer[];
  /** Variables the artifact references (`${var.X}`, or Pulumi's `[secret]` per container and env name). */
  readonly variables: readonly string[];
}

export class ApplyError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads one resource's fields: every field must be taken (or explicitly ignored) before `done()`. */
class Fields {
  private readonly seen = new Set<string>();
  constructor(
    private readonly where: string,
    private readonly obj: Obj,
  ) {}
  take(name: string): unknown {
    this.seen.add(name);
    return this.obj[name];
  }
  str(name: string, d?: string): string {
    const v = this.take(name);
    if (v === undefined && d !== undefined) return d;
    if (typeof v !== "string") throw new ApplyError(`${this.where}: field ${name} must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
  bool(name: string, d = false): boolean {
    const v = this.take(name);
    if (v === undefined) return d;
    if (typeof v !== "boolean") throw new ApplyError(`${this.where}: field ${name} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  list(name: string): unknown[] {
    const v = this.take(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new ApplyError(`${this.where}: field ${name} must be a list, got ${JSON.stringify(v)}`);
    return v;
  }
  map(name: string): Obj {
    const v = this.take(name);
    if (v === undefined) return {};
    if (!isObj(v)) throw new ApplyError(`${this.where}: field ${name} must be an object, got ${JSON.stringify(v)}`);
    return v;
  }
  /** Throws on the first field not taken: the applier maps no such field, and would drop it. */
  done(): void {
    for (const k of Object.keys(this.obj).sort()) {
      if (!this.seen.has(k)) throw new ApplyError(`${this.where}: field ${k} is not mapped by the lab's applier (a stand-in for terraform apply / pulumi up); refusing to drop it silently`);
    }
  }
}

/** `[{label, value}]` (both engines) as a map. */
function labelMap(where: string, list: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, l] of list.entries()) {
    if (!isObj(l)) throw new ApplyError(`${where}: labels[${i}] must be {label, value}`);
    const f = new Fields(`${where} labels[${i}]`, l);
    out[f.str("label")] = f.str("value");
    f.done();
  }
  return out;
}

/** Go-style durations as the providers accept them (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function durationNs(where: string, text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (!text || consumed !== text.length) throw new ApplyError(`${where}: duration ${JSON.stringify(text)} is not like 30s, 1m30s or 500ms`);
  return Math.round(total);
}

/**
 * Names as the applier maps them, per engine: Terraform's snake_case is the reference; the Pulumi
 * capture's camelCase (and its plural list names) is renamed to it first, field by field.
 */
const PULUMI_RENAMES: Record<string, string> = {
  envs: "env",
  adds: "add",
  drops: "drop",
  tests: "test",
  ulimits: "ulimit",
  ipamConfigs: "ipam_config",
  networksAdvanced: "networks_advanced",
  ipv4Address: "ipv4_address",
  readOnly: "read_only",
  logDriver: "log_driver",
  logOpts: "log_opts",
  networkMode: "network_mode",
  securityOpts: "security_opts",
  keepLocally: "keep_locally",
  startPeriod: "start_period",
  dependsOn: "depends_on",
};

/** Renames object keys (recursively; not inside maps whose keys are data: labels, options, tmpfs, log opts, env). */
function renameKeys(v: unknown, dataMap = false): unknown {
  if (Array.isArray(v)) return v.map((x) => renameKeys(x));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    const nk = dataMap ? k : PULUMI_RENAMES[k] ?? k;
    out[nk] = renameKeys(x, ["options", "tmpfs", "log_opts"].includes(nk) && !dataMap);
  }
  return out;
}

interface Resolver {
  image(ref: string, where: string): string;
  network(ref: string, where: string): string;
  volume(ref: string, where: string): string;
  /** An env entry: `${var.X}` substituted, or a Pulumi `[secret]`. Records the variable. */
  env(entry: string, container: string, where: string): string;
}

function containerOf(where: string, name: string, r: Obj, res: Resolver, engine: "terraform" | "pulumi"): ApplyContainer {
  const f = new Fields(where, r);
  if (engine === "terraform") f.take("//");
  const cname = f.str("name");
  const image = res.image(f.str("image"), `${where} image`);
  const hostConfig: Obj = {};
  const config: Obj = { Image: image };
  const labels = labelMap(where, f.list("labels"));
  config.Labels = labels;
  const cmd = f.take("command");
  if (cmd !== undefined) config.Cmd = cmd;
  const ep = f.take("entrypoint");
  if (ep !== undefined) config.Entrypoint = ep;
  config.Env = f.list("env").map((e, i) => {
    if (typeof e !== "string") throw new ApplyError(`${where}: env[${i}] must be a string`);
    return res.env(e, cname, `${where} env[${i}]`);
  });
  const user = f.take("user");
  if (user !== undefined) config.User = String(user);
  const wd = f.take("working_dir");
  if (wd !== undefined) config.WorkingDir = String(wd);
  hostConfig.ReadonlyRootfs = f.bool("read_only");
  hostConfig.Privileged = f.bool("privileged");
  const caps = new Fields(`${where} capabilities`, f.map("capabilities"));
  hostConfig.CapAdd = caps.list("add");
  hostConfig.CapDrop = caps.list("drop");
  caps.done();
  hostConfig.SecurityOpt = f.list("security_opts");
  hostConfig.Tmpfs = f.map("tmpfs");
  hostConfig.Ulimits = f.list("ulimit").map((u, i) => {
    const uf = new Fields(`${where} ulimit[${i}]`, u as Obj);
    const out = { Name: uf.str("name"), Soft: uf.take("soft"), Hard: uf.take("hard") };
    uf.done();
    return out;
  });
  const memory = f.take("memory");
  if (memory !== undefined) {
    if (typeof memory !== "number" || memory < 0) throw new ApplyError(`${where}: field memory must be a number of MB, got ${JSON.stringify(memory)}`);
    // The providers take megabytes; the engine takes bytes.
    hostConfig.Memory = memory * 1024 * 1024;
  }
  const restart = f.take("restart");
  if (restart !== undefined) hostConfig.RestartPolicy = { Name: String(restart) };
  const logDriver = f.take("log_driver");
  const logOpts = f.map("log_opts");
  if (logDriver !== undefined) hostConfig.LogConfig = { Type: String(logDriver), Config: logOpts };
  const networkMode = f.str("network_mode", "bridge");
  hostConfig.NetworkMode = networkMode;
  for (const k of ["pid_mode", "ipc_mode"] as const) {
    const v = f.take(k);
    if (v !== undefined) hostConfig[k === "pid_mode" ? "PidMode" : "IpcMode"] = String(v);
  }
  const hc = f.take("healthcheck");
  if (hc !== undefined) {
    const h = new Fields(`${where} healthcheck`, hc as Obj);
    const test = h.list("test");
    const out: Obj = { Test: test };
    for (const [k, api] of [["interval", "Interval"], ["timeout", "Timeout"], ["start_period", "StartPeriod"]] as const) {
      const v = h.take(k);
      if (v !== undefined) out[api] = durationNs(`${where} healthcheck.${k}`, String(v));
    }
    const retries = h.take("retries");
    if (retries !== undefined) out.Retries = retries;
    h.done();
    config.Healthcheck = out;
  }
  const mounts: ApplyMount[] = f.list("mounts").map((m, i) => {
    const mf = new Fields(`${where} mounts[${i}]`, m as Obj);
    const type = mf.str("type");
    if (!["bind", "volume", "tmpfs"].includes(type)) throw new ApplyError(`${where} mounts[${i}]: type ${type} is not mapped (bind, volume, tmpfs)`);
    const source = type === "volume" ? res.volume(mf.str("source"), `${where} mounts[${i}]`) : mf.str("source", "");
    const out: ApplyMount = { type: type as ApplyMount["type"], source, target: mf.str("target"), readOnly: mf.bool("read_only") };
    mf.done();
    return out;
  });
  const ports = f.list("ports").map((p, i) => {
    const pf = new Fields(`${where} ports[${i}]`, p as Obj);
    const out = { ip: pf.str("ip", ""), external: Number(pf.take("external")), internal: Number(pf.take("internal")), protocol: pf.str("protocol", "tcp") };
    pf.done();
    if (!Number.isInteger(out.internal) || out.internal <= 0) throw new ApplyError(`${where} ports[${i}]: internal must be a port number`);
    return out;
  });
  const exposed: Obj = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const key = `${p.internal}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.ip, HostPort: Number.isInteger(p.external) && p.external > 0 ? String(p.external) : "" });
  }
  config.ExposedPorts = exposed;
  hostConfig.PortBindings = bindings;
  const networks = f.list("networks_advanced").map((n, i) => {
    const nf = new Fields(`${where} networks_advanced[${i}]`, n as Obj);
    const out = { name: res.network(nf.str("name"), `${where} networks_advanced[${i}]`), ipv4: nf.str("ipv4_address", ""), aliases: nf.list("aliases").map(String) };
    nf.done();
    return out;
  });
  const dependsOn = engine === "terraform" ? f.list("depends_on").map(String) : [];
  f.done();
  void name;
  return { resource: where, name: cname, image, create: { ...config, HostConfig: hostConfig }, networkMode, networks, mounts, labels, dependsOn };
}

function networkOf(where: string, r: Obj, engine: "terraform" | "pulumi"): ApplyNetwork {
  const f = new Fields(where, r);
  if (engine === "terraform") f.take("//");
  const ipam = f.list("ipam_config").map((c, i) => {
    const cf = new Fields(`${where} ipam_config[${i}]`, c as Obj);
    const out = { subnet: cf.str("subnet"), gateway: cf.take("gateway") as string | undefined };
    cf.done();
    return out;
  });
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.map("options"))) options[k] = String(v);
  const out: ApplyNetwork = { resource: where, name: f.str("name"), driver: f.str("driver", "bridge"), internal: f.bool("internal"), ipam, options, labels: labelMap(where, f.list("labels")) };
  f.done();
  return out;
}

function simpleNamed(where: string, r: Obj, engine: "terraform" | "pulumi", ignore: readonly string[]): string {
  const f = new Fields(where, r);
  if (engine === "terraform") f.take("//");
  for (const k of ignore) f.take(k);
  const name = f.str("name");
  f.done();
  return name;
}

const TF_STACK = "cdktf/stacks/cloud/cdk.tf.json";
const PULUMI_STACK = "pulumi/cloud.json";

/** The cloud stack from cdktf's Terraform JSON. `keep_locally` is taken: the lab never pulls nor removes images. */
export function applyPlanFromTerraform(json: unknown, source = TF_STACK): ApplyPlan {
  if (!isObj(json)) throw new ApplyError(`${source}: not a JSON object`);
  const top = new Fields(source, json);
  for (const k of ["//", "terraform", "provider", "variable"]) top.take(k);
  const resources = top.map("resource");
  top.done();
  const variables = new Set<string>();
  const known = new Set(["docker_image", "docker_volume", "docker_network", "docker_container"]);
  for (const t of Object.keys(resources)) if (!known.has(t)) throw new ApplyError(`${source}: resource type ${t} is not mapped by the lab's applier (docker_image, docker_volume, docker_network, docker_container)`);
  const of = (t: string) => Object.entries((resources[t] as Record<string, Obj> | undefined) ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const images = of("docker_image").map(([id, r]) => ({ resource: `docker_image.${id}`, name: simpleNamed(`${source} docker_image.${id}`, r, "terraform", ["keep_locally"]) }));
  const volumes = of("docker_volume").map(([id, r]) => ({ resource: `docker_volume.${id}`, name: simpleNamed(`${source} docker_volume.${id}`, r, "terraform", []) }));
  const networks = of("docker_network").map(([id, r]) => ({ ...networkOf(`${source} docker_network.${id}`, r, "terraform"), resource: `docker_network.${id}` }));
  const ref = (kind: string, list: readonly { resource: string; name: string }[], attr: string) => (text: string, where: string) => {
    const m = /^\$\{([a-z_]+\.[A-Za-z0-9_-]+)\.([a-z_]+)\}$/.exec(text);
    if (!m) return text;
    const hit = list.find((x) => x.resource === m[1]);
    if (!hit || m[2] !== attr) throw new ApplyError(`${where}: reference ${text} does not name a ${kind} of this stack (expected \${${kind}.ID.${attr}})`);
    return hit.name;
  };
  const res: Resolver = {
    image: ref("docker_image", images, "image_id"),
    network: ref("docker_network", networks, "name"),
    volume: ref("docker_volume", volumes, "name"),
    env: (entry, _c, where) =>
      entry.replace(/\$\{([^}]*)\}/g, (all, inner: string) => {
        const m = /^var\.([A-Za-z0-9_]+)$/.exec(inner);
        if (!m) throw new ApplyError(`${where}: interpolation ${all} is not mapped (only \${var.NAME})`);
        variables.add(m[1]!);
        return `\u0000var:${m[1]}\u0000`;
      }),
  };
  const containers = of("docker_container").map(([id, r]) => ({ ...containerOf(`${source} docker_container.${id}`, id, r, res, "terraform"), resource: `docker_container.${id}` }));
  return { source, images, volumes, networks, containers, variables: [...variables].sort() };
}

/** The cloud stack from the Pulumi capture (resources with their inputs). */
export function applyPlanFromPulumi(json: unknown, source = PULUMI_STACK): ApplyPlan {
  if (!isObj(json)) throw new ApplyError(`${source}: not a JSON object`);
  const top = new Fields(source, json);
  top.take("stack");
  const list = top.list("resources");
  top.done();
  const variables = new Set<string>();
  const images: ApplyPlan["images"][number][] = [];
  const volumes: ApplyPlan["volumes"][number][] = [];
  const networks: ApplyNetwork[] = [];
  const rawContainers: [string, Obj][] = [];
  for (const [i, item] of list.entries()) {
    if (!isObj(item)) throw new ApplyError(`${source} resources[${i}]: not an object`);
    const f = new Fields(`${source} resources[${i}]`, item);
    const type = f.str("type");
    const name = f.str("name");
    f.take("provider");
    const inputs = renameKeys(f.map("inputs")) as Obj;
    f.done();
    const where = `${source} ${type} ${name}`;
    switch (type) {
      // The provider's connection (ssh to the cloud host) is replaced by the lab's socket; the host component has no inputs.
      case "pulumi:providers:docker":
      case "palisade:index:DockerHost":
        break;
      case "docker:index/remoteImage:RemoteImage":
        images.push({ resource: name, name: simpleNamed(where, inputs, "pulumi", ["keep_locally"]) });
        break;
      case "docker:index/volume:Volume":
        volumes.push({ resource: name, name: simpleNamed(where, inputs, "pulumi", []) });
        break;
      case "docker:index/network:Network":
        networks.push({ ...networkOf(where, inputs, "pulumi"), resource: name });
        break;
      case "docker:index/container:Container":
        rawContainers.push([where, inputs]);
        break;
      default:
        throw new ApplyError(`${where}: resource type ${type} is not mapped by the lab's applier`);
    }
  }
  const byName = (kind: string, l: readonly { name: string }[]) => (text: string, where: string) => {
    if (!l.some((x) => x.name === text)) throw new ApplyError(`${where}: ${JSON.stringify(text)} is not a ${kind} of this stack`);
    return text;
  };
  const res: Resolver = {
    image: byName("RemoteImage", images),
    network: byName("Network", networks),
    volume: byName("Volume", volumes),
    env: (entry, container, where) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=\[secret\]$/.exec(entry);
      if (!m) {
        if (entry.includes("[secret]")) throw new ApplyError(`${where}: a [secret] placeholder inside a value is not mapped`);
        return entry;
      }
      const v = `${container}:${m[1]}`;
      variables.add(v);
      return `${m[1]}=\u0000var:${v}\u0000`;
    },
  };
  const containers = rawContainers.map(([where, inputs]) => containerOf(where, where, inputs, res, "pulumi"));
  const sort = <T extends { name: string }>(l: T[]) => l.sort((a, b) => a.name.localeCompare(b.name));
  return { source, images: sort(images), volumes: sort(volumes), networks: sort(networks), containers: sort(containers), variables: [...variables].sort() };
}

export interface ApplyOptions {
  /** A value for each variable the plan references (the lab's own, never the site's secrets). */
  readonly variables: (name: string) => string;
  /** A bind mount's source on the lab's machine for the artifact's host path. */
  readonly bindSource: (hostPath: string, container: string) => string;
  /** Containers not applied (run by the lab as host processes), each with the reason. */
  readonly skip?: ReadonlyMap<string, string>;
  /** Called after the volumes exist and before any container starts (the lab seeds certificates). */
  readonly beforeContainers?: () => Promise<void>;
  /** Called just before a container starts (the lab waits for a published address to exist). */
  readonly beforeStart?: (c: ApplyContainer) => Promise<void>;
}

export interface Applied {
  readonly containers: Record<string, { readonly id: string; readonly pid: number }>;
  readonly networks: Record<string, string>;
  readonly timings: Record<string, number>;
}

/** Applies a plan to an empty dockerd. Images must already exist locally (the lab builds them; nothing is pulled). */
export async function applyPlan(api: DockerApi, plan: ApplyPlan, opts: ApplyOptions): Promise<Applied> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const imageIds = new Map<string, string>();
  for (const img of plan.images) {
    const found = await api.inspectImage(img.name);
    if (!found) throw new ApplyError(`${plan.source} ${img.resource}: image ${img.name} is not in the lab's dockerd (no registry is reachable; the lab builds every image it runs)`);
    imageIds.set(img.name, found.Id);
  }
  await Promise.all(plan.volumes.map((v) => api.call("POST", "/volumes/create", { Name: v.name })));
  const networks: Record<string, string> = {};
  await Promise.all(
    plan.networks.map(async (n) => {
      const r = await api.call<{ Id: string }>("POST", "/networks/create", {
        Name: n.name,
        CheckDuplicate: true,
        Driver: n.driver,
        Internal: n.internal,
        IPAM: { Driver: "default", Config: n.ipam.map((c) => ({ Subnet: c.subnet, ...(c.gateway ? { Gateway: c.gateway } : {}) })) },
        Options: n.options,
        Labels: n.labels,
      });
      networks[n.name] = r.Id;
    }),
  );
  timings.networks = (Date.now() - t0) / 1000;
  await opts.beforeContainers?.();
  const sub = (v: string) => v.replace(/\u0000var:([^\u0000]+)\u0000/g, (_m, name: string) => opts.variables(name));
  const containers: Applied["containers"] = {};
  // Containers are independent once networks and volumes exist: created and started in parallel.
  await Promise.all(
    plan.containers.map(async (c) => {
      if (opts.skip?.has(c.name)) return;
      const body = structuredClone(c.create) as Obj & { HostConfig: Obj; Env: string[] };
      body.Image = imageIds.get(c.image) ?? c.image;
      body.Env = body.Env.map(sub);
      body.HostConfig.Mounts = c.mounts.map((m) => ({
        Type: m.type,
        Source: m.type === "bind" ? opts.bindSource(m.source, c.name) : m.source,
        Target: m.target,
        ReadOnly: m.readOnly,
      }));
      const created = await api.call<{ Id: string }>("POST", `/containers/create?name=${encodeURIComponent(c.name)}`, body);
      if (c.networkMode === "bridge" && c.networks.length > 0) {
        await api.call("POST", "/networks/bridge/disconnect", { Container: created.Id, Force: false });
        for (const n of c.networks) {
          await api.call("POST", `/networks/${encodeURIComponent(n.name)}/connect`, {
            Container: created.Id,
            EndpointConfig: { IPAMConfig: n.ipv4 ? { IPv4Address: n.ipv4 } : {}, Aliases: n.aliases },
          });
        }
      }
      await opts.beforeStart?.(c);
      await api.call("POST", `/containers/${created.Id}/start`);
      const info = await api.inspectContainer(created.Id);
      containers[c.name] = { id: created.Id, pid: info.State.Pid };
    }),
  );
  timings.containers = (Date.now() - t0) / 1000;
  return { containers, networks, timings };
}
