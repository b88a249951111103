/*
 * NetworkPolicy semantics (kubernetes.io/docs/concepts/services-networking/network-policies), one model
 * for `palisade k8s list`/`diff` and for the verifier of a Kubernetes site:
 *
 * - A pod is isolated for ingress (egress) only if some NetworkPolicy of its namespace selects it and has
 *   Ingress (Egress) among its effective policyTypes; a pod no policy isolates allows everything that way.
 * - Policies add up: an isolated pod allows the union of the rules of every policy that selects it.
 * - A connection needs both ends: the source's egress AND the destination's ingress.
 * - A rule with no peers allows every source/destination (pods and external addresses); a selector peer
 *   picks pods (namespaceSelector: namespaces by label, absent: the policy's own namespace; podSelector
 *   absent: every pod of those namespaces); an ipBlock picks addresses outside the cluster (pod IPs are not
 *   in the manifests, and the docs leave ipBlock on pod traffic implementation-defined, so it picks none).
 * - A rule with no ports allows every port of every protocol; a port without a number every port of its
 *   protocol; endPort makes a range; a named port is the destination pod's container port of that name and
 *   protocol (a destination without one, or an address, gets nothing from it).
 * - The external world is IPv4, cut into the ranges the policies' ipBlocks distinguish (netpol-analyzer's
 *   disjoint blocks): source ranges from ingress rules, destination ranges from egress rules.
 * - Ingress objects: `{ingress-controller}`, a pod outside every namespace of the manifests and under no
 *   policy, reaches the pods behind each backend Service on the Service's target port (TCP), where the
 *   pods' ingress policies let an arbitrary in-cluster pod in.
 */
import { ConnSet, normalizeRanges, type Range } from "./connset.js";
import type { ContainerPort, K8sResources, Labels, NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule, Workload } from "./model.js";
import { NAMESPACE_NAME_LABEL } from "./model.js";
import { selectorMatches } from "./selectors.js";

export const IPV4_ALL: Range = [0, 2 ** 32 - 1];

/** A pod-network endpoint (a workload's pods, or the stand-in ingress controller) or an external range. */
export type Endpoint =
  | { readonly kind: "pod"; readonly namespace: string; readonly labels: Labels; readonly ports: readonly ContainerPort[]; readonly external?: boolean }
  | { readonly kind: "ip"; readonly range: Range };

export type Peer = { readonly kind: "workload"; readonly workload: Workload } | { readonly kind: "ip"; readonly range: Range } | { readonly kind: "ingress-controller" };

export interface Connection {
  readonly src: Peer;
  readonly dst: Peer;
  readonly conns: ConnSet;
}

export interface Connectivity {
  readonly connections: readonly Connection[];
  /** `ns/name[Kind]` of every workload, for the diff's added/removed workloads. */
  readonly workloads: ReadonlySet<string>;
  readonly warnings: readonly string[];
}

export const INGRESS_CONTROLLER_NAMESPACE = "ingress-controller-ns";
const INGRESS_CONTROLLER: Endpoint = { kind: "pod", namespace: INGRESS_CONTROLLER_NAMESPACE, labels: {}, ports: [], external: true };

