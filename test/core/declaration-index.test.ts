import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import {
  BUILTIN_PORTS,
  INGRESS_NETWORK,
  Port,
  allocateSubnets,
  containerFlows,
  deriveNetworks,
  derivedRoutes,
  egressFlows,
  expandPeer,
  hostLabel,
  networkId,
  networksByMember,
  networksOf,
  parseSite,
  postgresServiceIds,
  rng,
  routePort,
  siteContainerIds,
  siteOfContainer,
  type DerivedFlow,
  type DerivedNetwork,
  type DerivedRoute,
  type Site,
} from "../../core/index.js";
import { largeSite } from "../../scripts/bench/large-site.js";
import { generateSite } from "../../scripts/lab-fuzz/generate-site.js";
import { examples } from "../helpers/examples.js";
import { ROOT } from "../helpers/paths.js";
import { referenceText, twoSites } from "../helpers/sites.js";

/*
 * The derivation of core/declaration.ts indexes its flows and containers (by id, source,
 * destination) instead of scanning the lists once per container. These are the scanning versions,
 * as they were before, kept as the oracle: on every example and on generated sites (dense flows
 * that split a server's clients into several networks, egress, routes by path, flows across two
 * sites) the indexed derivation must give the same networks, flows and routes, in the same order.
 */

function scanningRoutes(site: Site): DerivedRoute[] {
  const hosts = [...new Set(site.routes.map((r) => r.host))];
  return hosts.flatMap((host) =>
    site.routes
      .filter((r) => r.host === host)
      .sort((a, b) => (b.path ?? "").length - (a.path ?? "").length)
      .map((r) => ({ host, path: r.path, to: r.to, port: routePort(site, r)!, label: hostLabel(site, host) })),
  );
}

function scanningFlows(site: Site): DerivedFlow[] {
  const out: DerivedFlow[] = [];
  const seen = new Set<string>();
  const add = (f: DerivedFlow) => {
    const key = `${f.from}>${f.to}>${f.port}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(f);
  };
  const routes = scanningRoutes(site);
  for (const target of [...new Set(routes.map((r) => `${r.to}\u0000${r.port}`))]) {
    const [to, port] = target.split("\u0000") as [string, string];
    const mine = routes.filter((r) => r.to === to && r.port.toString() === port);
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

function scanningNetworks(site: Site, siteId: string): DerivedNetwork[] {
  const here = site.sites.find((s) => s.id === siteId)!;
  const order = siteContainerIds(site, siteId);
  const rank = (id: string) => order.indexOf(id);
  const all = scanningFlows(site);
  const local = (id: string) => order.includes(id);
  const flows = all.filter((f) => local(f.from) && local(f.to));
  const outbound = all.filter((f) => local(f.from) && !local(f.to));
  const inbound = all.filter((f) => !local(f.from) && local(f.to));
  const adjacent = (a: string, b: string) => flows.some((f) => (f.from === a && f.to === b) || (f.from === b && f.to === a));
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
  const targets = [...new Set(flows.map((f) => f.to))].sort((a, b) => rank(a) - rank(b));
  for (const target of targets) {
    const clients = [...new Set(flows.filter((f) => f.to === target).map((f) => f.from))].filter((c) => c !== target).sort((a, b) => rank(a) - rank(b));
    const groups: string[][] = [];
    for (const c of clients) {
      const g = groups.find((members) => members.every((m) => adjacent(m, c)));
      if (g) g.push(c);
      else groups.push([c]);
    }
    groups.forEach((g, i) => {
      shapes.push({ id: networkId(i === 0 ? target : `${target}-${i + 1}`), members: [target, ...g].sort((a, b) => rank(a) - rank(b)), internal: true, masquerade: false, purpose: `${g.join(", ")} to ${target}` });
    });
  }
  for (const id of order) {
    const out = [...egressFlows(site).filter((f) => f.from === id), ...outbound.filter((f) => f.from === id)];
    if (out.length === 0) continue;
    const internet = out.some((f) => f.to === "internet");
    shapes.push({
      id: networkId(`${id}-egress`),
      members: [id],
      internal: false,
      egressReason: out.map((f) => f.reason).join("; ") + (internet ? "" : " (through the tunnel, no masquerade: no internet egress)"),
      masquerade: internet,
      purpose: `${id}'s egress (${out.map((f) => `${outbound.includes(f) ? `${f.to} on ${siteOfContainer(site, f.to)}` : f.to} ${f.port}`).join(", ")})`,
    });
  }
  for (const id of order) {
    const into = inbound.filter((f) => f.to === id);
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

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The benchmark's site made dense: each service also reaches a few random others (so a server's
 * clients that reach each other share a network and the others get `<id>-2`, `-3`...), some have
 * egress, and routes go by path on two hosts. No flow joins a must-never pair.
 */
