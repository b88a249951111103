import {
  BUILTIN_PORTS,
  Port,
  crossSiteFlows,
  siteOfContainer,
  deriveNetworks,
  networksByMember,
  postgresServiceIds,
  type DeclaredService,
  type Healthcheck,
  type Host,
  type Network,
  type ServiceProps,
  type Topology,
} from "../core/index.js";
import { commandHealthcheck, httpHealthcheck } from "./hardening.js";

/** Ports of the platform's own cloud containers. Named once; used by the ingress, intent and reports. */
export const CLOUD_PORTS = { acme: BUILTIN_PORTS.acme, ingressStats: BUILTIN_PORTS.ingressStats } as const;

export { postgresServiceIds };

/** The master socket volume shared by the ingress and lego: renewed certificates go in through it. */
export const INGRESS_RUNTIME_VOLUME = "ingress-runtime";
export const CERTS_VOLUME = "ingress-certs";

function healthcheckOf(h: DeclaredService["health"]): Healthcheck {
  return h.http ? httpHealthcheck(h.http) : commandHealthcheck(...h.command!);
}

/** One of the operator's services as the Topology's ServiceProps (the hardening defaults apply in the engines). */
function declaredServiceProps(id: string, svc: DeclaredService, host: Host, networks: Network[]): ServiceProps {
  const identity = svc.openbao;
  return {
    id,
    description: svc.description,
    host,
    image: { image: svc.image, digest: svc.digest },
    imageKey: `services.${id}.digest`,
    listens: svc.listens.map((p) => Port.parse(p)),
    networks,
    user: svc.user,
    rootReason: svc.rootReason,
    capAdd: svc.capAdd,
    tmpfs: svc.tmpfs,
    mounts: svc.mounts.map((m) => ({ kind: m.source.startsWith("/") ? "bind" : "volume", source: m.source, target: m.target, readOnly: m.readOnly ?? m.source.startsWith("/") })),
    memoryMb: svc.memoryMb,
    pidsLimit: svc.pidsLimit,
    healthcheck: healthcheckOf(svc.health),
    env: { ...(identity ? { BAO_ADDR: `https://openbao:${Port.VAULT.number}` } : {}), ...svc.env },
    secretEnv: { ...(identity ? { BAO_SECRET_ID: `${identity}-approle-secret-id` } : {}), ...svc.secrets },
    command: svc.command,
  };
}

/**
 * The private cloud: the Docker networks the flows need (derived in core/declaration.ts), the
 * platform's own containers (ingress, ACME client, OpenBao, one PostgreSQL per server) and the
 * operator's services of the site file, each attached only to the networks of its flows.
 */
export function declareCluster(t: Topology, cloud: Host, tunnelCloudIp: string): void {
  const derived = deriveNetworks(t.site, cloud.id);
  const nets = new Map(derived.map((n) => [n.id, t.addNetwork({ id: n.id, host: cloud, subnet: n.subnet, internal: n.internal, egressReason: n.egressReason, masquerade: n.masquerade })]));
  const joined = networksByMember(derived);
  const on = (service: string) => (joined.get(service) ?? []).map((n) => nets.get(n.id)!);
  const img = t.site.images;
  const here = (id: string) => siteOfContainer(t.site, id) === cloud.id;
  // A container that a flow from another site reaches: published on this site's tunnel address (the edge forwards to it).
  // The flows crossing sites, derived once and indexed by destination (per container it was quadratic in the services).
  let crossTo: Map<string, ReturnType<typeof crossSiteFlows>> | undefined;
  const fromOtherSites = (id: string) => {
    if (!crossTo) {
      crossTo = new Map();
      for (const f of crossSiteFlows(t.site)) {
        const into = crossTo.get(f.to);
        if (into) into.push(f);
        else crossTo.set(f.to, [f]);
      }
    }
    const ports = [...new Map((crossTo.get(id) ?? []).map((f) => [f.port.key, f.port])).values()];
    return ports.map((port) => ({ hostIp: tunnelCloudIp, port, containerPort: port.from }));
  };
  if (here("ingress")) declarePlatformFront(t, cloud, tunnelCloudIp, on);
  for (const [id, svc] of Object.entries(t.site.services)) if (here(id)) t.addService({ ...declaredServiceProps(id, svc, cloud, on(id)), ...publishing(fromOtherSites(id)) });
  // One PostgreSQL per server of the site: the first holds the shared tenants and is `postgres`;
  // the others (dedicated tenants placed by region) keep their server id as service id.
  for (const id of postgresServiceIds(t.site).filter(here)) {
    const server = id === "postgres" ? t.site.postgres.servers[0]! : t.site.postgres.servers.find((s) => s.id === id)!;
    t.addService({
      id,
      description: `PostgreSQL 15 (server ${server.id}, region ${server.region}): shared tenants under FORCE RLS, dedicated tenants in their own databases`,
      host: cloud,
      image: img.postgres,
      imageKey: "images.postgres.digest",
      listens: [Port.POSTGRES],
      networks: on(id),
      ...publishing(fromOtherSites(id)),
      user: "999:999",
      tmpfs: ["/tmp", "/var/run/postgresql"],
      mounts: [
        { kind: "volume", source: `${id}-data`, target: "/var/lib/postgresql/data", readOnly: false },
        // The rendered SQL at the same path as on the host, and the server's init hook that runs its entry file.
        { kind: "bind", source: "/etc/palisade/postgres", target: "/etc/palisade/postgres", readOnly: true },
        { kind: "bind", source: `/etc/palisade/postgres/servers/${server.id}.init.sh`, target: "/docker-entrypoint-initdb.d/10-palisade.sh", readOnly: true },
      ],
      memoryMb: 1024,
      healthcheck: commandHealthcheck("pg_isready", "-U", "postgres"),
      secretEnv: { POSTGRES_PASSWORD: `postgres-superuser-password-${server.id}` },
    });
  }
  if (here("openbao")) declareOpenbao(t, cloud, on);
}

