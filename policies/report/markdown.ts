import type { Report } from "../verifier/report-model.js";
import { RULES } from "./controls.js";
import { NOT_DIFFERENTIAL, provenEntries, provenanceLines, verdictMark, type ReportFormatter } from "./formatter.js";

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** `segmentation.md`: the report in Markdown, for people and pull requests. */
export const markdownFormatter: ReportFormatter = {
  path: "report/segmentation.md",
  render(r: Report): string {
    const s = r.summary;
    const out: string[] = [];
    out.push(`# Segmentation report: ${s.verdict.toUpperCase()}`, "");
    out.push(`Engines verified: ${r.engines.join(", ")}. Pending is ${r.pendingIsViolation ? "a violation" : "reported, not failed"}.`, "");
    out.push("| check | count |", "|---|---|");
    out.push(`| intended flows effective | ${s.intendedEffective} / ${s.flowsIntended} |`);
    out.push(`| intended flows pending | ${s.intendedPending} |`);
    out.push(`| broken paths | ${s.intendedBroken} |`);
    out.push(`| unexpected exposures | ${s.unexpected} |`);
    out.push(`| must-never pairs blocked by >= 2 layers | ${s.neversBlocked} |`);
    out.push(`| must-never pairs violated | ${s.neversViolated} |`);
    out.push(`| must-never pairs pending | ${s.neversPending} |`);
    out.push(`| must-never pairs that cannot happen | ${s.neversImpossible} |`);
    out.push(`| violations | ${s.violations} |`);
    out.push(`| guardrails (mandatory / advisory) | ${s.guardrailsMandatory} / ${s.guardrailsAdvisory} |`, "");
    if (r.artifacts.missing.length) out.push(`Not rendered yet: ${r.artifacts.missing.map((m) => `\`${m}\``).join(", ")}.`, "");
    out.push("## Findings", "");
    if (r.findings.length === 0) out.push("None.");
    for (const f of r.findings) out.push(`- **${f.severity}** \`${f.kind}\` \`${f.subject}\`: ${esc(f.message)}${f.artifact ? ` (\`${f.artifact}${f.line ? `:${f.line}` : ""}\`)` : ""}`);
    out.push("", "## Must-never pairs", "", "| pair | status | blocking layers (weakest path) |", "|---|---|---|");
    for (const n of r.nevers) out.push(`| \`${n.source} => ${n.destination}\` | ${n.status}${n.impossible ? `: ${esc(n.impossible)}` : ""} | ${n.layers.join(", ") || "—"} |`);
    out.push("", "## Declared exceptions", "");
    if (r.exceptions.length === 0) out.push("None.");
    for (const e of r.exceptions) {
      const g = e.governance;
      out.push(`- ${e.host} \`${e.subject}\`: ${e.detail} — ${esc(e.reason)} (${g ? `owner ${esc(g.owner)}, ticket ${esc(g.ticket)}, expires ${g.expires}${g.expired ? " **EXPIRED**" : ""}` : "**no owner, ticket or expiry declared**"}; \`${e.artifact}${e.line ? `:${e.line}` : ""}\`)`);
    }
    out.push("", "## Tenant isolation", "");
    if (r.tenants.length === 0) out.push("No tenants are declared.");
    for (const t of r.tenants) {
      const missing = t.layers.filter((l) => l.status === "missing").map((l) => l.layer);
      out.push(`- \`${t.tenant}\` (${t.mode}, database \`${t.database}\` on ${t.server}): ${t.layers.map((l) => l.layer).join(", ")}${missing.length ? ` — **missing: ${missing.join(", ")}**` : ""}`);
    }
    if (r.residency) {
      out.push("", "## Data residency", "", "Each dedicated tenant's database, the site of its region, where the artifacts render it, and every path between it and another site as the verifier derived it from the artifacts.", "");
      for (const d of r.residency) {
        const into = d.fromOtherSites.filter((f) => f.verdict !== "denied");
        const out_ = d.toOtherSites.filter((f) => f.verdict !== "denied");
        out.push(
          `- \`${d.tenant}\` (region ${d.region}): server \`${d.server}\` on site **${d.site}**; rendered on ${[...new Set(d.renderedOn.map((x) => `${x.host} (${x.what}, ${x.artifact})`))].join(", ") || "**nowhere**"}; ` +
            `from other sites: ${into.length ? into.map((f) => `\`${f.line}\` ${f.verdict}`).join(", ") : "nothing"} (${d.fromOtherSites.length - into.length} other connections blocked); ` +
            `to other sites: ${out_.length ? `**${out_.map((f) => `\`${f.line}\` ${f.verdict}`).join(", ")}**` : `nothing (all ${d.toOtherSites.length} connections blocked)`}`,
        );
      }
    }
    if (r.lab) {
      out.push("", "## Lab: expected vs observed", "");
      if (r.lab.probe) out.push(`Probe against ${r.lab.probe.expectedFrom}: ${r.lab.probe.correct} correct, ${r.lab.probe.incorrect} incorrect.`);
      for (const m of r.lab.probe?.mismatches ?? []) out.push(`- \`${m.line}\`: expected ${m.expected ? "open" : "closed"}, observed ${m.observed ? "open" : "closed"}`);
      for (const [name, d] of Object.entries(r.lab.drills)) out.push(`- drill \`${name}\`: ${d.pass ? "pass" : "**fail**"} (${Object.entries(d.figures).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})`);
      for (const [site, e] of Object.entries(r.lab.engines ?? {})) {
        out.push(`- engine of site \`${site}\`: \`${e.artifact}\` applied by ${e.applier}; images ${e.images.map((i) => `\`${i.ref}\` (${i.kind})`).join(", ") || "none"}; lab-only changes: ${e.rewrites.length || "none"}`);
        for (const w of e.rewrites) out.push(`  - ${esc(w)}`);
      }
    }
    out.push("", "## Exposed to the internet", "");
    if (r.exposed.length === 0) out.push("Nothing.");
    for (const e of r.exposed) {
      out.push(`- \`${e.line}\`${e.sourceAddresses?.length ? ` from ${e.sourceAddresses.join(", ")}` : ""}${e.intended ? "" : " **(not intended)**"}`);
      for (const c of e.chain) out.push(`  - ${esc(c.trim())}`);
    }
    out.push("", "## Flows", "", "```");
    for (const f of r.flows) out.push(`${f.line}  [${verdictMark(f.verdict, f.intended)}]`);
    out.push("```", "", "## Guardrails", "");
    if (r.guardrails.length === 0) out.push("None.");
    for (const g of r.guardrails) out.push(`- **${g.level}** \`${g.rule}\` \`${g.subject}\`: ${esc(g.message)} (${g.source})`);
    out.push("", "## Controls evidenced", "", "| rule | controls |", "|---|---|");
    const used = new Set([...r.findings.map((f) => `segmentation/${f.kind}`), ...r.guardrails.map((g) => `guardrail/${g.rule}`), "segmentation/never-reachable", "segmentation/single-layer", "segmentation/unexpected-exposure"]);
    for (const rule of RULES.filter((x) => used.has(x.id))) out.push(`| \`${rule.id}\` | ${rule.controls.join(", ")} |`);
    const proven = provenEntries(r);
    if (proven.length) {
      out.push("", "## Proven against the real programs", "");
      for (const e of proven) {
        out.push(`**${e.evaluator}**: against ${e.proof.program} (\`${e.proof.test}\`, ${e.proof.cases}):`, "");
        for (const sem of e.semantics) out.push(`- ${esc(sem)}`);
        out.push("");
      }
      out.push(NOT_DIFFERENTIAL);
    }
    out.push("", "## Provenance", "");
    for (const [k, v] of provenanceLines(r)) out.push(`- ${k}: \`${v}\``);
    return `${out.join("\n")}\n`;
  },
};
