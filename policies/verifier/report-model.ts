import type { ExceptionRecord } from "./exceptions.js";
import type { TenantRecord } from "./tenancy.js";
import type { LayerName, LayerStep } from "./layers.js";

/*
 * The verifier's result: what `report.json` holds and every formatter renders. Deterministic:
 * sorted, no timestamps.
 */

export interface FlowRecord {
  /** Canonical line: `api => postgres : tcp/5432`. */
  readonly line: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  readonly verdict: "allowed" | "denied" | "pending";
  readonly intended: boolean;
  readonly reason?: string;
  /** The explaining path's layers. */
  readonly via?: string;
  readonly layers: readonly LayerStep[];
}

export interface NeverRecord {
  readonly source: string;
  readonly destination: string;
  readonly reason: string;
  /** blocked: every path denied by >= 2 layers; violation: reachable or one layer only; pending: artifacts missing. */
  readonly status: "blocked" | "violation" | "pending";
  /** Distinct layers blocking the weakest path. */
  readonly layers: readonly LayerName[];
  /** Weakest path over every port tried, with its steps. */
  readonly weakest?: { readonly port: string; readonly via: string; readonly steps: readonly LayerStep[] };
  readonly portsTried: readonly string[];
}

export type FindingKind =
  | "unexpected-exposure"
  | "broken-path"
  | "never-reachable"
  | "single-layer"
  | "pending"
  | "unexpected-route"
  | "nft-unsupported"
  | "engine-drift"
  | "unknown-peer"
  | "bad-artifact"
  | "tenant-isolation"
  | "lab-mismatch";

export interface Finding {
  /** Stable id: kind + subject. */
  readonly id: string;
  readonly kind: FindingKind;
  readonly severity: "violation" | "pending";
  readonly subject: string;
  readonly message: string;
  readonly layer?: string;
  readonly artifact?: string;
  readonly line?: number;
  readonly construct?: string;
  /** Which engine's model produced it when engines differ. @default both */
  readonly engine?: string;
}

export interface GuardrailFinding {
  readonly rule: string;
  readonly level: "advisory" | "mandatory";
  readonly subject: string;
  readonly message: string;
  readonly rationale: string;
  readonly source: string;
  readonly artifact: string;
  readonly line?: number;
  readonly construct?: string;
}

export interface ExposureRecord {
  /** `internet => edge-proxy : tcp/443`, then relays: `edge-proxy -[sni app.example.com]-> ingress : tcp/443`. */
  readonly line: string;
  readonly chain: readonly string[];
  readonly intended: boolean;
}

/**
 * What `palisade lab` observed on the real daemons running these artifacts (from
 * `report/lab.json`): probe counts against this report's matrix, and each drill's figures.
 */
export interface LabSection {
  readonly probe?: {
    readonly expectedFrom: string;
    readonly correct: number;
    readonly incorrect: number;
    readonly mismatches: readonly { readonly line: string; readonly expected: boolean; readonly observed: boolean }[];
    readonly checks: readonly { readonly name: string; readonly pass: boolean; readonly detail: string }[];
  };
  readonly drills: Readonly<Record<string, { readonly pass: boolean; readonly figures: Readonly<Record<string, unknown>>; readonly targets: Readonly<Record<string, string>>; readonly notes: readonly string[] }>>;
}

export interface Report {
  readonly version: 1;
  readonly engines: readonly string[];
  readonly artifacts: { readonly expected: readonly string[]; readonly missing: readonly string[] };
  readonly pendingIsViolation: boolean;
  readonly flows: readonly FlowRecord[];
  readonly nevers: readonly NeverRecord[];
  readonly exposed: readonly ExposureRecord[];
  readonly findings: readonly Finding[];
  readonly guardrails: readonly GuardrailFinding[];
  /** Per tenant: the isolation layers declared and the artifact statement that implements each. */
  readonly tenants: readonly TenantRecord[];
  /** Hardening exceptions read from the engine output, each with the reason it declares. */
  readonly exceptions: readonly ExceptionRecord[];
  /** Present once `palisade lab probe` or a drill ran against these artifacts. */
  readonly lab?: LabSection;
  readonly summary: {
    readonly verdict: "pass" | "fail";
    readonly flowsAllowed: number;
    readonly flowsIntended: number;
    readonly intendedEffective: number;
    readonly intendedPending: number;
    readonly intendedBroken: number;
    readonly unexpected: number;
    readonly neversBlocked: number;
    readonly neversViolated: number;
    readonly neversPending: number;
    readonly violations: number;
    readonly pending: number;
    readonly guardrailsMandatory: number;
    readonly guardrailsAdvisory: number;
  };
}
