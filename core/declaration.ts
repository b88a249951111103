import { createHash } from "node:crypto";
import { intToIpv4, parseCidr4 } from "./cidr.js";
import { Port } from "./port.js";
import type { Route, Site } from "./site-schema.js";
import { siteOfServer, siteOfService } from "./sites.js";

/*
 * The derivation of the platform from the site file's declaration, in one place per concept:
 * which containers the cloud runs, the flows between them (declared, implied by routes and
 * OpenBao identities, and the platform's own), the Docker networks those flows need, the public
 * routes and the DNS zones. Plain data from the site alone: cluster/, edge/ and policies/ turn it
 * into their objects and artifacts, so none of them decides any of this a second time.
 */

/** Containers of the platform itself; the operator's services cannot take these ids. */
export const BUILTIN_CLOUD_SERVICES = ["ingress", "acme", "openbao"] as const;
/** Ids that name something other than a cloud container in flows and must-never pairs. */
export const RESERVED_PEERS = ["internet", "admin", "edge", "cloud", "failover", "edge-proxy", "edge-dns", "edge-mail", "edge-ips", "postgres"] as const;
/** In flows and must-never pairs, `postgres` names every PostgreSQL server. */
export const ALL_POSTGRES = "postgres";

/** Ports of the platform's own containers. */
export const BUILTIN_PORTS = { acme: Port.tcp(80), ingressStats: Port.tcp(8404), openbao: Port.VAULT, postgres: Port.POSTGRES } as const;

/** Service ids of the PostgreSQL servers: `postgres` for the first (shared) one, the server id for the others. */
export function postgresServiceIds(site: { postgres: { servers: readonly { id: string }[] } }): string[] {
  return site.postgres.servers.map((s, i) => (i === 0 ? "postgres" : s.id));
}

/** Every cloud container id, in declaration order (the order static addresses are handed out). */
export function cloudServiceIds(site: Site): string[] {
  return ["ingress", "acme", ...Object.keys(site.services), ...postgresServiceIds(site), "openbao"];
}

/**
 * The site a cloud container runs on: the platform's own (ingress, ACME client, OpenBao) on the
 * first site, a declared service where it is placed, a PostgreSQL server on its region's site.
 */
export function siteOfContainer(site: Site, id: string): string {
  const servers = postgresServiceIds(site);
  const server = servers.indexOf(id);
  if (server >= 0) return siteOfServer(site, site.postgres.servers[server]!).id;
  return siteOfService(site, id).id;
}

/** The cloud containers of one site, in declaration order. */
export function siteContainerIds(site: Site, siteId: string): string[] {
  return cloudServiceIds(site).filter((id) => siteOfContainer(site, id) === siteId);
}

/** The flows between containers of two different sites: through the edge, over both tunnels. */
export function crossSiteFlows(site: Site): DerivedFlow[] {
  return containerFlows(site).filter((f) => siteOfContainer(site, f.from) !== siteOfContainer(site, f.to));
}

/**
 * The address families the edge must forward between the sites' tunnels, for the declared flows
 * that cross sites: IPv4 when any does (each site's tunnel carries the other sites' IPv4 tunnel
 * addresses, where their destinations are published; the edge's forward rules are IPv4), none
 * otherwise. The one place that decides whether the edge routes: the edge renders its kernel
 * forwarding from it; a one-site edge only proxies (HAProxy on the host), so it forwards nothing.
 */
export function edgeForwardFamilies(site: Site): (4 | 6)[] {
  return crossSiteFlows(site).length > 0 ? [4] : [];
}

/** A flow between two cloud containers, or from a container out of the cloud. */
export interface DerivedFlow {
  readonly from: string;
  readonly to: string;
  readonly port: Port;
  readonly reason: string;
}

/** The DNS zones the edge serves: the primary domain first, then `site.zones`. */
export function siteZones(site: Site): string[] {
  return [site.site.domain, ...site.site.zones];
}

/** The zone a host name belongs to (the longest apex it ends in), or undefined. */
export function zoneOf(site: Site, host: string): string | undefined {
  return siteZones(site)
    .filter((z) => host === z || host.endsWith(`.${z}`))
    .sort((a, b) => b.length - a.length)[0];
}