export function ipv4Text(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export function workloadName(w: Workload): string {
  return `${w.namespace}/${w.name}[${w.kind}]`;
}

export function peerName(p: Peer): string {
  if (p.kind === "workload") return workloadName(p.workload);
  if (p.kind === "ip") return `${ipv4Text(p.range[0])}-${ipv4Text(p.range[1])}[External]`;
  return "{ingress-controller}";
}

function endpointOf(p: Peer): Endpoint {
  if (p.kind === "workload") return { kind: "pod", namespace: p.workload.namespace, labels: p.workload.labels, ports: p.workload.ports };
  if (p.kind === "ip") return { kind: "ip", range: p.range };
  return INGRESS_CONTROLLER;
}

/** The evaluator over one set of resources; per-pod policy lookups are what a listing repeats. */
export class PolicyEngine {
  constructor(readonly resources: K8sResources) {}

  private namespaceLabels(ns: string): Labels {
    return this.resources.namespaces.get(ns)?.labels ?? { [NAMESPACE_NAME_LABEL]: ns };
  }

  /** Per labels object (a workload's are parsed once) and namespace: the policies selecting those pods. */
  private readonly selecting = new WeakMap<Labels, Map<string, { ingress: NetworkPolicy[]; egress: NetworkPolicy[] }>>();

  /** Policies of the pod's namespace that select it and isolate it in that direction. */
  policiesIsolating(pod: Endpoint & { kind: "pod" }, direction: "ingress" | "egress"): readonly NetworkPolicy[] {
    if (pod.external) return [];
    let byNs = this.selecting.get(pod.labels);
    if (!byNs) this.selecting.set(pod.labels, (byNs = new Map()));
    let entry = byNs.get(pod.namespace);
    if (!entry) {
      const selected = this.resources.policies.filter((p) => p.namespace === pod.namespace && selectorMatches(p.podSelector, pod.labels));
      entry = { ingress: selected.filter((p) => p.isolatesIngress), egress: selected.filter((p) => p.isolatesEgress) };
      byNs.set(pod.namespace, entry);
    }
    return entry[direction];
  }

  private peerMatches(peer: PolicyPeer, policyNamespace: string, ep: Endpoint): boolean {
    if (peer.kind === "ipBlock") {
      return ep.kind === "ip" && peer.ranges.some(([lo, hi]) => lo <= ep.range[0] && ep.range[1] <= hi);
    }
    if (ep.kind !== "pod") return false;
    const nsOk = peer.namespaceSelector ? selectorMatches(peer.namespaceSelector, this.namespaceLabels(ep.namespace)) : ep.namespace === policyNamespace && !ep.external;
    return nsOk && (!peer.podSelector || selectorMatches(peer.podSelector, ep.labels));
  }

  private ruleConns(rule: PolicyRule, policyNamespace: string, other: Endpoint, dst: Endpoint): ConnSet {
    if (rule.peers !== "all" && !rule.peers.some((p) => this.peerMatches(p, policyNamespace, other))) return ConnSet.none();
    if (rule.ports === "all") return ConnSet.all();
    return rule.ports.reduce((acc, p) => acc.union(portConns(p, dst)), ConnSet.none());
  }

  /** What `src`'s egress policies let out towards `dst`. */
  egress(src: Endpoint, dst: Endpoint): ConnSet {
    if (src.kind !== "pod") return ConnSet.all();
    const policies = this.policiesIsolating(src, "egress");
    if (!policies.length) return ConnSet.all();
    return policies.reduce((acc, p) => p.egress.reduce((a, rule) => a.union(this.ruleConns(rule, p.namespace, dst, dst)), acc), ConnSet.none());
  }

  /** What `dst`'s ingress policies let in from `src`. */
  ingress(src: Endpoint, dst: Endpoint): ConnSet {
    if (dst.kind !== "pod") return ConnSet.all();
    const policies = this.policiesIsolating(dst, "ingress");
    if (!policies.length) return ConnSet.all();
    return policies.reduce((acc, p) => p.ingress.reduce((a, rule) => a.union(this.ruleConns(rule, p.namespace, src, dst)), acc), ConnSet.none());
  }

  /**
   * The external ranges (of `ranges`, each wholly in or out of every ipBlock) that could pass this pod's
   * policies in that direction: all when it is not isolated or a rule names every peer, else those
   * inside one of its rules' ipBlocks. Lets a listing skip ranges no rule admits.
   */
  externalCandidates(pod: Endpoint & { kind: "pod" }, direction: "ingress" | "egress", ranges: readonly Range[]): readonly Range[] {
    const policies = this.policiesIsolating(pod, direction);
    if (!policies.length) return ranges;
    const rules = policies.flatMap((p) => (direction === "ingress" ? p.ingress : p.egress));
    if (rules.some((r) => r.peers === "all")) return ranges;
    const blocks = rules.flatMap((r) => (r.peers === "all" ? [] : r.peers.flatMap((x) => (x.kind === "ipBlock" ? x.ranges : []))));
    return ranges.filter(([lo]) => blocks.some(([a, b]) => a <= lo && lo <= b));
  }

  /** What one policy's rules of that direction let through between the pair (its share of the union). */
  policyConns(policy: NetworkPolicy, src: Endpoint, dst: Endpoint, direction: "ingress" | "egress"): ConnSet {
    const other = direction === "ingress" ? src : dst;
    return (direction === "ingress" ? policy.ingress : policy.egress).reduce((a, rule) => a.union(this.ruleConns(rule, policy.namespace, other, dst)), ConnSet.none());
  }

  /** The policies that isolate the pod in that direction and have a rule letting this pair through (what opened it). */
  admitting(src: Endpoint, dst: Endpoint, direction: "ingress" | "egress"): readonly NetworkPolicy[] {
    const pod = direction === "ingress" ? dst : src;
    if (pod.kind !== "pod") return [];
    const other = direction === "ingress" ? src : dst;
    return this.policiesIsolating(pod, direction).filter((p) => (direction === "ingress" ? p.ingress : p.egress).some((rule) => !this.ruleConns(rule, p.namespace, other, dst).isEmpty()));
  }

  /** The connection needs both ends: the source's egress and the destination's ingress. */
  allowed(src: Endpoint, dst: Endpoint): ConnSet {
    const out = this.egress(src, dst);
    return out.isEmpty() ? out : out.intersect(this.ingress(src, dst));
  }
}

function portConns(p: PolicyPort, dst: Endpoint): ConnSet {
  if (p.port === undefined) return ConnSet.allOf(p.protocol);
  if (typeof p.port === "number") return ConnSet.ports(p.protocol, p.port, p.endPort ?? p.port);
  if (dst.kind !== "pod") return ConnSet.none();
  const named = dst.ports.find((c) => c.name === p.port && c.protocol === p.protocol);
  return named ? ConnSet.ports(p.protocol, named.port) : ConnSet.none();
}

/**
 * The IPv4 space cut at every boundary of the given blocks, adjacent pieces with the same membership
 * joined: each piece is, for every block, wholly in or wholly out.
 */
export function disjointRanges(blocks: readonly (readonly Range[])[]): Range[] {
  const cuts = new Set<number>([IPV4_ALL[0], IPV4_ALL[1] + 1]);
  for (const b of blocks) for (const [lo, hi] of b) cuts.add(lo).add(hi + 1);
  const points = [...cuts].sort((a, b) => a - b);
  const signature = (n: number) => blocks.map((b) => (b.some(([lo, hi]) => lo <= n && n <= hi) ? "1" : "0")).join("");
  const out: [number, number][] = [];
  let lastSig = "";
  for (let i = 0; i + 1 < points.length; i++) {
    const lo = points[i]!;
    const hi = points[i + 1]! - 1;
    const sig = signature(lo);
    const last = out[out.length - 1];
    if (last && sig === lastSig) last[1] = hi;
    else out.push([lo, hi]);
    lastSig = sig;
  }
  return out;
}

/** The ipBlocks of the rules that can take effect, split by direction. */
export function referencedBlocks(res: K8sResources): { ingress: Range[][]; egress: Range[][] } {
  const blocks = (rules: readonly PolicyRule[]) =>
    rules.flatMap((r) => (r.peers === "all" ? [] : r.peers.flatMap((p) => (p.kind === "ipBlock" ? [normalizeRanges(p.ranges)] : []))));
  return {
    ingress: res.policies.flatMap((p) => blocks(p.ingress)),
    egress: res.policies.flatMap((p) => blocks(p.egress)),
  };
}

export interface ConnectivityOptions {
  /** Extra cuts of the external space (the other side's blocks, in a diff). */
  readonly extraBlocks?: { readonly ingress: readonly Range[][]; readonly egress: readonly Range[][] };
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every allowed connection between workloads, external ranges and the ingress controller, sorted. */
export function connectivity(res: K8sResources, options: ConnectivityOptions = {}): Connectivity {
  const engine = new PolicyEngine(res);
  const warnings: string[] = [...res.warnings];
  const blocks = referencedBlocks(res);
  const srcRanges = disjointRanges([...blocks.ingress, ...(options.extraBlocks?.ingress ?? [])]);
  const dstRanges = disjointRanges([...blocks.egress, ...(options.extraBlocks?.egress ?? [])]);
  const pods = res.workloads.map((workload) => {
    const peer: Peer = { kind: "workload", workload };
    return { peer, name: workloadName(workload), endpoint: endpointOf(peer) as Endpoint & { kind: "pod" } };
  });
  const connections: Connection[] = [];
  const add = (src: Peer, dst: Peer, a: Endpoint, b: Endpoint) => {
    const conns = engine.allowed(a, b);
    if (!conns.isEmpty()) connections.push({ src, dst, conns });
  };
  for (const src of pods) {
    for (const dst of pods) if (src.name !== dst.name) add(src.peer, dst.peer, src.endpoint, dst.endpoint);
    for (const range of engine.externalCandidates(src.endpoint, "egress", dstRanges)) add(src.peer, { kind: "ip", range }, src.endpoint, { kind: "ip", range });
    for (const range of engine.externalCandidates(src.endpoint, "ingress", srcRanges)) add({ kind: "ip", range }, src.peer, { kind: "ip", range }, src.endpoint);
  }
  connections.push(...ingressControllerConnections(engine, warnings));
  connections.sort((a, b) => byName(peerName(a.src), peerName(b.src)) || byName(peerName(a.dst), peerName(b.dst)));
  return { connections, workloads: new Set(res.workloads.map(workloadName)), warnings: [...new Set(warnings)].sort() };
}

/** The pods behind each Ingress backend and their target ports, then what their policies let in. */
function ingressControllerConnections(engine: PolicyEngine, warnings: string[]): Connection[] {
  const res = engine.resources;
  const wanted = new Map<string, { workload: Workload; conns: ConnSet; ingresses: Set<string> }>();
  for (const ing of res.ingresses) {
    for (const backend of ing.backends) {
      const svc = res.services.find((s) => s.namespace === ing.namespace && s.name === backend.service);
      if (!svc) {
        warnings.push(`Ingress ${ing.namespace}/${ing.name}: backend Service ${ing.namespace}/${backend.service} is not in the manifests: ignored`);
        continue;
      }
      if (!svc.selector) continue;
      const selector = svc.selector;
      const ports = backend.port === undefined ? svc.ports : svc.ports.filter((p) => (typeof backend.port === "number" ? p.port === backend.port : p.name === backend.port)).slice(0, 1);
      if (backend.port !== undefined && ports.length === 0) {
        warnings.push(`Ingress ${ing.namespace}/${ing.name}: Service ${svc.namespace}/${svc.name} has no port ${String(backend.port)}: ignored`);
        continue;
      }
      const pods = res.workloads.filter((w) => w.namespace === svc.namespace && Object.entries(selector).every(([k, v]) => w.labels[k] === v));
      for (const w of pods) {
        let conns = ConnSet.none();
        for (const sp of ports) {
          if (sp.protocol !== "TCP") continue; // an Ingress carries HTTP(S): TCP only
          const target = sp.targetPort ?? sp.port;
          const port = typeof target === "number" ? target : w.ports.find((c) => c.name === target && c.protocol === "TCP")?.port;
          if (port !== undefined) conns = conns.union(ConnSet.ports("TCP", port));
        }
        if (conns.isEmpty()) continue;
        const key = workloadName(w);
        const entry = wanted.get(key) ?? { workload: w, conns: ConnSet.none(), ingresses: new Set<string>() };
        entry.conns = entry.conns.union(conns);
        entry.ingresses.add(`${ing.namespace}/${ing.name}`);
        wanted.set(key, entry);
      }
    }
  }
  const out: Connection[] = [];
  for (const [key, { workload, conns, ingresses }] of wanted) {
    const dst: Peer = { kind: "workload", workload };
    const allowed = conns.intersect(engine.allowed(INGRESS_CONTROLLER, endpointOf(dst)));
    if (allowed.isEmpty()) {
      warnings.push(`Ingress ${[...ingresses].sort().join(", ")} routes to ${key}, but its network policies block ingress from an arbitrary in-cluster source: no {ingress-controller} line`);
      continue;
    }
    out.push({ src: { kind: "ingress-controller" }, dst, conns: allowed });
  }
  return out;
}
