/*
 * The segmentation rules on a Kubernetes site, decided from its manifests (read from the artifacts):
 * every declared flow must be allowed by the source's egress policies (when the source is a pod) and the
 * destination's ingress policies (when the destination is a pod); every must-never pair must be blocked,
 * on every port, by at least two independent layers: on each port, two of the layers on its path refuse
 * it. The layers are the source's egress NetworkPolicies (when it is a pod), the destination's ingress
 * NetworkPolicies (when it is a pod) and, when the caller gives it, the node's firewall (the cloud
 * host's nftables, judged by the caller). Without the node layer a pair with one end outside the
 * cluster has one layer on its path: when it blocks, the pair is pending rather than proven.
 *
 * A service maps to the workload whose pods carry `palisade.service: <id>`; any other peer to its IPv4
 * addresses as the intent's vocabulary names them (every range of them, cut where the policies' ipBlocks
 * start and end).
 */
import { parseRange } from "../addr.js";
import { ConnSet, type Protocol, type Range } from "./connset.js";
import { disjointRanges, PolicyEngine, referencedBlocks, type Endpoint } from "./evaluate.js";
import type { K8sResources, Workload } from "./model.js";
import { timed } from "../layers.js";

export const SERVICE_LABEL = "palisade.service";

export type KubeLayer = "networkpolicy:egress" | "networkpolicy:ingress" | "nftables:cloud";

/** The node firewall as a layer: what it lets through between two endpoints (the caller reads the ruleset). */
export interface KubeNodeLayer {
  conns(a: Endpoint, b: Endpoint): ConnSet;
}

export interface KubeFlowResult {
  readonly from: string;
  readonly to: string;
  /** `tcp/5432` */
  readonly port: string;
  readonly allowed: boolean;
  /** The layers that refuse it (empty when allowed). */
  readonly blockedBy: readonly KubeLayer[];
}

export interface KubeNeverResult {
  readonly from: string;
  readonly to: string;
  /** The layers that refuse it on every port. */
  readonly blockedBy: readonly KubeLayer[];
  /** On every port, two layers or more refuse it. */
  readonly ok: boolean;
  /** The connections fewer than two layers refuse, when not ok (`TCP 5432`). */
  readonly open?: string;
  /** What lets those through: each layer that admits them, with the policies (their sources) that do. */
  readonly openedBy?: readonly { readonly layer: KubeLayer; readonly policies: readonly string[] }[];
}

export interface KubeSegmentation {
  readonly flows: readonly KubeFlowResult[];
  readonly nevers: readonly KubeNeverResult[];
  /** One line per broken rule: a declared flow refused, a must-never pair with fewer than two layers. */
  readonly violations: readonly string[];
  /** Pairs whose one modelled layer blocks them and whose second layer (the node firewall) is not given. */
  readonly pending: readonly string[];
}

export interface KubeIntent {
  /** An `addresses` peer (the internet) stands for every address but the hosts' own (a host's packets are the host's). */
  readonly peers?: readonly { readonly id: string; readonly kind?: string; readonly addresses?: readonly string[]; readonly host?: string }[];
  readonly flows: readonly { readonly from: string; readonly to: string; readonly port: string }[];
  readonly nevers: readonly { readonly from: string; readonly to: string }[];
}

function podOf(w: Workload): Endpoint {
  return { kind: "pod", namespace: w.namespace, labels: w.labels, ports: w.ports };
}

/** The services a site's manifests run: each workload labelled `palisade.service`. */
export function kubeServices(res: K8sResources): Map<string, Workload> {
  const byService = new Map<string, Workload>();
  for (const w of res.workloads) {
    const id = w.labels[SERVICE_LABEL];
    if (id !== undefined) byService.set(id, w);
  }
  return byService;
}

/**
 * The protocols a must-never pair is judged on: TCP and UDP, the platform's (the node firewall's
 * evaluator models packets of those two). SCTP is not judged.
 */
const JUDGED = ConnSet.allOf("TCP").union(ConnSet.allOf("UDP"));

