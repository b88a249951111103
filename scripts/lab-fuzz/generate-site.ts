/**
 * Random valid platforms for the lab (`npm run lab:fuzz`) and its CI run: a seeded site file with
 * 2-6 services (each listening on one or two TCP ports, some with an OpenBao identity, some with
 * egress to the edge's mail submission), random flows between them and to PostgreSQL, 1-2
 * PostgreSQL servers with shared and dedicated tenants, routes on one or two DNS zones (some by
 * path), and must-never pairs among the pairs no flow joins. Drawn from the project's one PRNG
 * (core/rng.ts): a seed names a platform. Addresses are documentation ranges or private pools.
 */
import { stringify } from "yaml";
import { rng } from "../../core/index.js";

const NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];
const PORTS = [2368, 3000, 4000, 5000, 6379, 7000, 8000, 8080, 8443, 9000, 9090, 9443];
const SUBDOMAINS = ["app", "www", "shop", "api", "portal", "admin-ui", "docs", "status"];
const TENANTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];

const IMAGES = {
  ingress: { image: "haproxy:2.8" },
  acme: { image: "goacme/lego:v4.19" },
  postgres: { image: "postgres:15.8" },
  openbao: { image: "openbao/openbao:2.4.1" },
  failover: { image: "ghcr.io/example/palisade-failover:0.1.0" },
  "edge-proxy": { image: "haproxy:2.8" },
  "edge-dns": { image: "cznic/knot:3.2" },
  "edge-mail": { image: "mailserver/docker-mailserver:14" },
  "edge-ips": { image: "crazymax/fail2ban:1.0.2" },
};

export interface GeneratedSite {
  readonly seed: number;
  /** The site file's text (YAML). */
  readonly yaml: string;
  readonly services: number;
  readonly flows: number;
  readonly routes: number;
  readonly tenants: number;
}

