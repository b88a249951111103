import type { Artifact } from "../../core/index.js";
import type { Report } from "../verifier/report-model.js";
import { csvFormatter, provenanceFormatter } from "./csv.js";
import type { ReportFormatter } from "./formatter.js";
import { htmlFormatter } from "./html.js";
import { jsonFormatter } from "./json.js";
import { junitFormatter } from "./junit.js";
import { markdownFormatter } from "./markdown.js";
import { sarifFormatter } from "./sarif.js";
import { svgFormatter } from "./svg.js";

export type { ReportFormatter } from "./formatter.js";
export { csvFormatter, provenanceFormatter, htmlFormatter, jsonFormatter, junitFormatter, markdownFormatter, sarifFormatter, svgFormatter };

/** Every formatter, one file each under `report/`. */
export const FORMATTERS: readonly ReportFormatter[] = [htmlFormatter, markdownFormatter, csvFormatter, svgFormatter, jsonFormatter, sarifFormatter, junitFormatter, provenanceFormatter];

/** The report as artifacts (`report/index.html`, `report/report.json`, …), sorted by path. */
export function renderReport(report: Report, formatters: readonly ReportFormatter[] = FORMATTERS): Artifact[] {
  return formatters.map((f) => ({ path: f.path, content: f.render(report) })).sort((a, b) => (a.path < b.path ? -1 : 1));
}
