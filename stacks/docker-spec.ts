import type { Service, Topology } from "../core/index.js";
import { HARDENING } from "../cluster/index.js";

/*
 * The engine-neutral form of one Docker host's resources. Both engines map this one structure,
 * field by field, so what differs between their outputs is a mapping bug the parity test finds.
 */

export interface NetworkSpec {
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly internal: boolean;
  /** Linux bridge name, fixed so the host firewall can name it (`br-<segment>`). */
  readonly bridgeName: string;
  /** Docker's `com.docker.network.bridge.enable_ip_masquerade`: false keeps a non-internal network off the internet. */
  readonly masquerade: boolean;
  readonly egressReason?: string;
}

export interface SecretEnv {
  readonly name: string;
  /** Engine variable (Terraform sensitive variable / Pulumi secret config key), snake_case. */
  readonly variable: string;
}

export interface ContainerSpec {
  readonly name: string;
  readonly service: string;
  readonly image: string;
  readonly networks: readonly { readonly name: string; readonly ipv4: string }[];
  /** "host" for host networking; "none" for a container no flow needs on any network (Docker would otherwise put it on its default bridge); otherwise "bridge" with the networks above. */
  readonly networkMode: "host" | "bridge" | "none";
  readonly hostNetworkReason?: string;
  readonly ports: readonly { readonly ip: string; readonly external: number; readonly internal: number; readonly protocol: "tcp" | "udp" }[];
  readonly capDrop: readonly string[];
  readonly capAdd: readonly string[];
  readonly securityOpts: readonly string[];
  readonly readOnly: boolean;
  readonly privileged: boolean;
  readonly user: string;
  readonly tmpfs: Readonly<Record<string, string>>;
  readonly mounts: readonly { readonly type: "volume" | "bind"; readonly source: string; readonly target: string; readonly readOnly: boolean }[];
  readonly memoryMb: number;
  readonly pidsLimit: number;
  readonly healthcheck: { readonly test: readonly string[]; readonly interval: string; readonly timeout: string; readonly retries: number };
  readonly restart: string;
  readonly env: readonly string[];
  readonly secretEnv: readonly SecretEnv[];
  readonly command: readonly string[];
  readonly logOpts: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface StackSpec {
  readonly name: string;
  readonly dockerHost: string;
  readonly networks: readonly NetworkSpec[];
  readonly containers: readonly ContainerSpec[];
  readonly volumes: readonly string[];
  readonly images: readonly string[];
  /** Every sensitive variable the stack needs, sorted. */
  readonly variables: readonly string[];
}

export function imageRef(svc: Service): string {
  const { image, digest } = svc.props.image;
  return digest ? `${image}@${digest}` : image;
}

export function secretVariable(secretId: string): string {
  return secretId.replace(/-/g, "_");
}

function containerSpec(svc: Service, t: Topology): ContainerSpec {
  const p = svc.props;
  const networks = [...svc.addresses].map(([netId, ipv4]) => ({ name: t.network(svc.host.id, netId).dockerName, ipv4 })).sort((a, b) => a.name.localeCompare(b.name));
  const labels: Record<string, string> = {
    "palisade.service": svc.id,
    "palisade.host": svc.host.id,
    "palisade.listens": p.listens.map(String).join(","),
  };
  if (p.hostNetwork) labels["palisade.host-network-reason"] = p.hostNetwork.reason;
  for (const c of p.capAdd ?? []) labels[`palisade.cap.${c.cap}`] = c.reason;
  if (p.rootReason) labels["palisade.root-reason"] = p.rootReason;
  return {
    name: svc.containerName,
    service: svc.id,
    image: imageRef(svc),
    networks,
    networkMode: p.hostNetwork ? "host" : networks.length === 0 ? "none" : "bridge",
    hostNetworkReason: p.hostNetwork?.reason,
    ports: (p.publish ?? []).map((pp) => ({ ip: pp.hostIp, external: pp.port.number, internal: pp.containerPort, protocol: pp.port.protocol })),
    capDrop: [...HARDENING.capDrop],
    capAdd: (p.capAdd ?? []).map((c) => c.cap).sort(),
    securityOpts: [...HARDENING.securityOpt],
    readOnly: HARDENING.readOnlyRootfs,
    privileged: HARDENING.privileged,
    user: p.user ?? HARDENING.defaultUser,
    tmpfs: Object.fromEntries((p.tmpfs ?? []).map((path) => [path, "rw,noexec,nosuid,size=64m"])),
    mounts: (p.mounts ?? []).map((m) => ({ type: m.kind, source: m.source, target: m.target, readOnly: m.readOnly })),
    memoryMb: p.memoryMb,
    pidsLimit: p.pidsLimit ?? HARDENING.defaultPidsLimit,
    healthcheck: { test: [...p.healthcheck.test], interval: `${p.healthcheck.intervalS}s`, timeout: `${p.healthcheck.timeoutS}s`, retries: p.healthcheck.retries },
    restart: HARDENING.restart,
    env: Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${v}`).sort(),
    secretEnv: Object.entries(p.secretEnv ?? {}).map(([name, id]) => ({ name, variable: secretVariable(id) })).sort((a, b) => a.name.localeCompare(b.name)),
    command: [...(p.command ?? [])],
    logOpts: { ...HARDENING.logOpts },
    labels,
  };
}

/** The resources of one host's stack, sorted so both engines and every plan see the same order. */
export function stackSpec(t: Topology, hostId: string): StackSpec {
  const host = t.host(hostId);
  const networks = t.networksOn(hostId).map((n) => ({
    name: n.dockerName,
    subnet: n.subnet,
    gateway: n.gateway,
    internal: n.internal,
    bridgeName: `br-${n.id}`,
    masquerade: n.masquerade,
    egressReason: n.egressReason,
  }));
  const containers = t.servicesOn(hostId).map((s) => containerSpec(s, t));
  const volumes = [...new Set(containers.flatMap((c) => c.mounts.filter((m) => m.type === "volume").map((m) => m.source)))].sort();
  const images = [...new Set(containers.map((c) => c.image))].sort();
  const variables = [...new Set(containers.flatMap((c) => c.secretEnv.map((s) => s.variable)))].sort();
  return { name: hostId, dockerHost: host.dockerHost, networks, containers, volumes, images, variables };
}

/** The host stacks of a platform, in deployment order: the edge first, then each site (in declaration order) through its tunnel. */
export function dockerStacks(t: Topology): string[] {
  return ["edge", ...t.site.sites.map((s) => s.id)];
}