/** Connections fewer than two of the layers refuse: the union, over each layer, of what all the others admit. */
function underTwoLayers(sets: readonly ConnSet[]): ConnSet {
  if (sets.length < 2) return ConnSet.all();
  return sets.reduce((acc, _, i) => acc.union(sets.filter((__, j) => j !== i).reduce((a, b) => a.intersect(b))), ConnSet.none());
}

/** `networkpolicy:egress (its source), nftables:cloud`; a policy layer with no policy: the pod is not isolated that way. */
export function describeOpening(openedBy: KubeNeverResult["openedBy"]): string {
  return (openedBy ?? []).map((o) => `${o.layer}${o.policies.length ? ` (${o.policies.join(", ")})` : o.layer === "nftables:cloud" ? "" : " (no policy isolates the pod)"}`).join(", ");
}

/** One way between two peers of the cluster's vocabulary: an endpoint of each, and each layer on it with what it lets through. */
export interface KubePair {
  readonly a: Endpoint;
  readonly b: Endpoint;
  readonly layers: readonly (readonly [KubeLayer, ConnSet])[];
}

export const KUBE_LAYERS: readonly KubeLayer[] = ["networkpolicy:egress", "networkpolicy:ingress", "nftables:cloud"];

/** The pairs of endpoints between two peers, with the layers on each: what the checks and `palisade query` judge. */
export interface KubePairs {
  readonly engine: PolicyEngine;
  /** The services the manifests run, with their workloads. */
  readonly services: ReadonlyMap<string, Workload>;
  inCluster(id: string): boolean;
  pairsOf(from: string, to: string): KubePair[];
}

export function kubePairs(res: K8sResources, intent: KubeIntent, node?: KubeNodeLayer): KubePairs {
  const engine = new PolicyEngine(res);
  const byService = kubeServices(res);
  const peers = new Map((intent.peers ?? []).map((p) => [p.id, p] as const));
  const blocks = referencedBlocks(res);
  const hostRanges: Range[] = (intent.peers ?? []).filter((p) => p.kind === "host").flatMap((p) => (p.addresses ?? []).flatMap((a) => {
    const r = parseRange(a);
    return r && r.v === 4 ? [[Number(r.lo), Number(r.hi)] as Range] : [];
  }));
  const cuts = [...blocks.ingress, ...blocks.egress];
  /** A service's pods, or the external ranges of a peer's IPv4 addresses (a daemon's: its host's). */
  const endpointsOf = (id: string): Endpoint[] => {
    const w = byService.get(id);
    if (w) return [podOf(w)];
    const p = peers.get(id);
    const addresses = p?.addresses ?? (p?.host ? peers.get(p.host)?.addresses : undefined) ?? [];
    const own: Range[] = addresses.flatMap((a) => {
      const r = parseRange(a);
      return r && r.v === 4 ? [[Number(r.lo), Number(r.hi)] as Range] : [];
    });
    if (!own.length) return [];
    const hosts = p?.kind === "addresses" ? hostRanges : [];
    return disjointRanges([...cuts, own, hosts])
      .filter(([lo]) => own.some(([a, b]) => a <= lo && lo <= b) && !hosts.some(([a, b]) => a <= lo && lo <= b))
      .map((range) => ({ kind: "ip", range }));
  };
  const pairsOf = (from: string, to: string): KubePair[] =>
    endpointsOf(from).flatMap((a) =>
      endpointsOf(to).map((b) => ({
        a,
        b,
        layers: [
          ...(a.kind === "pod" ? [["networkpolicy:egress", engine.egress(a, b)] as const] : []),
          ...(b.kind === "pod" ? [["networkpolicy:ingress", engine.ingress(a, b)] as const] : []),
          ...(node ? [["nftables:cloud", node.conns(a, b)] as const] : []),
        ],
      })),
    );
  return { engine, services: byService, inCluster: (id) => byService.has(id), pairsOf };
}

/** Whether a layer's connections hold the whole port range. */
export function coversPort(set: ConnSet, protocol: Protocol, lo: number, hi = lo): boolean {
  return set.ranges(protocol).some(([x, y]) => x <= lo && hi <= y);
}

