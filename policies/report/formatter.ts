import type { Report } from "../verifier/report-model.js";

/** One output format of the report. Every formatter is pure and deterministic (no timestamps). */
export interface ReportFormatter {
  /** Path relative to the output directory, e.g. `report/segmentation.md`. */
  readonly path: string;
  render(report: Report): string;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Nodes of the report in a stable order: by zone (internet, edge, tunnel, cloud), then id. */
export function nodesOf(report: Report): string[] {
  const ids = new Set<string>();
  for (const f of report.flows) {
    ids.add(f.source);
    ids.add(f.destination);
  }
  for (const n of report.nevers) {
    ids.add(n.source);
    ids.add(n.destination);
  }
  return [...ids].sort((a, b) => zoneRank(a) - zoneRank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export function zoneOf(id: string): "internet" | "edge" | "cloud" {
  if (id === "internet" || id === "admin") return "internet";
  if (id === "edge" || id.startsWith("edge-") || id.startsWith("edge:")) return "edge";
  return "cloud";
}

function zoneRank(id: string): number {
  return { internet: 0, edge: 1, cloud: 2 }[zoneOf(id)];
}

export function verdictMark(v: string, intended: boolean): string {
  if (v === "allowed") return intended ? "allowed" : "UNEXPECTED";
  if (v === "pending") return "pending";
  return intended ? "BROKEN" : "denied";
}
