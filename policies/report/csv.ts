import type { Report } from "../verifier/report-model.js";
import type { ReportFormatter } from "./formatter.js";

const cell = (v: string | number | boolean) => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * `matrix.csv`: one row per flow the report records (source, destination, protocol, port,
 * verdict, intended, the path, and for each layer its verdict and the artifact line deciding it).
 * Its provenance is the side file `provenance.json` (a CSV has no place for it).
 */
export const csvFormatter: ReportFormatter = {
  path: "report/matrix.csv",
  render(report: Report): string {
    const rows = [["source", "destination", "protocol", "port", "verdict", "intended", "via", "layers", "deciding"].join(",")];
    for (const f of report.flows) {
      const layers = f.layers.map((l) => `${l.layer}:${l.verdict}`).join(" ");
      const deciding = f.layers.map((l) => `${l.layer} ${l.verdict} ${l.artifact}${l.line ? `:${l.line}` : ""}`).join("; ");
      rows.push([f.source, f.destination, f.protocol, f.port, f.verdict, f.intended, f.via ?? "", layers, deciding].map(cell).join(","));
    }
    return `${rows.join("\n")}\n`;
  },
};

/** `provenance.json`: the provenance of matrix.csv, graph.svg and the rest of this report directory. */
export const provenanceFormatter: ReportFormatter = {
  path: "report/provenance.json",
  render: (r) => `${JSON.stringify(r.provenance ?? {}, null, 2)}\n`,
};
