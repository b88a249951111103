import type { LayerStep } from "../verifier/layers.js";
import type { GuardrailFinding, NeverRecord, Report } from "../verifier/report-model.js";
import { RULES } from "./controls.js";
import { NOT_DIFFERENTIAL, escapeXml as x, nodesOf, provenEntries, provenanceLines, verdictMark, type ReportFormatter } from "./formatter.js";
import { CSS, SCRIPT } from "./html-style.js";
import { renderGraphSvg } from "./svg.js";

/*
 * `index.html`: the page an auditor reads. One self-contained file (inline CSS, SVG and one small
 * inline script for the filter box; no external resource). A table of contents, a filter box,
 * a matrix whose cells link to the explanation of their pair, sticky headers in scroll boxes,
 * and a print stylesheet (A4, every explanation expanded). Element ids are derived from the
 * report's stable keys, made valid (letters, digits, dashes) and unique.
 */

/** Valid, unique ids from arbitrary keys (`api => postgres : tcp/5432` → `pair-api-postgres`). */
class Ids {
  private readonly used = new Map<string, string>();
  private readonly taken = new Set<string>();
  id(prefix: string, key: string): string {
    const k = `${prefix}\u0000${key}`;
    const have = this.used.get(k);
    if (have) return have;
    const base = `${prefix}-${key.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "x"}`;
    let id = base;
    for (let i = 2; this.taken.has(id); i++) id = `${base}-${i}`;
    this.taken.add(id);
    this.used.set(k, id);
    return id;
  }
}

const cite = (s: { artifact?: string; line?: number }) => (s.artifact ? `<code>${x(s.artifact)}${s.line ? `:${s.line}` : ""}</code>` : "");
const verdictClass = (v: string) => (v === "allow" ? "allowed" : v === "pending" ? "pending" : "broken");

function table(head: readonly string[], rows: readonly string[], scroll = true): string {
  const t = `<table><thead><tr>${head.map((h) => `<th>${x(h)}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
  return scroll ? `<div class="scroll">${t}</div>` : t;
}

function steps(list: readonly LayerStep[]): string {
  return table(
    ["layer", "verdict", "artifact:line", "construct (why)"],
    list.map((s) => `<tr><td>${x(s.layer)}</td><td class="${verdictClass(s.verdict)}">${x(s.verdict)}</td><td>${cite(s)}</td><td>${x(s.construct)}</td></tr>`),
    false,
  );
}

const pairKey = (s: string, d: string) => `${s} => ${d}`;

function matrix(r: Report, ids: Ids): string {
  const nodes = nodesOf(r);
  const cell = new Map<string, { ports: string[]; cls: string }>();
  for (const f of r.flows) {
    if (f.verdict === "denied") continue;
    const key = pairKey(f.source, f.destination);
    const c = cell.get(key) ?? { ports: [], cls: "" };
    c.ports.push(`${f.protocol}/${f.port}`);
    const cls = f.verdict === "pending" ? "pending" : f.intended ? "allowed" : "unexpected";
    const rank = { unexpected: 3, allowed: 2, pending: 1, "": 0 } as Record<string, number>;
    if (rank[cls]! > rank[c.cls]!) c.cls = cls;
    cell.set(key, c);
  }
  const nevers = new Map(r.nevers.map((n) => [pairKey(n.source, n.destination), n]));
  if (nodes.length > GRID_MAX_PEERS) return pairList(nodes, cell, nevers, ids);
  const head = `<thead><tr><th class="corner">from \\ to</th>${nodes.map((n) => `<th scope="col">${x(n)}</th>`).join("")}</tr></thead>`;
  const rows = nodes.map(
    (s) =>
      `<tr><th class="row" scope="row">${x(s)}</th>${nodes
        .map((d) => {
          const key = pairKey(s, d);
          const c = cell.get(key);
          if (c) return `<td class="${c.cls}" title="${x(`${key} : ${c.ports.join(", ")}`)}"><a href="#${ids.id("pair", key)}">${x(c.ports.length > 2 ? `${c.ports.length} ports` : c.ports.join(" "))}</a></td>`;
          const n = nevers.get(key);
          if (n) return `<td class="${n.status === "violation" ? "broken" : n.status === "impossible" ? "impossible" : "never"}" title="${x(`${key}: must never (${n.status})`)}"><a href="#${ids.id("never", key)}">${n.status === "violation" ? "OPEN" : n.status === "impossible" ? "n/a" : "never"}</a></td>`;
          return "<td></td>";
        })
        .join("")}</tr>`,
  );
  return `<div class="scroll"><table class="matrix">${head}<tbody>${rows.join("")}</tbody></table></div><p>Green: intended and allowed. Red: allowed but not intended. Grey: pending. Yellow "never": a must-never pair, blocked; "n/a": a must-never pair that cannot happen. Empty: denied. Each cell links to its explanation.</p>`;
}