function denseSite(n: number, seed: number): string {
  const data = parse(largeSite(ROOT, n)) as Data;
  const r = rng(seed);
  const names = Object.keys(data.services as object);
  const never = new Set((data.mustNever ?? []).flatMap((m: { from: string; to: string[] }) => m.to.map((to) => `${m.from}>${to}`)));
  const listens = (id: string) => (data.services[id].listens as string[])[0]!;
  for (const from of names) {
    for (let k = 0; k < 3; k++) {
      const to = names[Math.floor(r() * names.length)]!;
      if (to === from || never.has(`${from}>${to}`)) continue;
      data.flows.push({ from, to, port: listens(to), reason: `generated: ${from} also reaches ${to}` });
    }
    if (r() < 0.15) data.services[from].egress = [{ to: r() < 0.5 ? "internet" : "edge-mail", port: r() < 0.5 ? "tcp/443" : "tcp/587", reason: `generated: ${from} egress` }];
  }
  const domain = data.site.domain as string;
  data.routes.push({ host: `www.${domain}`, path: "/api", to: names[1] }, { host: `app.${domain}`, to: names[2] }, { host: `app.${domain}`, path: "/v2", to: names[2] });
  return stringify(data);
}

/** The reference platform on two sites, with services on both and chains of flows that cross between them. */
function twoSitesMany(n: number): string {
  return twoSites((data: Data) => {
    for (const s of data.sites) s.networkPrefix = 26;
    const name = (i: number) => `g${String(i).padStart(3, "0")}`;
    for (let i = 0; i < n; i++) {
      data.services[name(i)] = { description: `generated ${i}`, image: "ghcr.io/example/app:1.0.0", listens: [`tcp/${9000 + (i % 7)}`], health: { http: "http://127.0.0.1:9000/" }, site: i % 3 === 0 ? "us" : "eu" };
      if (i > 0) data.flows.push({ from: name(i - 1), to: name(i), port: `tcp/${9000 + (i % 7)}`, reason: "generated: the next" });
      if (i % 5 === 0) data.services[name(i)].egress = [{ to: "edge-mail", port: "tcp/587", reason: "generated: mail" }];
    }
  });
}

const generated: [string, string][] = [
  ["palisade.yaml", referenceText],
  ["the benchmark's site of 200 services", largeSite(ROOT, 200)],
  ["a dense generated site (seed 1)", denseSite(150, 1)],
  ["a dense generated site (seed 2)", denseSite(90, 2)],
  ["two sites with 60 generated services", twoSitesMany(60)],
  ...[1, 2, 3, 5, 8, 13, 21, 34].map((seed): [string, string] => [`the lab fuzzer's platform of seed ${seed}`, generateSite(seed).yaml]),
];
const sites: [string, Site][] = [...examples.map((e): [string, Site] => [e.name, e.site]), ...generated.map(([name, text]): [string, Site] => [name, parseSite(text, name)])];

describe("the indexed derivation", () => {
  it.each(sites)("GIVEN %s WHEN derived THEN the routes, the flows and every site's networks are the scanning derivation's, in its order", (_name, site) => {
    expect(derivedRoutes(site)).toEqual(scanningRoutes(site));
    expect(containerFlows(site)).toEqual(scanningFlows(site));
    for (const s of site.sites) {
      const networks = deriveNetworks(site, s.id);
      expect(networks).toEqual(scanningNetworks(site, s.id));
      const joined = networksByMember(networks);
      for (const id of siteContainerIds(site, s.id)) expect(joined.get(id) ?? []).toEqual(networksOf(networks, id));
    }
  });

  it("GIVEN the dense generated sites WHEN derived THEN some server's clients are split over several networks (the grouping is exercised)", () => {
    const split = (text: string) => deriveNetworks(parseSite(text)).filter((n) => /-\d+$/.test(n.id)).length;
    expect(split(denseSite(150, 1))).toBeGreaterThan(0);
    expect(split(denseSite(90, 2))).toBeGreaterThan(0);
  });

  it("GIVEN two sites with generated services WHEN derived THEN flows cross the sites (outbound egress and published tunnel networks are exercised)", () => {
    const site = parseSite(twoSitesMany(60));
    const ids = site.sites.flatMap((s) => deriveNetworks(site, s.id).map((n) => n.id));
    expect(ids.some((id) => id.endsWith("-tunnel"))).toBe(true);
    expect(ids.filter((id) => id.endsWith("-egress")).length).toBeGreaterThan(10);
  });
});
