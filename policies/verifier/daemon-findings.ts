import { ONE_SITE_ID } from "../../core/index.js";
import { parseHaproxy, routeRequest, type HaproxyConfig, type HaproxyRequest } from "./haproxy.js";
import { ingressPathOn } from "./declared-rendered.js";
import type { Finding } from "./report-model.js";
import type { ProxyInfo, SiteModel } from "./site-model.js";
import type { Intent, IntentPeer } from "../intent.js";
import { JsonSyntaxError, parseJsonWithLines } from "./json-lines.js";
import { parseWireguard } from "./wireguard.js";

/*
 * Findings from the engines' artifacts and the daemons' own configs, read as each daemon reads them: what the parsers do not
 * understand (the verifier fails rather than guess), and where a request for a name the proxy does
 * not serve lands (it must never reach an application).
 */

/** Names no site serves; `.invalid` is reserved (RFC 2606). */
const UNKNOWN_NAMES = ["unknown.invalid", "UNKNOWN.INVALID"];
const PROBE_PATHS = ["/", "/index.html", "/api", "/api/", "/admin"];

function notUnderstood(path: string, layer: string, line: number, message: string, text: string): Finding {
  return { id: `bad-artifact:${path}:${line}`, kind: "bad-artifact", severity: "violation", subject: `${path}:${line}`, message: `not understood, so not verified: ${message}`, layer, artifact: path, line, construct: text };
}

/** Requests a stranger sends for a name the proxy does not know: every source the config names, with and without PROXY header. */
function strangerRequests(cfg: HaproxyConfig, port: number, ssl: boolean, mode: "tcp" | "http"): HaproxyRequest[] {
  const named = cfg.frontends.flatMap((f) => f.rules.flatMap((r) => [...r.text.matchAll(/\bsrc\s+([0-9a-fA-F.:]+)/g)].map((m) => m[1]!)));
  const srcs = [...new Set([...named, "192.0.2.1"])];
  const out: HaproxyRequest[] = [];
  for (const src of srcs) {
    for (const proxyHeader of [false, true]) {
      if (mode === "tcp") {
        for (const sni of [...UNKNOWN_NAMES, null]) out.push({ port, src, proxyHeader, sni });
      } else {
        for (const host of UNKNOWN_NAMES) for (const path of PROBE_PATHS) out.push({ port, src, proxyHeader, host, path, ...(ssl ? { sni: host } : {}) });
      }
    }
  }
  return out;
}

export function daemonFindings(m: SiteModel, peers: readonly IntentPeer[]): Finding[] {
  const out: Finding[] = [];
  const services = new Set(peers.filter((p) => p.kind === "service").map((p) => p.id));
  for (const h of m.docker.hosts) {
    for (const p of h.problems) out.push(notUnderstood(h.artifact, `docker:${h.host}`, p.line, p.message, p.construct));
    for (const c of h.containers) {
      if (services.has(c.service)) continue;
      out.push({ id: `unknown-peer:${h.artifact}:${c.name}`, kind: "unknown-peer", severity: "violation", subject: `${h.host}/${c.service}`, message: `container ${c.name} (service ${c.service}) is in ${h.artifact} but the intent knows no such service: nothing says what it may reach`, layer: `docker:${h.host}`, artifact: h.artifact, line: c.lineOf(""), construct: c.construct });
    }
  }
  for (const proxy of m.proxies) out.push(...proxyFindings(proxy));
  return out;
}

/**
 * What a proxy's config does not let the verifier understand, and where a request for a name it does
 * not serve lands (it must never reach an application): for every HAProxy the platform runs.
 */
export function proxyFindings(proxy: ProxyInfo): Finding[] {
  const out: Finding[] = [];
  const cfg = proxy.config;
  if (!cfg) return [];
  for (const p of cfg.problems) out.push(notUnderstood(proxy.path, proxy.layer, p.line, p.message, p.text));
  for (const fe of cfg.frontends) {
    for (const port of [...new Set(fe.binds.map((b) => b.port))]) {
      const ssl = fe.binds.some((b) => b.port === port && b.ssl);
      for (const req of strangerRequests(cfg, port, ssl, fe.mode)) {
        const o = routeRequest(cfg, fe, req);
        if (o.kind !== "server") continue;
        const be = cfg.backends.find((b) => b.name === o.backend);
        const what = req.sni !== undefined && req.host === undefined ? `SNI ${req.sni ?? "(none)"}` : `Host ${req.host} path ${req.path}`;
        out.push({
          id: `unexpected-route:${proxy.path}:${fe.name}:${port}:unknown-name`,
          kind: "unexpected-route",
          severity: "violation",
          subject: `${proxy.node} ${fe.name} :${port} unknown name`,
          message: `a request for a name this proxy does not serve (${what}, from ${req.src}) lands on backend ${o.backend} (${be?.servers.map((s) => `${s.host}:${s.port}`).join(", ")}): an unknown name must be refused, never fall back to an application`,
          layer: proxy.layer,
          artifact: proxy.path,
          line: o.line,
          construct: `frontend ${fe.name} -> backend ${o.backend}`,
        });
        break;
      }
    }
  }
  return out;
}

