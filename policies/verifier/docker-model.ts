/*
 * The engine-neutral Docker model the verifier derives from an engine's artifact (Terraform JSON
 * or the Pulumi capture). Both readers produce this one shape, so any difference between the two
 * engines' models is a finding (`diffDockerModels`).
 */

export interface DockerNetworkModel {
  readonly name: string;
  readonly driver: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly internal: boolean;
  /** Linux bridge name (option com.docker.network.bridge.name). @default `br-<id>` is unknown: "" */
  readonly bridge: string;
  /** Option com.docker.network.bridge.enable_ip_masquerade. @default true */
  readonly masquerade: boolean;
  /** Label palisade.egress-reason: why a non-internal network has a route out. @default "" */
  readonly egressReason: string;
  /** Where it was declared: resource address in the artifact. */
  readonly construct: string;
}

export interface DockerAttachment {
  readonly network: string;
  readonly ipv4: string;
  readonly aliases: readonly string[];
}

export interface DockerPort {
  /** Bound host address; "" when the artifact gives none (Docker then binds every address). */
  readonly ip: string;
  readonly external: number;
  readonly internal: number;
  readonly protocol: "tcp" | "udp";
}

export interface DockerMount {
  readonly type: string;
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface DockerContainerModel {
  readonly name: string;
  /** Label palisade.service, else the container name. */
  readonly service: string;
  readonly image: string;
  /** "bridge", "host", "none", "container:X"… */
  readonly networkMode: string;
  readonly networks: readonly DockerAttachment[];
  readonly ports: readonly DockerPort[];
  /** From the `palisade.listens` label (`tcp/80,tcp/443`). */
  readonly listens: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly privileged: boolean;
  readonly pidMode: string;
  readonly ipcMode: string;
  readonly capDrop: readonly string[];
  readonly capAdd: readonly string[];
  readonly securityOpts: readonly string[];
  readonly readOnly: boolean;
  readonly user: string;
  /** MB; 0 = none. */
  readonly memory: number;
  readonly ulimits: readonly { readonly name: string; readonly soft: number; readonly hard: number }[];
  readonly hasHealthcheck: boolean;
  readonly mounts: readonly DockerMount[];
  readonly env: readonly string[];
  /** Host devices passed in (`devices`): host path -> container path. */
  readonly devices: readonly string[];
  readonly usernsMode: string;
  readonly cgroupnsMode: string;
  readonly construct: string;
  /** Line of a field in the artifact (Terraform's field names), else of the resource itself ("" asks for that). */
  readonly lineOf: (field: string) => number;
}

/** Something in an engine's artifact the verifier does not understand or refuses (see docker-schema.ts). */
export interface DockerArtifactProblem {
  readonly line: number;
  readonly message: string;
  readonly construct: string;
}

export interface DockerHostModel {
  /** Stack name = host id (`edge`, `cloud`). */
  readonly host: string;
  readonly engine: "cdktf" | "pulumi";
  readonly artifact: string;
  readonly networks: readonly DockerNetworkModel[];
  readonly containers: readonly DockerContainerModel[];
  readonly problems: readonly DockerArtifactProblem[];
}

export interface DockerModel {
  readonly engine: "cdktf" | "pulumi";
  readonly hosts: readonly DockerHostModel[];
}

export function labelsOf(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(list)) {
    for (const l of list as { label?: string; value?: string }[]) if (typeof l?.label === "string") out[l.label] = String(l.value ?? "");
  } else if (list && typeof list === "object") {
    for (const [k, v] of Object.entries(list as Record<string, unknown>)) out[k] = String(v);
  }
  return out;
}

export function listensOf(labels: Readonly<Record<string, string>>): string[] {
  return (labels["palisade.listens"] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => /^(tcp|udp)\/\d+(-\d+)?$/.test(s));
}

export const arr = <T = unknown>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : v && typeof v === "object" ? [v as T] : []);
export const str = (v: unknown, d = ""): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : d);
export const bool = (v: unknown): boolean => v === true || v === "true";
export const num = (v: unknown): number => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : 0);

/*
 * The part of reading an engine's artifact that is the same for both engines: once a reader has
 * picked a resource's fields out under its engine's names (snake_case in Terraform JSON,
 * camelCase in the Pulumi capture) and resolved what only it can resolve (references, env
 * entries), these turn the fields into the model: types, defaults and derived fields.
 */

/** A network resource's fields, read under its engine's names, values as written. */
export interface NetworkFields {
  /** The network's name, else the resource's. */
  readonly name: string;
  readonly driver: unknown;
  /** The first IPAM config. */
  readonly ipam: Readonly<Record<string, unknown>>;
  readonly internal: unknown;
  readonly options: unknown;
  readonly labels: unknown;
  readonly construct: string;
}

