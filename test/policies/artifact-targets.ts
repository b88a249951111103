import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSite } from "../../core/index.js";

/*
 * What a generic mutation of the daemons' and engines' artifacts aims at, read from one planned
 * output directory (and the site file for the sites' address pools): the WireGuard configs and
 * their peers, both HAProxy configurations and their backends, every Docker container of every
 * stack, the scripts and JSON files the hosts read. Nothing here knows an example's service names:
 * a target the plan does not have (no Docker network on a Kubernetes cloud, no ACME scripts on a
 * site without the ingress) is absent, and the mutation aimed at it is left out of that site's table.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One private-cloud site as its artifacts show it: its host directory, its tunnel config and address, its address pool. */
export interface SiteTarget {
  /** The site's host id (`cloud` in the one-site form, else the site's id): also the verifier's node name. */
  readonly id: string;
  readonly wg: string;
  /** The site's IPv4 tunnel address (its wg config's first Address). */
  readonly tunnel4: string;
  readonly pool: string;
  readonly failover?: string;
}

/** One docker_container of one stack, in both engines' output. */
export interface ContainerTarget {
  readonly stack: string;
  readonly tf: string;
  readonly pulumi: string;
  /** The resource's key in cdk.tf.json (`container_cloud_api`) and the container's name (`cloud-api`). */
  readonly key: string;
  readonly name: string;
  /** `palisade.host` / `palisade.service`: the verifier's subject is `host/service`. */
  readonly host: string;
  readonly service: string;
  readonly networkMode: string;
  readonly rootReason: boolean;
  readonly hasMounts: boolean;
  readonly hasNetworks: boolean;
}

export interface ArtifactTargets {
  readonly edgeWg: string;
  /** The edge's peers: each one's first AllowedIPs line as written. */
  readonly edgePeers: readonly { allowedIps: string; first: string }[];
  /** The private key file the edge's PostUp loads (under the secrets directory). */
  readonly edgeKeyFile: string;
  readonly sites: readonly SiteTarget[];
  readonly edgeProxy: string;
  /** The edge proxy's public IPv4 address (fe_tls's first bind). */
  readonly edgePublic4: string;
  /** The edge's TCP backends that pass TLS to a site's ingress, in the file's order; and their servers' address. */
  readonly edgeBackends: readonly { name: string; server: string }[];
  /** The edge's first SNI condition line (`use_backend X if { req.ssl_sni -i ... }`). */
  readonly edgeSniLine: string;
  readonly ingress?: {
    readonly path: string;
    readonly host: string;
    readonly routes: readonly { line: string; backend: string; cond: string }[];
    /** The first server of the first routed backend, as written (`server api 172.20.158.12:8080`). */
    readonly server: { readonly line: string; readonly name: string; readonly port: string };
  };
  /** Every container of every Docker stack, site stacks first (in the hosts' order), the edge's last. */
  readonly containers: readonly ContainerTarget[];
  /** A docker_volume of a stack, and an internal docker_network (none on a Kubernetes cloud). */
  readonly volume?: { readonly tf: string; readonly key: string };
  readonly internalNetwork?: { readonly tf: string };
  /** A cluster's stack (a Kubernetes cloud): its first NetworkPolicy's resource key, and its last Deployment (key, namespace, name, service). */
  readonly kubeStack?: { readonly tf: string; readonly pulumi: string; readonly host: string; readonly policy: string; readonly deployment: { readonly key: string; readonly namespace: string; readonly name: string; readonly service: string } };
  readonly acme?: { readonly renew: string; readonly deployHook: string };
  readonly openbaoConfig?: string;
  readonly tenantsJson?: string;
}

/** The first server of the backend the ingress's first route uses. */
function serverOf(cfg: string): { line: string; name: string; port: string } {
  const backend = /^\s*use_backend (\S+) if host_/m.exec(cfg)![1]!;
  const m = new RegExp(`^backend ${backend}\\n(?:.*\\n)*?\\s+(server (\\S+) \\S+:(\\d+))`, "m").exec(cfg)!;
  return { line: m[1]!, name: m[2]!, port: m[3]! };
}

const files = (dir: string, under: string): string[] => (existsSync(join(dir, under)) ? readdirSync(join(dir, under), { recursive: true }).map(String).sort().map((f) => `${under}/${f}`) : []);

