import type { Report } from "../verifier/report-model.js";
import { escapeXml as x, type ReportFormatter } from "./formatter.js";

/** `junit.xml`: intended flows, must-never pairs and guardrails as test cases, for CI dashboards. */
export const junitFormatter: ReportFormatter = {
  path: "report/junit.xml",
  render(r: Report): string {
    const suites: string[] = [];
    const suite = (name: string, cases: { name: string; failure?: string; skipped?: string }[]) => {
      const failures = cases.filter((c) => c.failure).length;
      const skipped = cases.filter((c) => c.skipped).length;
      const body = cases
        .map((c) => `    <testcase classname="palisade.${x(name)}" name="${x(c.name)}">${c.failure ? `<failure message="${x(c.failure)}"/>` : c.skipped ? `<skipped message="${x(c.skipped)}"/>` : ""}</testcase>`)
        .join("\n");
      suites.push(`  <testsuite name="${x(name)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" errors="0">\n${body}\n  </testsuite>`);
    };
    const findingBySubject = new Map(r.findings.map((f) => [f.subject, f]));
    suite(
      "intended-flows",
      r.flows
        .filter((f) => f.intended && !f.reason?.startsWith("covered"))
        .map((f) => {
          const finding = findingBySubject.get(f.line);
          if (f.verdict === "allowed") return { name: f.line };
          if (f.verdict === "pending") return r.pendingIsViolation ? { name: f.line, failure: finding?.message ?? "pending" } : { name: f.line, skipped: finding?.message ?? "pending" };
          return { name: f.line, failure: finding?.message ?? "broken path" };
        }),
    );
    suite(
      "must-never",
      r.nevers.map((n) => {
        const name = `${n.source} => ${n.destination}`;
        const finding = findingBySubject.get(name);
        if (n.status === "blocked") return { name };
        if (n.status === "pending") return r.pendingIsViolation ? { name, failure: finding?.message ?? "pending" } : { name, skipped: finding?.message ?? "pending" };
        return { name, failure: finding?.message ?? "violation" };
      }),
    );
    suite(
      "exposure-and-artifacts",
      r.findings.filter((f) => !["broken-path", "pending", "never-reachable", "single-layer"].includes(f.kind)).map((f) => ({ name: `${f.kind} ${f.subject}`, failure: f.message })),
    );
    suite(
      "guardrails",
      r.guardrails.map((g) => (g.level === "mandatory" ? { name: `${g.rule} ${g.subject}`, failure: g.message } : { name: `${g.rule} ${g.subject}`, skipped: `advisory: ${g.message}` })),
    );
    return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="palisade verify">\n${suites.join("\n")}\n</testsuites>\n`;
  },
};