/** The platform of one seed. */
export function generateSite(seed: number): GeneratedSite {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const chance = (p: number) => r() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const sample = <T>(xs: readonly T[], n: number): T[] => {
    const pool = [...xs];
    const out: T[] = [];
    while (out.length < n && pool.length) out.push(pool.splice(Math.floor(r() * pool.length), 1)[0]!);
    return out;
  };
  const k = seed % 40;
  const domain = `gen${seed % 10000}.example`;
  const zones = chance(0.4) ? [`gen${seed % 10000}-b.example`] : [];

  const names = sample(NAMES, int(2, 6)).sort();
  const services: Record<string, Record<string, unknown>> = {};
  const listens = new Map<string, string[]>();
  const identities: { name: string; kind: string; service: string }[] = [];
  for (const name of names) {
    const ports = sample(PORTS, chance(0.25) ? 2 : 1).sort((a, b) => a - b).map((p) => `tcp/${p}`);
    listens.set(name, ports);
    const svc: Record<string, unknown> = {
      description: `generated service ${name}`,
      image: `ghcr.io/example/gen-${name}:1.0.0`,
      listens: ports,
      health: { http: `http://127.0.0.1:${ports[0]!.slice(4)}/` },
    };
    if (chance(0.5)) {
      svc.openbao = name;
      identities.push({ name, kind: "app", service: name });
    }
    if (chance(0.25)) svc.egress = [{ to: "edge-mail", port: "tcp/587", reason: "notifications (via tunnel)" }];
    services[name] = svc;
  }
  if (identities.length > 0 && chance(0.3)) identities.push({ name: "provisioner", kind: "provisioner", service: identities[0]!.service });

  // Flows: random ordered pairs, to a port the destination declares; some services use PostgreSQL.
  const flows: { from: string; to: string; port: string; reason: string }[] = [];
  const joined = new Set<string>();
  for (const from of names) {
    for (const to of names) {
      if (from === to || !chance(0.3)) continue;
      flows.push({ from, to, port: pick(listens.get(to)!), reason: `generated: ${from} calls ${to}` });
      joined.add(`${from}|${to}`);
    }
    if (chance(0.4) || identities.some((i) => i.service === from)) {
      flows.push({ from, to: "postgres", port: "tcp/5432", reason: `generated: ${from}'s tenant data` });
      joined.add(`${from}|postgres`);
    }
  }

  // Routes: one to three host names on the site's zones, the first maybe with an /api path.
  const routed = sample(names, int(1, Math.min(3, names.length)));
  const hosts = sample(SUBDOMAINS, routed.length);
  // A service with two ports is routed to one of them, named.
  const routeTo = (svc: string) => ({ to: svc, ...(listens.get(svc)!.length > 1 ? { port: pick(listens.get(svc)!) } : {}) });
  const routes: { host: string; path?: string; to: string; port?: string }[] = routed.map((svc, i) => ({ host: `${hosts[i]}.${i > 0 && zones.length && chance(0.5) ? zones[0] : domain}`, ...routeTo(svc) }));
  if (names.length > routed.length && chance(0.5)) {
    const extra = names.find((n) => !routed.includes(n))!;
    routes.unshift({ host: routes[0]!.host, path: "/api", ...routeTo(extra) });
  }

  // The Docker networks the platform derives: one per destination, holding it and its clients
  // (OpenBao's also holds PostgreSQL; the mail egress network, every service with that egress).
  // Two members of one network are kept apart by the host firewall alone, which a must-never
  // rightly refuses (one layer): the generator never asks for that.
  const networks: Set<string>[] = [];
  for (const d of [...names, "postgres"]) networks.push(new Set([d, ...flows.filter((f) => f.to === d).map((f) => f.from)]));
  networks.push(new Set(["openbao", "postgres", ...identities.map((i) => i.service)]));
  networks.push(new Set(names.filter((n) => services[n]!.egress)));
  const shareNetwork = (a: string, b: string) => networks.some((n) => n.has(a) && n.has(b));
  // Must-never pairs: some of the pairs no flow joins and no network holds together.
  const mustNever: { from: string; to: string[]; reason: string }[] = [];
  for (const from of names) {
    const to = [...names, "postgres", "openbao"].filter((t) => t !== from && !joined.has(`${from}|${t}`) && !shareNetwork(from, t) && chance(0.4));
    if (to.length) mustNever.push({ from, to, reason: `generated: ${from} has no business there` });
  }

  const servers = chance(0.5) ? [{ id: "pg-main", region: "eu-west" }] : [{ id: "pg-eu", region: "eu-west" }, { id: "pg-us", region: "us-east" }];
  const tenants = sample(TENANTS, int(1, 3)).sort().map((id) => {
    const dedicated = chance(0.4);
    return { id, name: `Tenant ${id}`, mode: dedicated ? "dedicated" : "shared", ...(dedicated ? { region: pick(servers).region } : {}) };
  });

  const site = {
    $schema: "../palisade.schema.json",
    site: { name: `gen-${seed}`, domain, ...(zones.length ? { zones } : {}), adminCidrs: ["198.51.100.64/28"], contactEmail: `ops@${domain}` },
    edge: { ipv4: `203.0.113.${20 + k}`, ipv6: `2001:db8::${(20 + k).toString(16)}`, docker: `ssh://deploy@203.0.113.${20 + k}` },
    tunnel: { subnet: `10.${90 + k}.0.0/30`, subnet6: `fd00:${90 + k}::/64`, port: 51820 },
    cloud: {
      docker: `ssh://deploy@10.${90 + k}.0.2`,
      uplinks: [
        { id: "fiber", interface: "fiber0", address: "198.51.100.20/28", gateway: "198.51.100.17", priority: 1 },
        { id: "cellular", interface: "wwan0", address: "198.51.100.36/28", gateway: "198.51.100.33", priority: 2 },
      ],
      networkPool: `172.${24 + (k % 7)}.0.0/16`,
    },
    images: IMAGES,
    services,
    flows,
    routes,
    ...(identities.length ? { openbao: { identities } } : {}),
    ...(mustNever.length ? { mustNever } : {}),
    postgres: { servers },
    tenants,
  };
  return {
    seed,
    yaml: `# Generated by scripts/lab-fuzz/generate-site.ts, seed ${seed}. Documentation addresses only.\n${stringify(site)}`,
    services: names.length,
    flows: flows.length,
    routes: routes.length,
    tenants: tenants.length,
  };
}