/** A container resource's fields, read under its engine's names; values as written except where noted. */
export interface ContainerFields {
  /** The container's name, else the resource's. */
  readonly name: string;
  /** Resolved by the reader. */
  readonly image: string;
  readonly labels: unknown;
  readonly networkMode: unknown;
  /** `name` resolved by the reader. */
  readonly networks: readonly { readonly name: string; readonly ipv4: unknown; readonly aliases: unknown }[];
  readonly ports: unknown;
  readonly privileged: unknown;
  readonly pidMode: unknown;
  readonly ipcMode: unknown;
  readonly capDrop: unknown;
  readonly capAdd: unknown;
  readonly securityOpts: unknown;
  readonly readOnly: unknown;
  readonly user: unknown;
  readonly memory: unknown;
  readonly ulimits: unknown;
  /** The healthcheck's test command, undefined without a healthcheck. */
  readonly healthcheckTest: unknown;
  readonly mounts: readonly { readonly type: unknown; readonly source: unknown; readonly target: unknown; readonly readOnly: unknown }[];
  readonly volumes: readonly { readonly hostPath: unknown; readonly volumeName: unknown; readonly containerPath: unknown; readonly readOnly: unknown }[];
  /** `KEY=value` entries, stringified by the reader. */
  readonly env: readonly string[];
  readonly devices: readonly { readonly hostPath: unknown; readonly containerPath: unknown }[];
  readonly usernsMode: unknown;
  readonly cgroupnsMode: unknown;
  readonly construct: string;
  readonly lineOf: (field: string) => number;
}

export function networkModel(n: NetworkFields): DockerNetworkModel {
  const opts = (n.options ?? {}) as Record<string, unknown>;
  return {
    name: n.name,
    driver: str(n.driver, "bridge"),
    subnet: str(n.ipam.subnet),
    gateway: str(n.ipam.gateway),
    internal: bool(n.internal),
    bridge: str(opts["com.docker.network.bridge.name"]),
    masquerade: str(opts["com.docker.network.bridge.enable_ip_masquerade"], "true") !== "false",
    egressReason: labelsOf(n.labels)["palisade.egress-reason"] ?? "",
    construct: n.construct,
  };
}

export function containerModel(c: ContainerFields): DockerContainerModel {
  const labels = labelsOf(c.labels);
  const tests = arr(c.healthcheckTest);
  return {
    name: c.name,
    service: labels["palisade.service"] ?? c.name,
    image: c.image,
    networkMode: str(c.networkMode, "bridge"),
    // An attachment without an address cannot be placed (docker-schema.ts reports it): left out, never guessed.
    networks: c.networks.filter((n) => str(n.ipv4) !== "").map((n) => ({ network: n.name, ipv4: str(n.ipv4), aliases: arr<string>(n.aliases).map(String) })),
    ports: arr<Record<string, unknown>>(c.ports).map((p) => ({ ip: str(p.ip), external: num(p.external) || num(p.internal), internal: num(p.internal), protocol: str(p.protocol, "tcp") === "udp" ? "udp" : "tcp" })),
    listens: listensOf(labels),
    labels,
    privileged: bool(c.privileged),
    pidMode: str(c.pidMode),
    ipcMode: str(c.ipcMode),
    capDrop: arr<string>(c.capDrop).map(String),
    capAdd: arr<string>(c.capAdd).map(String),
    securityOpts: arr<string>(c.securityOpts).map(String),
    readOnly: bool(c.readOnly),
    user: str(c.user),
    memory: num(c.memory),
    ulimits: arr<Record<string, unknown>>(c.ulimits).map((u) => ({ name: str(u.name), soft: num(u.soft), hard: num(u.hard) })),
    hasHealthcheck: tests.length > 0 && str(tests[0]) !== "NONE",
    mounts: [
      ...c.mounts.map((m) => ({ type: str(m.type, "volume"), source: str(m.source), target: str(m.target), readOnly: bool(m.readOnly) })),
      ...c.volumes.map((v) => ({ type: v.hostPath ? "bind" : "volume", source: str(v.hostPath ?? v.volumeName), target: str(v.containerPath), readOnly: bool(v.readOnly) })),
    ],
    env: c.env,
    devices: c.devices.map((d) => `${str(d.hostPath)}:${str(d.containerPath, str(d.hostPath))}`),
    usernsMode: str(c.usernsMode),
    cgroupnsMode: str(c.cgroupnsMode),
    construct: c.construct,
    lineOf: c.lineOf,
  };
}

