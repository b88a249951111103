/*
 * A Kubernetes cluster's pairs evaluated one port at a time, with the trace of each layer: what
 * `palisade query` answers for a pod, what the report's matrix and flows hold for the cluster's pairs.
 * The pairs and layers are the segmentation checks' own (k8s/segmentation.ts kubePairs over the first
 * engine's manifests, the node firewall from the cluster host's ruleset), so the query, the matrix and
 * the checks cannot disagree:
 *
 * - networkpolicy:egress (the source pod) and networkpolicy:ingress (the destination pod): the policy
 *   that admits the port, cited at its line in the stack's artifact; or, refused, the policies isolating
 *   the pod that way (the default deny first), none of whose rules admits it; a pod no policy isolates
 *   that way is let through, saying so;
 * - nftables:cloud: the node's rule that decides the packet between the two (hosts/<site>/nftables.conf).
 *
 * Between several endpoint pairs (a peer's addresses cut where the policies' ipBlocks start and end) the
 * deciding one is the first that lets the port through, else the first.
 */
import { lineOfConstruct } from "./locate.js";
import { constructOf, nodeLayerOf, podPoolsOf, type KubeSiteIntent, type KubeStackRead } from "./kube-site.js";
import type { FlowRecord, MatrixRow, PeerRecord } from "./report-model.js";
import { coversPort, ipv4Text, kubePairs, type Endpoint, type KubePair, type NetworkPolicy, type Workload } from "./k8s/index.js";
import type { HostInfo } from "./site-model.js";
import { compareText, type FlowVerdict, type LayerStep, type PortSpec } from "./layers.js";

export interface ClusterPortAnswer {
  readonly verdict: FlowVerdict;
  readonly via?: string;
  readonly steps: readonly LayerStep[];
  /** Endpoint pairs evaluated (the trace shows the deciding one). */
  readonly paths: number;
}

export interface ClusterQuery {
  /** The site (stack) the cluster is: `cloud`, or the site's id. */
  readonly stack: string;
  /** The services the cluster runs, each with its workload. */
  readonly services: ReadonlyMap<string, Workload>;
  /** Services the intent places on the cluster's host that no workload runs: the node's own agents (host network). */
  readonly nodeAgents: readonly string[];
  /** Whether a pair has an end in the cluster (then this answers for it, not the Docker model). */
  involves(source: string, destination: string): boolean;
  /** A service's pod addresses: its namespace's IP pools (none known: any address). */
  addresses(id: string): string[];
  /** What a service's pods listen on (their container ports), sorted. */
  listens(id: string): PortSpec[];
  evaluate(source: string, destination: string, port: PortSpec): ClusterPortAnswer;
}

function endpointText(e: Endpoint, services: ReadonlyMap<string, Workload>): string {
  if (e.kind === "ip") return e.range[0] === e.range[1] ? ipv4Text(e.range[0]) : `${ipv4Text(e.range[0])}-${ipv4Text(e.range[1])}`;
  const id = [...services].find(([, w]) => w.namespace === e.namespace && w.labels === e.labels)?.[0];
  return id ? `${id} (pods of ${e.namespace})` : `pods of ${e.namespace}`;
}

/** The cluster query of the first engine's stack of each site; undefined without a Kubernetes stack. */
export function clusterQueries(stacks: readonly KubeStackRead[], files: ReadonlyMap<string, string>, intent: KubeSiteIntent, hosts: ReadonlyMap<string, HostInfo>): ClusterQuery[] {
  const firsts = stacks.filter((s, i) => stacks.findIndex((x) => x.stack === s.stack) === i);
  return firsts.map((s) => clusterQuery(s, files.get(s.artifact) ?? "", intent, hosts.get(s.stack)));
}