/** The targets of one planned directory (`palisade plan --out DIR` of `siteFile`). */
export function artifactTargets(dir: string, siteFile: string): ArtifactTargets {
  const text = (p: string) => readFileSync(join(dir, p), "utf8");
  const site = loadSite(siteFile);
  const hostFiles = files(dir, "hosts");
  const edgeWg = "hosts/edge/wireguard/wg-edge.conf";
  const wgText = text(edgeWg);
  const sites: SiteTarget[] = site.sites.map((s) => {
    const id = site.sites.length === 1 ? "cloud" : s.id;
    const wg = hostFiles.find((f) => f.startsWith(`hosts/${id}/wireguard/`) && f.endsWith(".conf"))!;
    const tunnel4 = /^Address\s*=\s*([\d.]+)\//m.exec(text(wg))![1]!;
    const failover = hostFiles.find((f) => f === `hosts/${id}/failover/failover.json`);
    return { id, wg, tunnel4, pool: s.networkPool, failover };
  });

  const edgeProxy = "hosts/edge/haproxy/haproxy.cfg";
  const hap = text(edgeProxy);
  const edgeBackends = [...hap.matchAll(/^backend (\S+)\n\s+mode tcp\n\s+server ingress (\S+):443/gm)].map((m) => ({ name: m[1]!, server: m[2]! }));
  const ingressPath = hostFiles.find((f) => /^hosts\/[^/]+\/ingress\/haproxy\.cfg$/.test(f));
  const ingress = ingressPath
    ? {
        path: ingressPath,
        host: ingressPath.split("/")[1]!,
        routes: [...text(ingressPath).matchAll(/^\s*(use_backend (\S+) if (host_\w+(?: path_\w+)?))$/gm)].map((m) => ({ line: m[1]!, backend: m[2]!, cond: m[3]! })),
        server: serverOf(text(ingressPath)),
      }
    : undefined;

  const containers: ContainerTarget[] = [];
  let volume: ArtifactTargets["volume"];
  let internalNetwork: ArtifactTargets["internalNetwork"];
  let kubeStack: ArtifactTargets["kubeStack"];
  const stacks = files(dir, "cdktf/stacks").filter((f) => f.endsWith("/cdk.tf.json")).map((f) => f.split("/")[2]!);
  const order = (s: string) => (s === "edge" ? 1 : 0);
  for (const stack of [...stacks].sort((a, b) => order(a) - order(b) || stacks.indexOf(a) - stacks.indexOf(b))) {
    const tf = `cdktf/stacks/${stack}/cdk.tf.json`;
    const resource = (JSON.parse(text(tf)) as Json).resource ?? {};
    for (const [key, c] of Object.entries<Json>(resource.docker_container ?? {})) {
      const label = (l: string) => (c.labels ?? []).find((x: Json) => x.label === l)?.value as string | undefined;
      containers.push({ stack, tf, pulumi: `pulumi/${stack}.json`, key, name: c.name, host: label("palisade.host") ?? stack, service: label("palisade.service") ?? c.name, networkMode: c.network_mode ?? "bridge", rootReason: label("palisade.root-reason") !== undefined, hasMounts: (c.mounts ?? []).length > 0, hasNetworks: (c.networks_advanced ?? []).some((n: Json) => n.ipv4_address) });
    }
    const vol = Object.keys(resource.docker_volume ?? {})[0];
    if (vol && !volume) volume = { tf, key: vol };
    if (!internalNetwork && Object.values<Json>(resource.docker_network ?? {}).some((n) => n.internal === true)) internalNetwork = { tf };
    const policy = Object.entries<Json>(resource.kubernetes_manifest ?? {}).find(([, r]) => r.manifest?.kind === "NetworkPolicy")?.[0];
    const deployment = Object.entries<Json>(resource.kubernetes_manifest ?? {}).filter(([, r]) => r.manifest?.kind === "Deployment").at(-1);
    if (!kubeStack && policy && deployment) {
      const m = deployment[1].manifest;
      kubeStack = { tf, pulumi: `pulumi/${stack}.json`, host: stack, policy, deployment: { key: deployment[0], namespace: m.metadata.namespace, name: m.metadata.name, service: m.spec.template.metadata.labels["palisade.service"] } };
    }
  }

  const acmeDir = hostFiles.find((f) => f.endsWith("/acme/renew.sh"));
  return {
    edgeWg,
    edgePeers: [...wgText.matchAll(/^AllowedIPs = (([^,\n]+).*)$/gm)].map((m) => ({ allowedIps: m[1]!, first: m[2]! })),
    edgeKeyFile: /private-key (\S+)/.exec(wgText)![1]!,
    sites,
    edgeProxy,
    edgePublic4: /^frontend fe_tls\n(?:.*\n)*?\s+bind ([\d.]+):443/m.exec(hap)![1]!,
    edgeBackends,
    edgeSniLine: /use_backend \S+ if \{ req\.ssl_sni -i [^}\n]+\}/.exec(hap)![0],
    ingress,
    containers,
    volume,
    internalNetwork,
    kubeStack,
    acme: acmeDir ? { renew: acmeDir, deployHook: acmeDir.replace(/renew\.sh$/, "deploy-hook.sh") } : undefined,
    openbaoConfig: hostFiles.find((f) => f.endsWith("/openbao/config.hcl")),
    tenantsJson: hostFiles.find((f) => f.endsWith("/postgres/tenants.json")),
  };
}