/** A route with its port resolved and the names the renderers use. */
export interface DerivedRoute {
  readonly host: string;
  readonly path?: string;
  readonly to: string;
  readonly port: Port;
  /** Short name of the host: its label under the primary domain (`app`), else the host with dashes (`www-example-org`). */
  readonly label: string;
}

/** Port of a route: the one given, else the service's only listening port. */
export function routePort(site: Site, r: Route): Port | undefined {
  if (r.port) return Port.parse(r.port);
  const listens = site.services[r.to]?.listens ?? [];
  return listens.length === 1 ? Port.parse(listens[0]!) : undefined;
}

export function hostLabel(site: Site, host: string): string {
  const primary = site.site.domain;
  return host.endsWith(`.${primary}`) && !host.slice(0, -(primary.length + 1)).includes(".")
    ? host.slice(0, -(primary.length + 1))
    : host.replace(/\./g, "-");
}

/** The routes, in the order the ingress must match them: per host (first appearance), longest path first, the bare host last. */
export function derivedRoutes(site: Site): DerivedRoute[] {
  // Grouped by host in one pass (a Map keeps first appearance), each host's routes in file order before the sort.
  const byHost = groupBy(site.routes, (r) => r.host);
  return [...byHost].flatMap(([host, routes]) =>
    routes
      .sort((a, b) => (b.path ?? "").length - (a.path ?? "").length)
      .map((r) => ({ host, path: r.path, to: r.to, port: routePort(site, r)!, label: hostLabel(site, host) })),
  );
}

/** The items grouped by key: keys in first-appearance order, each group in the items' order. */
function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Host names the edge and the ingress serve (first appearance order: the order lego requests them in). */
export function routedHosts(site: Site): string[] {
  return [...new Set(site.routes.map((r) => r.host))];
}

/** Expands `postgres` to every PostgreSQL server. */
export function expandPeer(site: Site, id: string): string[] {
  return id === ALL_POSTGRES ? postgresServiceIds(site) : [id];
}

/**
 * Every flow between two cloud containers, in a stable order: the ingress to what the routes
 * name and to the ACME client, the declared flows, each OpenBao identity's service to OpenBao, and
 * OpenBao to every PostgreSQL server (it creates the tenants' credentials).
 */
