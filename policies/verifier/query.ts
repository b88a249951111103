import { flowLineOf, probePorts } from "./checks.js";
import { compareText, parsePortText, type FlowVerdict, type LayerStep, type PortSpec } from "./layers.js";
import { Reachability } from "./reachability.js";
import type { Report } from "./report-model.js";
import type { SiteModel } from "./site-model.js";
import type { ClusterQuery } from "./kube-query.js";

/*
 * Point queries: may SRC reach DST (on PORT, or on every port DST listens on), and through what.
 * The answer comes from the same reachability engine as the report, over the same artifacts;
 * the trace is every layer of the deciding path, with its artifact, line and construct. A pair with
 * an end in a Kubernetes cluster is the cluster's (kube-query.ts: each side's NetworkPolicy and the
 * node firewall, the layers the report judges it by); every other pair is the Docker model's.
 */

export class QueryInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryInputError";
  }
}

export interface PortAnswer {
  readonly line: string;
  readonly verdict: FlowVerdict;
  readonly via?: string;
  readonly steps: readonly LayerStep[];
  /** Paths evaluated for this port (the trace shows the deciding one). */
  readonly paths: number;
}

export interface QueryAnswer {
  readonly source: string;
  readonly destination: string;
  readonly verdict: FlowVerdict;
  readonly ports: readonly PortAnswer[];
  /** Why no port was evaluated (the destination listens on nothing). */
  readonly note?: string;
}

/** `5432`, `tcp/5432`, `udp/53` → a port; anything else is bad input. */
export function parseQueryPort(text: string): PortSpec {
  const t = /^\d+$/.test(text) ? `tcp/${text}` : text;
  try {
    const p = parsePortText(t);
    if (p.port < 1 || p.port > 65535 || p.to !== p.port) throw new Error("range");
    return { protocol: p.protocol, port: p.port };
  } catch {
    throw new QueryInputError(`port ${JSON.stringify(text)} is not a port; expected N, tcp/N or udp/N with N in 1-65535, e.g. tcp/5432`);
  }
}

function known(m: SiteModel, clusters: readonly ClusterQuery[]): string {
  return [...new Set([...m.nodes.keys(), ...clusters.flatMap((c) => [...c.services.keys()])])].sort(compareText).join(", ");
}

function check(m: SiteModel, clusters: readonly ClusterQuery[], id: string, role: string): void {
  if (m.nodes.has(id) || clusters.some((c) => c.services.has(id))) return;
  const node = clusters.find((c) => c.nodeAgents.includes(id));
  if (node) throw new QueryInputError(`${role} ${JSON.stringify(id)} is no pod of the cluster ${node.stack}: no workload of its manifests runs it (a node agent, such as the failover agent, runs on the node itself, with the host network); ask for the node instead, e.g. palisade query ${role === "source" ? `${node.stack} DST` : `SRC ${node.stack}`}`);
  throw new QueryInputError(`unknown ${role} ${JSON.stringify(id)}: no peer of the artifacts has that name; the artifacts know: ${known(m, clusters)}; give one of those (palisade query --help)`);
}

export function queryPair(m: SiteModel, source: string, destination: string, port?: PortSpec, clusters: readonly ClusterQuery[] = []): QueryAnswer {
  check(m, clusters, source, "source");
  check(m, clusters, destination, "destination");
  const cluster = clusters.find((c) => c.involves(source, destination));
  let answers: PortAnswer[];
  let note: string | undefined;
  if (cluster) {
    const d = m.nodes.get(destination);
    const own = cluster.services.has(destination) ? cluster.listens(destination) : (d?.listens ?? []).map((l) => ({ protocol: l.protocol, port: l.port }));
    const ports = port ? [port] : own.length || cluster.services.has(destination) ? own : probePorts(m);
    answers = ports.map((p) => {
      const ev = cluster.evaluate(source, destination, p);
      return { line: flowLineOf(source, destination, p), verdict: ev.verdict, via: ev.via, steps: ev.steps, paths: ev.paths };
    });
    if (answers.length === 0) note = `${destination} listens on no port (its pods declare no container port): nothing to reach`;
  } else {
    const s = m.nodes.get(source)!;
    const d = m.nodes.get(destination)!;
    const r = new Reachability(m);
    const ports = port ? [port] : d.kind === "addresses" ? probePorts(m) : d.listens.map((l) => ({ protocol: l.protocol, port: l.port }));
    answers = ports.map((p) => {
      const ev = r.evaluate(s, d, p);
      return { line: flowLineOf(source, destination, p), verdict: ev.verdict, via: ev.explain?.via, steps: ev.explain?.steps ?? [], paths: ev.paths.length };
    });
    if (answers.length === 0) note = `${destination} listens on no port (${d.listensFrom || "no listening ports known"}): nothing to reach`;
  }
  const verdict: FlowVerdict = answers.some((a) => a.verdict === "allowed") ? "allowed" : answers.some((a) => a.verdict === "pending") ? "pending" : "denied";
  return { source, destination, verdict, ports: answers, ...(note ? { note } : {}) };
}

/** The answer as text: the verdict, then per port the trace, one layer a line. */
export function renderQuery(a: QueryAnswer, verbose = true): string {
  const out = [`${a.source} => ${a.destination}: ${a.verdict.toUpperCase()}${a.note ? ` (${a.note})` : ""}`];
  for (const p of a.ports) {
    if (!verbose && p.verdict === "denied" && a.verdict === "allowed") continue;
    out.push(`  ${p.line}: ${p.verdict}${p.via ? ` via ${p.via}` : ""}${p.paths > 1 ? ` (deciding path of ${p.paths})` : ""}`);
    p.steps.forEach((s, i) => out.push(`    ${i + 1}. ${s.layer} ${s.verdict.toUpperCase()}  ${s.artifact}${s.line ? `:${s.line}` : ""}  ${s.construct}`));
    if (p.steps.length === 0) out.push("    no path: the two never meet on any network, route or tunnel");
  }
  return `${out.join("\n")}\n`;
}

/** Everything `peer` reaches (`from`) or is reached by (`to`), per the report's flows. */
export function reachList(report: Report, peer: string, direction: "from" | "to"): string {
  const ids = new Set((report.peers ?? []).map((p) => p.id));
  if (!ids.has(peer)) throw new QueryInputError(`unknown peer ${JSON.stringify(peer)}: no peer of the report has that name; the report knows: ${[...ids].sort(compareText).join(", ")}; give one of those (palisade query --help)`);
  const flows = report.flows.filter((f) => f.verdict !== "denied" && (direction === "from" ? f.source === peer : f.destination === peer));
  const head = direction === "from" ? `${peer} reaches ${flows.length} (destination, port):` : `${peer} is reached by ${flows.length} (source, port):`;
  const lines = flows.map((f) => {
    const cite = f.layers.find((l) => l.line) ?? f.layers[0];
    return `  ${f.line}  [${f.verdict}${f.intended ? ", intended" : ", NOT INTENDED"}]${cite ? `  ${cite.artifact}${cite.line ? `:${cite.line}` : ""}` : ""}`;
  });
  return `${[head, ...lines].join("\n")}\n`;
}

