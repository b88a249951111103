import type { IntentPeer } from "../intent.js";
import { familyOf, parseRange } from "./addr.js";
import type { DockerContainerModel, DockerHostModel, DockerModel, DockerNetworkModel } from "./docker-model.js";
import { parseHaproxy, type HaproxyConfig } from "./haproxy.js";
import { parseNftables, type Iface, type Ruleset } from "./nftables.js";
import { parseWireguard, type WgConfig } from "./wireguard.js";
import { readSysctl, type SysctlFiles } from "./sysctl.js";
import { parsePortText, type PortSpec } from "./layers.js";

/*
 * Everything the reachability engine reads, assembled from the artifacts: one engine's Docker
 * model, each host's nftables ruleset and WireGuard config, the proxies' configs, the uplinks.
 * A file that is not rendered yet is recorded as pending, never invented.
 */

export interface HostInfo {
  readonly id: string;
  readonly zone: string;
  /** Public or uplink addresses (reached from the internet), per the vocabulary and failover.json. */
  readonly external: readonly string[];
  /** Tunnel addresses (from the WireGuard config when rendered, else the vocabulary's private addresses). */
  readonly tunnel: readonly string[];
  readonly nftPath: string;
  readonly nft?: Ruleset;
  readonly wgPath: string;
  readonly wg?: WgConfig;
  readonly uplinks: readonly { readonly iface: string; readonly address: string }[];
  readonly docker?: DockerHostModel;
  /** The host's sysctl drop-ins (`hosts/<host>/sysctl.d/*.conf`), as sysctl reads them (none rendered: no assignment). */
  readonly sysctl: SysctlFiles;
}

export type NodeKind = "addresses" | "host" | "daemon" | "container" | "host-service";

export interface Node {
  readonly id: string;
  readonly kind: NodeKind;
  readonly zone: string;
  readonly host?: string;
  readonly listens: readonly (PortSpec & { to: number })[];
  /** Where the listening ports come from (for explanations). */
  readonly listensFrom: string;
  readonly container?: DockerContainerModel;
  /** Address peers: their CIDRs. */
  readonly cidrs?: readonly string[];
}

export interface ProxyInfo {
  readonly node: string;
  readonly host: string;
  readonly layer: `haproxy:${string}`;
  readonly path: string;
  readonly config?: HaproxyConfig;
}

export interface SiteModel {
  readonly engine: "cdktf" | "pulumi";
  readonly docker: DockerModel;
  readonly hosts: ReadonlyMap<string, HostInfo>;
  readonly nodes: ReadonlyMap<string, Node>;
  readonly proxies: readonly ProxyInfo[];
  /** network name → network (across hosts; names are host-prefixed). */
  readonly networks: ReadonlyMap<string, DockerNetworkModel & { host: string }>;
  /** IPv4 → container node id. */
  readonly ipOwner: ReadonlyMap<string, string>;
  readonly expected: readonly string[];
  readonly missing: readonly string[];
}

/** Daemons whose port is a fact of the daemon, not of a rendered file. */
const WELL_KNOWN_DAEMON_PORTS: Record<string, string> = { sshd: "tcp/22" };

const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"].map((c) => parseRange(c)!);
function isPrivate(ip: string): boolean {
  const r = parseRange(ip);
  return !!r && PRIVATE.some((p) => p.v === r.v && p.lo <= r.lo && r.hi <= p.hi);
}

/** Rulesets parsed per set of artifacts: the engines' site models read the same files, and share what is derived from them. */
const parsedRulesets = new WeakMap<ReadonlyMap<string, string>, Map<string, Ruleset>>();

function parsedNftables(files: ReadonlyMap<string, string>, path: string, text: string): Ruleset {
  let byPath = parsedRulesets.get(files);
  if (!byPath) parsedRulesets.set(files, (byPath = new Map()));
  const key = `${path}\u0000${text}`;
  const hit = byPath.get(key);
  if (hit) return hit;
  const rs = parseNftables(path, text);
  byPath.set(key, rs);
  return rs;
}