export function containerFlows(site: Site): DerivedFlow[] {
  const out: DerivedFlow[] = [];
  const seen = new Set<string>();
  const add = (f: DerivedFlow) => {
    const key = `${f.from}>${f.to}>${f.port}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(f);
  };
  for (const [target, mine] of groupBy(derivedRoutes(site), (r) => `${r.to}\u0000${r.port}`)) {
    const [to, port] = target.split("\u0000") as [string, string];
    const how = mine.some((r) => r.path) ? "routed by host name and path" : "routed by host name";
    add({ from: "ingress", to, port: Port.parse(port), reason: `${how}: ${mine.map((r) => (r.path ? `${r.label} ${r.path}` : r.label)).join(", ")}` });
  }
  add({ from: "ingress", to: "acme", port: BUILTIN_PORTS.acme, reason: "HTTP-01 challenges answered by the ACME client" });
  for (const f of site.flows) {
    for (const to of expandPeer(site, f.to)) add({ from: f.from, to, port: Port.parse(f.port), reason: f.reason });
  }
  for (const [id, svc] of Object.entries(site.services)) {
    if (svc.openbao) add({ from: id, to: "openbao", port: BUILTIN_PORTS.openbao, reason: `its OpenBao identity ${svc.openbao}: secrets, dynamic DB credentials` });
  }
  for (const db of postgresServiceIds(site)) {
    add({ from: "openbao", to: db, port: BUILTIN_PORTS.postgres, reason: "creates and revokes per-tenant DB credentials" });
  }
  return out;
}

/** Egress of the cloud containers: the ACME client's to the CA, and what each service declares. */
export function egressFlows(site: Site): DerivedFlow[] {
  return [
    { from: "acme", to: "internet", port: Port.HTTPS, reason: "ACME certificate issuance (the CA)" },
    ...Object.entries(site.services).flatMap(([id, svc]) => svc.egress.map((e) => ({ from: id, to: e.to, port: Port.parse(e.port), reason: e.reason }))),
  ];
}

/** A Docker network the derivation needs, with its members in address order. */
export interface DerivedNetwork {
  readonly id: string;
  readonly subnet: string;
  readonly members: readonly string[];
  readonly internal: boolean;
  readonly egressReason?: string;
  readonly masquerade: boolean;
  /** What the network is for, in words (the report and the firewall's comment). */
  readonly purpose: string;
}

/** Docker bridge names are `br-<id>` (Linux allows 15 characters): longer ids are shortened with a hash. */
export function networkId(name: string): string {
  if (name.length <= 12) return name;
  return `${name.slice(0, 7).replace(/-$/, "")}-${createHash("sha256").update(name).digest("hex").slice(0, 4)}`;
}

/** The edge-facing network of the ingress (where Docker publishes its ports on the tunnel address). */
export const INGRESS_NETWORK = "ingress";

/**
 * The Docker networks, from the flows. One network per service that something reaches, holding
 * it and its clients; clients that have no flow between them get separate networks. So two
 * containers share a network only if a declared flow joins them: every pair without a flow is
 * apart at the Docker layer, and the cloud firewall is the second, independent layer. A service
 * with egress gets its own non-internal `<id>-egress` network, shared with no one.
 */
export function deriveNetworks(site: Site, siteId: string = site.sites[0]!.id): DerivedNetwork[] {
  const here = site.sites.find((s) => s.id === siteId)!;
  const order = siteContainerIds(site, siteId);
  // Indexed once (by id, by source, by destination): at a thousand services, scanning the lists
  // per container was quadratic. Every order below is the one the scans gave.
  const position = new Map<string, number>();
  order.forEach((id, i) => {
    if (!position.has(id)) position.set(id, i);
  });
  const rank = (id: string) => position.get(id) ?? -1;
  const all = containerFlows(site);
  const local = (id: string) => position.has(id);
  const flows = all.filter((f) => local(f.from) && local(f.to));
  // Across sites: the client reaches the tunnel from a routed network of its own, the server is
  // published on its site's tunnel address from one (Docker publishes only from a non-internal network).
  const outbound = all.filter((f) => local(f.from) && !local(f.to));
  const inbound = all.filter((f) => !local(f.from) && local(f.to));
  const peersOf = new Map<string, Set<string>>();
  const join = (a: string, b: string) => {
    const set = peersOf.get(a);
    if (set) set.add(b);
    else peersOf.set(a, new Set([b]));
  };
  for (const f of flows) {
    join(f.from, f.to);
    join(f.to, f.from);
  }
  const adjacent = (a: string, b: string) => peersOf.get(a)?.has(b) ?? false;
  const shapes: Omit<DerivedNetwork, "subnet">[] = [];
  if (local("ingress")) {
    shapes.push({
      id: INGRESS_NETWORK,
      members: ["ingress"],
      internal: false,
      egressReason: "Docker publishes ports only from a non-internal network: the ingress's port on the tunnel address; the cloud firewall drops its egress",
      masquerade: false,
      purpose: "the ingress's published ports on the tunnel address",
    });
  }
  const flowsTo = groupBy(flows, (f) => f.to);
  const targets = [...flowsTo.keys()].sort((a, b) => rank(a) - rank(b));
  for (const target of targets) {
    const clients = [...new Set(flowsTo.get(target)!.map((f) => f.from))].filter((c) => c !== target).sort((a, b) => rank(a) - rank(b));
    const groups: string[][] = [];
    for (const c of clients) {
      const g = groups.find((members) => members.every((m) => adjacent(m, c)));
      if (g) g.push(c);
      else groups.push([c]);
    }
    groups.forEach((g, i) => {
      shapes.push({
        id: networkId(i === 0 ? target : `${target}-${i + 1}`),
        members: [target, ...g].sort((a, b) => rank(a) - rank(b)),
        internal: true,
        masquerade: false,
        purpose: `${g.join(", ")} to ${target}`,
      });
    });
  }
  const egressFrom = groupBy(egressFlows(site), (f) => f.from);
  const outboundFrom = groupBy(outbound, (f) => f.from);
  const crossing = new Set(outbound);
  for (const id of order) {
    const out = [...(egressFrom.get(id) ?? []), ...(outboundFrom.get(id) ?? [])];
    if (out.length === 0) continue;
    const internet = out.some((f) => f.to === "internet");
    shapes.push({
      id: networkId(`${id}-egress`),
      members: [id],
      internal: false,
      egressReason: out.map((f) => f.reason).join("; ") + (internet ? "" : " (through the tunnel, no masquerade: no internet egress)"),
      masquerade: internet,
      purpose: `${id}'s egress (${out.map((f) => `${crossing.has(f) ? `${f.to} on ${siteOfContainer(site, f.to)}` : f.to} ${f.port}`).join(", ")})`,
    });
  }
  const inboundTo = groupBy(inbound, (f) => f.to);
  for (const id of order) {
    const into = inboundTo.get(id) ?? [];
    if (into.length === 0) continue;
    shapes.push({
      id: networkId(`${id}-tunnel`),
      members: [id],
      internal: false,
      egressReason: `Docker publishes ports only from a non-internal network: ${id}'s port on the site's tunnel address, for ${[...new Set(into.map((f) => f.from))].join(", ")} on other sites; the site firewall drops its egress`,
      masquerade: false,
      purpose: `${id}'s published port on the tunnel address (from ${[...new Set(into.map((f) => `${f.from} on ${siteOfContainer(site, f.from)}`))].join(", ")})`,
    });
  }
  const subnets = allocateSubnets(here.networkPool, here.networkPrefix, shapes.map((s) => s.id));
  return shapes.map((s) => ({ ...s, subnet: subnets.get(s.id)! })).sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Stable blocks from the pool: each name hashes to a preferred block; a taken block moves the
 * name to the next free one (names placed in sorted order). Adding a network moves none of the
 * others unless it takes a block another one only reached by moving on.
 */