/**
 * Peers beyond which the matrix is a list of its non-empty cells, by source: the grid has one cell
 * per ordered pair (a thousand peers: a million cells, tens of megabytes nobody can read), while
 * the pairs something decides for are a few per peer.
 */
export const GRID_MAX_PEERS = 120;

function pairList(nodes: readonly string[], cell: ReadonlyMap<string, { ports: string[]; cls: string }>, nevers: ReadonlyMap<string, NeverRecord>, ids: Ids): string {
  // The grid's order (sources, then destinations, in the peers' order), without visiting its empty cells.
  const at = new Map(nodes.map((n, i) => [n, i]));
  const pairs = new Map<string, [string, string]>();
  for (const f of cell.keys()) pairs.set(f, f.split(" => ") as [string, string]);
  for (const n of nevers.values()) pairs.set(pairKey(n.source, n.destination), [n.source, n.destination]);
  const rows = [...pairs]
    .filter(([, [s, d]]) => at.has(s) && at.has(d))
    .sort(([, [s1, d1]], [, [s2, d2]]) => at.get(s1)! - at.get(s2)! || at.get(d1)! - at.get(d2)!)
    .map(([key, [s, d]]) => {
      const c = cell.get(key);
      if (c) return `<tr><td>${x(s)}</td><td>${x(d)}</td><td class="${c.cls}"><a href="#${ids.id("pair", key)}">${x(c.ports.join(" "))}</a></td></tr>`;
      const n = nevers.get(key)!;
      return `<tr><td>${x(s)}</td><td>${x(d)}</td><td class="${n.status === "violation" ? "broken" : n.status === "impossible" ? "impossible" : "never"}"><a href="#${ids.id("never", key)}">${n.status === "violation" ? "OPEN" : n.status === "impossible" ? "n/a" : "never"}</a></td></tr>`;
    });
  return `<p>${nodes.length} peers: more than ${GRID_MAX_PEERS}, so the matrix lists its non-empty cells by source instead of drawing ${nodes.length * nodes.length} cells. A pair not listed is denied on every port tried.</p>${table(["from", "to", "ports allowed, or the must-never status"], rows)}<p>Green: intended and allowed. Red: allowed but not intended. Grey: pending. Yellow "never": a must-never pair, blocked; "n/a": a must-never pair that cannot happen. Each cell links to its explanation.</p>`;
}

/** Records by `source => destination`, each pair's in their order. */
function groupByPair<T extends { readonly source: string; readonly destination: string }>(records: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const f of records) {
    const key = pairKey(f.source, f.destination);
    const list = out.get(key);
    if (list) list.push(f);
    else out.set(key, [f]);
  }
  return out;
}

function explain(r: Report, ids: Ids): string {
  const byPair = groupByPair(r.flows);
  // Each pair's tried ports, in the matrix's order (indexed once: a filter of the matrix per pair was quadratic).
  const triedByPair = groupByPair(r.matrix ?? []);
  return [...byPair.entries()]
    .map(([key, flows]) => {
      const body = flows
        .map((f) => `<h4>${x(`${f.protocol}/${f.port}`)}: ${x(verdictMark(f.verdict, f.intended))}${f.via ? ` via ${x(f.via)}` : ""}${f.reason ? ` <small>(${x(f.reason)})</small>` : ""}</h4>${steps(f.layers)}`)
        .join("");
      const tried = triedByPair.get(key) ?? [];
      const denied = tried.filter((m) => m.verdict === "denied").map((m) => `${m.protocol}/${m.port}${m.to !== undefined ? `-${m.to}` : ""}`);
      const triedText = tried.length ? `<p>Ports tried: ${tried.length}${denied.length ? `; denied: ${x(denied.join(" "))}` : ""}.</p>` : "";
      return `<details class="pair" id="${ids.id("pair", key)}" data-filter><summary><code>${x(key)}</code>: ${x(flows.map((f) => `${f.protocol}/${f.port} ${verdictMark(f.verdict, f.intended)}`).join(", "))}</summary>${triedText}${body}</details>`;
    })
    .join("\n");
}

