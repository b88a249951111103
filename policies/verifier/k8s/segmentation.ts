/*
 * The segmentation rules on a Kubernetes site, decided from its manifests (read from the artifacts):
 * every declared flow must be allowed by the source's egress policies (when the source is a pod) and the
 * destination's ingress policies (when the destination is a pod); every must-never pair must be blocked,
 * on every port, by at least two independent layers. Between two services these are the source's egress
 * NetworkPolicies and the destination's ingress NetworkPolicies. With one end outside the cluster only
 * one NetworkPolicy layer is on the path; the second would be the node's firewall, which is not modelled
 * for Kubernetes sites yet, so such a pair, when its one layer blocks it, is pending rather than proven.
 *
 * A service maps to the workload whose pods carry `palisade.service: <id>`; any other peer to its IPv4
 * addresses as the intent's vocabulary names them (every range of them, cut where the policies' ipBlocks
 * start and end).
 */
import { parseRange } from "../addr.js";
import type { ConnSet, Protocol, Range } from "./connset.js";
import { disjointRanges, PolicyEngine, referencedBlocks, type Endpoint } from "./evaluate.js";
import type { K8sResources, Workload } from "./model.js";

export const SERVICE_LABEL = "palisade.service";

export type KubeLayer = "networkpolicy:egress" | "networkpolicy:ingress";

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
  readonly blockedBy: readonly KubeLayer[];
  /** Blocked on every port by two layers or more. */
  readonly ok: boolean;
}

export interface KubeSegmentation {
  readonly flows: readonly KubeFlowResult[];
  readonly nevers: readonly KubeNeverResult[];
  /** One line per broken rule: a declared flow refused, a must-never pair with fewer than two layers. */
  readonly violations: readonly string[];
  /** Pairs whose one modelled layer blocks them and whose second layer (the node firewall) is not modelled. */
  readonly pending: readonly string[];
}

export interface KubeIntent {
  readonly peers?: readonly { readonly id: string; readonly addresses?: readonly string[]; readonly host?: string }[];
  readonly flows: readonly { readonly from: string; readonly to: string; readonly port: string }[];
  readonly nevers: readonly { readonly from: string; readonly to: string }[];
}

function podOf(w: Workload): Endpoint {
  return { kind: "pod", namespace: w.namespace, labels: w.labels, ports: w.ports };
}

export function checkKubeSegmentation(res: K8sResources, intent: KubeIntent): KubeSegmentation {
  const engine = new PolicyEngine(res);
  const byService = new Map<string, Workload>();
  for (const w of res.workloads) {
    const id = w.labels[SERVICE_LABEL];
    if (id !== undefined) byService.set(id, w);
  }
  const peers = new Map((intent.peers ?? []).map((p) => [p.id, p] as const));
  const blocks = referencedBlocks(res);
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
    return disjointRanges([...cuts, own])
      .filter(([lo]) => own.some(([a, b]) => a <= lo && lo <= b))
      .map((range) => ({ kind: "ip", range }));
  };
  const layers = (a: Endpoint, b: Endpoint): [KubeLayer, ConnSet][] => [
    ...(a.kind === "pod" ? [["networkpolicy:egress", engine.egress(a, b)] as [KubeLayer, ConnSet]] : []),
    ...(b.kind === "pod" ? [["networkpolicy:ingress", engine.ingress(a, b)] as [KubeLayer, ConnSet]] : []),
  ];
  const inCluster = (id: string) => byService.has(id);

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
    const covers = (set: ConnSet) => set.ranges(protocol).some(([x, y]) => x <= lo && hi <= y);
    const pairs = endpointsOf(f.from).flatMap((a) => endpointsOf(f.to).map((b) => layers(a, b)));
    const allowed = pairs.some((ls) => ls.every(([, set]) => covers(set)));
    const refusing = (["networkpolicy:egress", "networkpolicy:ingress"] as const).filter((l) => pairs.length > 0 && pairs.every((ls) => ls.some(([name, set]) => name === l && !covers(set))));
    flows.push({ from: f.from, to: f.to, port: f.port, allowed, blockedBy: allowed ? [] : refusing });
    if (!allowed) violations.push(`declared flow ${f.from} => ${f.to} : ${f.port} is refused${refusing.length ? ` by ${refusing.join(" and ")}` : pairs.length ? "" : " (no address of it is known)"}`);
  }
  const nevers: KubeNeverResult[] = [];
  for (const n of intent.nevers) {
    if (!inCluster(n.from) && !inCluster(n.to)) continue;
    const pairs = endpointsOf(n.from).flatMap((a) => endpointsOf(n.to).map((b) => layers(a, b)));
    const onPath = (["networkpolicy:egress", "networkpolicy:ingress"] as const).filter((l) => pairs.some((ls) => ls.some(([name]) => name === l)));
    const blockedBy = onPath.filter((l) => pairs.every((ls) => ls.every(([name, set]) => name !== l || set.isEmpty())));
    const ok = blockedBy.length >= 2;
    nevers.push({ from: n.from, to: n.to, blockedBy, ok });
    if (ok) continue;
    if (onPath.length === 1 && blockedBy.length === 1) {
      pending.push(`must-never ${n.from} => ${n.to} is blocked by ${blockedBy[0]}; its second layer, the node firewall, is not modelled for Kubernetes sites`);
      continue;
    }
    const open = pairs.map((ls) => ls.reduce((acc, [, set]) => acc.intersect(set), ls[0]![1])).find((s) => !s.isEmpty());
    violations.push(`must-never ${n.from} => ${n.to} is blocked by ${blockedBy.length ? blockedBy.join(" and ") : "no layer"}${open ? ` (open: ${open.toString()})` : ""}; two layers are required`);
  }
  return { flows, nevers, violations, pending };
}
