import type { DockerModel } from "./docker-model.js";

/**
 * The hardening exceptions a site declares, read back from the engine output: host networking,
 * a root user, each capability added after `cap_drop: ALL`, each network with a route out. An
 * auditor reviews these by hand; each carries the reason the artifact gives (or says it has none,
 * which the guardrails then flag).
 */
export interface ExceptionRecord {
  readonly host: string;
  readonly subject: string;
  readonly kind: "host-network" | "root-user" | "capability" | "egress-network";
  readonly detail: string;
  readonly reason: string;
  readonly artifact: string;
  readonly construct: string;
}

const NO_REASON = "(no reason declared)";

export function declaredExceptions(model: DockerModel): ExceptionRecord[] {
  const out: ExceptionRecord[] = [];
  for (const h of model.hosts) {
    for (const c of h.containers) {
      const base = { host: h.host, subject: c.service, artifact: h.artifact, construct: c.construct };
      if (c.networkMode === "host") out.push({ ...base, kind: "host-network", detail: "network_mode host", reason: c.labels["palisade.host-network-reason"] ?? NO_REASON });
      if (/^(root|0)(:|$)/.test(c.user)) out.push({ ...base, kind: "root-user", detail: `user ${c.user}`, reason: c.labels["palisade.root-reason"] ?? NO_REASON });
      for (const cap of c.capAdd) out.push({ ...base, kind: "capability", detail: `cap_add ${cap}`, reason: c.labels[`palisade.cap.${cap}`] ?? NO_REASON });
    }
    for (const n of h.networks) {
      if (!n.internal) {
        out.push({ host: h.host, subject: n.name, kind: "egress-network", detail: `not internal; masquerade ${n.masquerade ? "on: its containers reach the internet" : "off: no internet egress"}`, reason: n.egressReason || NO_REASON, artifact: h.artifact, construct: n.construct });
      }
    }
  }
  return out.sort((a, b) => (a.host + a.kind + a.subject + a.detail < b.host + b.kind + b.subject + b.detail ? -1 : 1));
}
