/*
 * The segmentation rules on a Kubernetes site, decided from its manifests (read from the artifacts):
 * every declared flow between two services must be allowed by both the source's egress policies and
 * the destination's ingress policies; every must-never pair between two services must be blocked, on
 * every port, by at least two independent layers: the source's egress NetworkPolicies and the
 * destination's ingress NetworkPolicies. A service maps to the workload whose pods carry
 * `palisade.service: <id>`.
 */
import type { Protocol } from "./connset.js";
import { PolicyEngine, workloadName, type Endpoint } from "./evaluate.js";
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
}

function endpoint(w: Workload): Endpoint {
  return { kind: "pod", namespace: w.namespace, labels: w.labels, ports: w.ports };
}

export function checkKubeSegmentation(
  res: K8sResources,
  intent: { readonly flows: readonly { from: string; to: string; port: string }[]; readonly nevers: readonly { from: string; to: string }[] },
): KubeSegmentation {
  const engine = new PolicyEngine(res);
  const byService = new Map<string, Workload>();
  for (const w of res.workloads) {
    const id = w.labels[SERVICE_LABEL];
    if (id !== undefined) byService.set(id, w);
  }
  const violations: string[] = [];
  const flows: KubeFlowResult[] = [];
  for (const f of intent.flows) {
    const a = byService.get(f.from);
    const b = byService.get(f.to);
    if (!a || !b) continue; // a flow with an end outside the cluster is decided by the node's layers
    const m = /^(tcp|udp)\/(\d+)(?:-(\d+))?$/.exec(f.port);
    if (!m) {
      violations.push(`flow ${f.from} => ${f.to} : ${f.port}: not a port the verifier reads`);
      continue;
    }
    const protocol = m[1]!.toUpperCase() as Protocol;
    const lo = Number(m[2]);
    const hi = Number(m[3] ?? m[2]);
    const covers = (set: ReturnType<PolicyEngine["egress"]>) => set.ranges(protocol).some(([x, y]) => x <= lo && hi <= y);
    const blockedBy: KubeLayer[] = [];
    if (!covers(engine.egress(endpoint(a), endpoint(b)))) blockedBy.push("networkpolicy:egress");
    if (!covers(engine.ingress(endpoint(a), endpoint(b)))) blockedBy.push("networkpolicy:ingress");
    flows.push({ from: f.from, to: f.to, port: f.port, allowed: blockedBy.length === 0, blockedBy });
    if (blockedBy.length) violations.push(`declared flow ${f.from} => ${f.to} : ${f.port} is refused by ${blockedBy.join(" and ")} (${workloadName(a)} -> ${workloadName(b)})`);
  }
  const nevers: KubeNeverResult[] = [];
  for (const n of intent.nevers) {
    const a = byService.get(n.from);
    const b = byService.get(n.to);
    if (!a || !b) continue;
    const blockedBy: KubeLayer[] = [];
    if (engine.egress(endpoint(a), endpoint(b)).isEmpty()) blockedBy.push("networkpolicy:egress");
    if (engine.ingress(endpoint(a), endpoint(b)).isEmpty()) blockedBy.push("networkpolicy:ingress");
    const ok = blockedBy.length >= 2;
    nevers.push({ from: n.from, to: n.to, blockedBy, ok });
    if (!ok) {
      const open = engine.allowed(endpoint(a), endpoint(b));
      violations.push(
        `must-never ${n.from} => ${n.to} is blocked by ${blockedBy.length ? blockedBy.join(" and ") : "no layer"}${open.isEmpty() ? "" : ` (open: ${open.toString()})`}; two layers are required`,
      );
    }
  }
  return { flows, nevers, violations };
}
