import type { LayerStep } from "../verifier/layers.js";
import type { Report } from "../verifier/report-model.js";
import { escapeXml as x, provenanceLines, type ReportFormatter } from "./formatter.js";

/*
 * `junit.xml`: intended flows, must-never pairs, exposure and artifact findings, and guardrails
 * as test cases, for CI dashboards. Each case names the artifact (`file`, `line`) that decides it
 * and a failure carries the full explanation as text; suites and the root carry totals.
 *
 * Times are 0 unless the report carries measured ones (`plan`/`verify --timings`; a measured time
 * differs from run to run, so the default output stays byte-identical, with or without a run date).
 * Measured: each intended flow and must-never pair is the seconds its checks took to evaluate it;
 * `must-never` and `intended-flows` sum their cases; `guardrails` is the guardrails' pass (its
 * cases, decided together, are 0); `exposure-and-artifacts` is the rest of the verification
 * (reading the artifacts, exposure, the daemons' findings; its cases 0 likewise); the root is the
 * whole verification.
 */

interface Case {
  readonly name: string;
  /** Key of its measured time in report.timings.cases. */
  readonly timeKey?: string;
  readonly file?: string;
  readonly line?: number;
  readonly failure?: { readonly message: string; readonly text: string };
  readonly skipped?: string;
}

const cite = (s: { artifact?: string; line?: number } | undefined) => (s?.artifact ? { file: s.artifact, ...(s.line ? { line: s.line } : {}) } : {});
const stepsText = (steps: readonly LayerStep[]) => steps.map((s) => `${s.layer} ${s.verdict}: ${s.artifact}${s.line ? `:${s.line}` : ""} ${s.construct}`).join("\n");

export const junitFormatter: ReportFormatter = {
  path: "report/junit.xml",
  render(r: Report): string {
    const suites: string[] = [];
    const props = provenanceLines(r).map(([k, v]) => `      <property name="${x(k)}" value="${x(v)}"/>`).join("\n");
    const totals = { tests: 0, failures: 0, skipped: 0 };
    const t = r.timings;
    const secs = (n: number) => (t ? n.toFixed(6) : "0");
    const caseTime = (c: Case) => (t && c.timeKey ? (t.cases[c.timeKey] ?? 0) : 0);
    const flowsTime = r.flows.reduce((a, f) => a + (t?.cases[`flow ${f.line}`] ?? 0), 0);
    const neversTime = r.nevers.reduce((a, n) => a + (t?.cases[`never ${n.source} => ${n.destination}`] ?? 0), 0);
    /** A suite whose cases are measured sums them; the others have their phase's time. */
    const suiteTime: Record<string, number> = t ? { guardrails: t.guardrails, "exposure-and-artifacts": Math.max(0, t.total - t.guardrails - flowsTime - neversTime) } : {};
    const suite = (name: string, cases: Case[]) => {
      const failures = cases.filter((c) => c.failure).length;
      const skipped = cases.filter((c) => c.skipped).length;
      totals.tests += cases.length;
      totals.failures += failures;
      totals.skipped += skipped;
      const body = cases
        .map((c) => {
          const attrs = `classname="palisade.${x(name)}" name="${x(c.name)}" time="${secs(caseTime(c))}"${c.file ? ` file="${x(c.file)}"` : ""}${c.line ? ` line="${c.line}"` : ""}`;
          const inner = c.failure ? `<failure message="${x(c.failure.message)}" type="${x(name)}">${x(c.failure.text)}</failure>` : c.skipped ? `<skipped message="${x(c.skipped)}"/>` : "";
          return `    <testcase ${attrs}>${inner}</testcase>`;
        })
        .join("\n");
      suites.push(`  <testsuite name="${x(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs(suiteTime[name] ?? cases.reduce((a, c) => a + caseTime(c), 0))}">\n    <properties>\n${props}\n    </properties>\n${body}\n  </testsuite>`);
    };
    const findingBySubject = new Map(r.findings.map((f) => [f.subject, f]));
    suite(
      "intended-flows",
      r.flows
        .filter((f) => f.intended && !f.reason?.startsWith("covered"))
        .map((f): Case => {
          const finding = findingBySubject.get(f.line);
          const decisive = f.layers.find((s) => s.verdict !== "allow") ?? f.layers.find((s) => s.line) ?? f.layers[0];
          const base = { name: f.line, timeKey: `flow ${f.line}`, ...cite(finding ?? decisive) };
          if (f.verdict === "allowed") return base;
          const text = `${finding?.message ?? f.verdict}\n${stepsText(f.layers)}`;
          if (f.verdict === "pending" && !r.pendingIsViolation) return { ...base, skipped: finding?.message ?? "pending" };
          return { ...base, failure: { message: finding?.message ?? (f.verdict === "pending" ? "pending" : "broken path"), text } };
        }),
    );
    suite(
      "must-never",
      r.nevers.map((n): Case => {
        const name = `${n.source} => ${n.destination}`;
        const finding = findingBySubject.get(name);
        const weakStep = n.weakest?.steps.find((s) => s.verdict === "deny" && s.line) ?? n.weakest?.steps[0];
        const base = { name, timeKey: `never ${name}`, ...cite(finding ?? weakStep) };
        if (n.status === "blocked") return base;
        if (n.status === "impossible") return { ...base, skipped: `cannot happen: ${n.impossible}` };
        const text = `${finding?.message ?? n.status}\n${n.weakest ? `weakest path ${n.weakest.port} via ${n.weakest.via}:\n${stepsText(n.weakest.steps)}` : ""}`;
        if (n.status === "pending" && !r.pendingIsViolation) return { ...base, skipped: finding?.message ?? "pending" };
        return { ...base, failure: { message: finding?.message ?? n.status, text } };
      }),
    );
    suite(
      "exposure-and-artifacts",
      r.findings
        .filter((f) => !["broken-path", "pending", "never-reachable", "single-layer"].includes(f.kind))
        .map((f) => ({ name: `${f.kind} ${f.subject}`, ...cite(f), failure: { message: f.message, text: `${f.message}${f.construct ? `\n${f.construct}` : ""}` } })),
    );
    suite(
      "guardrails",
      r.guardrails.map((g) => {
        const base = { name: `${g.rule} ${g.subject}`, ...cite(g) };
        return g.level === "mandatory" ? { ...base, failure: { message: g.message, text: `${g.message}\n${g.rationale} (${g.source})${g.construct ? `\n${g.construct}` : ""}` } } : { ...base, skipped: `advisory: ${g.message}` };
      }),
    );
    return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="palisade verify" tests="${totals.tests}" failures="${totals.failures}" errors="0" skipped="${totals.skipped}" time="${secs(t?.total ?? 0)}">\n${suites.join("\n")}\n</testsuites>\n`;
  },
};