function nevers(r: Report, ids: Ids): string {
  return table(
    ["pair", "status", "blocking layers (weakest path)", "ports tried", "reason"],
    r.nevers.map((n) => {
      const key = pairKey(n.source, n.destination);
      const cls = n.status === "violation" ? "broken" : n.status === "pending" ? "pending" : n.status === "impossible" ? "impossible" : "";
      const status = n.status === "impossible" ? `cannot happen: ${n.impossible ?? ""}` : n.status;
      // The weakest path's layers in a row of their own, the table's whole width: a column of it
      // squeezed every step table (and, printed on A4, split its words).
      const weak = n.weakest ? `<tr class="weak" data-filter><td colspan="5"><details><summary>${x(`weakest path of ${key}: ${n.weakest.port} via ${n.weakest.via}`)}</summary>${steps(n.weakest.steps)}</details></td></tr>` : "";
      return `<tr id="${ids.id("never", key)}" class="${cls}" data-filter><td><code>${x(key)}</code></td><td>${x(status)}</td><td>${x(n.layers.join(", ") || "—")}</td><td>${x(n.portsTried.length > 8 ? `${n.portsTried.length} ports: ${n.portsTried.slice(0, 6).join(" ")} …` : n.portsTried.join(" ") || "none")}</td><td>${x(n.reason)}</td></tr>${weak}`;
    }),
  );
}

/** Guardrail findings, those of one rule and level grouped into one row listing their subjects. */
function guardrails(r: Report): string {
  if (!r.guardrails.length) return "<p>No guardrail findings.</p>";
  const groups = new Map<string, GuardrailFinding[]>();
  for (const g of r.guardrails) {
    // One rule at one level says the same thing of each subject: one row, its subjects listed.
    const shape = `${g.level}|${g.rule}`;
    groups.set(shape, [...(groups.get(shape) ?? []), g]);
  }
  const rows = [...groups.values()].map((list) => {
    const g = list[0]!;
    const subjects = list.map((i) => `<code>${x(i.subject)}</code>`).join(" ");
    const message = list.length === 1 ? x(g.message) : `${list.length} alike, e.g. ${x(g.message)}<details><summary>each</summary><ul>${list.map((i) => `<li>${x(i.message)} ${cite(i)}</li>`).join("")}</ul></details>`;
    return `<tr class="${g.level === "mandatory" ? "broken" : ""}" data-filter><td>${x(g.level)}</td><td>${x(g.rule)}</td><td>${subjects}</td><td>${message}</td><td>${x(g.rationale)} <small>(${x(g.source)})</small></td><td>${list.length === 1 ? cite(g) : cite({ artifact: g.artifact })}</td></tr>`;
  });
  return table(["level", "rule", "subjects", "finding", "rationale (source)", "where"], rows);
}

function exceptions(r: Report): string {
  if (r.exceptions.length === 0) return "<p>None.</p>";
  return table(
    ["host", "subject", "exception", "reason in the artifact", "owner", "ticket", "expires", "artifact:line"],
    r.exceptions.map((e) => {
      const g = e.governance;
      const gov = g
        ? `<td>${x(g.owner)}</td><td>${x(g.ticket)}</td><td class="nowrap${g.expired ? " broken" : ""}">${x(g.expires)}${g.expired ? " EXPIRED" : ""}</td>`
        : `<td colspan="3" class="pending">not declared (site file, exceptions:)</td>`;
      return `<tr data-filter><td>${x(e.host)}</td><td>${x(e.subject)}</td><td>${x(e.detail)}</td><td>${x(e.reason)}</td>${gov}<td>${cite(e)}</td></tr>`;
    }),
  );
}

function peers(r: Report): string {
  return table(
    ["peer", "kind", "zone / host", "addresses", "listens on"],
    (r.peers ?? []).map((p) => `<tr data-filter><td><code>${x(p.id)}</code></td><td>${x(p.kind)}</td><td>${x(p.zone)}${p.host && p.host !== p.id ? ` / ${x(p.host)}` : ""}</td><td>${x(p.addresses.join(", ") || "—")}</td><td title="${x(p.listensFrom ?? "")}">${x(p.listens.join(", ") || "nothing")}</td></tr>`),
  );
}

