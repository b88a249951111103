/**
 * What the lab reads from a planned output directory. The lab renders *the artifacts*, never the
 * Topology: the Docker networks and containers come from the cloud stack's Terraform JSON, the
 * daemons' configs from `hosts/<host>/…`. A missing optional artifact (an edge renderer not yet
 * written) is reported as skipped, never silently replaced.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sysctlDir } from "../../core/index.js";
import { labSiteFiles, siteTenancySql, type LabSiteFiles } from "./site-files.js";

export interface LabNetwork {
  /** Docker network name (`cloud-web`). */
  readonly name: string;
  /** Linux bridge name from `com.docker.network.bridge.name` (`br-web`). */
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly internal: boolean;
}

export interface LabContainer {
  readonly service: string;
  readonly name: string;
  /** Attached networks in artifact order, with the container's static address. */
  readonly networks: readonly { readonly network: string; readonly ipv4: string }[];
  readonly ports: readonly { readonly ip: string; readonly external: number; readonly internal: number; readonly protocol: "tcp" | "udp" }[];
  /** `palisade.listens` label: `tcp/80,tcp/443`. */
  readonly listens: readonly string[];
}

export interface CloudStack {
  readonly networks: readonly LabNetwork[];
  /** Bridge-mode containers only (host-network ones, like the failover agent, run on the host namespace). */
  readonly containers: readonly LabContainer[];
}

type TfResource = Record<string, unknown>;

function labelsOf(r: TfResource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of (r.labels as { label: string; value: string }[] | undefined) ?? []) out[l.label] = l.value;
  return out;
}

/** A site's stack networks and containers, from `cdktf/stacks/<site>/cdk.tf.json` (`cloud` on a one-site platform). */
export function readCloudStack(outDir: string, siteId = "cloud"): CloudStack {
  const file = labSiteFiles(outDir, siteId).cdktfStack;
  const json = JSON.parse(readFileSync(file, "utf8")) as { resource: Record<string, Record<string, TfResource>> };
  const netRes = json.resource.docker_network ?? {};
  const networks: LabNetwork[] = [];
  const nameByRef = new Map<string, string>();
  for (const [id, r] of Object.entries(netRes)) {
    const ipam = (r.ipam_config as { subnet: string; gateway: string }[])[0]!;
    const bridge = (r.options as Record<string, string> | undefined)?.["com.docker.network.bridge.name"];
    if (!bridge) throw new Error(`${file}: docker_network.${id} has no com.docker.network.bridge.name option; the lab (and the cloud firewall) need it`);
    networks.push({ name: String(r.name), bridge, subnet: ipam.subnet, gateway: ipam.gateway, internal: r.internal === true });
    nameByRef.set(`\${docker_network.${id}.name}`, String(r.name));
  }
  const containers: LabContainer[] = [];
  for (const r of Object.values(json.resource.docker_container ?? {})) {
    if (r.network_mode === "host") continue;
    const labels = labelsOf(r);
    const nets = ((r.networks_advanced as { name: string; ipv4_address: string }[] | undefined) ?? []).map((n) => ({
      network: nameByRef.get(n.name) ?? n.name,
      ipv4: n.ipv4_address,
    }));
    containers.push({
      service: labels["palisade.service"] ?? String(r.name),
      name: String(r.name),
      networks: nets,
      ports: ((r.ports as { ip: string; external: number; internal: number; protocol: "tcp" | "udp" }[] | undefined) ?? []).map((p) => ({
        ip: p.ip,
        external: p.external,
        internal: p.internal,
        protocol: p.protocol ?? "tcp",
      })),
      listens: (labels["palisade.listens"] ?? "").split(",").filter(Boolean),
    });
  }
  networks.sort((a, b) => a.bridge.localeCompare(b.bridge));
  containers.sort((a, b) => a.service.localeCompare(b.service));
  return { networks, containers };
}

/** Host files the lab runs, each optional: `null` when the renderer has not written it. The `cloud*` ones are the first site's. */
export interface HostArtifacts {
  /** Every site's files, by site id, in the site file's order. */
  readonly sites: Readonly<Record<string, LabSiteFiles>>;
  readonly edgeNft: string | null;
  readonly cloudNft: string | null;
  readonly edgeWg: string | null;
  readonly cloudWg: string | null;
  readonly edgeHaproxy: string | null;
  /** The edge's sysctl drop-ins (`hosts/edge/sysctl.d/*.conf`), in the order sysctl reads them (by name). */
  readonly edgeSysctl: readonly string[];
  readonly ingressHaproxy: string | null;
  readonly failover: string | null;
  /** Directory `hosts/edge/knot` when it holds a knot.conf. */
  readonly knotDir: string | null;
  /** Directory `hosts/edge/fail2ban` when it holds a jail file. */
  readonly fail2banDir: string | null;
  /** Directory `hosts/edge/mail` when present. */
  readonly mailDir: string | null;
  /**
   * The tenancy SQL each site's PostgreSQL servers run, by site id (every site, `[]` for one with
   * no server): the entry file each server's init hook runs in production, under that site's
   * `hosts/<site>/postgres/` (siteTenancySql).
   */
  readonly tenancySql: Readonly<Record<string, readonly string[]>>;
}

const fileOrNull = (p: string) => (existsSync(p) ? p : null);

export function findHostArtifacts(outDir: string, siteIds: readonly string[] = ["cloud"]): HostArtifacts {
  const h = (p: string) => join(outDir, "hosts", p);
  const sites = Object.fromEntries(siteIds.map((id) => [id, labSiteFiles(outDir, id)]));
  const first = sites[siteIds[0]!]!;
  // The ingress (and acme) run on the site whose stack has them: the first site that rendered an ingress.
  const ingressSite = Object.values(sites).find((s) => s.ingressHaproxy) ?? first;
  const wgFile = (host: string) => {
    const dir = h(`${host}/wireguard`);
    if (!existsSync(dir)) return null;
    const f = readdirSync(dir).filter((n) => n.endsWith(".conf")).sort()[0];
    return f ? join(dir, f) : null;
  };
  const sysctl = join(outDir, sysctlDir("edge"));
  const edgeSysctl = existsSync(sysctl)
    ? readdirSync(sysctl)
        .filter((n) => n.endsWith(".conf"))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .map((n) => join(sysctl, n))
    : [];
  const knot = h("edge/knot");
  const f2b = h("edge/fail2ban");
  return {
    sites,
    edgeNft: fileOrNull(h("edge/nftables.conf")),
    cloudNft: first.nft,
    edgeWg: wgFile("edge"),
    cloudWg: first.wg,
    edgeHaproxy: fileOrNull(h("edge/haproxy/haproxy.cfg")),
    edgeSysctl,
    ingressHaproxy: ingressSite.ingressHaproxy,
    failover: first.failover,
    knotDir: existsSync(join(knot, "knot.conf")) ? knot : null,
    fail2banDir: existsSync(f2b) && readdirSync(f2b, { recursive: true }).some((n) => /jail\.(local|conf)$|jail\.d/.test(String(n))) ? f2b : null,
    mailDir: existsSync(h("edge/mail")) ? h("edge/mail") : null,
    tenancySql: Object.fromEntries(siteIds.map((id) => [id, siteTenancySql(sites[id]!)])),
  };
}
