import type { Report } from "../verifier/report-model.js";
import type { ReportFormatter } from "./formatter.js";

const cell = (v: string | number | boolean) => {
  if (typeof v !== "string") return String(v); // a number or boolean never needs quotes
  const s = v;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * `matrix.csv`: one row per (source, destination, port) the verifier evaluated, denied ones
 * included (`port` to `to`: the ports the row stands for, one evaluation; see MatrixRow): verdict, whether the intent expects it, the deciding path, and each layer of that path
 * with its verdict and the artifact line deciding it. Its provenance is the side file
 * `provenance.json` (a CSV has no place for it).
 */
export const csvFormatter: ReportFormatter = {
  path: "report/matrix.csv",
  render(report: Report): string {
    const intended = new Set(report.flows.filter((f) => f.intended).map((f) => f.line));
    const rows = [["source", "destination", "protocol", "port", "to", "verdict", "intended", "via", "layers"].join(",")];
    for (const m of report.matrix ?? []) {
      const line = `${m.source} => ${m.destination} : ${m.protocol}/${m.port}`;
      rows.push([m.source, m.destination, m.protocol, m.port, m.to ?? m.port, m.verdict, intended.has(line), m.via ?? "", m.layers.join("; ")].map(cell).join(","));
    }
    return `${rows.join("\n")}\n`;
  },
};

/** `provenance.json`: the provenance of matrix.csv, graph.svg and the rest of this report directory. */
export const provenanceFormatter: ReportFormatter = {
  path: "report/provenance.json",
  render: (r) => `${JSON.stringify(r.provenance ?? {}, null, 2)}\n`,
};
