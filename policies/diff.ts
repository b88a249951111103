import type { Report } from "./verifier/report-model.js";

/*
 * The semantic segmentation diff between two reports: flows added and removed, layers gained and
 * lost, findings new and fixed. Short Markdown for a pull-request comment.
 */

export interface SegmentationDiff {
  readonly flowsAdded: readonly string[];
  readonly flowsRemoved: readonly string[];
  /** `line: +nftables:cloud deny` / `-wireguard deny`, for flows and must-never pairs present in both. */
  readonly layersChanged: readonly { readonly subject: string; readonly gained: readonly string[]; readonly lost: readonly string[] }[];
  readonly findingsNew: readonly string[];
  readonly findingsFixed: readonly string[];
  readonly guardrailsNew: readonly string[];
  readonly guardrailsFixed: readonly string[];
  readonly verdict: { readonly base: string; readonly head: string };
}

const effective = (r: Report) => new Set(r.flows.filter((f) => f.verdict === "allowed").map((f) => f.line));
const minus = <T>(a: Set<T>, b: Set<T>) => [...a].filter((x) => !b.has(x)).sort();

export function diffReports(base: Report, head: Report): SegmentationDiff {
  const eb = effective(base);
  const eh = effective(head);
  const layersChanged: { subject: string; gained: string[]; lost: string[] }[] = [];
  const layerSet = (steps: readonly { layer: string; verdict: string }[]) => new Set(steps.map((s) => `${s.layer} ${s.verdict}`));
  const baseFlows = new Map(base.flows.map((f) => [f.line, f]));
  for (const f of head.flows) {
    const b = baseFlows.get(f.line);
    if (!b) continue;
    const gained = minus(layerSet(f.layers), layerSet(b.layers));
    const lost = minus(layerSet(b.layers), layerSet(f.layers));
    if (gained.length || lost.length) layersChanged.push({ subject: f.line, gained, lost });
  }
  const baseNevers = new Map(base.nevers.map((n) => [`${n.source} => ${n.destination}`, n]));
  for (const n of head.nevers) {
    const key = `${n.source} => ${n.destination}`;
    const b = baseNevers.get(key);
    if (!b) continue;
    const gained = minus(new Set(n.layers.map((l) => `${l} blocks`)), new Set(b.layers.map((l) => `${l} blocks`)));
    const lost = minus(new Set(b.layers.map((l) => `${l} blocks`)), new Set(n.layers.map((l) => `${l} blocks`)));
    if (gained.length || lost.length) layersChanged.push({ subject: `never ${key}`, gained, lost });
  }
  const fid = (r: Report) => new Set(r.findings.filter((f) => f.severity === "violation").map((f) => `${f.kind} ${f.subject}`));
  const gid = (r: Report) => new Set(r.guardrails.map((g) => `${g.level} ${g.rule} ${g.subject}`));
  return {
    flowsAdded: minus(eh, eb),
    flowsRemoved: minus(eb, eh),
    layersChanged: layersChanged.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0)),
    findingsNew: minus(fid(head), fid(base)),
    findingsFixed: minus(fid(base), fid(head)),
    guardrailsNew: minus(gid(head), gid(base)),
    guardrailsFixed: minus(gid(base), gid(head)),
    verdict: { base: base.summary.verdict, head: head.summary.verdict },
  };
}

export function diffIsEmpty(d: SegmentationDiff): boolean {
  return !d.flowsAdded.length && !d.flowsRemoved.length && !d.layersChanged.length && !d.findingsNew.length && !d.findingsFixed.length && !d.guardrailsNew.length && !d.guardrailsFixed.length;
}

/** Markdown, capped per section so the comment stays short. */
export function renderDiffMarkdown(d: SegmentationDiff, max = 15): string {
  const out = [`### Palisade segmentation diff (${d.verdict.base} → ${d.verdict.head})`, ""];
  if (diffIsEmpty(d)) return `${out.join("\n")}No change in reachability, layers, findings or guardrails.\n`;
  const section = (title: string, items: readonly string[], mark: string) => {
    if (!items.length) return;
    out.push(`**${title}** (${items.length})`, "```diff");
    for (const i of items.slice(0, max)) out.push(`${mark} ${i}`);
    if (items.length > max) out.push(`  … and ${items.length - max} more`);
    out.push("```");
  };
  section("Flows added", d.flowsAdded, "+");
  section("Flows removed", d.flowsRemoved, "-");
  section(
    "Layers changed",
    d.layersChanged.map((c) => `${c.subject}: ${[...c.gained.map((g) => `+${g}`), ...c.lost.map((l) => `-${l}`)].join(", ")}`),
    "!",
  );
  section("New findings", d.findingsNew, "+");
  section("Fixed findings", d.findingsFixed, "-");
  section("New guardrail findings", d.guardrailsNew, "+");
  section("Fixed guardrail findings", d.guardrailsFixed, "-");
  return `${out.join("\n")}\n`;
}
