import type { Report } from "../verifier/report-model.js";
import type { ReportFormatter } from "./formatter.js";

const cell = (v: string | number | boolean) => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** `matrix.csv`: one row per flow (source, destination, protocol, port, verdict, intended, layers). */
export const csvFormatter: ReportFormatter = {
  path: "report/matrix.csv",
  render(report: Report): string {
    const rows = [["source", "destination", "protocol", "port", "verdict", "intended", "via", "layers"].join(",")];
    for (const f of report.flows) {
      const layers = f.layers.map((l) => `${l.layer}:${l.verdict}`).join(" ");
      rows.push([f.source, f.destination, f.protocol, f.port, f.verdict, f.intended, f.via ?? "", layers].map(cell).join(","));
    }
    return `${rows.join("\n")}\n`;
  },
};
