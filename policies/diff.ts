import type { Report } from "./verifier/report-model.js";

/*
 * The semantic segmentation diff between two reports. It compares everything a report states,
 * section by section: who each peer is (its addresses and ports), every flow with its verdict and
 * the layers and constructs that decide it, the must-never pairs, what the internet and other
 * public ranges reach, the declared exceptions with their reasons and governance, the tenants'
 * isolation evidence, the findings, the guardrails and the counts. Each section is a map from a
 * stable key to one line of text; a key added, removed or whose text changed is a change. Short
 * Markdown for a pull-request comment. Provenance (hashes, commit, date) is left out: it differs
 * whenever anything does and says nothing about segmentation.
 */

export type DiffSection = "peers" | "flows" | "nevers" | "exposure" | "exceptions" | "tenants" | "findings" | "guardrails" | "counts" | "artifacts" | "engines";

export interface SectionDiff {
  readonly section: DiffSection;
  readonly added: readonly { readonly key: string; readonly text: string }[];
  readonly removed: readonly { readonly key: string; readonly text: string }[];
  readonly changed: readonly { readonly key: string; readonly before: string; readonly after: string }[];
}

export interface SegmentationDiff {
  /** Allowed flows only, as lines: the headline of a PR comment. */
  readonly flowsAdded: readonly string[];
  readonly flowsRemoved: readonly string[];
  /** Every section with at least one change, in a fixed order. */
  readonly sections: readonly SectionDiff[];
  readonly verdict: { readonly base: string; readonly head: string };
}

const SECTION_TITLES: Record<DiffSection, string> = {
  peers: "Peers (addresses, listening ports)",
  flows: "Flows (verdict, layers, constructs)",
  nevers: "Must-never pairs",
  exposure: "Exposed to public ranges",
  exceptions: "Exceptions (reason, owner, ticket, expiry)",
  tenants: "Tenant isolation",
  findings: "Findings",
  guardrails: "Guardrails",
  counts: "Counts",
  artifacts: "Artifacts and engines",
  engines: "Lab engines (per site: the stack applied, images, lab-only changes)",
};

/** A construct without its line number: an edit elsewhere in the file shifts lines, not meaning. */
const stripLine = (construct: string) => construct.replace(/ \(line \d+\)/g, "");
const steps = (list: readonly { layer: string; verdict: string; construct: string; artifact: string }[]) =>
  list.map((s) => `${s.layer} ${s.verdict} [${s.artifact}: ${stripLine(s.construct)}]`).join("; ");