/** `publish` only when there is something to publish (so a service's props stay as they were without). */
function publishing(ports: NonNullable<ServiceProps["publish"]>): Pick<ServiceProps, "publish"> {
  return ports.length ? { publish: ports } : {};
}

/** The first site's front: the ingress the edge's proxy reaches, and the ACME client behind it. */
function declarePlatformFront(t: Topology, cloud: Host, tunnelCloudIp: string, on: (service: string) => Network[]): void {
  const img = t.site.images;
  t.addService({
    id: "ingress",
    description: "HAProxy: PROXY v2 from the edge, TLS termination, routing by host and path",
    host: cloud,
    image: img.ingress,
    listens: [Port.HTTP, Port.HTTPS, CLOUD_PORTS.ingressStats],
    networks: on("ingress"),
    publish: [
      { hostIp: tunnelCloudIp, port: Port.HTTP, containerPort: 80 },
      { hostIp: tunnelCloudIp, port: Port.HTTPS, containerPort: 443 },
    ],
    user: "99:99",
    capAdd: [{ cap: "NET_BIND_SERVICE", reason: "binds 80 and 443 as the unprivileged haproxy user" }],
    tmpfs: ["/tmp"],
    mounts: [
      { kind: "bind", source: "/etc/palisade/ingress", target: "/usr/local/etc/haproxy", readOnly: true },
      { kind: "volume", source: CERTS_VOLUME, target: "/etc/haproxy/certs", readOnly: true },
      { kind: "volume", source: INGRESS_RUNTIME_VOLUME, target: "/var/run/haproxy", readOnly: false },
    ],
    memoryMb: 256,
    healthcheck: commandHealthcheck("haproxy", "-c", "-f", "/usr/local/etc/haproxy/haproxy.cfg"),
    // Master-worker with a master socket on the shared runtime volume: lego reloads certificates through it.
    command: ["haproxy", "-W", "-db", "-S", "/var/run/haproxy/master.sock", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
  });
  t.addService({
    id: "acme",
    description: "lego: ACME HTTP-01 behind the ingress; hands renewed certificates to HAProxy's master socket",
    host: cloud,
    image: img.acme,
    listens: [CLOUD_PORTS.acme],
    networks: on("acme"),
    capAdd: [{ cap: "NET_BIND_SERVICE", reason: "answers HTTP-01 on port 80 as a non-root user" }],
    tmpfs: ["/tmp"],
    mounts: [
      { kind: "volume", source: CERTS_VOLUME, target: "/certs", readOnly: false },
      { kind: "volume", source: INGRESS_RUNTIME_VOLUME, target: "/var/run/haproxy", readOnly: false },
      { kind: "bind", source: "/etc/palisade/acme", target: "/etc/lego", readOnly: true },
    ],
    memoryMb: 128,
    healthcheck: commandHealthcheck("lego", "--version"),
    env: { LEGO_EMAIL: t.site.site.contactEmail },
  });
}

/** OpenBao, on the first site: secrets and the tenants' dynamic database credentials. */
function declareOpenbao(t: Topology, cloud: Host, on: (service: string) => Network[]): void {
  const img = t.site.images;
  t.addService({
    id: "openbao",
    description: "OpenBao (Vault API): secrets and per-tenant dynamic database credentials",
    host: cloud,
    image: img.openbao,
    listens: [Port.VAULT],
    networks: on("openbao"),
    user: "100:1000",
    // On Kubernetes the node runs without swap (the kubelet's default) and Pod Security restricted
    // admits no IPC_LOCK: mlock is off there (policies/openbao/render.ts) and nothing is added back.
    capAdd: t.site.cloud.engine === "kubernetes" ? [] : [{ cap: "IPC_LOCK", reason: "mlock keeps secrets out of swap" }],
    tmpfs: ["/tmp"],
    mounts: [
      { kind: "volume", source: "openbao-data", target: "/openbao/data", readOnly: false },
      { kind: "bind", source: "/etc/palisade/openbao", target: "/openbao/config", readOnly: true },
      { kind: "volume", source: "openbao-audit", target: "/openbao/audit", readOnly: false },
      // Its TLS certificate and key: on the host only (the listener's key never enters an artifact).
      { kind: "bind", source: "/etc/palisade/secrets/openbao", target: "/openbao/tls", readOnly: true },
    ],
    memoryMb: 256,
    healthcheck: commandHealthcheck("bao", "status", "-tls-skip-verify"),
  });
}
