import { z } from "zod";
import { exceptionsSchema } from "./site-exceptions.js";

/*
 * The site file's schema. Strict everywhere: an unknown key is an error, because a typo in a
 * security setting must never be silently ignored. Every field documents its default as behaviour.
 */

const ipv4 = z.ipv4({ error: "expected an IPv4 address such as 203.0.113.10" });
const ipv6 = z.ipv6({ error: "expected an IPv6 address such as 2001:db8::10" });
const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: "expected a CIDR such as 198.51.100.0/24 or 2001:db8::/48" });
const cidrv4 = z.cidrv4({ error: "expected an IPv4 CIDR such as 172.20.1.0/24" });
const cidrv6 = z.cidrv6({ error: "expected an IPv6 CIDR such as fd8a:10::/64" });
const port = z.number({ error: "expected a port number" }).int("expected an integer port").min(1, "expected a port 1-65535").max(65535, "expected a port 1-65535");
const domain = z
  .string({ error: "expected a domain name" })
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "expected a lower-case domain name such as example.com");
const id = z
  .string({ error: "expected an id" })
  .regex(/^[a-z][a-z0-9-]{0,30}$/, "expected an id of lower-case letters, digits and dashes, starting with a letter");
const email = z.email({ error: "expected an e-mail address" });
const sshUrl = z
  .string({ error: "expected an ssh:// URL" })
  .regex(/^ssh:\/\/[a-z0-9_-]+@[A-Za-z0-9.:\[\]-]+(:\d+)?$/, "expected ssh://USER@HOST such as ssh://deploy@203.0.113.10");

const wgKey = z.string().regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/, "expected a WireGuard public key (44 characters of base64)");

export const imageSchema = z.strictObject({
  /** Repository and tag, e.g. `haproxy:2.8`. */
  image: z.string().regex(/^[a-z0-9./_-]+:[A-Za-z0-9._-]+$/, "expected REPOSITORY:TAG such as haproxy:2.8").describe("Repository and tag, e.g. `haproxy:2.8`."),
  /** @default - none: `plan` warns, `plan --strict` fails */
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, "expected sha256: followed by 64 hex digits").optional(),
});

const uplinkSchema = z.strictObject({
  id,
  /** Interface name on the cloud host. */
  interface: z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, "expected a Linux interface name (1-15 characters)").describe("Interface name on the cloud host."),
  /** The uplink's own address on the cloud host, with prefix. */
  address: cidrv4,
  gateway: ipv4,
  /** Lower is preferred: 1 is the primary. */
  priority: z.number().int().min(1).max(9).describe("Lower is preferred: 1 is the primary."),
});

/** Images of the platform's own containers (the operator's services name theirs under `services`). */
const serviceImages = z.strictObject({
  ingress: imageSchema,
  acme: imageSchema,
  /** Every PostgreSQL server of `postgres.servers` runs this image. */
  postgres: imageSchema.describe("Every PostgreSQL server of `postgres.servers` runs this image."),
  openbao: imageSchema,
  failover: imageSchema,
  "edge-proxy": imageSchema,
  "edge-dns": imageSchema,
  "edge-mail": imageSchema,
  "edge-ips": imageSchema,
});