/** Keyed one-line statements per section: what the report says. */
export function statementsOf(r: Report): Record<DiffSection, Map<string, string>> {
  const m = (entries: [string, string][]) => {
    const out = new Map<string, string>();
    for (const [k, v] of entries) {
      let key = k;
      for (let i = 2; out.has(key); i++) key = `${k} #${i}`;
      out.set(key, v);
    }
    return out;
  };
  return {
    peers: m((r.peers ?? []).map((p) => [p.id, `${p.kind} in ${p.zone}${p.host ? ` on ${p.host}` : ""}; addresses ${p.addresses.join(", ") || "none"}; listens ${p.listens.join(", ") || "on nothing"}`])),
    flows: m(r.flows.map((f) => [f.line, `${f.verdict}${f.intended ? " intended" : " NOT intended"}${f.via ? ` via ${f.via}` : ""}: ${steps(f.layers)}`])),
    nevers: m(r.nevers.map((n) => [`${n.source} => ${n.destination}`, `${n.status}${n.impossible ? ` (cannot happen: ${n.impossible})` : ""}; blocked by ${n.layers.join(", ") || "nothing"}; ports ${n.portsTried.join(" ") || "none"}${n.weakest ? `; weakest ${n.weakest.port} via ${n.weakest.via}: ${steps(n.weakest.steps)}` : ""}`])),
    exposure: m(r.exposed.map((e) => [e.line, `${e.intended ? "intended" : "NOT intended"}${e.sourceAddresses?.length ? ` from ${e.sourceAddresses.join(", ")}` : ""}${e.chain.length ? `; relays ${e.chain.map((c) => c.trim()).join(" | ")}` : ""}`])),
    exceptions: m(
      r.exceptions.map((e) => [
        `${e.host}/${e.subject} ${e.detail}`,
        `reason: ${e.reason}${e.governance ? `; owner ${e.governance.owner}, ticket ${e.governance.ticket}, expires ${e.governance.expires}` : ""}`,
      ]),
    ),
    tenants: m(
      r.tenants.flatMap((t) => [
        [t.tenant, `${t.mode}: database ${t.database} on ${t.server}; roles ${t.roles.join(", ")}; OpenBao ${t.openbaoPaths.join(", ")}`] as [string, string],
        ...t.layers.map((l) => [`${t.tenant} ${l.layer}`, `${l.status}: ${l.artifact ?? "no artifact"}: ${l.construct}`] as [string, string]),
      ]),
    ),
    findings: m(r.findings.map((f) => [`${f.kind} ${f.subject}${f.engine ? ` (${f.engine})` : ""}`, `${f.severity}: ${f.message}`])),
    guardrails: m(r.guardrails.map((g) => [`${g.rule} ${g.subject}`, `${g.level}: ${g.message}`])),
    counts: m(Object.entries(r.summary).map(([k, v]) => [k, String(v)])),
    artifacts: m([
      ["engines", r.engines.join(", ")],
      ["missing", r.artifacts.missing.join(", ") || "none"],
      ["expected", r.artifacts.expected.join(", ")],
    ]),
    engines: m(
      Object.entries(r.lab?.engines ?? {}).flatMap(([site, e]) => [
        [`${site} artifact`, `${e.artifact} applied by ${e.applier}`] as [string, string],
        [`${site} images`, e.images.map((i) => `${i.ref} (${i.kind})`).join(", ") || "none"] as [string, string],
        [`${site} lab-only changes`, e.rewrites.join(" | ") || "none"] as [string, string],
      ]),
    ),
  };
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function diffReports(base: Report, head: Report): SegmentationDiff {
  const sb = statementsOf(base);
  const sh = statementsOf(head);
  const sections: SectionDiff[] = [];
  for (const section of Object.keys(SECTION_TITLES) as DiffSection[]) {
    const b = sb[section];
    const h = sh[section];
    const added = [...h].filter(([k]) => !b.has(k)).map(([key, text]) => ({ key, text }));
    const removed = [...b].filter(([k]) => !h.has(k)).map(([key, text]) => ({ key, text }));
    const changed = [...h].filter(([k, v]) => b.has(k) && b.get(k) !== v).map(([key, after]) => ({ key, before: b.get(key)!, after }));
    for (const list of [added, removed, changed]) list.sort((x, y) => byText(x.key, y.key));
    if (added.length || removed.length || changed.length) sections.push({ section, added, removed, changed });
  }
  const allowed = (r: Report) => new Set(r.flows.filter((f) => f.verdict === "allowed").map((f) => f.line));
  const ab = allowed(base);
  const ah = allowed(head);
  return {
    flowsAdded: [...ah].filter((l) => !ab.has(l)).sort(byText),
    flowsRemoved: [...ab].filter((l) => !ah.has(l)).sort(byText),
    sections,
    verdict: { base: base.summary.verdict, head: head.summary.verdict },
  };
}

export function diffIsEmpty(d: SegmentationDiff): boolean {
  return d.sections.length === 0;
}

/** Markdown, capped per section so the comment stays short. */
export function renderDiffMarkdown(d: SegmentationDiff, max = 15): string {
  const out = [`### Palisade segmentation diff (${d.verdict.base} → ${d.verdict.head})`, ""];
  if (diffIsEmpty(d)) return `${out.join("\n")}No change in anything the report states (peers, flows, layers, must-never pairs, exposure, exceptions, tenancy, findings, guardrails, counts).\n`;
  const block = (title: string, lines: readonly string[]) => {
    if (!lines.length) return;
    out.push(`**${title}** (${lines.length})`, "```diff");
    for (const l of lines.slice(0, max)) out.push(l);
    if (lines.length > max) out.push(`  … and ${lines.length - max} more`);
    out.push("```");
  };
  block("Flows now allowed", d.flowsAdded.map((l) => `+ ${l}`));
  block("Flows no longer allowed", d.flowsRemoved.map((l) => `- ${l}`));
  for (const s of d.sections) {
    block(SECTION_TITLES[s.section], [
      ...s.added.map((a) => `+ ${a.key}: ${a.text}`),
      ...s.removed.map((a) => `- ${a.key}: ${a.text}`),
      ...s.changed.flatMap((c) => [`- ${c.key}: ${c.before}`, `+ ${c.key}: ${c.after}`]),
    ]);
  }
  return `${out.join("\n")}\n`;
}