/**
 * The ingress of a Kubernetes cloud: HAProxy runs as a pod there, with the config rendered for the
 * ingress's site (hosts/<site>/ingress/haproxy.cfg), so no Docker container names it and the
 * Docker models list no proxy for it; it is read like every other proxy.
 */
export function clusterIngressProxies(files: ReadonlyMap<string, string>, peers: readonly IntentPeer[], known: ReadonlySet<string>): ProxyInfo[] {
  const host = peers.find((p) => p.id === "ingress")?.host ?? ONE_SITE_ID;
  const path = ingressPathOn(host);
  const text = files.get(path);
  if (text === undefined || known.has(path)) return [];
  return [{ node: "ingress", host, layer: "haproxy:ingress", path, config: parseHaproxy(path, text) }];
}

/**
 * Where the cluster ingress's servers point: each must be a cluster Service of a service (its DNS
 * name, `<svc>.<namespace>.svc.cluster.local`) or a peer's address, on a port the intent lets the
 * ingress reach it; as the Docker proxies' routes are checked (checks.ts), a server resolving to no
 * known peer or a route the intent does not allow is an unexpected route naming the server's line.
 */
export function clusterIngressRouteFindings(proxy: ProxyInfo, clusterNames: ReadonlyMap<string, readonly string[]>, intent: Pick<Intent, "peers" | "flows">): Finding[] {
  const out: Finding[] = [];
  const byName = new Map([...clusterNames].flatMap(([id, names]) => names.map((n) => [n.toLowerCase(), id] as const)));
  const byAddress = new Map(intent.peers.flatMap((p) => (p.kind === "addresses" ? [] : (p.addresses ?? []).map((a) => [a.split("/")[0]!, p.id] as const))));
  for (const be of proxy.config?.backends ?? []) {
    for (const srv of be.servers) {
      const host = srv.host.replace(/^\[|\]$/g, "").toLowerCase();
      const target = byName.get(host) ?? byName.get(host.replace(/\.$/, "")) ?? byAddress.get(host);
      const construct = `backend ${be.name} server ${srv.name} ${srv.host}:${srv.port}`;
      const base = { kind: "unexpected-route" as const, severity: "violation" as const, layer: proxy.layer, artifact: proxy.path, line: srv.line, construct };
      if (!target) {
        out.push({ ...base, id: `unexpected-route:${proxy.path}:${be.name}/${srv.name}`, subject: `${proxy.node} => ${srv.host} : tcp/${srv.port}`, message: `backend ${be.name} server ${srv.name} ${srv.host}:${srv.port} resolves to no known peer (neither a cluster Service of a service nor a peer's address)` });
      } else if (!intent.flows.some((f) => f.from === proxy.node && f.to === target && f.port === `tcp/${srv.port}`)) {
        out.push({ ...base, id: `unexpected-route:${proxy.node} => ${target} : tcp/${srv.port}`, subject: `${proxy.node} => ${target} : tcp/${srv.port}`, message: `backend ${be.name} routes to ${target} tcp/${srv.port}, which the intent does not allow` });
      }
    }
  }
  return out;
}

/** Every JSON file the hosts read (failover.json, tenants.json, OpenBao's roles...) must be JSON: else a finding with its line. */
export function malformedJsonFindings(files: ReadonlyMap<string, string>): Finding[] {
  const out: Finding[] = [];
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!/^hosts\/.*\.json$/.test(path)) continue;
    try {
      parseJsonWithLines(text);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      out.push({ id: `bad-artifact:${path}`, kind: "bad-artifact", severity: "violation", subject: path, message: `cannot read ${path}: ${e.message}`, artifact: path, line: e.line });
    }
  }
  return out;
}

/** Every WireGuard config of every host, as wg reads it; a host has one tunnel interface, a second one is not modelled. */
export function wireguardFileFindings(files: ReadonlyMap<string, string>): Finding[] {
  const out: Finding[] = [];
  const perHost = new Map<string, string[]>();
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const host = /^hosts\/([^/]+)\/wireguard\/[^/]+\.conf$/.exec(path)?.[1];
    if (!host) continue;
    perHost.set(host, [...(perHost.get(host) ?? []), path]);
    for (const p of parseWireguard(path, text).problems) out.push(notUnderstood(path, "wireguard", p.line, p.message, `line ${p.line}`));
  }
  for (const [host, paths] of perHost) {
    for (const extra of paths.slice(1)) out.push(notUnderstood(extra, "wireguard", 1, `a second WireGuard interface on ${host} (besides ${paths[0]}) is not modelled: its peers would route around what the verifier computes`, extra));
  }
  return out;
}

/** Every host's sysctl drop-ins, as sysctl reads them: what the verifier does not model is a finding with its line. */
export function sysctlFileFindings(m: SiteModel): Finding[] {
  return [...m.hosts.values()].flatMap((h) => h.sysctl.problems.map((p) => notUnderstood(p.path, `sysctl:${h.id}`, p.line, p.message, p.text)));
}
