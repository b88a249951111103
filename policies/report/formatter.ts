import type { Report } from "../verifier/report-model.js";
import { DIFFERENTIAL_PROOFS, type DifferentialProof } from "../verifier/proven.js";

/** One output format of the report. Every formatter is pure and deterministic (no timestamps). */
export interface ReportFormatter {
  /** Path relative to the output directory, e.g. `report/segmentation.md`. */
  readonly path: string;
  render(report: Report): string;
}

export function escapeXml(text: string): string {
  // Most strings need no escape: five replace passes over each of them were a tenth of the HTML's time.
  if (!/[&<>"']/.test(text)) return text;
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Nodes of the report in a stable order: by zone (internet, edge, cloud), then id. */
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
  const zone = zoneOf(report);
  const rank = (id: string) => ZONES.indexOf(zone(id));
  return [...ids].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export type Zone = "internet" | "edge" | "cloud";
export const ZONES: readonly Zone[] = ["internet", "edge", "cloud"];

/**
 * Each node's zone, as the report's peers give it (the intent's zones: an operator's address peers
 * are the internet's, whatever they are called). A node no peer names is judged by its id: the
 * internet, the edge's own names, else the cloud.
 */
export function zoneOf(report: Report): (id: string) => Zone {
  const zones = new Map(report.peers.filter((p) => (ZONES as readonly string[]).includes(p.zone)).map((p) => [p.id, p.zone as Zone]));
  return (id) => zones.get(id) ?? (id === "internet" ? "internet" : id === "edge" || id.startsWith("edge-") || id.startsWith("edge:") ? "edge" : "cloud");
}

export function verdictMark(v: string, intended: boolean): string {
  if (v === "allowed") return intended ? "allowed" : "UNEXPECTED";
  if (v === "pending") return "pending";
  return intended ? "BROKEN" : "denied";
}

/** The report's provenance as labelled lines, the same in every format. */
export function provenanceLines(r: Report): [string, string][] {
  const p = r.provenance;
  if (!p) return [["provenance", "not recorded (verified in-process, not by palisade plan or verify)"]];
  return [
    ["site file sha256", p.siteSha256 ?? "unknown (no manifest.json)"],
    ["manifest.json sha256", p.manifestSha256 ?? "unknown (no manifest.json)"],
    ["palisade", p.palisade],
    ...Object.entries(p.engines).map(([k, v]) => [k, v] as [string, string]),
    ["git commit", p.git ? `${p.git.commit}${p.git.dirty ? " (with uncommitted changes)" : ""}, output in ${p.git.outDir}/` : "not in a git repository"],
    ["run date", p.date ?? "none given (--date or SOURCE_DATE_EPOCH)"],
  ];
}

/** A peer's addresses, as one short text. */
export function addressesOf(r: Report, id: string): string {
  const p = r.peers?.find((x) => x.id === id);
  return p ? p.addresses.join(", ") || "no address" : "";
}

/** The report's differentially proven semantics, each evaluator with the program, test and cases behind it (empty for a report without them). */
export function provenEntries(r: Report): { evaluator: string; proof: DifferentialProof; semantics: readonly string[] }[] {
  const p = r.proven;
  if (!p) return [];
  return (Object.keys(DIFFERENTIAL_PROOFS) as (keyof typeof DIFFERENTIAL_PROOFS)[]).flatMap((k) => (p[k]?.length ? [{ evaluator: k, proof: DIFFERENTIAL_PROOFS[k], semantics: p[k]! }] : []));
}

/** What the proven section says of the layers no differential test covers. */
export const NOT_DIFFERENTIAL = "Every other layer (WireGuard, the Docker engines' output, OpenBao, the PostgreSQL statements, Postfix, sysctl) is read by the verifier's own model of its program, and checked by mutations of the artifacts; Postfix's relay decision and the tenancy SQL's effect are also run on the real Postfix and PostgreSQL in the host tests.";