function exposed(r: Report): string {
  if (!r.exposed.length) return "<p>Nothing is reachable from a public range.</p>";
  return `<ul>${r.exposed
    .map((e) => `<li data-filter><code>${x(e.line)}</code>${e.sourceAddresses?.length ? ` from ${x(e.sourceAddresses.join(", "))}` : ""}${e.intended ? "" : ' <b class="fail">not intended</b>'}${e.chain.length ? `<ul>${e.chain.map((c) => `<li><code>${x(c.trim())}</code></li>`).join("")}</ul>` : ""}</li>`)
    .join("")}</ul>`;
}

function findings(r: Report): string {
  if (!r.findings.length) return "<p>No findings.</p>";
  return table(
    ["severity", "kind", "subject", "message", "where"],
    r.findings.map((f) => `<tr class="${f.severity === "violation" ? "broken" : "pending"}" data-filter><td>${x(f.severity)}</td><td>${x(f.kind)}</td><td><code>${x(f.subject)}</code></td><td>${x(f.message)}</td><td>${cite(f)}</td></tr>`),
  );
}

function lab(r: Report): string {
  if (!r.lab) return `<div class="placeholder">Not run yet: <code>palisade lab up</code> then <code>palisade lab probe</code> and the drills (as root) run these artifacts on the real daemons and fill this section.</div>`;
  const out: string[] = [];
  const p = r.lab.probe;
  if (p) {
    out.push(`<p>Probe: every source &times; destination &times; declared port tried on the real daemons, compared with ${x(p.expectedFrom)}: <b class="${p.incorrect === 0 ? "pass" : "fail"}">${p.correct} correct, ${p.incorrect} incorrect</b>.</p>`);
    if (p.mismatches.length) out.push(table(["flow", "expected", "observed"], p.mismatches.map((m) => `<tr><td><code>${x(m.line)}</code></td><td>${m.expected ? "open" : "closed"}</td><td class="broken">${m.observed ? "open" : "closed"}</td></tr>`)));
    if (p.checks.length) out.push(table(["end-to-end check", "result", "detail"], p.checks.map((c) => `<tr><td>${x(c.name)}</td><td class="${c.pass ? "allowed" : "broken"}">${c.pass ? "pass" : "fail"}</td><td>${x(c.detail)}</td></tr>`)));
  }
  const drills = Object.entries(r.lab.drills);
  if (drills.length) {
    out.push(
      table(
        ["drill", "result", "figures", "targets", "notes"],
        drills.map(([name, d]) => `<tr><td>${x(name)}</td><td class="${d.pass ? "allowed" : "broken"}">${d.pass ? "pass" : "fail"}</td><td>${x(Object.entries(d.figures).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", "))}</td><td>${x(Object.entries(d.targets).map(([k, v]) => `${k} ${v}`).join("; "))}</td><td>${x(d.notes.join("; "))}</td></tr>`),
      ),
    );
  }
  const engines = Object.entries(r.lab.engines ?? {});
  if (engines.length) {
    out.push(
      `<p>Each site's Docker engine, as the lab ran it: the stack applied, by what, the images built, and every lab-only change to what the artifact says.</p>`,
      table(
        ["site", "artifact applied", "applier", "images", "lab-only changes"],
        engines.map(([site, e]) => `<tr data-filter><td><code>${x(site)}</code></td><td><code>${x(e.artifact)}</code></td><td>${x(e.applier)}</td><td>${e.images.map((i) => `<code>${x(i.ref)}</code> (${x(i.kind)})`).join(", ") || "none"}</td><td>${e.rewrites.length ? `<ul>${e.rewrites.map((w) => `<li>${x(w)}</li>`).join("")}</ul>` : "none"}</td></tr>`),
      ),
    );
  }
  return out.join("");
}

function tenants(r: Report): string {
  if (r.tenants.length === 0) return "<p>No tenants are declared.</p>";
  return r.tenants
    .map(
      (t) =>
        `<h3>${x(t.tenant)} <small>(${x(t.mode)}: database <code>${x(t.database)}</code> on ${x(t.server)})</small></h3>` +
        `<p>Roles: ${t.roles.map((role) => `<code>${x(role)}</code>`).join(", ")}. OpenBao: ${t.openbaoPaths.map((p) => `<code>${x(p)}</code>`).join(", ")}.</p>` +
        table(["layer", "evidence", "artifact", "statement"], t.layers.map((l) => `<tr data-filter><td title="${x(l.claim)}">${x(l.layer)}</td><td class="${l.status === "evidenced" ? "allowed" : "broken"}">${x(l.status)}</td><td><code>${x(l.artifact ?? "")}</code></td><td>${x(l.construct)}</td></tr>`), false),
    )
    .join("");
}

