import { cidr4Overlaps, parseCidr4 } from "./cidr.js";
import {
  ALL_POSTGRES,
  BUILTIN_CLOUD_SERVICES,
  BUILTIN_PORTS,
  RESERVED_PEERS,
  cloudServiceIds,
  deriveNetworks,
  postgresServiceIds,
  routePort,
  zoneOf,
} from "./declaration.js";
import { siteNames } from "./site-derived.js";
import { siteOfService, sitesProblems } from "./sites.js";
import type { Site } from "./site-schema.js";

/** One cross-reference problem, in the loader's shape (path, value given, expected, fix). */
export interface ReferenceProblem {
  readonly path: string;
  readonly given: string;
  readonly expected: string;
  readonly fix: string;
}

const show = (v: unknown) => (v === undefined ? "(missing)" : JSON.stringify(v));
const list = (ids: readonly string[]) => ids.join(", ");

/** Ports each cloud container listens on: the declared services' and the platform's own. */
function listening(site: Site): Map<string, string[]> {
  const out = new Map<string, string[]>([
    ["ingress", ["tcp/80", "tcp/443"]],
    ["acme", [BUILTIN_PORTS.acme.toString()]],
    ["openbao", [BUILTIN_PORTS.openbao.toString()]],
  ]);
  for (const id of postgresServiceIds(site)) out.set(id, [BUILTIN_PORTS.postgres.toString()]);
  for (const [id, svc] of Object.entries(site.services)) out.set(id, svc.listens);
  return out;
}

/**
 * Checks across references in the site file's declaration: every flow, route, identity and
 * must-never pair names something that exists, on a port it listens on, in a zone the edge
 * serves. The derivation (core/declaration.ts) may then assume all of it.
 */
