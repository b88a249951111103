import { GUARDRAILS } from "../guardrails.js";
import type { IntentException } from "../intent.js";
import type { DockerModel } from "./docker-model.js";
import type { Finding, GuardrailFinding } from "./report-model.js";
import { capabilityReason, DANGEROUS_CAPABILITIES, normalizeCapability, runsAsRoot } from "./docker-semantics.js";

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
  /** 1-based line of the construct in the artifact, when found. */
  readonly line?: number;
  /** Who owns it, under which ticket, until when: the site file's `exceptions:` entry that covers it. @default - none declared */
  readonly governance?: { readonly owner: string; readonly ticket: string; readonly expires: string; readonly reason: string; readonly expired: boolean };
}

const NO_REASON = "(no reason declared)";

export function declaredExceptions(model: DockerModel): ExceptionRecord[] {
  const out: ExceptionRecord[] = [];
  for (const h of model.hosts) {
    for (const c of h.containers) {
      // The construct names the field, so that the citation is the setting's own line.
      const base = (field: string) => ({ host: h.host, subject: c.service, artifact: h.artifact, construct: `${c.construct} ${field}` });
      if (c.networkMode === "host") out.push({ ...base("network_mode"), kind: "host-network", detail: "network_mode host", reason: c.labels["palisade.host-network-reason"] ?? NO_REASON });
      if (runsAsRoot(c)) out.push({ ...base("user"), kind: "root-user", detail: `user ${c.user || "(image default)"}`, reason: c.labels["palisade.root-reason"] ?? NO_REASON });
      // Every added capability, in Docker's spelling-insensitive reading; the dangerous ones marked.
      for (const cap of c.capAdd) {
        const n = normalizeCapability(cap);
        out.push({ ...base("capabilities"), kind: "capability", detail: `cap_add ${n}${DANGEROUS_CAPABILITIES.has(n) ? " (dangerous)" : ""}`, reason: capabilityReason(c, cap) ?? NO_REASON });
      }
    }
    for (const n of h.networks) {
      if (!n.internal) {
        out.push({ host: h.host, subject: n.name, kind: "egress-network", detail: `not internal; masquerade ${n.masquerade ? "on: its containers reach the internet" : "off: no internet egress"}`, reason: n.egressReason || NO_REASON, artifact: h.artifact, construct: n.construct });
      }
    }
  }
  return out.sort((a, b) => (a.host + a.kind + a.subject + a.detail < b.host + b.kind + b.subject + b.detail ? -1 : 1));
}

/** Whether a declared governance entry covers an exception read from the artifacts. */
function covers(g: IntentException, e: ExceptionRecord): boolean {
  if (g.kind !== e.kind || g.service !== e.subject) return false;
  return g.kind !== "capability" || g.capability === undefined || e.detail === `cap_add ${g.capability}`;
}

/**
 * Joins each exception with the governance the site declares for it. An exception whose expiry
 * is before `asOf` (YYYY-MM-DD) is a violation; one without governance is an advisory guardrail
 * finding.
 */
export function governExceptions(records: readonly ExceptionRecord[], declared: readonly IntentException[], asOf: string | undefined): { records: ExceptionRecord[]; findings: Finding[]; guardrails: GuardrailFinding[] } {
  const findings: Finding[] = [];
  const guardrails: GuardrailFinding[] = [];
  const used = new Set<IntentException>();
  const out = records.map((e) => {
    const g = declared.find((d) => covers(d, e));
    if (!g) {
      const rule = GUARDRAILS.exceptionGovernance;
      guardrails.push({ rule: rule.id, level: rule.level, subject: `${e.host}/${e.subject}`, message: `${e.detail} has no owner, ticket or expiry declared (site file, exceptions: service ${e.subject}, kind ${e.kind})`, rationale: rule.rationale, source: rule.source, artifact: e.artifact, construct: e.construct, ...(e.line ? { line: e.line } : {}) });
      return e;
    }
    used.add(g);
    const expired = asOf !== undefined && g.expires < asOf;
    if (expired) {
      findings.push({
        id: `exception-expired:${e.host}/${e.subject}/${e.detail}`,
        kind: "exception-expired",
        severity: "violation",
        subject: `${e.host}/${e.subject} ${e.detail}`,
        message: `the exception expired on ${g.expires} (owner ${g.owner}, ticket ${g.ticket}); renew it in the site file's exceptions section or remove it`,
        artifact: e.artifact,
        construct: e.construct,
        ...(e.line ? { line: e.line } : {}),
      });
    }
    return { ...e, governance: { owner: g.owner, ticket: g.ticket, expires: g.expires, reason: g.reason, expired } };
  });
  return { records: out, findings, guardrails };
}