function controls(r: Report): string {
  const raised = new Set([...r.findings.map((f) => `segmentation/${f.kind}`), ...r.guardrails.map((g) => `guardrail/${g.rule}`)]);
  return table(
    ["rule", "what it checks", "controls evidenced", "severity", "raised here"],
    RULES.map((d) => `<tr data-filter><td><code>${x(d.id)}</code></td><td>${x(d.description)}</td><td>${x(d.controls.join(", "))}</td><td>${d.severity.toFixed(1)}</td><td>${raised.has(d.id) ? "yes" : "no"}</td></tr>`),
  );
}

/** Data residency (only when sites hold regions): each dedicated tenant's site, where the artifacts render it, the cross-site paths. */
function residency(r: Report): string {
  const rows = (r.residency ?? []).map((d) => {
    const into = d.fromOtherSites.filter((f) => f.verdict !== "denied");
    const out = d.toOtherSites.filter((f) => f.verdict !== "denied");
    const rendered = [...new Set(d.renderedOn.map((o) => `${o.host} (${o.what}, ${o.artifact})`))];
    return (
      `<tr data-filter><td><code>${x(d.tenant)}</code></td><td>${x(d.region)}</td><td><code>${x(d.server)}</code> on <b>${x(d.site)}</b></td>` +
      `<td>${rendered.length ? rendered.map((v) => x(v)).join("<br>") : "<b>nowhere</b>"}</td>` +
      `<td>${into.length ? into.map((f) => `<code>${x(f.line)}</code> ${x(f.verdict)}`).join("<br>") : "nothing"} (${d.fromOtherSites.length - into.length} other connections blocked)</td>` +
      `<td>${out.length ? `<b>${out.map((f) => `<code>${x(f.line)}</code> ${x(f.verdict)}`).join("<br>")}</b>` : `nothing (all ${d.toOtherSites.length} connections blocked)`}</td></tr>`
    );
  });
  return `<p>Each dedicated tenant's database, the site of its region, where the artifacts render it, and every path between it and another site as the verifier derived it from the artifacts.</p>${table(["tenant", "region", "server and site", "rendered on", "from other sites", "to other sites"], rows)}`;
}

const SECTIONS: readonly { id: string; title: string }[] = [
  { id: "summary", title: "Summary" },
  { id: "diff", title: "Change against the base" },
  { id: "exposed", title: "Exposed to public ranges" },
  { id: "violations", title: "Violations and findings" },
  { id: "must-never", title: "Must-never pairs" },
  { id: "matrix", title: "Flow matrix" },
  { id: "graph", title: "Graph" },
  { id: "who", title: "Who is who (addresses, ports)" },
  { id: "exceptions", title: "Exceptions and their governance" },
  { id: "guardrails", title: "Guardrails" },
  { id: "explain", title: "Explain (each pair, each layer)" },
  { id: "tenant-isolation", title: "Tenant isolation" },
  { id: "data-residency", title: "Data residency" },
  { id: "controls", title: "Controls evidenced" },
  { id: "lab-expected-vs-observed", title: "Lab: expected vs observed" },
  { id: "proven", title: "Proven against the real programs" },
  { id: "provenance", title: "Provenance" },
];

/** Which evaluators a differential test proves against the real program, and what of their semantics. */
function proven(r: Report): string {
  const entries = provenEntries(r);
  if (entries.length === 0) return "<p>This report records no differentially proven semantics.</p>";
  const blocks = entries.map((e) => `<h3><code>${x(e.evaluator)}</code></h3><p>Against ${x(e.proof.program)}: <code>${x(e.proof.test)}</code>, ${x(e.proof.cases)}; the evaluator's verdict must equal the program's on every case.</p><ul>${e.semantics.map((s) => `<li data-filter>${x(s)}</li>`).join("")}</ul>`);
  return `<p>The semantics below are not only how the verifier reads these artifacts: generated cases run through the real program, and the suite fails on any disagreement.</p>${blocks.join("")}<p>${x(NOT_DIFFERENTIAL)}</p>`;
}