export function clusterQuery(stack: KubeStackRead, text: string, intent: KubeSiteIntent, host: HostInfo | undefined): ClusterQuery {
  const node = nodeLayerOf(stack, intent, host);
  const pairs = kubePairs(stack.resources, intent, node);
  const { engine, services } = pairs;
  const nodeArtifact = `hosts/${stack.stack}/nftables.conf`;
  const pools = podPoolsOf(stack.raw);
  const cite = (p: NetworkPolicy) => {
    const line = lineOfConstruct(text, constructOf(p.source));
    return line ? { line } : {};
  };
  const name = (p: NetworkPolicy) => `${p.namespace}/${p.name}`;

  const stepsOf = (pair: KubePair, port: PortSpec): LayerStep[] => {
    const proto = port.protocol === "tcp" ? "TCP" : "UDP";
    return pair.layers.map(([layer, set]): LayerStep => {
      if (layer === "nftables:cloud") {
        const t = node!.trace(pair.a, pair.b, port.protocol, port.port);
        return { layer, verdict: t.verdict, artifact: nodeArtifact, construct: t.construct, ...(t.line ? { line: t.line } : {}) };
      }
      const dir = layer === "networkpolicy:egress" ? "egress" : "ingress";
      const pod = (dir === "egress" ? pair.a : pair.b) as Endpoint & { kind: "pod" };
      const other = endpointText(dir === "egress" ? pair.b : pair.a, services);
      const toward = `${port.protocol}/${port.port} ${dir === "egress" ? "to" : "from"} ${other}`;
      const isolating = engine.policiesIsolating(pod, dir);
      const who = endpointText(pod, services);
      if (!isolating.length) return { layer, verdict: "allow", artifact: stack.artifact, construct: `no NetworkPolicy isolates ${who} for ${dir}: ${toward} is let through` };
      if (coversPort(set, proto, port.port)) {
        const admitting = isolating.filter((p) => coversPort(engine.policyConns(p, pair.a, pair.b, dir), proto, port.port)).sort((x, y) => compareText(name(x), name(y)));
        const first = admitting[0]!;
        return { layer, verdict: "allow", artifact: stack.artifact, construct: `NetworkPolicy ${admitting.map(name).join(", ")} admits ${toward} (${dir} of ${who})`, ...cite(first) };
      }
      // The default deny (no rule that way) is the policy that refuses; else the first isolating one.
      const ordered = [...isolating].sort((x, y) => Number((dir === "egress" ? x.egress : x.ingress).length > 0) - Number((dir === "egress" ? y.egress : y.ingress).length > 0) || compareText(name(x), name(y)));
      return { layer, verdict: "deny", artifact: stack.artifact, construct: `NetworkPolicy ${ordered.map(name).join(", ")} isolate${ordered.length > 1 ? "" : "s"} ${who} for ${dir}, and no rule of ${ordered.length > 1 ? "them" : "it"} admits ${toward}`, ...cite(ordered[0]!) };
    });
  };

  return {
    stack: stack.stack,
    services,
    nodeAgents: (intent.peers ?? []).filter((p) => p.kind === "service" && p.host === stack.stack && !services.has(p.id)).map((p) => p.id).sort(compareText),
    involves: (s, d) => services.has(s) || services.has(d),
    addresses: (id) => [...(pools.get(services.get(id)?.namespace ?? "") ?? [])],
    listens(id) {
      const w = services.get(id);
      const seen = new Map<string, PortSpec>();
      for (const p of w?.ports ?? []) if (p.protocol !== "SCTP") seen.set(`${p.protocol}/${p.port}`, { protocol: p.protocol === "TCP" ? "tcp" : "udp", port: p.port });
      return [...seen.values()].sort((a, b) => compareText(a.protocol, b.protocol) || a.port - b.port);
    },
    evaluate(source, destination, port) {
      const all = pairs.pairsOf(source, destination);
      if (!all.length) return { verdict: "denied", steps: [], paths: 0 };
      const proto = port.protocol === "tcp" ? "TCP" : "UDP";
      const open = (p: KubePair) => p.layers.every(([, set]) => coversPort(set, proto, port.port));
      const deciding = all.find(open) ?? all[0]!;
      const steps = stepsOf(deciding, port);
      return { verdict: open(deciding) ? "allowed" : "denied", via: `${endpointText(deciding.a, services)} -> ${endpointText(deciding.b, services)} on the cluster ${stack.stack}`, steps, paths: all.length };
    },
  };
}