export function buildSiteModel(files: ReadonlyMap<string, string>, docker: DockerModel, vocabulary: readonly IntentPeer[]): SiteModel {
  const expected: string[] = [];
  const missing: string[] = [];
  const need = (path: string): string | undefined => {
    expected.push(path);
    const text = files.get(path);
    if (text === undefined) missing.push(path);
    return text;
  };
  // Each site's uplinks, from its failover agent's config (hosts/<site>/failover/failover.json).
  const failoverOf = (id: string): { uplinks?: { interface: string; address: string }[] } | undefined => {
    const text = files.get(`hosts/${id}/failover/failover.json`);
    try {
      return text ? (JSON.parse(text) as { uplinks?: { interface: string; address: string }[] }) : undefined;
    } catch {
      return undefined;
    }
  };

  const hostIds = [...new Set([...docker.hosts.map((h) => h.host), ...vocabulary.filter((p) => p.kind === "host").map((p) => p.id)])].sort();
  const hosts = new Map<string, HostInfo>();
  for (const id of hostIds) {
    const vocab = vocabulary.find((p) => p.kind === "host" && p.id === id);
    const nftPath = `hosts/${id}/nftables.conf`;
    const nftText = need(nftPath);
    const wgFiles = [...files.keys()].filter((p) => p.startsWith(`hosts/${id}/wireguard/`) && p.endsWith(".conf")).sort();
    const wgPath = wgFiles[0] ?? `hosts/${id}/wireguard/wg-${id}.conf`;
    const wgText = hostIds.length > 1 ? need(wgPath) : files.get(wgPath);
    const wg = wgText !== undefined ? parseWireguard(wgPath, wgText) : undefined;
    const failover = vocab?.zone === "cloud" ? failoverOf(id) : undefined;
    const uplinks = Array.isArray(failover?.uplinks) ? failover.uplinks.map((u) => ({ iface: u.interface, address: String(u.address).split("/")[0]! })) : [];
    const vocabAddrs = vocab?.addresses ?? [];
    const wgTunnel = wg ? wg.addresses.map((a) => a.split("/")[0]!) : [];
    const tunnel = wg ? wgTunnel : vocabAddrs.filter(isPrivate);
    const external = [...new Set([...vocabAddrs.filter((a) => !isPrivate(a) && !tunnel.includes(a)), ...uplinks.map((u) => u.address)])].sort();
    hosts.set(id, {
      id,
      zone: vocab?.zone ?? id,
      external,
      tunnel,
      nftPath,
      nft: nftText !== undefined ? parsedNftables(files, nftPath, nftText) : undefined,
      wgPath,
      wg,
      uplinks,
      docker: docker.hosts.find((h) => h.host === id),
      sysctl: readSysctl(files, id),
    });
  }

  const nodes = new Map<string, Node>();
  const networks = new Map<string, DockerNetworkModel & { host: string }>();
  const ipOwner = new Map<string, string>();
  for (const p of vocabulary) {
    if (p.kind === "addresses") nodes.set(p.id, { id: p.id, kind: "addresses", zone: p.zone, listens: [], listensFrom: "", cidrs: p.addresses ?? [] });
    if (p.kind === "host") nodes.set(p.id, { id: p.id, kind: "host", zone: p.zone, host: p.id, listens: [], listensFrom: "" });
  }
  for (const h of docker.hosts) {
    for (const n of h.networks) networks.set(n.name, { ...n, host: h.host });
    for (const c of h.containers) {
      const hostNet = c.networkMode === "host";
      nodes.set(c.service, {
        id: c.service,
        kind: hostNet ? "host-service" : "container",
        zone: hosts.get(h.host)?.zone ?? h.host,
        host: h.host,
        listens: c.listens.map(parsePortText),
        listensFrom: `${h.artifact} ${c.construct} label palisade.listens`,
        container: c,
      });
      for (const a of c.networks) if (a.ipv4) ipOwner.set(a.ipv4, c.service);
    }
  }
  for (const p of vocabulary) {
    if (p.kind !== "daemon" || !p.host) continue;
    const name = p.id.split(":")[1] ?? p.id;
    const host = hosts.get(p.host);
    let listens: (PortSpec & { to: number })[] = [];
    let from = "";
    if (name === "wireguard") {
      if (host?.wg?.listenPort) {
        listens = [parsePortText(`udp/${host.wg.listenPort}`)];
        from = `${host.wgPath} ListenPort`;
      } else from = host?.wg ? `${host.wgPath} (no ListenPort: not listening on a fixed port)` : "";
    } else if (WELL_KNOWN_DAEMON_PORTS[name]) {
      listens = [parsePortText(WELL_KNOWN_DAEMON_PORTS[name]!)];
      from = `${name}'s standard port`;
    }
    nodes.set(p.id, { id: p.id, kind: "daemon", zone: p.zone, host: p.host, listens, listensFrom: from });
  }

  const proxies: ProxyInfo[] = [];
  for (const h of docker.hosts) {
    for (const c of h.containers) {
      if (!/(^|\/)haproxy(:|@|$)/.test(c.image)) continue;
      // A service's own config (the ingress) or the host's proxy (the edge's, at hosts/<host>/haproxy/).
      const own = `hosts/${h.host}/${c.service}/haproxy.cfg`;
      const hostProxy = `hosts/${h.host}/haproxy/haproxy.cfg`;
      const path = files.has(own) ? own : files.has(hostProxy) || hosts.get(h.host)?.zone === "edge" ? hostProxy : own;
      const text = need(path);
      const layer = path === hostProxy ? (`haproxy:${h.host}` as const) : (`haproxy:${c.service}` as const);
      proxies.push({ node: c.service, host: h.host, layer, path, config: text !== undefined ? parseHaproxy(path, text) : undefined });
    }
  }
  return { engine: docker.engine, docker, hosts, nodes, proxies, networks, ipOwner, expected: [...new Set(expected)].sort(), missing: [...new Set(missing)].sort() };
}

/** Interface objects for a host's roles. */
export function tunnelIface(h: HostInfo): Iface {
  return h.wg ? { name: h.wg.name, role: "tunnel" } : { role: "tunnel" };
}
export function bridgeIface(n: DockerNetworkModel | undefined): Iface {
  return n?.bridge ? { name: n.bridge, role: "bridge" } : { role: "bridge" };
}
export function externalIfaces(h: HostInfo): Iface[] {
  return h.uplinks.length ? h.uplinks.map((u) => ({ name: u.iface, role: "external" as const })) : [{ role: "external" }];
}
export function v4(addrs: readonly string[]): string[] {
  return addrs.filter((a) => familyOf(a) === 4);
}