/** `timings`: where to add each declared flow's (`flow <line>`) and must-never pair's (`never <from> => <to>`) seconds. */
export function checkKubeSegmentation(res: K8sResources, intent: KubeIntent, node?: KubeNodeLayer, timings?: Map<string, number>): KubeSegmentation {
  const { engine, inCluster, pairsOf } = kubePairs(res, intent, node);
  const LAYERS = KUBE_LAYERS;

  const violations: string[] = [];
  const pending: string[] = [];
  const flows: KubeFlowResult[] = [];
  for (const f of intent.flows) {
    if (!inCluster(f.from) && !inCluster(f.to)) continue;
    const m = /^(tcp|udp)\/(\d+)(?:-(\d+))?$/.exec(f.port);
    if (!m) {
      violations.push(`flow ${f.from} => ${f.to} : ${f.port}: not a port the verifier reads`);
      continue;
    }
    const protocol = m[1]!.toUpperCase() as Protocol;
    const lo = Number(m[2]);
    const hi = Number(m[3] ?? m[2]);
    const covers = (set: ConnSet) => coversPort(set, protocol, lo, hi);
    const pairs = timed(timings, `flow ${f.from} => ${f.to} : ${f.port}`, () => pairsOf(f.from, f.to));
    const allowed = pairs.some((p) => p.layers.every(([, set]) => covers(set)));
    const refusing = LAYERS.filter((l) => pairs.length > 0 && pairs.every((p) => p.layers.some(([name, set]) => name === l && !covers(set))));
    flows.push({ from: f.from, to: f.to, port: f.port, allowed, blockedBy: allowed ? [] : refusing });
    if (!allowed) violations.push(`declared flow ${f.from} => ${f.to} : ${f.port} is refused${refusing.length ? ` by ${refusing.join(" and ")}` : pairs.length ? "" : " (no address of it is known)"}`);
  }
  const nevers: KubeNeverResult[] = [];
  for (const n of intent.nevers) {
    if (!inCluster(n.from) && !inCluster(n.to)) continue;
    const pairs = timed(timings, `never ${n.from} => ${n.to}`, () => pairsOf(n.from, n.to));
    const onPath = LAYERS.filter((l) => pairs.some((p) => p.layers.some(([name]) => name === l)));
    const blockedBy = onPath.filter((l) => pairs.every((p) => p.layers.every(([name, set]) => name !== l || set.intersect(JUDGED).isEmpty())));
    const weak = pairs.map((p) => ({ p, open: underTwoLayers(p.layers.map(([, set]) => set)).intersect(JUDGED) })).filter((x) => !x.open.isEmpty());
    if (weak.length === 0) {
      nevers.push({ from: n.from, to: n.to, blockedBy, ok: true });
      continue;
    }
    if (!node && onPath.length === 1 && blockedBy.length === 1) {
      nevers.push({ from: n.from, to: n.to, blockedBy, ok: false });
      pending.push(`must-never ${n.from} => ${n.to} is blocked by ${blockedBy[0]}; its second layer, the node firewall, is not modelled for Kubernetes sites`);
      continue;
    }
    const open = weak.reduce((acc, x) => acc.union(x.open), ConnSet.none());
    const openedBy = onPath
      .map((layer) => {
        const letting = weak.filter((x) => x.p.layers.some(([name, set]) => name === layer && !set.intersect(x.open).isEmpty()));
        const policies = layer === "nftables:cloud" ? [] : [...new Set(letting.flatMap((x) => engine.admitting(x.p.a, x.p.b, layer === "networkpolicy:egress" ? "egress" : "ingress").map((pol) => pol.source)))].sort();
        return { layer, policies, letting: letting.length > 0 };
      })
      .filter((x) => x.letting)
      .map(({ layer, policies }) => ({ layer, policies }));
    nevers.push({ from: n.from, to: n.to, blockedBy, ok: false, open: open.toString(), openedBy });
    violations.push(`must-never ${n.from} => ${n.to} is blocked by ${blockedBy.length ? blockedBy.join(" and ") : "no layer"} (under two layers: ${open.toString()}; let through by ${describeOpening(openedBy)}); two layers are required`);
  }
  return { flows, nevers, violations, pending };
}
