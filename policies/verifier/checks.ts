import type { Intent } from "../intent.js";
import { parseRange, type AddrRange } from "./addr.js";
import { portClasses } from "./nftables.js";
import { blockingCount, blockingLayers, compareText, parsePortText, pathVerdict, timed, type LayerName, type Path, type PortSpec } from "./layers.js";
import { Reachability, weakest, type FlowEval } from "./reachability.js";
import type { ExposureRecord, Finding, FlowRecord, MatrixRow, NeverRecord } from "./report-model.js";
import type { Node, SiteModel } from "./site-model.js";

/*
 * The checks: every effective flow is intended (else "unexpected exposure"); every intended
 * flow is effective (else "broken path"); every must-never pair is blocked by at least two
 * independent layers on every path and port (else a violation naming the single layer).
 * Verdicts that depend on artifacts not rendered yet are `pending`.
 */

export interface CheckOptions {
  /**
   * Whether a verdict that waits for an artifact not rendered (or deleted) fails the run.
   * @default the verifier's PENDING_IS_VIOLATION (true: every layer is rendered by plan)
   */
  readonly pendingIsViolation?: boolean;
  /**
   * Where to record the seconds each intended flow (`flow <line>`) and each must-never pair
   * (`never <source> => <destination>`) took to evaluate in this pass. @default - not measured
   */
  readonly caseTimes?: Map<string, number>;
}


export interface CheckResult {
  readonly flows: FlowRecord[];
  readonly nevers: NeverRecord[];
  readonly exposed: ExposureRecord[];
  readonly findings: Finding[];
  /** Every (source, destination, port) evaluated, allowed or not, with the deciding path's layers. */
  readonly matrix: MatrixRow[];
}

/** Ports tried when the destination is the internet (any port): common ones plus every dport a ruleset names. */
export const DEFAULT_PROBE_PORTS = ["tcp/22", "tcp/25", "tcp/53", "udp/53", "tcp/80", "udp/123", "tcp/443", "tcp/587", "tcp/5432", "tcp/8080", "udp/51820"];

export function flowLineOf(source: string, destination: string, port: PortSpec): string {
  return `${source} => ${destination} : ${port.protocol}/${port.port}`;
}

/**
 * The ports tried where any port matters (the internet and the hosts as destinations, container
 * egress): one port for each class of the 65,535 TCP and UDP ports that the hosts' rulesets and
 * Docker's publications tell apart (the lowest port of the class stands for all of it), plus the
 * common ones. `to` is the class's last port.
 */
export function probePorts(m: SiteModel): (PortSpec & { to: number })[] {
  const rulesets = [...m.hosts.values()].flatMap((h) => (h.nft ? [h.nft] : []));
  const extra = new Set<number>(DEFAULT_PROBE_PORTS.map((p) => parsePortText(p).port));
  for (const n of m.nodes.values()) {
    for (const l of n.listens) {
      extra.add(l.port);
      extra.add(l.to);
    }
    for (const p of n.container?.ports ?? []) extra.add(p.external);
  }
  const classes = portClasses(rulesets, [...extra]);
  return (["tcp", "udp"] as const).flatMap((protocol) => classes.map((c) => ({ protocol, port: c.lo, to: c.hi })));
}

/** Tried ports as merged intervals per protocol: `tcp/1-65535`, `udp/53`. */
export function portsTriedText(tried: readonly { protocol: string; port: number; to: number }[]): string[] {
  const out: string[] = [];
  for (const proto of ["tcp", "udp"]) {
    const xs = tried.filter((t) => t.protocol === proto).sort((a, b) => a.port - b.port);
    let cur: { lo: number; hi: number } | undefined;
    const flush = () => cur && out.push(`${proto}/${cur.lo === cur.hi ? cur.lo : `${cur.lo}-${cur.hi}`}`);
    for (const x of xs) {
      if (cur && x.port <= cur.hi + 1) cur.hi = Math.max(cur.hi, x.to);
      else {
        flush();
        cur = { lo: x.port, hi: x.to };
      }
    }
    flush();
  }
  return out;
}