/** One stack's model, networks and containers sorted by name. */
export function hostModel(host: string, engine: DockerHostModel["engine"], artifact: string, networks: DockerNetworkModel[], containers: DockerContainerModel[], problems: DockerArtifactProblem[] = []): DockerHostModel {
  networks.sort((a, b) => a.name.localeCompare(b.name));
  containers.sort((a, b) => a.name.localeCompare(b.name));
  return { host, engine, artifact, networks, containers, problems };
}

/** One difference between two engines' models of the same stack. */
export interface ModelDifference {
  readonly host: string;
  readonly subject: string;
  readonly field: string;
  readonly a: string;
  readonly b: string;
}

function comparable(c: DockerContainerModel): Record<string, unknown> {
  const { construct: _c, lineOf: _l, ...rest } = c;
  void _c;
  void _l;
  return {
    ...rest,
    networks: [...rest.networks].map((n) => ({ ...n, aliases: [...n.aliases].sort() })).sort((x, y) => x.network.localeCompare(y.network)),
    ports: [...rest.ports].map((p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol}`).sort(),
    capDrop: [...rest.capDrop].sort(),
    capAdd: [...rest.capAdd].sort(),
    securityOpts: [...rest.securityOpts].sort(),
    // Secret values: Terraform writes a variable reference, the Pulumi capture a placeholder.
    env: [...rest.env].map((e) => e.replace(/=(\$\{var\.[^}]+\}|\[secret\])$/, "=<sensitive>")).sort(),
    mounts: [...rest.mounts].map((m) => `${m.type}:${m.source}:${m.target}:${m.readOnly ? "ro" : "rw"}`).sort(),
    labels: Object.fromEntries(Object.entries(rest.labels).sort()),
  };
}

function comparableNet(n: DockerNetworkModel): Record<string, unknown> {
  const { construct: _c, ...rest } = n;
  void _c;
  return rest;
}

/** Field-by-field differences between two engines' models (both directions, sorted). */
export function diffDockerModels(a: DockerModel, b: DockerModel): ModelDifference[] {
  const out: ModelDifference[] = [];
  const hosts = new Set([...a.hosts.map((h) => h.host), ...b.hosts.map((h) => h.host)]);
  for (const host of [...hosts].sort()) {
    const ha = a.hosts.find((h) => h.host === host);
    const hb = b.hosts.find((h) => h.host === host);
    if (!ha || !hb) {
      out.push({ host, subject: `stack ${host}`, field: "(present)", a: ha ? "yes" : "no", b: hb ? "yes" : "no" });
      continue;
    }
    const cmp = <T extends { name: string }>(kind: string, xs: readonly T[], ys: readonly T[], f: (t: T) => Record<string, unknown>) => {
      const names = new Set([...xs.map((x) => x.name), ...ys.map((y) => y.name)]);
      for (const name of [...names].sort()) {
        const x = xs.find((v) => v.name === name);
        const y = ys.find((v) => v.name === name);
        if (!x || !y) {
          out.push({ host, subject: `${kind} ${name}`, field: "(present)", a: x ? "yes" : "no", b: y ? "yes" : "no" });
          continue;
        }
        const fx = f(x);
        const fy = f(y);
        for (const key of [...new Set([...Object.keys(fx), ...Object.keys(fy)])].sort()) {
          const sx = JSON.stringify(fx[key]);
          const sy = JSON.stringify(fy[key]);
          if (sx !== sy) out.push({ host, subject: `${kind} ${name}`, field: key, a: sx ?? "undefined", b: sy ?? "undefined" });
        }
      }
    };
    cmp("network", ha.networks, hb.networks, comparableNet);
    cmp("container", ha.containers, hb.containers, comparable);
  }
  return out;
}

/**
 * What the segmentation check reads of an engine's Docker model, as one string: every field but
 * where it was read from (the engine, the artifact, the resource address, the lines) and the
 * containers' environment, which no reachability check reads and where the engines write their
 * secret references differently (`${var.x}`, `[secret]`). Two engines' models with one key give
 * the same verdicts and finding ids, cited at different places. (The environment is compared
 * between the engines by the drift check, field by field.)
 */
export function dockerSemanticsKey(model: DockerModel): string {
  return JSON.stringify(
    model.hosts.map((h) => ({
      host: h.host,
      networks: h.networks.map(({ construct: _c, ...n }) => n),
      containers: h.containers.map(({ construct: _c, lineOf: _l, env: _e, ...c }) => c),
      problems: h.problems.map((p) => p.message),
    })),
  );
}
