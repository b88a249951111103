import type { Report } from "../verifier/report-model.js";
import { escapeXml as x, nodesOf, zoneOf, ZONES, type Zone, type ReportFormatter } from "./formatter.js";

/*
 * `graph.svg`: who reaches whom, one view per zone (what reaches the internet, the edge, the
 * cloud). Each view is a lane diagram: one column per peer involved, one row per allowed pair,
 * an arrow from the source's column to the destination's with its ports written above it. Every
 * arrow has its own row, so no two arrows or labels overlap however many pairs there are.
 * Green: intended; red: not intended; grey dashed: pending. Deterministic, no script.
 */

const COL_W = 104;
const ROW_H = 24;
const HEAD_H = 54;
const LEFT = 16;
const COLOUR = { intended: "#1a7f37", unexpected: "#cf222e", pending: "#8c959f" } as const;
type Kind = keyof typeof COLOUR;

interface Pair {
  readonly s: string;
  readonly d: string;
  readonly ports: string[];
  kind: Kind;
}

function pairsOf(r: Report): Pair[] {
  const pairs = new Map<string, Pair>();
  for (const f of r.flows) {
    if (f.verdict === "denied") continue;
    const key = `${f.source}>${f.destination}`;
    const kind: Kind = f.verdict === "pending" ? "pending" : f.intended ? "intended" : "unexpected";
    const p = pairs.get(key) ?? { s: f.source, d: f.destination, ports: [], kind };
    p.ports.push(`${f.protocol}/${f.port}`);
    if (kind === "unexpected") p.kind = "unexpected";
    else if (kind === "intended" && p.kind === "pending") p.kind = "intended";
    pairs.set(key, p);
  }
  return [...pairs.values()];
}

/** Ports as a short label: `tcp/80, tcp/443`; long lists shortened with a count. */
function portLabel(ports: readonly string[]): string {
  const uniq = [...new Set(ports)];
  return uniq.length > 4 ? `${uniq.slice(0, 3).join(", ")} +${uniq.length - 3} more` : uniq.join(", ");
}

function view(zone: Zone, zoneOfNode: (id: string) => Zone, pairs: readonly Pair[], order: readonly string[], top: number): { svg: string; height: number; width: number } {
  // Indexed: a scan of the pairs per node and of the columns per comparison were quadratic (a thousand services).
  const ends = new Set(pairs.flatMap((p) => [p.s, p.d]));
  const cols = order.filter((n) => ends.has(n));
  const colX = new Map(cols.map((n, i) => [n, LEFT + i * COL_W + COL_W / 2]));
  const colIndex = new Map<string, number>();
  cols.forEach((n, i) => {
    if (!colIndex.has(n)) colIndex.set(n, i);
  });
  const col = (n: string) => colIndex.get(n) ?? -1; // cols.indexOf(n)
  const rows = [...pairs].sort((a, b) => col(a.d) - col(b.d) || col(a.s) - col(b.s));
  const bodyTop = top + 28 + HEAD_H;
  const height = 28 + HEAD_H + rows.length * ROW_H + 12;
  const width = LEFT * 2 + cols.length * COL_W;
  const out: string[] = [`<g class="zone-view" id="view-${x(zone)}"><title>${x(`what reaches the ${zone} zone`)}</title>`];
  out.push(`<text x="${LEFT}" y="${top + 18}" font-size="15" font-weight="bold">Into the ${x(zone)} zone (${rows.length} pair${rows.length === 1 ? "" : "s"})</text>`);
  cols.forEach((n, i) => {
    const cx = colX.get(n)!;
    const y = top + 28 + (i % 2 === 0 ? 8 : 30);
    const inZone = zoneOfNode(n) === zone;
    out.push(`<rect x="${cx - COL_W / 2 + 3}" y="${y - 13}" width="${COL_W - 6}" height="19" rx="4" fill="${inZone ? "#ddf4ff" : "#f6f8fa"}" stroke="#57606a"/>`);
    out.push(`<text x="${cx}" y="${y + 1}" text-anchor="middle" font-size="11">${x(n.length > 16 ? `${n.slice(0, 15)}…` : n)}<title>${x(n)}</title></text>`);
    out.push(`<line x1="${cx}" y1="${y + 6}" x2="${cx}" y2="${bodyTop + rows.length * ROW_H}" stroke="#d0d7de" stroke-dasharray="2 3"/>`);
  });
  rows.forEach((p, i) => {
    const y = bodyTop + i * ROW_H + ROW_H - 6;
    const x1 = colX.get(p.s)!;
    const x2 = colX.get(p.d)!;
    const dir = x2 > x1 ? 1 : -1;
    const dash = p.kind === "pending" ? ' stroke-dasharray="4 3"' : "";
    out.push(
      `<g><title>${x(`${p.s} => ${p.d} : ${p.ports.join(", ")} (${p.kind})`)}</title><circle cx="${x1}" cy="${y}" r="3" fill="${COLOUR[p.kind]}"/><line x1="${x1}" y1="${y}" x2="${x2 - dir * 2}" y2="${y}" stroke="${COLOUR[p.kind]}" stroke-width="1.6" marker-end="url(#arrow-${p.kind})"${dash}/>` +
        `<text x="${(x1 + x2) / 2}" y="${y - 4}" text-anchor="middle" font-size="10" fill="#1f2328">${x(portLabel(p.ports))}</text></g>`,
    );
  });
  out.push("</g>");
  return { svg: out.join("\n"), height, width };
}

export function renderGraphSvg(r: Report): string {
  const order = nodesOf(r);
  const pairs = pairsOf(r);
  const views: string[] = [];
  let y = 8;
  let width = 400;
  const zone = zoneOf(r);
  for (const z of ZONES) {
    const into = pairs.filter((p) => zone(p.d) === z);
    if (!into.length) continue;
    const v = view(z, zone, into, order, y);
    views.push(v.svg);
    y += v.height + 16;
    width = Math.max(width, v.width);
  }
  const height = y + 24;
  const markers = Object.entries(COLOUR)
    .map(([k, c]) => `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${c}"/></marker>`)
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img" aria-label="reachability graph, one view per zone">`,
    `<defs>${markers}</defs>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...views,
    `<text x="${LEFT}" y="${height - 8}" font-size="11" fill="#57606a">Each row is one pair: an arrow from the source's column to the destination's, its ports above. Green: intended; red: not intended; grey dashed: pending. Blue boxes: peers of the zone.</text>`,
    "</svg>",
  ].join("\n");
}

export const svgFormatter: ReportFormatter = {
  path: "report/graph.svg",
  render: (r) => `${renderGraphSvg(r)}\n`,
};
