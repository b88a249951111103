import type { Report } from "../verifier/report-model.js";
import { escapeXml as x, nodesOf, zoneOf, type ReportFormatter } from "./formatter.js";

/**
 * `graph.svg`: who reaches whom. One column per zone (internet, edge, cloud), one box per peer,
 * one arrow per allowed pair (green: intended; red: not intended; grey dashed: pending), labelled
 * with its ports. Deterministic layout, no script, no external resource.
 */
export function renderGraphSvg(r: Report): string {
  const nodes = nodesOf(r);
  const columns: Record<string, string[]> = { internet: [], edge: [], cloud: [] };
  for (const n of nodes) columns[zoneOf(n)]!.push(n);
  const colX = { internet: 40, edge: 340, cloud: 640 } as const;
  const boxW = 170;
  const boxH = 26;
  const gap = 14;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [zone, ids] of Object.entries(columns)) ids.forEach((id, i) => pos.set(id, { x: colX[zone as keyof typeof colX], y: 60 + i * (boxH + gap) }));
  const height = 80 + Math.max(...Object.values(columns).map((c) => c.length)) * (boxH + gap);
  const pairs = new Map<string, { s: string; d: string; ports: string[]; kind: "intended" | "unexpected" | "pending" }>();
  for (const f of r.flows) {
    if (f.verdict === "denied") continue;
    const key = `${f.source}>${f.destination}`;
    const kind = f.verdict === "pending" ? "pending" : f.intended ? "intended" : "unexpected";
    const p = pairs.get(key) ?? { s: f.source, d: f.destination, ports: [], kind };
    p.ports.push(`${f.protocol}/${f.port}`);
    if (kind === "unexpected") p.kind = "unexpected";
    else if (kind === "intended" && p.kind === "pending") p.kind = "intended";
    pairs.set(key, p);
  }
  const colour = { intended: "#1a7f37", unexpected: "#cf222e", pending: "#8c959f" } as const;
  const edges: string[] = [];
  for (const p of [...pairs.values()].sort((a, b) => (a.s + a.d < b.s + b.d ? -1 : 1))) {
    const a = pos.get(p.s);
    const b = pos.get(p.d);
    if (!a || !b) continue;
    const sameCol = a.x === b.x;
    const x1 = a.x + (b.x >= a.x && !sameCol ? boxW : sameCol ? boxW : 0);
    const y1 = a.y + boxH / 2;
    const x2 = b.x + (b.x > a.x ? 0 : boxW);
    const y2 = b.y + boxH / 2;
    const bend = sameCol ? ` C ${x1 + 60} ${y1}, ${x2 + 60} ${y2}, ${x2} ${y2}` : ` L ${x2} ${y2}`;
    const dash = p.kind === "pending" ? ' stroke-dasharray="4 3"' : "";
    edges.push(
      `<path d="M ${x1} ${y1}${bend}" fill="none" stroke="${colour[p.kind]}" stroke-width="1.4" marker-end="url(#arrow-${p.kind})"${dash}><title>${x(`${p.s} => ${p.d} : ${p.ports.join(", ")} (${p.kind})`)}</title></path>`,
    );
  }
  const boxes = [...pos.entries()].map(
    ([id, p]) =>
      `<g><rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="5" fill="#f6f8fa" stroke="#57606a"/><text x="${p.x + boxW / 2}" y="${p.y + 17}" text-anchor="middle" font-size="12">${x(id)}</text></g>`,
  );
  const markers = Object.entries(colour)
    .map(([k, c]) => `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${c}"/></marker>`)
    .join("");
  const headers = Object.entries(colX).map(([z, cx]) => `<text x="${cx + boxW / 2}" y="36" text-anchor="middle" font-size="14" font-weight="bold">${z}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="880" height="${height}" viewBox="0 0 880 ${height}" font-family="sans-serif" role="img" aria-label="reachability graph">`,
    `<defs>${markers}</defs>`,
    ...headers,
    ...edges,
    ...boxes,
    `<text x="40" y="${height - 10}" font-size="11" fill="#57606a">green: intended, red: not intended, grey dashed: pending (artifact not rendered yet)</text>`,
    "</svg>",
  ].join("\n");
}

export const svgFormatter: ReportFormatter = {
  path: "report/graph.svg",
  render: (r) => `${renderGraphSvg(r)}\n`,
};
