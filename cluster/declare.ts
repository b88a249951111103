import { Port, type Host, type Network, type Topology } from "../core/index.js";
import { commandHealthcheck, httpHealthcheck } from "./hardening.js";

/** Ports the private cloud's services listen on. Named once; used by the ingress, intent and reports. */
export const CLOUD_PORTS = {
  frontend: Port.tcp(3000),
  api: Port.tcp(8080),
  gitea: Port.tcp(3000),
  blog: Port.tcp(2368),
  acme: Port.tcp(80),
  ingressStats: Port.tcp(8404),
} as const;

/** Service ids of the PostgreSQL servers: `postgres` for the first (shared) one, the server id for the others. */
export function postgresServiceIds(site: { postgres: { servers: readonly { id: string }[] } }): string[] {
  return site.postgres.servers.map((s, i) => (i === 0 ? "postgres" : s.id));
}

/** The master socket volume shared by the ingress and lego: renewed certificates go in through it. */
export const INGRESS_RUNTIME_VOLUME = "ingress-runtime";
export const CERTS_VOLUME = "ingress-certs";

/**
 * The private cloud: one Docker network per segment (internal unless egress is needed, with the
 * reason), and the reference platform's containers attached only where their flows require.
 */
export function declareCluster(t: Topology, cloud: Host, tunnelCloudIp: string): void {
  const nets = t.site.cloud.networks;
  const net = (id: Exclude<keyof typeof nets, "edge" | "egress" | "mail">, extra: Partial<{ internal: boolean; egressReason: string }> = {}): Network =>
    t.addNetwork({ id, host: cloud, subnet: nets[id], ...extra });

  const edgeFacing = t.addNetwork({
    id: "ingress",
    host: cloud,
    subnet: nets.edge,
    internal: false,
    egressReason: "Docker publishes ports only from a non-internal network: the ingress's port on the tunnel address; the cloud firewall drops its egress",
  });
  const web = net("web");
  const api = net("api");
  const data = net("data");
  const secrets = net("secrets");
  const git = net("git");
  const gitdb = net("gitdb");
  const blog = net("blog");
  const acmeNet = net("acme");
  // acme's egress to the CA is its own non-internal network, so no other container shares it.
  const acmeEgress = t.addNetwork({
    id: "acme-egress",
    host: cloud,
    subnet: nets.egress,
    internal: false,
    egressReason: "lego must reach the ACME CA over HTTPS",
    masquerade: true,
  });
  const mail = t.addNetwork({
    id: "mail",
    host: cloud,
    subnet: nets.mail,
    internal: false,
    egressReason: "the api submits transactional mail to the edge through the tunnel (the host firewall source-NATs it to the tunnel address); no masquerade, so no internet egress",
  });

  const img = t.site.images;
  t.addService({
    id: "ingress",
    description: "HAProxy: PROXY v2 from the edge, TLS termination, routing by host and path",
    host: cloud,
    image: img.ingress,
    listens: [Port.HTTP, Port.HTTPS, CLOUD_PORTS.ingressStats],
    networks: [edgeFacing, web, api, git, blog, acmeNet],
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
    networks: [acmeNet, acmeEgress],
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
  t.addService({
    id: "frontend",
    description: "Next.js frontend (server-side rendering calls the api)",
    host: cloud,
    image: img.frontend,
    listens: [CLOUD_PORTS.frontend],
    networks: [web, api],
    tmpfs: ["/tmp", "/app/.next/cache"],
    memoryMb: 512,
    healthcheck: httpHealthcheck(`http://127.0.0.1:${CLOUD_PORTS.frontend.number}/`),
    env: { API_URL: `http://api:${CLOUD_PORTS.api.number}` },
  });
  t.addService({
    id: "api",
    description: "Go (Gin) API: tenant data in PostgreSQL, credentials from OpenBao",
    host: cloud,
    image: img.api,
    listens: [CLOUD_PORTS.api],
    networks: [api, data, secrets, mail],
    tmpfs: ["/tmp"],
    memoryMb: 256,
    healthcheck: httpHealthcheck(`http://127.0.0.1:${CLOUD_PORTS.api.number}/healthz`),
    env: { BAO_ADDR: `https://openbao:${Port.VAULT.number}`, DB_HOST: "postgres" },
    secretEnv: { BAO_SECRET_ID: "api-approle-secret-id" },
  });
  // One PostgreSQL per server of the site: the first holds the shared tenants and is `postgres`;
  // the others (dedicated tenants placed by region) keep their server id as service id.
  for (const id of postgresServiceIds(t.site)) {
    const server = id === "postgres" ? t.site.postgres.servers[0]! : t.site.postgres.servers.find((s) => s.id === id)!;
    t.addService({
      id,
      description: `PostgreSQL 15 (server ${server.id}, region ${server.region}): shared tenants under FORCE RLS, dedicated tenants in their own databases`,
      host: cloud,
      image: img.postgres,
      listens: [Port.POSTGRES],
      networks: [data],
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
  t.addService({
    id: "openbao",
    description: "OpenBao (Vault API): secrets and per-tenant dynamic database credentials",
    host: cloud,
    image: img.openbao,
    listens: [Port.VAULT],
    networks: [secrets, data],
    user: "100:1000",
    capAdd: [{ cap: "IPC_LOCK", reason: "mlock keeps secrets out of swap" }],
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
  t.addService({
    id: "gitea",
    description: "Gitea: git hosting",
    host: cloud,
    image: img.gitea,
    listens: [CLOUD_PORTS.gitea],
    networks: [git, gitdb],
    user: "1000:1000",
    tmpfs: ["/tmp"],
    mounts: [{ kind: "volume", source: "gitea-data", target: "/var/lib/gitea", readOnly: false }],
    memoryMb: 512,
    healthcheck: httpHealthcheck(`http://127.0.0.1:${CLOUD_PORTS.gitea.number}/api/healthz`),
    env: { GITEA__database__DB_TYPE: "postgres", GITEA__database__HOST: `gitea-db:${Port.POSTGRES.number}` },
    secretEnv: { GITEA__database__PASSWD: "gitea-db-password" },
  });
  t.addService({
    id: "gitea-db",
    description: "PostgreSQL for Gitea's metadata",
    host: cloud,
    image: img["gitea-db"],
    listens: [Port.POSTGRES],
    networks: [gitdb],
    user: "999:999",
    tmpfs: ["/tmp", "/var/run/postgresql"],
    mounts: [{ kind: "volume", source: "gitea-db-data", target: "/var/lib/postgresql/data", readOnly: false }],
    memoryMb: 512,
    healthcheck: commandHealthcheck("pg_isready", "-U", "gitea"),
    secretEnv: { POSTGRES_PASSWORD: "gitea-db-password" },
  });
  t.addService({
    id: "blog",
    description: "Ghost blog",
    host: cloud,
    image: img.blog,
    listens: [CLOUD_PORTS.blog],
    networks: [blog],
    user: "1000:1000",
    tmpfs: ["/tmp"],
    mounts: [{ kind: "volume", source: "blog-content", target: "/var/lib/ghost/content", readOnly: false }],
    memoryMb: 512,
    healthcheck: httpHealthcheck(`http://127.0.0.1:${CLOUD_PORTS.blog.number}/`),
  });
}

