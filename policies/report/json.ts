import type { Report } from "../verifier/report-model.js";
import type { ReportFormatter } from "./formatter.js";

/** `report.json`: the machine-readable report, as the verifier produced it. */
export const jsonFormatter: ReportFormatter = {
  path: "report/report.json",
  render(report: Report): string {
    return `${JSON.stringify(report, null, 2)}\n`;
  },
};