function record(ev: FlowEval, intended: boolean, reason?: string): FlowRecord {
  return {
    line: flowLineOf(ev.source, ev.destination, ev),
    source: ev.source,
    destination: ev.destination,
    protocol: ev.protocol,
    port: ev.port,
    verdict: ev.verdict,
    intended,
    ...(reason ? { reason } : {}),
    via: ev.explain?.via,
    layers: ev.explain?.steps ?? [],
  };
}

function describeSteps(p: Path | undefined, verdict: "deny" | "allow" | "pending"): string {
  if (!p) return "no path";
  return p.steps
    .filter((s) => s.verdict === verdict)
    .map((s) => `${s.layer} (${s.artifact}: ${s.construct})`)
    .join("; ");
}

export function checkSegmentation(m: SiteModel, intent: Intent, opts: CheckOptions = {}): CheckResult {
  const pendingSeverity = opts.pendingIsViolation ? "violation" : "pending";
  const r = new Reachability(m);
  const probes = probePorts(m);
  const findings: Finding[] = [];
  const flows = new Map<string, FlowRecord>();
  const node = (id: string): Node | undefined => m.nodes.get(id);

  // Host principals: a host, its daemons and its host-network services share its addresses.
  const principalOf = (id: string): string => {
    const n = node(id);
    return n && (n.kind === "daemon" || n.kind === "host-service") && n.host ? n.host : id;
  };
  const intendedKeys = new Map<string, string>();
  const intendedByPrincipal = new Set<string>();
  for (const f of intent.flows) {
    const p = parsePortText(f.port);
    intendedKeys.set(flowLineOf(f.from, f.to, p), f.reason);
    intendedByPrincipal.add(flowLineOf(principalOf(f.from), f.to, p));
  }
  // An address peer covers another when its ranges hold all of the other's (the internet covers the admin ranges).
  const rangesOf = (id: string) => (node(id)?.cidrs ?? []).map(parseRange).filter((x): x is AddrRange => !!x);
  const covers = (a: string, b: string): boolean => {
    if (a === b) return true;
    if (node(a)?.kind !== "addresses" || node(b)?.kind !== "addresses") return false;
    const ra = rangesOf(a);
    const rb = rangesOf(b);
    return rb.length > 0 && rb.every((x) => ra.some((y) => y.v === x.v && y.lo <= x.lo && x.hi <= y.hi));
  };
  const addressPeers = [...m.nodes.values()].filter((n) => n.kind === "addresses").map((n) => n.id);
  const publicDest = new Set<string>();
  for (const f of intent.flows) {
    if (node(f.from)?.kind === "addresses" && rangesOf(f.from).some((x) => x.lo === 0n && x.hi >= 0xffffffffn)) publicDest.add(`${f.to}|${f.port}`);
  }
  // The sides a pair's intent may be declared under, once per peer (every candidate asks; at a
  // thousand services, building them per candidate was a twentieth of the verification).
  const srcSides = new Map<string, readonly string[]>();
  const dstSides = new Map<string, readonly string[]>();
  const sourceSides = (src: string): readonly string[] => {
    let sides = srcSides.get(src);
    if (!sides) srcSides.set(src, (sides = [...new Set([src, principalOf(src), ...addressPeers.filter((a) => covers(a, src))])]));
    return sides;
  };
  const destinationSides = (dst: string, fromAddresses: boolean): readonly string[] => {
    const key = `${fromAddresses ? "a" : "-"}${dst}`;
    let sides = dstSides.get(key);
    // A host is reached on a port when one of its daemons or host-network services is.
    if (!sides) dstSides.set(key, (sides = [...new Set([dst, ...addressPeers.filter((a) => covers(a, dst)), ...(node(dst)?.kind === "host" && fromAddresses ? [...m.nodes.values()].filter((n) => n.id !== dst && principalOf(n.id) === dst).map((n) => n.id) : [])])]));
    return sides;
  };
  /** Intended: declared for this source (or its host principal, or an address peer covering it) to this destination (or one covering it); or the destination is open to the whole internet on that port. */
  const isIntended = (src: string, dst: string, port: PortSpec): boolean => {
    const text = `${port.protocol}/${port.port}`;
    if (publicDest.has(`${dst}|${text}`)) return true;
    const srcs = sourceSides(src);
    const dsts = destinationSides(dst, node(src)?.kind === "addresses");
    for (const d of dsts) if (publicDest.has(`${d}|${text}`)) return true;
    for (const s of srcs) for (const d of dsts) if (intendedKeys.has(flowLineOf(s, d, port)) || intendedByPrincipal.has(flowLineOf(s, d, port))) return true;
    return false;
  };

  for (const p of intent.peers) {
    if (p.kind === "service" && !node(p.id)) {
      findings.push({ id: `unknown-peer:${p.id}`, kind: "unknown-peer", severity: "violation", subject: p.id, message: `the intent names service ${p.id}, which no Docker artifact declares` });
    }
  }

  // 1. Intended flows: each must be effective.
  for (const f of intent.flows) {
    const port = parsePortText(f.port);
    const line = flowLineOf(f.from, f.to, port);
    const s = node(f.from);
    const d = node(f.to);
    if (!s || !d) {
      findings.push({ id: `broken-path:${line}`, kind: "broken-path", severity: "violation", subject: line, message: `${!s ? f.from : f.to} does not exist in the artifacts` });
      continue;
    }
    const ev = timed(opts.caseTimes, `flow ${line}`, () => r.evaluate(s, d, port));
    flows.set(line, record(ev, true, f.reason));
    if (ev.verdict === "denied") {
      const first = ev.explain?.steps.find((x) => x.verdict === "deny");
      findings.push({
        id: `broken-path:${line}`,
        kind: "broken-path",
        severity: "violation",
        subject: line,
        message: `intended (${f.reason}) but blocked by ${describeSteps(ev.explain, "deny") || "no path between them"}`,
        layer: first?.layer,
        artifact: first?.artifact,
        line: first?.line,
        construct: first?.construct,
      });
    } else if (ev.verdict === "pending") {
      const first = ev.explain?.steps.find((x) => x.verdict === "pending");
      findings.push({
        id: `pending:${line}`,
        kind: "pending",
        severity: pendingSeverity,
        subject: line,
        message: `intended; waits for ${[...new Set((ev.explain?.steps ?? []).filter((x) => x.verdict === "pending").map((x) => x.artifact))].join(", ")}`,
        layer: first?.layer,
        artifact: first?.artifact,
      });
    }
  }

  // 2. Effective flows: each must be intended.
  const candidates = r.candidates(probes);
  for (const ev of candidates) {
    const s = node(ev.source)!;
    if (s.kind === "daemon" || s.kind === "host-service") {
      if (!m.proxies.some((p) => p.node === s.id)) continue; // enumerated as their host
    }
    const line = flowLineOf(ev.source, ev.destination, ev);
    if (intendedKeys.has(line)) continue; // already recorded above
    if (isIntended(ev.source, ev.destination, ev)) {
      // A host reached on its services' ports is those services' flow, recorded under their names.
      if (node(ev.destination)?.kind === "host" && s.kind === "addresses") continue;
      if (ev.verdict === "allowed" && !intendedByPrincipal.has(flowLineOf(principalOf(ev.source), ev.destination, ev))) flows.set(line, record(ev, true, "covered by a broader intended flow"));
      continue;
    }
    if (ev.verdict === "allowed") {
      flows.set(line, record(ev, false));
      const step = ev.explain?.steps.find((x) => x.layer.startsWith("nftables")) ?? ev.explain?.steps[0];
      findings.push({
        id: `unexpected-exposure:${line}`,
        kind: "unexpected-exposure",
        severity: "violation",
        subject: line,
        message: `reachable but not intended, via ${ev.explain?.via ?? "?"}: ${describeSteps(ev.explain, "allow")}`,
        layer: step?.layer,
        artifact: step?.artifact,
        line: step?.line,
        construct: step?.construct,
      });
    } else if (ev.verdict === "pending" && !flows.has(line)) {
      flows.set(line, record(ev, false));
    }
  }

  // 3. Must-never pairs: blocked by >= 2 independent layers on every path and port.
  const nevers: NeverRecord[] = [];
  for (const nv of intent.nevers) {
    const s = node(nv.from);
    const d = node(nv.to);
    if (!s || !d) {
      nevers.push({ source: nv.from, destination: nv.to, reason: nv.reason, status: "impossible", impossible: `${!s ? nv.from : nv.to} is in no artifact`, layers: [], portsTried: [] });
      continue;
    }
    const ports: PortSpec[] = d.kind === "addresses" || d.kind === "host" ? probes : d.listens.map((l) => ({ protocol: l.protocol, port: l.port }));
    if (ports.length === 0) {
      nevers.push({ source: nv.from, destination: nv.to, reason: nv.reason, status: "impossible", impossible: `${nv.to} listens on no port (${d.listensFrom || "no listening ports known"})`, layers: [], portsTried: [] });
      continue;
    }
    if (s.host && s.host === d.host && s.kind !== "container" && d.kind !== "container") {
      nevers.push({ source: nv.from, destination: nv.to, reason: nv.reason, status: "impossible", impossible: `${nv.from} and ${nv.to} both run in ${s.host}'s own network namespace (host networking): the pair is the host talking to itself`, layers: [], portsTried: [] });
      continue;
    }
    let worst: { ev: FlowEval; path?: Path; n: number; pending: boolean } | undefined;
    let reachable: FlowEval | undefined;
    let pendingReach: FlowEval | undefined;
    // Ports the steps answer alike come grouped (evaluatePorts): one evaluation, the same paths.
    for (const ev of timed(opts.caseTimes, `never ${nv.from} => ${nv.to}`, () => r.evaluatePorts(s, d, ports))) {
      const line = flowLineOf(nv.from, nv.to, ev);
      if (!flows.has(line) && ev.verdict !== "denied") flows.set(line, record(ev, false));
      if (ev.verdict === "allowed") reachable ??= ev;
      if (ev.verdict === "pending" && ev.paths.some((p) => pathVerdict(p) === "pending" && blockingCount(p) === 0)) pendingReach ??= ev;
      for (const p of ev.paths) {
        const n = blockingCount(p);
        const pending = p.steps.some((x) => x.verdict === "pending");
        if (!worst || n < worst.n || (n === worst.n && !pending && worst.pending)) worst = { ev, path: p, n, pending };
      }
      if (ev.paths.length === 0 && !worst) worst = { ev, n: Infinity, pending: false };
    }
    const weak = worst?.path;
    const weakRec = weak && worst ? { port: `${worst.ev.protocol}/${worst.ev.port}`, via: weak.via, steps: weak.steps } : undefined;
    const layers: LayerName[] = weak ? blockingLayers(weak) : [];
    const pair = `${nv.from} => ${nv.to}`;
    let status: NeverRecord["status"];
    if (reachable) {
      status = "violation";
      const step = reachable.explain?.steps.find((x) => x.layer.startsWith("nftables")) ?? reachable.explain?.steps[0];
      findings.push({
        id: `never-reachable:${pair}`,
        kind: "never-reachable",
        severity: "violation",
        subject: pair,
        message: `must never connect (${nv.reason}) but ${flowLineOf(nv.from, nv.to, reachable)} is allowed via ${reachable.explain?.via}: ${describeSteps(reachable.explain, "allow")}`,
        layer: step?.layer,
        artifact: step?.artifact,
        line: step?.line,
        construct: step?.construct,
      });
    } else if (pendingReach || (worst && worst.n < 2 && worst.pending)) {
      status = "pending";
      findings.push({
        id: `pending:${pair}`,
        kind: "pending",
        severity: pendingSeverity,
        subject: pair,
        message: `must never connect; ${layers.length ? `blocked by ${layers.join(", ")} so far` : "not blocked yet"}; waits for ${[...new Set((weak?.steps ?? []).filter((x) => x.verdict === "pending").map((x) => x.artifact))].join(", ")}`,
        layer: layers[0],
      });
    } else if (worst && worst.n < 2 && weak) {
      status = "violation";
      const only = weak.steps.find((x) => x.verdict === "deny");
      // Located at what opened the hole (a layer that lets the packet through, a cited line first),
      // not at the one layer still blocking it.
      const opened = weak.steps.find((x) => x.verdict === "allow" && x.line) ?? weak.steps.find((x) => x.verdict === "allow") ?? only;
      findings.push({
        id: `single-layer:${pair}`,
        kind: "single-layer",
        severity: "violation",
        subject: pair,
        message: `must never connect (${nv.reason}) but on ${weakRec!.port} via ${weak.via} only one layer blocks it: ${only ? `${only.layer} (${only.construct})` : "none"}${opened && opened !== only ? `; opened by ${opened.layer} (${opened.construct})` : ""}`,
        layer: opened?.layer,
        artifact: opened?.artifact,
        line: opened?.line,
        construct: opened?.construct,
      });
    } else status = "blocked";
    if (worst && weakRec) {
      const line = flowLineOf(nv.from, nv.to, worst.ev);
      if (!flows.has(line)) flows.set(line, { ...record(worst.ev, false), via: weak!.via, layers: weak!.steps });
    }
    nevers.push({ source: nv.from, destination: nv.to, reason: nv.reason, status, layers, weakest: weakRec, portsTried: ports.map((p) => `${p.protocol}/${p.port}`) });
  }

  // 4. Proxy routes: each route a proxy is configured with must be an intended flow.
  for (const proxy of m.proxies) {
    const src = node(proxy.node);
    if (!src || !proxy.config) continue;
    for (const be of proxy.config.backends) {
      for (const srv of be.servers) {
        const target = r.resolveServer(src, srv.host, srv.port);
        const line = flowLineOf(proxy.node, target ?? `${srv.host}`, { protocol: "tcp", port: srv.port });
        if (!target) {
          findings.push({ id: `unexpected-route:${proxy.path}:${be.name}/${srv.name}`, kind: "unexpected-route", severity: "violation", subject: line, message: `backend ${be.name} server ${srv.name} ${srv.host}:${srv.port} resolves to no known peer`, layer: proxy.layer, artifact: proxy.path, line: srv.line, construct: `server ${srv.name} ${srv.host}:${srv.port}` });
          continue;
        }
        if (intendedKeys.has(line) || isIntended(proxy.node, target, { protocol: "tcp", port: srv.port })) continue;
        findings.push({ id: `unexpected-route:${line}`, kind: "unexpected-route", severity: "violation", subject: line, message: `backend ${be.name} routes to ${target} tcp/${srv.port}, which the intent does not allow`, layer: proxy.layer, artifact: proxy.path, line: srv.line, construct: `backend ${be.name} server ${srv.name} ${srv.host}:${srv.port}` });
      }
    }
  }

  // 5. nftables rules the evaluator does not understand: findings, never guesses.
  for (const h of m.hosts.values()) {
    for (const p of h.nft?.problems ?? []) {
      findings.push({ id: `nft-unsupported:${h.nftPath}:${p.line}`, kind: "nft-unsupported", severity: "violation", subject: `${h.nftPath}:${p.line}`, message: `${p.message}: ${p.text}`, layer: `nftables:${h.id}`, artifact: h.nftPath, line: p.line, construct: p.text });
    }
  }

  // Exposure: what the internet, or any address peer holding public addresses (the admin ranges),
  // reaches, with what proxies relay it to.
  const exposed: ExposureRecord[] = [];
  const publicSources = new Set(addressPeers.filter((id) => rangesOf(id).some((x) => !isPrivateRange(x))));
  for (const f of flows.values()) {
    if (f.verdict !== "allowed" || !publicSources.has(f.source)) continue;
    const chain: string[] = [];
    // `hosts`: the names a request routed so far can carry (an SNI chosen at the edge is the Host
    // the ingress sees), so the next proxy's routes for other names are not part of this chain.
    const relay = (nodeId: string, port: number, depth: number, hosts: ReadonlySet<string> | null) => {
      const proxy = m.proxies.find((p) => p.node === nodeId);
      if (!proxy?.config || depth > 3) return;
      const src = node(nodeId)!;
      for (const fe of proxy.config.frontends) {
        if (fe.binds.length && !fe.binds.some((b) => b.port === port)) continue;
        for (const route of fe.routes) {
          const named = domainsIn(route.condition);
          if (hosts && named.length && !named.some((h) => hosts.has(h))) continue;
          const next = named.length ? new Set(named.filter((h) => !hosts || hosts.has(h))) : hosts;
          const be = proxy.config.backends.find((b) => b.name === route.backend);
          for (const srv of be?.servers ?? []) {
            const target = r.resolveServer(src, srv.host, srv.port) ?? srv.host;
            chain.push(`${"  ".repeat(depth)}${nodeId} -[${route.condition}]-> ${target} : tcp/${srv.port} (${proxy.layer} ${be!.name})`);
            relay(target, srv.port, depth + 1, next);
          }
        }
      }
    };
    relay(f.destination, f.port, 0, null);
    exposed.push({ line: f.line, chain, intended: f.intended, sourceAddresses: node(f.source)?.cidrs ?? [] });
  }

  findings.sort((a, b) => compareText(a.kind, b.kind) || compareText(a.subject, b.subject) || compareText(a.id, b.id));
  const dedup = findings.filter((f, i) => i === 0 || f.id !== findings[i - 1]!.id);
  // A port inside a grouped evaluation's ports (evaluated again on its own, by a must-never pair or a flow) is that row's.
  // (Only with the same verdict: a disagreement would be the grouping's error, and stays visible.)
  const groups = new Map<string, FlowEval[]>();
  for (const ev of r.evaluated.values()) {
    if (ev.to === undefined) continue;
    const k = `${ev.source}\u0000${ev.destination}\u0000${ev.protocol}`;
    groups.set(k, [...(groups.get(k) ?? []), ev]);
  }
  const covered = (ev: FlowEval) => ev.to === undefined && !!groups.get(`${ev.source}\u0000${ev.destination}\u0000${ev.protocol}`)?.some((g) => ev.port > g.port && ev.port <= g.to! && ev.verdict === g.verdict);
  const matrix: MatrixRow[] = [...r.evaluated.values()]
    .filter((ev) => !covered(ev))
    .map((ev) => ({
      source: ev.source,
      destination: ev.destination,
      protocol: ev.protocol,
      port: ev.port,
      ...(ev.to !== undefined ? { to: ev.to } : {}),
      verdict: ev.verdict,
      ...(ev.explain ? { via: ev.explain.via } : {}),
      layers: (ev.explain?.steps ?? []).map((st) => `${st.layer} ${st.verdict} ${st.artifact}${st.line ? `:${st.line}` : ""}`),
    }))
    .sort((a, b) => compareText(a.source, b.source) || compareText(a.destination, b.destination) || compareText(a.protocol, b.protocol) || a.port - b.port);
  // The ports tried for each pair: every class for the internet and the hosts, else what the destination listens on or publishes.
  const allPorts = portsTriedText(probes);
  const triedFor = (f: FlowRecord): string[] => {
    const d = node(f.destination);
    if (!d || d.kind === "addresses" || d.kind === "host") return allPorts;
    const own = [...d.listens, ...(d.container?.ports ?? []).map((p) => ({ protocol: p.protocol, port: p.external, to: p.external }))];
    return portsTriedText(own.some((x) => x.protocol === f.protocol && f.port >= x.port && f.port <= x.to) ? own : [...own, { protocol: f.protocol, port: f.port, to: f.port }]);
  };
  return {
    matrix,
    flows: [...flows.values()].map((f) => ({ ...f, portsTried: triedFor(f) })).sort((a, b) => compareText(a.line, b.line)),
    nevers: nevers.sort((a, b) => compareText(a.source, b.source) || compareText(a.destination, b.destination)),
    exposed: exposed.sort((a, b) => compareText(a.line, b.line)),
    findings: dedup,
  };
}

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128"].map((c) => parseRange(c)!);
/** A range wholly inside private, shared or loopback space: reaching from it is no public exposure. */
function isPrivateRange(r: AddrRange): boolean {
  return PRIVATE_RANGES.some((p) => p.v === r.v && p.lo <= r.lo && r.hi <= p.hi);
}

/** Host names a route's condition names (`sni app.example.com`, `host a.example.com b.example.com path /x`). */
function domainsIn(condition: string): string[] {
  return [...condition.matchAll(/\b[a-z0-9-]+(?:\.[a-z0-9-]+)+\.[a-z]{2,63}\b/gi)].map((m) => m[0].toLowerCase());
}

export { weakest };
