import { GUARDRAILS } from "../guardrails.js";
import type { Report } from "../verifier/report-model.js";
import type { ReportFormatter } from "./formatter.js";

const KIND_TEXT: Record<string, string> = {
  "unexpected-exposure": "A flow the artifacts allow that the intent does not declare.",
  "broken-path": "A declared flow the artifacts do not allow.",
  "never-reachable": "A must-never pair the artifacts allow.",
  "single-layer": "A must-never pair blocked by one layer only (two independent layers are required).",
  pending: "A verdict that waits for an artifact not rendered yet.",
  "unexpected-route": "A proxy route to a peer the intent does not allow.",
  "nft-unsupported": "An nftables rule the verifier does not understand (never guessed).",
  "engine-drift": "The cdktf output and the Pulumi capture differ.",
  "unknown-peer": "The intent names a peer the artifacts do not declare.",
  "bad-artifact": "An artifact that cannot be read.",
  "lab-mismatch": "The lab, running these artifacts on the real daemons, observed something other than the verifier computed, or a drill failed.",
  "tenant-isolation": "A tenant isolation layer declared but not implemented by the rendered SQL or OpenBao files.",
};

/** `findings.sarif`: SARIF 2.1.0, one result per finding and guardrail, located in its artifact. */
export const sarifFormatter: ReportFormatter = {
  path: "report/findings.sarif",
  render(r: Report): string {
    const rules = [
      ...Object.entries(KIND_TEXT).map(([id, text]) => ({ id: `segmentation/${id}`, shortDescription: { text } })),
      ...Object.values(GUARDRAILS).map((g) => ({ id: `guardrail/${g.id}`, shortDescription: { text: g.rationale }, helpUri: undefined, properties: { source: g.source, level: g.level } })),
    ];
    const loc = (artifact?: string, line?: number) =>
      artifact ? [{ physicalLocation: { artifactLocation: { uri: artifact, uriBaseId: "OUT" }, ...(line ? { region: { startLine: line } } : {}) } }] : [];
    const results = [
      ...r.findings.map((f) => ({
        ruleId: `segmentation/${f.kind}`,
        level: f.severity === "violation" ? "error" : "note",
        message: { text: `${f.subject}: ${f.message}` },
        locations: loc(f.artifact, f.line),
        partialFingerprints: { palisadeId: f.id },
      })),
      ...r.guardrails.map((g) => ({
        ruleId: `guardrail/${g.rule}`,
        level: g.level === "mandatory" ? "error" : "warning",
        message: { text: `${g.subject}: ${g.message}` },
        locations: loc(g.artifact, g.line),
        partialFingerprints: { palisadeId: `${g.rule}:${g.subject}:${g.message}` },
      })),
    ];
    const sarif = {
      $schema: "https://json.schemastore.org/sarif-2.1.0.json",
      version: "2.1.0",
      runs: [{ tool: { driver: { name: "palisade-verifier", informationUri: "https://example.com/palisade", rules } }, originalUriBaseIds: { OUT: { uri: "./" } }, results }],
    };
    return `${JSON.stringify(sarif, null, 2)}\n`;
  },
};
