import type { Report } from "../verifier/report-model.js";
import { RULES } from "./controls.js";
import type { ReportFormatter } from "./formatter.js";

/*
 * `findings.sarif`: SARIF 2.1.0 that GitHub code scanning accepts (checked with Microsoft's SARIF
 * multitool, rule kinds Sarif and Gh, in the test suite). One result per finding and guardrail,
 * located at the artifact line that caused it. Locations are relative to the repository when the
 * output directory is inside one (the report's provenance says where: `out/hosts/edge/...`);
 * otherwise relative to the output directory under the base id OUTDIR, left undefined so that no
 * absolute path of this machine enters the file (a consumer supplies it).
 */

function pascal(id: string): string {
  return id.split(/[/-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

export const sarifFormatter: ReportFormatter = {
  path: "report/findings.sarif",
  render(r: Report): string {
    const prov = r.provenance;
    const rules = RULES.map((d) => ({
      id: d.id,
      name: pascal(d.id),
      shortDescription: { text: d.title },
      fullDescription: { text: d.description },
      help: { text: `${d.description} Fix: ${d.fix} Evidences: ${d.controls.join(", ")}.`, markdown: `${d.description}\n\n**Fix:** ${d.fix}\n\n**Evidences:** ${d.controls.join(", ")}` },
      defaultConfiguration: { level: d.severity >= 7 ? "error" : d.severity >= 4 ? "warning" : "note" },
      properties: { "security-severity": d.severity.toFixed(1), tags: ["security", "segmentation", ...d.controls], precision: "very-high", "problem.severity": d.severity >= 7 ? "error" : d.severity >= 4 ? "warning" : "recommendation" },
    }));
    const index = new Map(rules.map((rule, i) => [rule.id, i]));
    const prefix = prov?.git ? prov.git.outDir.replace(/\/?$/, "/").replace(/^\.\/$/, "") : undefined;
    const loc = (artifact: string | undefined, line: number | undefined) => {
      const uri = artifact ?? "intent.json";
      const artifactLocation = prefix !== undefined ? { uri: `${prefix}${uri}` } : { uri, uriBaseId: "OUTDIR" };
      return [{ physicalLocation: { artifactLocation, region: { startLine: line ?? 1 } } }];
    };
    const result = (ruleId: string, level: string, text: string, artifact: string | undefined, line: number | undefined, id: string) => ({
      ruleId,
      // Every finding kind and guardrail has its rule (controls.ts); without one, no index rather than another rule's.
      ...(index.has(ruleId) ? { ruleIndex: index.get(ruleId)! } : {}),
      level,
      message: { text: text.endsWith(".") ? text : `${text}.` },
      locations: loc(artifact, line),
      partialFingerprints: { palisadeId: id },
    });
    const results = [
      ...r.findings.map((f) => result(`segmentation/${f.kind}`, f.severity === "violation" ? "error" : "note", `${f.subject}: ${f.message}`, f.artifact, f.line, f.id)),
      ...r.guardrails.map((g) => result(`guardrail/${g.rule}`, g.level === "mandatory" ? "error" : "warning", `${g.subject}: ${g.message}`, g.artifact, g.line, `${g.rule}:${g.subject}:${g.message}`)),
    ];
    const run = {
      tool: {
        driver: {
          name: "palisade",
          fullName: "Palisade segmentation verifier",
          version: prov?.palisade ?? "0.0.0+unrecorded",
          semanticVersion: prov?.palisade ?? "0.0.0",
          informationUri: "https://example.com/palisade",
          rules,
        },
      },
      ...(prov
        ? {
            properties: {
              siteSha256: prov.siteSha256,
              manifestSha256: prov.manifestSha256,
              engines: prov.engines,
              ...(prov.git ? { commit: prov.git.commit, dirty: prov.git.dirty } : {}),
              ...(prov.date ? { date: prov.date } : {}),
            },
          }
        : {}),
      results,
    };
    const sarif = { $schema: "https://json.schemastore.org/sarif-2.1.0.json", version: "2.1.0", runs: [run] };
    return `${JSON.stringify(sarif, null, 2)}\n`;
  },
};