export function allocateSubnets(pool: string, prefix: number, names: readonly string[]): Map<string, string> {
  const { base, bits } = parseCidr4(pool);
  if (prefix < bits) throw new Error(`cloud.networkPrefix /${prefix} is larger than the pool ${pool}`);
  const blocks = 2 ** (prefix - bits);
  if (names.length > blocks) throw new Error(`the pool ${pool} holds ${blocks} networks of /${prefix}; ${names.length} are needed`);
  const used = new Set<number>();
  const out = new Map<string, string>();
  for (const name of [...names].sort()) {
    let slot = parseInt(createHash("sha256").update(name).digest("hex").slice(0, 8), 16) % blocks;
    while (used.has(slot)) slot = (slot + 1) % blocks;
    used.add(slot);
    out.set(name, `${intToIpv4((base + slot * 2 ** (32 - prefix)) >>> 0)}/${prefix}`);
  }
  return out;
}

/**
 * On a Kubernetes site, each pod namespace's own address pool, cut from the site's `networkPool` like
 * the Docker networks: the CNI (Calico IP pools) allocates each namespace's pods from its block, so
 * the node firewall can name a namespace's pods as it names a Docker network's containers.
 */
export function podPools(host: { readonly networkPool: string; readonly networkPrefix: number }, namespaces: readonly string[]): Map<string, string> {
  return allocateSubnets(host.networkPool, host.networkPrefix, namespaces);
}

/** The networks a service joins, in network-id order. */
export function networksOf(networks: readonly DerivedNetwork[], service: string): DerivedNetwork[] {
  return networks.filter((n) => n.members.includes(service));
}

/** `networksOf` for every service at once (one pass over the networks): service -> its networks, in the networks' order. */
export function networksByMember(networks: readonly DerivedNetwork[]): Map<string, DerivedNetwork[]> {
  const out = new Map<string, DerivedNetwork[]>();
  for (const n of networks) {
    for (const m of new Set(n.members)) {
      const joined = out.get(m);
      if (joined) joined.push(n);
      else out.set(m, [n]);
    }
  }
  return out;
}