/** `tcp/8080`, `udp/53`: one port on one protocol. */
const portText = z
  .string({ error: "expected a port such as tcp/8080" })
  .regex(/^(tcp|udp)\/([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/, "expected a port such as tcp/8080 (tcp or udp, 1-65535)");
const reason = z.string({ error: "expected a reason" }).min(3, "expected a reason of a few words").regex(/^[^"\\\n]*$/, "expected one line without quotes or backslashes");
const absPath = z.string({ error: "expected an absolute path" }).regex(/^\/[A-Za-z0-9._@\/-]*$/, "expected an absolute path such as /var/lib/app");
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name such as DB_HOST");
const secretId = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "expected a secret id of lower-case letters, digits and dashes (a file in .palisade/secrets/)");

/** What a private-cloud host declares, in the one-site form (`cloud`) and in each of `sites`. */
const cloudHostShape = {
  /**
   * What runs the private cloud's workloads: `docker` (one Docker host, `docker` below) or `kubernetes`
   * (a cluster on the cloud host, deployed through the kubeconfig context `palisade-<site.name>`:
   * namespaces, restricted Deployments, Services, NetworkPolicies). @default "docker"
   */
  engine: z.enum(["docker", "kubernetes"], { error: "expected docker or kubernetes" }).default("docker").describe("What runs the private cloud's workloads: `docker` (one Docker host, `docker` below) or `kubernetes` (a cluster on the cloud host, deployed through the kubeconfig context `palisade-<site.name>`: namespaces, restricted Deployments, Services, NetworkPolicies). default: \"docker\""),
  /** The Docker daemon of the private cloud, reached through the tunnel. */
  docker: sshUrl.describe("The Docker daemon of the private cloud, reached through the tunnel."),
  uplinks: z.array(uplinkSchema).length(2, "expected exactly two uplinks: fiber (primary) and cellular (backup)"),
  failover: z.strictObject({
    /** @default 500 ms between probes on each uplink */
    probeIntervalMs: z.number().int().min(100).max(10000).default(500).describe("default: 500 ms between probes on each uplink"),
    /** @default 3 missed probes in a row mark an uplink down */
    misses: z.number().int().min(1).max(20).default(3),
    /** @default 10 s of health before failing back to the primary */
    holdDownS: z.number().int().min(1).max(3600).default(10).describe("default: 10 s of health before failing back to the primary"),
  }).prefault({}),
  /**
   * The range the Docker networks are cut from. Networks are derived from the flows (one per
   * service that something reaches, with its clients); each gets a stable block chosen from its name.
   */
  networkPool: cidrv4.describe("The range the Docker networks are cut from. Networks are derived from the flows (one per service that something reaches, with its clients); each gets a stable block chosen from its name."),
  /** Prefix length of each derived network. @default 24 */
  networkPrefix: z.number().int().min(16).max(28).default(24).describe("Prefix length of each derived network. default: 24"),
  /** Host updates the cloud host may fetch (HTTPS). @default - none */
  updateMirrors: z.array(cidr).default([]).describe("Host updates the cloud host may fetch (HTTPS). default: - none"),
};

/** One private-cloud site of `sites`: a host, its tunnel to the edge, its region. */
const siteSchemaEntry = z.strictObject({
  /** The site's id: its host, its engine stack and its files (`hosts/<id>/`) are named after it. */
  id: id.describe("The site's id: its host, its engine stack and its files (`hosts/<id>/`) are named after it."),
  /** The region whose data this site holds: a dedicated tenant of this region has its database here and nowhere else. */
  region: id.describe("The region whose data this site holds: a dedicated tenant of this region has its database here and nowhere else."),
  ...cloudHostShape,
  /** This site's WireGuard tunnel to the edge: the edge takes the first host address of each subnet, the site the second. */
  tunnel: z.strictObject({
    subnet: cidrv4,
    subnet6: cidrv6,
  }).describe("This site's WireGuard tunnel to the edge: the edge takes the first host address of each subnet, the site the second."),
  /** The secret (a file in .palisade/secrets/, written by `palisade keys`) holding this site's WireGuard private key; never the key itself. @default wireguard-<id> */
  keyFile: secretId.optional().describe("The secret (a file in .palisade/secrets/, written by `palisade keys`) holding this site's WireGuard private key; never the key itself. default: wireguard-<id>"),
  /** The public half of that key (`palisade keys` prints it). @default - none: plan renders a placeholder and warns */
  publicKey: wgKey.optional().describe("The public half of that key (`palisade keys` prints it). default: - none: plan renders a placeholder and warns"),
});

const mountSchema = z.strictObject({
  /** A named Docker volume, or an absolute host path (a bind mount, under /etc/palisade/). */
  source: z.string().regex(/^([a-z][a-z0-9-]{0,62}|\/etc\/palisade\/[A-Za-z0-9._\/-]+)$/, "expected a volume name (lower-case, dashes) or a host path under /etc/palisade/").describe("A named Docker volume, or an absolute host path (a bind mount, under /etc/palisade/)."),
  target: absPath,
  /** @default false for a volume, true for a bind mount */
  readOnly: z.boolean().optional().describe("default: false for a volume, true for a bind mount"),
});

const healthSchema = z.strictObject({
  /** An HTTP URL the container answers inside itself, e.g. http://127.0.0.1:8080/healthz (fetched with wget). */
  http: z.string().regex(/^http:\/\/127\.0\.0\.1:\d+\/\S*$/, "expected a URL such as http://127.0.0.1:8080/healthz").optional().describe("An HTTP URL the container answers inside itself, e.g. http://127.0.0.1:8080/healthz (fetched with wget)."),
  /** Or a command run in the container (exit 0 = healthy). */
  command: z.array(z.string().min(1)).min(1).optional().describe("Or a command run in the container (exit 0 = healthy)."),
});

/** Where a container may open connections outside the cloud: the internet or an edge service, with the reason. */
const egressSchema = z.strictObject({
  /** `internet`, or an edge service: `edge-mail` (submission through the tunnel). */
  to: z.enum(["internet", "edge-mail", "edge-proxy", "edge-dns"], { error: "expected internet, edge-mail, edge-proxy or edge-dns" }).describe("`internet`, or an edge service: `edge-mail` (submission through the tunnel)."),
  port: portText,
  reason,
});

/** One of the operator's containers on the private cloud. Hardened by default (read-only root, no capabilities, non-root, limits). */
export const declaredServiceSchema = z.strictObject({
  description: z.string().min(3).regex(/^[^"\\\n]*$/, "expected one line without quotes or backslashes"),
  /** Repository and tag. */
  image: imageSchema.shape.image.describe("Repository and tag, e.g. `ghcr.io/example/api:1.4.0`."),
  /** @default - none: `plan` warns, `plan --strict` fails */
  digest: imageSchema.shape.digest,
  /** Ports it listens on. @default - none */
  listens: z.array(portText).default([]).describe("Ports it listens on. default: - none"),
  /** @default "65534:65534" (nobody); uid 0 needs `rootReason` */
  user: z.string().regex(/^[a-z0-9_-]+(:[a-z0-9_-]+)?$/, "expected USER or UID:GID such as 1000:1000").optional().describe("default: \"65534:65534\" (nobody); uid 0 needs `rootReason`"),
  rootReason: reason.optional(),
  /** Capabilities added back after dropping all, each with its reason. @default - none */
  capAdd: z.array(z.strictObject({ cap: z.string().regex(/^[A-Z_]+$/, "expected a capability such as NET_BIND_SERVICE"), reason })).default([]).describe("Capabilities added back after dropping all, each with its reason. default: - none"),
  /** Writable paths on the read-only root filesystem. @default ["/tmp"] */
  tmpfs: z.array(absPath).default(["/tmp"]).describe("Writable paths on the read-only root filesystem. default: [\"/tmp\"]"),
  mounts: z.array(mountSchema).default([]),
  /** @default 256 */
  memoryMb: z.number().int().min(16).max(65536).default(256).describe("default: 256"),
  /** @default 256 */
  pidsLimit: z.number().int().min(8).max(32768).optional(),
  health: healthSchema,
  /** Environment (never secrets: those go in `secrets`). @default - none */
  env: z.record(envName, z.string()).default({}).describe("Environment (never secrets: those go in `secrets`). default: - none"),
  /** Environment variables whose values are secrets: NAME -> secret id (created by `palisade keys`, passed as sensitive engine variables). @default - none */
  secrets: z.record(envName, secretId).default({}).describe("Environment variables whose values are secrets: NAME -> secret id (created by `palisade keys`, passed as sensitive engine variables). default: - none"),
  /** The OpenBao identity (`openbao.identities[].name`) it logs in as: BAO_ADDR and BAO_SECRET_ID are set, and the flow to OpenBao follows. */
  openbao: id.optional().describe("The OpenBao identity (`openbao.identities[].name`) it logs in as: BAO_ADDR and BAO_SECRET_ID are set, and the flow to OpenBao follows."),
  /** Connections out of the cloud. @default - none: no route out */
  egress: z.array(egressSchema).default([]).describe("Connections out of the cloud. default: - none: no route out"),
  command: z.array(z.string()).min(1).optional(),
  /** The private-cloud site it runs on (`sites[].id`). @default the first site */
  site: id.optional().describe("The private-cloud site it runs on (`sites[].id`). default: the first site"),
});

/** `from -> to : port`, with the reason: the only way two containers may talk. */
const flowSchema = z.strictObject({
  from: id,
  /** A service id; `postgres` means every PostgreSQL server. */
  to: id.describe("A service id; `postgres` means every PostgreSQL server."),
  port: portText,
  reason,
});

/** What the internet reaches: a host name (and path prefix) routed by the edge and the ingress to a service's port. */
const routeSchema = z.strictObject({
  /** A name inside `site.domain` or one of `site.zones`. */
  host: domain.describe("A name inside `site.domain` or one of `site.zones`."),
  /** A path prefix such as /api. @default - the whole host */
  path: z.string().regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, "expected a path prefix such as /api").optional().describe("A path prefix such as /api. default: - the whole host"),
  to: id,
  /** @default the service's only listening port */
  port: portText.optional().describe("default: the service's only listening port"),
});

/** An AppRole identity in OpenBao: `app` reads its KV and the tenants' database credentials; `provisioner` manages tenant roles. */
const identitySchema = z.strictObject({
  name: id,
  kind: z.enum(["app", "provisioner"], { error: "expected app or provisioner" }),
  /** The service it logs in from: its secret-id and tokens are bound to the networks that service shares with OpenBao. */
  service: id.describe("The service it logs in from: its secret-id and tokens are bound to the networks that service shares with OpenBao."),
});

/** A pair that must never connect, on top of the platform's own (internet -> cloud, container egress, edge -> cloud except the ingress). */
const neverSchema = z.strictObject({
  from: id,
  /** Service ids; `postgres` means every PostgreSQL server. */
  to: z.array(id).min(1).describe("Service ids; `postgres` means every PostgreSQL server."),
  reason,
});

const tenantSchema = z.discriminatedUnion("mode", [
  z.strictObject({ id, mode: z.literal("shared"), name: z.string().min(1) }),
  z.strictObject({ id, mode: z.literal("dedicated"), name: z.string().min(1), region: id }),
]);

export const siteSchema = z.strictObject({
  $schema: z.string().optional(),
  site: z.strictObject({
    name: id,
    /** The platform's primary domain (its own DNS zone): mail., ns1. and mta-sts. hang under it. */
    domain: domain.describe("The platform's primary domain (its own DNS zone): mail., ns1. and mta-sts. hang under it."),
    /** Further apex domains served by the edge, each its own DNS zone. @default - none */
    zones: z.array(domain).default([]).describe("Further apex domains served by the edge, each its own DNS zone. default: - none"),
    /** Addresses allowed to SSH into the edge. Never 0.0.0.0/0. */
    adminCidrs: z.array(cidr).min(1, "expected at least one admin CIDR").describe("Addresses allowed to SSH into the edge. Never 0.0.0.0/0."),
    /** Where DMARC aggregate reports and the ACME account mail go. */
    contactEmail: email,
  }),
  edge: z.strictObject({
    ipv4,
    ipv6,
    /** The Docker daemon the edge stack deploys to. */
    docker: sshUrl.describe("The Docker daemon the edge stack deploys to."),
    ips: z
      .strictObject({
        /** @default 600 seconds */
        findtime: z.number().int().min(10).default(600).describe("default: 600 seconds"),
        /** @default 5 failures */
        maxretry: z.number().int().min(1).max(100).default(5),
        /** @default 3600 seconds */
        bantime: z.number().int().min(60).default(3600).describe("default: 3600 seconds"),
      })
      .prefault({}),
    dns: z.strictObject({
      /** Secondary servers allowed to transfer the zone with TSIG. @default - none: AXFR refused to all */
      secondaries: z.array(z.strictObject({ id, address: z.union([ipv4, ipv6]) })).default([]).describe("Secondary servers allowed to transfer the zone with TSIG. default: - none: AXFR refused to all"),
    }).prefault({}),
    mail: z.strictObject({
      /** @default "mail" */
      dkimSelector: id.default("mail").describe("default: \"mail\""),
      /** @default "ed25519" */
      dkimAlgorithm: z.enum(["ed25519", "rsa"]).default("ed25519"),
    }).prefault({}),
  }),
  tunnel: z.strictObject({
    /** Tunnel subnet of the one-site form (`cloud`); the edge takes the first host address, the cloud the second. With `sites`, each site has its own. */
    subnet: cidrv4.optional().describe("Tunnel subnet of the one-site form (`cloud`); the edge takes the first host address, the cloud the second. With `sites`, each site has its own."),
    subnet6: cidrv6.optional(),
    /** The edge's WireGuard port (every site's tunnel ends there). */
    port: port.describe("The edge's WireGuard port (every site's tunnel ends there)."),
    /** Fits the cellular uplink. @default 1380 */
    mtu: z.number().int().min(1280).max(1500).default(1380).describe("Fits the cellular uplink. default: 1380"),
    /** @default 25 seconds */
    keepalive: z.number().int().min(1).max(600).default(25),
  }),
  /**
   * The private cloud as one host (the one-site form; its tunnel addresses are `tunnel.subnet`
   * and `tunnel.subnet6`). A platform with several sites declares `sites` instead.
   * @default - none: then `sites` is required
   */
  cloud: z.strictObject({ ...cloudHostShape, region: id.optional().describe("The region this host serves. default: - none: the one host carries every region's data (no residency claimed)") }).optional().describe("The private cloud as one host (the one-site form; its tunnel addresses are `tunnel.subnet` and `tunnel.subnet6`). A platform with several sites declares `sites` instead."),
  /**
   * Private-cloud sites: hosts with no public address, each with its own uplinks and failover,
   * its own WireGuard tunnel to the edge and a region. Services and PostgreSQL servers are placed
   * on them; a flow between two sites goes through the edge over both tunnels.
   * @default - none: then `cloud` is required
   */
  sites: z.array(siteSchemaEntry).min(1, "expected at least one site").optional().describe("Private-cloud sites, each a host with no public address, its own uplinks, failover and WireGuard tunnel to the edge, and a region. Instead of `cloud`."),
  images: serviceImages,
  /** The operator's own containers on the private cloud, by id. @default - none */
  services: z.record(id, declaredServiceSchema).default({}).describe("The operator's own containers on the private cloud, by id. default: - none"),
  /** Who may connect to whom inside the cloud. Everything else is denied. @default - none */
  flows: z.array(flowSchema).default([]).describe("Who may connect to whom inside the cloud. Everything else is denied. default: - none"),
  /** What the internet reaches, through the edge and the ingress. @default - none */
  routes: z.array(routeSchema).default([]).describe("What the internet reaches, through the edge and the ingress. default: - none"),
  openbao: z.strictObject({
    /** AppRole identities. @default - none */
    identities: z.array(identitySchema).default([]).describe("AppRole identities. default: - none"),
  }).prefault({}),
  /** Pairs that must never connect (checked on the artifacts). @default - none */
  mustNever: z.array(neverSchema).default([]).describe("Pairs that must never connect (checked on the artifacts). default: - none"),
  postgres: z.strictObject({
    /** PostgreSQL servers by region; the first is the shared one. */
    servers: z
      .array(z.strictObject({ id, region: id, site: id.optional().describe("The site it runs on (`sites[].id`), which must hold its region. default: the site of its region, else the first site") }))
      .min(1)
      .describe("PostgreSQL servers by region; the first is the shared one."),
  }),
  tenants: z.array(tenantSchema),
  /** Owner, ticket and expiry of each hardening exception (see site-exceptions.ts). @default - none */
  exceptions: exceptionsSchema,
  /**
   * Public halves of the keys `palisade keys` creates (it prints them for this section).
   * Private halves never leave `.palisade/secrets/`.
   * @default - none: plan renders a placeholder and warns
   */
  publicKeys: z
    .strictObject({
      wireguardEdge: wgKey.optional(),
      wireguardCloud: wgKey.optional(),
      /** The DKIM public key, base64 of the SubjectPublicKeyInfo (rsa) or raw 32 bytes (ed25519). */
      dkim: z.string().regex(/^[A-Za-z0-9+/=]{40,1000}$/, "expected a base64 public key").optional().describe("The DKIM public key, base64 of the SubjectPublicKeyInfo (rsa) or raw 32 bytes (ed25519)."),
    })
    .prefault({}),
});

export type SiteInput = z.input<typeof siteSchema>;
/** The site file as the schema reads it: the one-site form (`cloud`) or `sites`. */
export type SiteDeclaration = z.output<typeof siteSchema>;
type CloudHostDeclaration = Omit<NonNullable<SiteDeclaration["cloud"]>, "region">;

/**
 * One private-cloud site, the same whichever form declared it (core/sites.ts normalizes both):
 * a host with no public address, its uplinks, failover, tunnel to the edge and region.
 */
export interface CloudSite extends CloudHostDeclaration {
  readonly id: string;
  /** undefined only in the one-site form without `cloud.region`: one host carries every region. */
  readonly region?: string;
  readonly tunnel: { readonly subnet: string; readonly subnet6: string };
  /** The secret holding the site's WireGuard private key (a file in .palisade/secrets/). */
  readonly keyFile: string;
  readonly publicKey?: string;
  /** Where the site file declares it (`cloud` or `sites[i]`): the prefix of its problems' paths. */
  readonly path: string;
}

/**
 * The validated platform. `sites` lists every private-cloud site; `cloud` is the first of them
 * (the primary, where OpenBao runs and what an unplaced service defaults to) and `tunnel.subnet`
 * its tunnel subnet.
 */
export type Site = Omit<SiteDeclaration, "cloud" | "sites" | "tunnel"> & {
  readonly cloud: CloudSite;
  readonly sites: readonly CloudSite[];
  readonly tunnel: SiteDeclaration["tunnel"] & { readonly subnet: string; readonly subnet6: string };
};
export type Tenant = Site["tenants"][number];
export type Uplink = CloudSite["uplinks"][number];
export type CloudEngine = CloudSite["engine"];
export type ImageRef = z.output<typeof imageSchema>;
export type ServiceImageName = keyof Site["images"];
export type DeclaredService = Site["services"][string];
export type Route = Site["routes"][number];
export type OpenbaoIdentity = Site["openbao"]["identities"][number];