export function referenceProblems(site: Site): ReferenceProblem[] {
  const out: ReferenceProblem[] = [];
  const declared = Object.keys(site.services);
  const servers = postgresServiceIds(site);
  // The failover agent of every site but the first is `failover-<site>` (tunnel/declare.ts).
  const reserved = new Set<string>([...BUILTIN_CLOUD_SERVICES, ...RESERVED_PEERS, ...servers, ...site.postgres.servers.map((s) => s.id), ...site.sites.slice(1).map((s) => `failover-${s.id}`)]);
  for (const id of declared) {
    if (reserved.has(id)) {
      out.push({ path: `services.${id}`, given: show(id), expected: `an id the platform does not use itself (${list([...reserved].sort())})`, fix: `rename the service ${id}` });
    } else if (id.endsWith("-egress") || id.endsWith("-tunnel")) {
      out.push({ path: `services.${id}`, given: show(id), expected: "an id not ending in -egress or -tunnel (the names of a service's egress and published networks)", fix: `rename the service ${id}` });
    }
    const svc = site.services[id]!;
    if (svc.user !== undefined && /^(root|0)(:|$)/.test(svc.user) && !svc.rootReason) {
      out.push({ path: `services.${id}.rootReason`, given: "(missing)", expected: `a reason, since user ${svc.user} is root`, fix: `run ${id} as a non-root user, or say why it needs root in services.${id}.rootReason` });
    }
    if (Boolean(svc.health.http) === Boolean(svc.health.command)) {
      out.push({ path: `services.${id}.health`, given: show(svc.health), expected: "exactly one of http or command", fix: `give services.${id}.health either http: URL or command: [...]` });
    }
  }
  const ports = listening(site);
  const containers = cloudServiceIds(site);
  const peers = [...containers, ALL_POSTGRES];
  // Membership by Set (the lists stay for the messages): a scan per flow was quadratic in the services.
  const isContainer = new Set(containers);
  const isPeer = new Set(peers);
  const isDeclared = new Set(declared);
  const unknown = (path: string, id: string, what: string) =>
    out.push({ path, given: show(id), expected: `${what} (${list(peers.filter((p) => p !== "postgres" || what.includes("postgres")).sort())})`, fix: `declare a service ${id} under services, or name one of those` });

  site.flows.forEach((f, i) => {
    if (!isContainer.has(f.from)) unknown(`flows[${i}].from`, f.from, "a cloud service");
    if (!isPeer.has(f.to)) unknown(`flows[${i}].to`, f.to, "a cloud service, or postgres for every PostgreSQL server");
    else {
      const targets = f.to === ALL_POSTGRES ? servers : [f.to];
      for (const t of targets) {
        const listens = ports.get(t) ?? [];
        if (!listens.includes(f.port)) {
          out.push({ path: `flows[${i}].port`, given: show(f.port), expected: `a port ${t} listens on (${listens.length ? list(listens) : "none"})`, fix: `use one of those, or add ${f.port} to services.${t}.listens` });
          break;
        }
      }
    }
    if (f.from === f.to) out.push({ path: `flows[${i}].to`, given: show(f.to), expected: "another service than the flow's source", fix: "remove the flow: a container reaches itself without one" });
  });

  const reservedNames = new Set<string>([siteNames(site).mail, siteNames(site).ns1, siteNames(site).mtaSts]);
  const seenRoute = new Set<string>();
  site.routes.forEach((r, i) => {
    if (!isDeclared.has(r.to)) {
      out.push({ path: `routes[${i}].to`, given: show(r.to), expected: `one of the site's services (${declared.length ? list(declared) : "none declared"})`, fix: `declare a service ${r.to} under services, or route to one of those` });
    } else {
      const listens = site.services[r.to]!.listens;
      if (r.port && !listens.includes(r.port)) {
        out.push({ path: `routes[${i}].port`, given: show(r.port), expected: `a port ${r.to} listens on (${listens.length ? list(listens) : "none"})`, fix: `use one of those, or add ${r.port} to services.${r.to}.listens` });
      } else if (!routePort(site, r)) {
        out.push({ path: `routes[${i}].port`, given: "(missing)", expected: `the port to route to, since ${r.to} listens on ${listens.length ? list(listens) : "no port"}`, fix: listens.length ? `add port: one of ${list(listens)}` : `add the port ${r.to} serves HTTP on to services.${r.to}.listens` });
      } else if (routePort(site, r)!.protocol !== "tcp") {
        out.push({ path: `routes[${i}].port`, given: show(routePort(site, r)!.toString()), expected: "a tcp port (the ingress speaks HTTP)", fix: "route to the service's HTTP port" });
      }
      // The ingress reaches its backends on its own site's Docker networks; no cross-site path is rendered for a route.
      const ingressSite = siteOfService(site, "ingress").id;
      const on = siteOfService(site, r.to).id;
      if (on !== ingressSite) {
        out.push({ path: `routes[${i}].to`, given: show(r.to), expected: `a service on the ingress's site ${ingressSite}: ${r.to} runs on site ${on}, and the ingress reaches only services of its own site (no route crosses sites)`, fix: `place ${r.to} on ${ingressSite} (services.${r.to}.site: ${ingressSite}), or route to a service of ${ingressSite} that has a flow to ${r.to}` });
      }
    }
    if (!zoneOf(site, r.host)) {
      out.push({ path: `routes[${i}].host`, given: show(r.host), expected: `a name inside one of the site's zones (${list([site.site.domain, ...site.site.zones])})`, fix: `add its apex domain to site.zones, or use a name under ${site.site.domain}` });
    } else if (reservedNames.has(r.host)) {
      out.push({ path: `routes[${i}].host`, given: show(r.host), expected: "a name the platform does not serve itself (mail, ns1 and mta-sts are the edge's)", fix: "route another name" });
    }
    const key = `${r.host}${r.path ?? ""}`;
    if (seenRoute.has(key)) out.push({ path: `routes[${i}]`, given: show(key), expected: "each host and path routed once", fix: "remove one of the two routes" });
    seenRoute.add(key);
  });

  const zones = [site.site.domain, ...site.site.zones];
  site.site.zones.forEach((z, i) => {
    const other = zones.find((o, j) => j !== i + 1 && (z === o || z.endsWith(`.${o}`) || o.endsWith(`.${z}`)));
    if (other) out.push({ path: `site.zones[${i}]`, given: show(z), expected: `a zone that is neither ${other} nor inside or around it`, fix: "list each apex domain once; names under a zone need no zone of their own" });
  });

  const identities = site.openbao.identities.map((x) => x.name);
  const firstIdentity = new Map<string, number>();
  identities.forEach((name, i) => {
    if (!firstIdentity.has(name)) firstIdentity.set(name, i);
  });
  const notApp = new Set(site.openbao.identities.filter((x) => x.kind !== "app").map((x) => x.name));
  site.openbao.identities.forEach((x, i) => {
    if (firstIdentity.get(x.name) !== i) out.push({ path: `openbao.identities[${i}].name`, given: show(x.name), expected: "a name not used by another identity", fix: "rename one of the two" });
    if (!isDeclared.has(x.service)) {
      out.push({ path: `openbao.identities[${i}].service`, given: show(x.service), expected: `one of the site's services (${declared.length ? list(declared) : "none declared"})`, fix: `declare a service ${x.service}, or name the service this identity logs in from` });
    } else if (x.kind === "app" && site.services[x.service]!.openbao !== x.name) {
      out.push({ path: `services.${x.service}.openbao`, given: show(site.services[x.service]!.openbao), expected: `${JSON.stringify(x.name)}: the app identity openbao.identities[${i}] logs in from ${x.service}`, fix: `set services.${x.service}.openbao: ${x.name}` });
    }
  });
  for (const [id, svc] of Object.entries(site.services)) {
    if (svc.openbao && !firstIdentity.has(svc.openbao)) {
      out.push({ path: `services.${id}.openbao`, given: show(svc.openbao), expected: `an identity declared under openbao.identities (${identities.length ? list(identities) : "none declared"})`, fix: `add { name: ${svc.openbao}, kind: app, service: ${id} } to openbao.identities` });
    }
    if (svc.openbao && notApp.has(svc.openbao)) {
      out.push({ path: `services.${id}.openbao`, given: show(svc.openbao), expected: "an identity of kind app (a service logs in as an app)", fix: "name an app identity; the provisioner's credentials are handed out by the operator" });
    }
  }

  const flows = new Set(site.flows.flatMap((f) => (f.to === ALL_POSTGRES ? servers : [f.to]).map((to) => `${f.from}>${to}`)));
  for (const r of site.routes) flows.add(`ingress>${r.to}`);
  for (const [id, svc] of Object.entries(site.services)) if (svc.openbao) flows.add(`${id}>openbao`);
  site.mustNever.forEach((n, i) => {
    if (!isPeer.has(n.from)) unknown(`mustNever[${i}].from`, n.from, "a cloud service, or postgres for every PostgreSQL server");
    n.to.forEach((to, j) => {
      if (!isPeer.has(to)) unknown(`mustNever[${i}].to[${j}]`, to, "a cloud service, or postgres for every PostgreSQL server");
      for (const from of n.from === ALL_POSTGRES ? servers : [n.from]) {
        for (const t of to === ALL_POSTGRES ? servers : [to]) {
          if (flows.has(`${from}>${t}`)) out.push({ path: `mustNever[${i}].to[${j}]`, given: show(to), expected: `a service ${from} has no flow to (a flow, route or identity declares ${from} -> ${t})`, fix: `remove the flow ${from} -> ${t}, or this must-never pair` });
        }
      }
    });
  });

  out.push(...sitesProblems(site, new Set([...reserved, ...declared])));
  // Each pool: outside its uplinks, large enough for the derived networks (overlaps between sites: core/sites.ts).
  for (const s of site.sites) {
    s.uplinks.forEach((u, k) => {
      if (cidr4Overlaps(s.networkPool, u.address)) {
        out.push({ path: `${s.path}.networkPool`, given: show(s.networkPool), expected: `a range that does not overlap ${s.path}.uplinks[${k}].address (${u.address})`, fix: "pick a private range the uplinks do not use" });
      }
    });
    if (s.networkPrefix < parseCidr4(s.networkPool).bits) {
      out.push({ path: `${s.path}.networkPrefix`, given: show(s.networkPrefix), expected: `a prefix at least /${parseCidr4(s.networkPool).bits} (inside ${s.path}.networkPool ${s.networkPool})`, fix: "use 24 with a /16 pool" });
    }
  }
  if (out.length === 0) {
    // Counted from the same derivation the plan uses, once the references above hold.
    for (const s of site.sites) {
      try {
        deriveNetworks(site, s.id);
      } catch (e) {
        out.push({ path: `${s.path}.networkPool`, given: show(s.networkPool), expected: (e as Error).message, fix: `use a larger pool or a longer ${s.path}.networkPrefix` });
      }
    }
  }
  return out;
}
