import { describe, expect, it } from "vitest";
import { svgFormatter } from "../../policies/report/index.js";
import type { Report } from "../../policies/verifier/index.js";
import { planOnce } from "../helpers/plan-once.js";
import { siteFiles } from "./planned-sites.js";

/*
 * graph.svg as issue 13 asks it to be read: one view per zone, every allowed or pending pair an arrow
 * with its ports written on it, no two arrows on one row (so no arc crosses or hides another), on
 * every example's report. Read from the SVG text the way a viewer draws it.
 */

interface Arrow {
  readonly view: string;
  readonly pair: string;
  readonly y: number;
  readonly label: string;
}

function arrowsOf(svg: string): { views: string[]; arrows: Arrow[] } {
  const views: string[] = [];
  const arrows: Arrow[] = [];
  for (const part of svg.split('<g class="zone-view" id="view-').slice(1)) {
    const view = part.slice(0, part.indexOf('"'));
    views.push(view);
    for (const m of part.matchAll(/<g><title>([^<]*) : [^<]*<\/title><circle [^>]*\/><line x1="[^"]*" y1="([\d.]+)" x2="[^"]*" y2="([\d.]+)"[^>]*\/><text [^>]*>([^<]*)<\/text><\/g>/g)) {
      expect(m[2], "an arrow is horizontal: its own row").toBe(m[3]);
      arrows.push({ view, pair: m[1]!.replace(/&gt;/g, ">"), y: Number(m[2]), label: m[4]! });
    }
  }
  return { views, arrows };
}

const pairsOf = (r: Report) => [...new Set(r.flows.filter((f) => f.verdict !== "denied").map((f) => `${f.source} => ${f.destination}`))].sort();

describe.each(siteFiles())("graph.svg of $name", ({ file }) => {
  it("GIVEN the report WHEN its graph is read THEN each zone has one view, each allowed pair one labelled arrow on a row of its own", async () => {
    const planned = await planOnce(file);
    const report = planned.json<Report>("report/report.json");
    const svg = planned.text("report/graph.svg");
    const { views, arrows } = arrowsOf(svg);
    expect(views.length).toBeGreaterThan(0);
    expect(new Set(views).size, "one view per zone").toBe(views.length);
    expect(arrows.map((a) => a.pair).sort(), "every pair with a flow allowed or pending, once").toEqual(pairsOf(report));
    expect(new Set(arrows.map((a) => a.y)).size, "no two arrows share a row").toBe(arrows.length);
    for (const a of arrows) {
      const [s, d] = a.pair.split(" => ");
      const ports = [...new Set(report.flows.filter((f) => f.source === s && f.destination === d && f.verdict !== "denied").map((f) => `${f.protocol}/${f.port}`))];
      expect(a.label, a.pair).toMatch(ports.length > 4 ? new RegExp(`^${ports.slice(0, 3).join(", ").replace(/\//g, "\\/")} \\+${ports.length - 3} more$`) : new RegExp(`^${ports.join(", ").replace(/\//g, "\\/")}$`));
    }
  });
});

describe.each(siteFiles())("graph.svg zones of $name", ({ file }) => {
  it("GIVEN the report's peers WHEN the graph is drawn THEN each arrow is in the view of its destination's zone, as the peers give it", async () => {
    const planned = await planOnce(file);
    const report = planned.json<Report>("report/report.json");
    const zone = new Map(report.peers.map((p) => [p.id, p.zone]));
    const { arrows } = arrowsOf(planned.text("report/graph.svg"));
    for (const a of arrows) {
      const d = a.pair.split(" => ")[1]!;
      if (zone.has(d)) expect(a.view, a.pair).toBe(zone.get(d));
    }
  });

  it("GIVEN an address peer renamed (an operator's own name, not admin) WHEN the graph is drawn THEN what it reaches is drawn from the internet zone's side and arrows into it are in the internet view", async () => {
    const report = (await planOnce(file)).json<Report>("report/report.json");
    const peer = report.peers.find((p) => p.kind === "addresses" && p.zone === "internet" && p.id !== "internet" && report.flows.some((f) => f.destination === p.id || f.source === p.id));
    if (!peer) return; // no named address peer with a flow on this platform
    const to = "operators-own-range";
    const rename = (id: string) => (id === peer.id ? to : id);
    const renamed: Report = {
      ...report,
      peers: report.peers.map((p) => (p.id === peer.id ? { ...p, id: to } : p)),
      flows: report.flows.map((f) => ({ ...f, source: rename(f.source), destination: rename(f.destination) })),
      nevers: report.nevers.map((n) => ({ ...n, source: rename(n.source), destination: rename(n.destination) })),
    };
    const svg = svgFormatter.render(renamed);
    const into = arrowsOf(svg).arrows.filter((a) => a.pair.endsWith(` => ${to}`));
    for (const a of into) expect(a.view).toBe("internet");
    // Its column in the internet view is filled as a node of that zone.
    const internetView = (svg.split('<g class="zone-view" id="view-internet"')[1] ?? "").split('<g class="zone-view"')[0]!.split("\n");
    const label = internetView.findIndex((l) => l.includes(`<title>${to}</title></text>`));
    if (label > 0) expect(internetView[label - 1]).toContain('fill="#ddf4ff"');
  });
});

describe("the graph's checks can fail", () => {
  it("GIVEN a report with an allowed flow added WHEN rendered THEN the graph gains that pair's arrow on a new row (the count check above would see a missing one)", async () => {
    const report = (await planOnce()).json<Report>("report/report.json");
    const extra = { ...report.flows[0]!, source: "graph-test-source", destination: report.flows[0]!.destination, verdict: "allowed" as const };
    const before = arrowsOf(svgFormatter.render(report)).arrows.length;
    const after = arrowsOf(svgFormatter.render({ ...report, flows: [...report.flows, extra] }));
    expect(after.arrows.length).toBe(before + 1);
    expect(new Set(after.arrows.map((a) => a.y)).size).toBe(after.arrows.length);
  });
});
