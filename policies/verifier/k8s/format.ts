/*
 * netpol-analyzer's output formats, one function per format. `list`: txt (`src => dst : conns`), csv
 * (`src,dst,conn`), md (a `| src | dst | conn |` table), json (an array of {src, dst, conn}, two-space
 * indent). `diff`: txt (`Connectivity diff:` then `diff-type: ..., source: ..., ...` lines), csv, md.
 * Every text ends without a trailing newline (the command prints it as one line block); empty output is "".
 */
import type { ConnectivityDiff, DiffLine, DiffType } from "./diff.js";
import { peerName, type Connection } from "./evaluate.js";

export const LIST_FORMATS = ["txt", "csv", "md", "json"] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];
export const DIFF_FORMATS = ["txt", "csv", "md"] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

interface Row {
  readonly src: string;
  readonly dst: string;
  readonly conn: string;
}

function rows(conns: readonly Connection[]): Row[] {
  return conns.map((c) => ({ src: peerName(c.src), dst: peerName(c.dst), conn: c.conns.toString() }));
}

/** Go encoding/csv's quoting: a field with a comma, quote, CR or LF, or a leading space, is quoted. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) || /^[ \t]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(",");
}

export function formatList(conns: readonly Connection[], format: ListFormat): string {
  const rs = rows(conns);
  switch (format) {
    case "txt":
      return rs.map((r) => `${r.src} => ${r.dst} : ${r.conn}`).join("\n");
    case "csv":
      return [csvLine(["src", "dst", "conn"]), ...rs.map((r) => csvLine([r.src, r.dst, r.conn]))].join("\n");
    case "md":
      return ["| src | dst | conn |", "|-----|-----|------|", ...rs.map((r) => `| ${r.src} | ${r.dst} | ${r.conn} |`)].join("\n");
    case "json":
      return JSON.stringify(rs, null, 2);
  }
}

const DIFF_ORDER: readonly DiffType[] = ["changed", "added", "removed"];

/** Changed, added, removed; the ingress controller's lines after the others; each group sorted as written. */
function orderedLines(d: ConnectivityDiff, write: (l: DiffLine) => string): string[] {
  const groups = new Map<number, string[]>();
  for (const l of d.lines) {
    const g = (l.fromIngressController ? DIFF_ORDER.length : 0) + DIFF_ORDER.indexOf(l.type);
    groups.set(g, [...(groups.get(g) ?? []), write(l)]);
  }
  return [...groups.keys()].sort((a, b) => a - b).flatMap((g) => groups.get(g)!.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function formatDiff(d: ConnectivityDiff, format: DiffFormat): string {
  if (d.lines.length === 0) return "";
  switch (format) {
    case "txt":
      return [
        "Connectivity diff:",
        ...orderedLines(d, (l) => {
          const line = `diff-type: ${l.type}, source: ${l.src}, destination: ${l.dst}, dir1:  ${l.dir1}, dir2: ${l.dir2}`;
          return l.workloadsInfo ? `${line}, workloads-diff-info: ${l.workloadsInfo}` : line;
        }),
      ].join("\n");
    case "csv":
      return [
        csvLine(["diff-type", "source", "destination", "dir1", "dir2", "workloads-diff-info"]),
        ...orderedLines(d, (l) => csvLine([l.type, l.src, l.dst, l.dir1, l.dir2, l.workloadsInfo])),
      ].join("\n");
    case "md":
      return [
        "| diff-type | source | destination | dir1 | dir2 | workloads-diff-info |",
        "|-----------|--------|-------------|------|------|---------------------|",
        ...orderedLines(d, (l) => `| ${l.type} | ${l.src} | ${l.dst} | ${l.dir1} | ${l.dir2} | ${l.workloadsInfo} |`),
      ].join("\n");
  }
}