/** A matrix row of one evaluation, as the Docker checks write theirs. */
function row(source: string, destination: string, port: PortSpec, a: ClusterPortAnswer): MatrixRow {
  return { source, destination, protocol: port.protocol, port: port.port, verdict: a.verdict, ...(a.via ? { via: a.via } : {}), layers: a.steps.map((st) => `${st.layer} ${st.verdict} ${st.artifact}${st.line ? `:${st.line}` : ""}`) };
}

const portOf = (text: string): PortSpec | undefined => {
  const m = /^(tcp|udp)\/(\d+)$/.exec(text);
  return m ? { protocol: m[1] as "tcp" | "udp", port: Number(m[2]) } : undefined;
};

/**
 * The matrix rows of the clusters' pairs: each declared flow with an end in a cluster on its port, and
 * each must-never pair with an end in one on every port its destination listens on (`others`: what a
 * peer outside the cluster listens on; none, as for the internet or a host, `probe`: the probe ports).
 */
export function clusterMatrix(clusters: readonly ClusterQuery[], intent: KubeSiteIntent, others: (id: string) => readonly PortSpec[], probe: readonly PortSpec[]): MatrixRow[] {
  const out = new Map<string, MatrixRow>();
  const add = (c: ClusterQuery, from: string, to: string, port: PortSpec) => {
    const key = `${from}|${to}|${port.protocol}|${port.port}`;
    if (!out.has(key)) out.set(key, row(from, to, port, c.evaluate(from, to, port)));
  };
  for (const c of clusters) {
    for (const f of intent.flows) {
      const port = portOf(f.port);
      if (port && c.involves(f.from, f.to)) add(c, f.from, f.to, port);
    }
    for (const n of intent.nevers) {
      if (!c.involves(n.from, n.to)) continue;
      const own = c.services.has(n.to) ? c.listens(n.to) : others(n.to);
      for (const port of own.length ? own : probe) add(c, n.from, n.to, port);
    }
  }
  return [...out.values()];
}

/** The report's peer record of each service a cluster runs. */
export function clusterPeers(clusters: readonly ClusterQuery[], intent: { readonly peers: readonly { readonly id: string; readonly zone: string }[] }): PeerRecord[] {
  return clusters.flatMap((c) =>
    [...c.services].map(([id, w]) => ({
      id,
      kind: "pod" as const,
      zone: intent.peers.find((p) => p.id === id)?.zone ?? "cloud",
      host: c.stack,
      addresses: c.addresses(id),
      listens: c.listens(id).map((p) => `${p.protocol}/${p.port}`),
      listensFrom: `the container ports of ${w.namespace}/${w.name}[${w.kind}]`,
    })),
  );
}

/** A declared flow of a cluster as a report flow: its verdict from the checks, its layers from the trace. */
export function clusterFlowRecord(clusters: readonly ClusterQuery[], f: { from: string; to: string; port: string; allowed: boolean; reason?: string }): FlowRecord {
  const [protocol, port] = f.port.split("/") as ["tcp" | "udp", string];
  const c = clusters.find((x) => x.involves(f.from, f.to));
  const ev = c?.evaluate(f.from, f.to, { protocol, port: Number(port) });
  return { line: `${f.from} => ${f.to} : ${f.port}`, source: f.from, destination: f.to, protocol, port: Number(port), verdict: f.allowed ? "allowed" : "denied", intended: true, ...(f.reason ? { reason: f.reason } : {}), via: ev?.via ?? "the cluster (NetworkPolicies, node firewall)", layers: ev?.steps ?? [] };
}
