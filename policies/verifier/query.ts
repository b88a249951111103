import { flowLineOf, probePorts } from "./checks.js";
import { compareText, parsePortText, type FlowVerdict, type LayerStep, type PortSpec } from "./layers.js";
import { Reachability } from "./reachability.js";
import type { Report } from "./report-model.js";
import type { SiteModel } from "./site-model.js";

/*
 * Point queries: may SRC reach DST (on PORT, or on every port DST listens on), and through what.
 * The answer comes from the same reachability engine as the report, over the same artifacts;
 * the trace is every layer of the deciding path, with its artifact, line and construct.
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

function known(m: SiteModel): string {
  return [...m.nodes.keys()].sort(compareText).join(", ");
}

function nodeOf(m: SiteModel, id: string, role: string) {
  const n = m.nodes.get(id);
  if (!n) throw new QueryInputError(`unknown ${role} ${JSON.stringify(id)}; the artifacts know: ${known(m)}`);
  return n;
}

export function queryPair(m: SiteModel, source: string, destination: string, port?: PortSpec): QueryAnswer {
  const s = nodeOf(m, source, "source");
  const d = nodeOf(m, destination, "destination");
  const r = new Reachability(m);
  const ports = port ? [port] : d.kind === "addresses" ? probePorts(m) : d.listens.map((l) => ({ protocol: l.protocol, port: l.port }));
  const answers: PortAnswer[] = ports.map((p) => {
    const ev = r.evaluate(s, d, p);
    return { line: flowLineOf(source, destination, p), verdict: ev.verdict, via: ev.explain?.via, steps: ev.explain?.steps ?? [], paths: ev.paths.length };
  });
  const verdict: FlowVerdict = answers.some((a) => a.verdict === "allowed") ? "allowed" : answers.some((a) => a.verdict === "pending") ? "pending" : "denied";
  const note = answers.length === 0 ? `${destination} listens on no port (${d.listensFrom || "no listening ports known"}): nothing to reach` : undefined;
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
  if (!ids.has(peer)) throw new QueryInputError(`unknown peer ${JSON.stringify(peer)}; the artifacts know: ${[...ids].sort(compareText).join(", ")}`);
  const flows = report.flows.filter((f) => f.verdict !== "denied" && (direction === "from" ? f.source === peer : f.destination === peer));
  const head = direction === "from" ? `${peer} reaches ${flows.length} (destination, port):` : `${peer} is reached by ${flows.length} (source, port):`;
  const lines = flows.map((f) => {
    const cite = f.layers.find((l) => l.line) ?? f.layers[0];
    return `  ${f.line}  [${f.verdict}${f.intended ? ", intended" : ", NOT INTENDED"}]${cite ? `  ${cite.artifact}${cite.line ? `:${cite.line}` : ""}` : ""}`;
  });
  return `${[head, ...lines].join("\n")}\n`;
}

