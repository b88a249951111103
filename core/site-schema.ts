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

const serviceImages = z.strictObject({
  ingress: imageSchema,
  acme: imageSchema,
  frontend: imageSchema,
  api: imageSchema,
  postgres: imageSchema,
  openbao: imageSchema,
  gitea: imageSchema,
  "gitea-db": imageSchema,
  blog: imageSchema,
  failover: imageSchema,
  "edge-proxy": imageSchema,
  "edge-dns": imageSchema,
  "edge-mail": imageSchema,
  "edge-ips": imageSchema,
});

const tenantSchema = z.discriminatedUnion("mode", [
  z.strictObject({ id, mode: z.literal("shared"), name: z.string().min(1) }),
  z.strictObject({ id, mode: z.literal("dedicated"), name: z.string().min(1), region: id }),
]);

export const siteSchema = z.strictObject({
  $schema: z.string().optional(),
  site: z.strictObject({
    name: id,
    /** The platform's public domain; app., git., blog., mail. and ns1. hang under it. */
    domain,
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
    /** Tunnel subnet; the edge takes the first host address, the cloud the second. */
    subnet: cidrv4.describe("Tunnel subnet; the edge takes the first host address, the cloud the second."),
    subnet6: z.cidrv6({ error: "expected an IPv6 CIDR such as fd8a:10::/64" }),
    port,
    /** Fits the cellular uplink. @default 1380 */
    mtu: z.number().int().min(1280).max(1500).default(1380).describe("Fits the cellular uplink. default: 1380"),
    /** @default 25 seconds */
    keepalive: z.number().int().min(1).max(600).default(25),
  }),
  cloud: z.strictObject({
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
    /** One /24 (or smaller) per Docker network segment. */
    networks: z.strictObject({
      /** The ingress's non-internal network, needed to publish its port on the tunnel address. */
      edge: cidrv4.describe("The ingress's non-internal network, needed to publish its port on the tunnel address."),
      web: cidrv4,
      api: cidrv4,
      data: cidrv4,
      secrets: cidrv4,
      git: cidrv4,
      gitdb: cidrv4,
      blog: cidrv4,
      acme: cidrv4,
      /** The api's route to the edge's mail submission port through the tunnel (no masquerade). */
      mail: cidrv4.describe("The api's route to the edge's mail submission port through the tunnel (no masquerade)."),
      /** The ACME client's egress network: the only container network with a route out. */
      egress: cidrv4,
    }),
    /** Host updates the cloud host may fetch (HTTPS). @default - none */
    updateMirrors: z.array(cidr).default([]).describe("Host updates the cloud host may fetch (HTTPS). default: - none"),
  }),
  images: serviceImages,
  postgres: z.strictObject({
    /** PostgreSQL servers by region; the first is the shared one. */
    servers: z.array(z.strictObject({ id, region: id })).min(1).describe("PostgreSQL servers by region; the first is the shared one."),
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
export type Site = z.output<typeof siteSchema>;
export type Tenant = Site["tenants"][number];
export type Uplink = Site["cloud"]["uplinks"][number];
export type ImageRef = z.output<typeof imageSchema>;
export type ServiceImageName = keyof Site["images"];
