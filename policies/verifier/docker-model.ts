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
  readonly construct: string;
}

export interface DockerHostModel {
  /** Stack name = host id (`edge`, `cloud`). */
  readonly host: string;
  readonly engine: "cdktf" | "pulumi";
  readonly artifact: string;
  readonly networks: readonly DockerNetworkModel[];
  readonly containers: readonly DockerContainerModel[];
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

/** One difference between two engines' models of the same stack. */
export interface ModelDifference {
  readonly host: string;
  readonly subject: string;
  readonly field: string;
  readonly a: string;
  readonly b: string;
}

function comparable(c: DockerContainerModel): Record<string, unknown> {
  const { construct: _c, ...rest } = c;
  void _c;
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