export const htmlFormatter: ReportFormatter = {
  path: "report/index.html",
  render(r: Report): string {
    const ids = new Ids();
    const s = r.summary;
    const cards = [
      ["verdict", s.verdict.toUpperCase()],
      ["intended flows effective", `${s.intendedEffective} / ${s.flowsIntended}`],
      ["pending", String(s.intendedPending + s.neversPending)],
      ["broken paths", String(s.intendedBroken)],
      ["unexpected exposures", String(s.unexpected)],
      ["must-never blocked (>= 2 layers)", `${s.neversBlocked} / ${r.nevers.length - (s.neversImpossible ?? 0)}`],
      ["must-never that cannot happen", String(s.neversImpossible ?? 0)],
      ["violations", String(s.violations)],
      ["guardrails mandatory / advisory", `${s.guardrailsMandatory} / ${s.guardrailsAdvisory}`],
    ]
      .map(([k, v]) => `<div class="card"><b class="${k === "verdict" ? s.verdict : ""}">${x(v!)}</b>${x(k!)}</div>`)
      .join("");
    const missing = r.artifacts.missing.length ? `<p>Not rendered yet (verdicts that need them are pending): ${r.artifacts.missing.map((m) => `<code>${x(m)}</code>`).join(", ")}</p>` : "";
    const body: Record<string, string> = {
      summary: `<div class="cards">${cards}</div>${missing}`,
      diff: r.baseDiff ? `<pre>${x(r.baseDiff)}</pre>` : "<p>No base given (<code>palisade plan --base D</code> shows the change against D here and in <code>report/diff.md</code>).</p>",
      exposed: exposed(r),
      violations: findings(r),
      "must-never": nevers(r, ids),
      matrix: matrix(r, ids),
      graph: `<div class="graph">${renderGraphSvg(r)}</div>`,
      who: `<p>Every name in this report, with the addresses and listening ports the artifacts give it.</p>${peers(r)}`,
      exceptions: `<p>Where a container or network departs from the hardening defaults, read back from the engine output with the reason it declares, joined with the owner, ticket and expiry the site file declares. An expired exception fails the run.</p>${exceptions(r)}`,
      guardrails: guardrails(r),
      explain: `<p>For each pair: every port tried that is not simply denied, and every layer on the path that decides it, with the artifact line and the construct responsible.</p>${explain(r, ids)}`,
      "tenant-isolation": `<p>Per tenant: where its data lives, its roles and OpenBao paths, and each isolation layer with the rendered statement that implements it. A live database is checked by <code>palisade audit-db</code>.</p>${tenants(r)}`,
      "data-residency": r.residency ? residency(r) : "",
      controls: controls(r),
      "lab-expected-vs-observed": lab(r),
      proven: proven(r),
      provenance: table(["what", "value"], provenanceLines(r).map(([k, v]) => `<tr><td>${x(k)}</td><td><code>${x(v)}</code></td></tr>`), false),
    };
    // The residency section only when sites hold regions (a one-site report stays as it was).
    const shown = SECTIONS.filter((sec) => sec.id !== "data-residency" || r.residency);
    const toc = `<nav class="toc" aria-label="contents">${shown.map((sec) => `<a href="#${sec.id}">${x(sec.title)}</a>`).join("")}</nav>`;
    const sections = shown.map((sec) => `<section id="${sec.id}"><h2>${x(sec.title)}</h2>${body[sec.id]}</section>`).join("\n");
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Palisade segmentation report</title><style>${CSS}</style></head>
<body>
<h1>Palisade segmentation report: <span class="${s.verdict}">${s.verdict.toUpperCase()}</span></h1>
<p>Re-derived from the rendered artifacts (engines: ${x(r.engines.join(", "))}), compared with the declared intent. Pending is ${r.pendingIsViolation ? "a violation" : "reported, not failed"}.${r.provenance ? ` Manifest <code>${x((r.provenance.manifestSha256 ?? "").slice(0, 12))}</code>${r.provenance.git ? `, commit <code>${x(r.provenance.git.commit.slice(0, 12))}</code>` : ""}${r.provenance.date ? `, ${x(r.provenance.date)}` : ""}.` : ""}</p>
${toc}
<div class="filter"><label for="filter-box">Filter rows and explanations: </label><input id="filter-box" type="search" placeholder="a peer, a port, a layer, an artifact…"></div>
${sections}
<script>${SCRIPT}</script>
</body></html>
`;
  },
};
