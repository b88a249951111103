import { connectivity, parseManifests } from "../../policies/verifier/k8s/index.js";
import type { BenchFigure } from "./plan.js";

/**
 * Generated manifests: N Deployments in N/30 namespaces, one policy each (ingress from a tier and
 * an ipBlock on a named port, egress to the next namespace), so the external space has ~N ranges.
 */
function generated(n: number): string {
  const namespaces = Math.max(1, Math.floor(n / 30));
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns${i % namespaces}`;
    docs.push(
      JSON.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `app${i}`, namespace: ns },
        spec: { template: { metadata: { labels: { app: `app${i}`, tier: `t${i % 5}` } }, spec: { containers: [{ name: "c", image: "c", ports: [{ name: "http", containerPort: 8080 }] }] } } },
      }),
      JSON.stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: `p${i}`, namespace: ns },
        spec: {
          podSelector: { matchLabels: { app: `app${i}` } },
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: `t${(i + 1) % 5}` } } }, { ipBlock: { cidr: `10.${i % 250}.${Math.floor(i / 250) % 250}.0/24` } }], ports: [{ port: "http" }] }],
          egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": `ns${(i + 1) % namespaces}` } } }] }],
        },
      }),
    );
  }
  return docs.join("\n---\n");
}

/** `palisade k8s list` without the CLI: reading and evaluating generated manifests (no target set). */
export function benchK8s(sizes: readonly number[] = [100, 300, 1000]): BenchFigure[] {
  return sizes.flatMap((n) => {
    const text = generated(n);
    const t0 = performance.now();
    const res = parseManifests("generated", [{ name: "generated.yaml", text }]);
    const t1 = performance.now();
    const c = connectivity(res);
    const t2 = performance.now();
    return [
      { name: `k8s analyzer, read ${n} workloads + ${n} policies`, value: (t1 - t0) / 1000, unit: "s" },
      { name: `k8s analyzer, list ${n} workloads (${c.connections.length} connections)`, value: (t2 - t1) / 1000, unit: "s" },
    ];
  });
}
