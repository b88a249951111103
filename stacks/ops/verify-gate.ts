import type { Artifact } from "../../core/index.js";
import { VerifyInputError } from "../../policies/verifier/index.js";
import { verdictLine, verifyPlan } from "../plan.js";

/*
 * The gate between `plan` and the engines: the verifier (policies/verifier) re-derives reachability
 * from the artifacts just written; a violation or a mandatory finding refuses the deploy. When the
 * verifier cannot run (bad input), the deploy refuses too: fail closed.
 */

export interface GateResult {
  /** True when the deploy must not run. */
  readonly refused: boolean;
  /** One line per violation or mandatory finding (or the reason the gate could not run). */
  readonly lines: readonly string[];
}

export interface Verification {
  readonly gate: GateResult;
  /** The report files (`report/*`) written into out/ with the plan, as `palisade plan` does. */
  readonly files: readonly Artifact[];
  /** One line for the operator: the verdict and its counts. */
  readonly summary?: string;
}

/** Verifies the freshly planned artifacts; null when no verifier is available (deploy then says so). */
export type VerifyGate = (artifacts: readonly Artifact[]) => Promise<Verification | null>;

interface FindingLike {
  readonly id?: string;
  readonly message?: string;
  readonly mandatory?: boolean;
  readonly severity?: string;
  readonly level?: string;
}

function describe(x: unknown): string {
  if (typeof x === "string") return x;
  const f = x as FindingLike & { line?: unknown; artifact?: string };
  if (typeof f.line === "string") return f.line;
  const where = f.artifact ? ` (${f.artifact}${typeof f.line === "number" ? `:${f.line}` : ""})` : "";
  return [f.id ? `[${f.id}]` : "", f.message ?? JSON.stringify(x)].filter(Boolean).join(" ") + where;
}

/**
 * Interprets a verifier result. Understands the verifier's `Report` (policies/verifier/report-model.ts:
 * `summary.verdict`, `findings[].severity`, `guardrails[].level`, `pendingIsViolation`) and a plain
 * `{ violations, findings }`. Refuses on: a violation, a mandatory guardrail or finding, a pending
 * finding when pending counts as a violation, or an overall verdict of "fail".
 */
export function gateFromResult(result: unknown): GateResult {
  if (!result || typeof result !== "object") return { refused: true, lines: ["the verifier returned no result; refusing to deploy"] };
  const r = result as {
    violations?: unknown[];
    findings?: (FindingLike & { kind?: string; subject?: string })[];
    guardrails?: { rule?: string; level?: string; subject?: string; message?: string }[];
    pendingIsViolation?: boolean;
    summary?: { verdict?: string };
  };
  if (!Array.isArray(r.violations) && !Array.isArray(r.findings) && !Array.isArray(r.guardrails)) {
    return { refused: true, lines: ["the verifier's result has neither `violations`, `findings` nor `guardrails`; update stacks/ops/verify-gate.ts to its interface"] };
  }
  const lines: string[] = [];
  for (const v of r.violations ?? []) lines.push(`violation: ${describe(v)}`);
  for (const f of r.findings ?? []) {
    if (f.severity === "violation") lines.push(`violation: ${describe(f)}`);
    else if (f.mandatory === true || f.severity === "error" || f.level === "error" || f.level === "mandatory") lines.push(`mandatory finding: ${describe(f)}`);
    else if (f.severity === "pending" && r.pendingIsViolation === true) lines.push(`pending (counted as a violation): ${describe(f)}`);
  }
  for (const g of r.guardrails ?? []) {
    if (g.level === "mandatory") lines.push(`mandatory guardrail: [${g.rule ?? "?"}] ${g.subject ? `${g.subject}: ` : ""}${g.message ?? ""}`);
  }
  if (lines.length === 0 && r.summary?.verdict === "fail") lines.push("the verifier's verdict is fail (see out/report/)");
  return { refused: lines.length > 0, lines };
}

/** The default gate: the plan command's own verification (`verifyPlan`), then `gateFromResult`. */
export const defaultVerifyGate: VerifyGate = async (artifacts) => {
  try {
    const { report, files } = verifyPlan(artifacts);
    return { gate: gateFromResult(report), files, summary: verdictLine(report) };
  } catch (e) {
    if (e instanceof VerifyInputError) return { gate: { refused: true, lines: [`the verifier cannot check this plan: ${e.message}`] }, files: [] };
    throw e;
  }
};
