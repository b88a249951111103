import type { Report } from "../verifier/report-model.js";
import { escapeXml as x, nodesOf, verdictMark, type ReportFormatter } from "./formatter.js";
import { renderGraphSvg } from "./svg.js";

const CSS = `
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#1f2328;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:13px;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:3px 6px;vertical-align:top}
th{background:#f6f8fa;text-align:left}.pass{color:#1a7f37}.fail{color:#cf222e}
.allowed{background:#dafbe1}.unexpected{background:#ffebe9;font-weight:bold}.pending{background:#eaeef2;color:#57606a}.broken{background:#ffebe9}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}code{font-size:12px;background:#f6f8fa;padding:0 3px}
details{margin:.2rem 0}summary{cursor:pointer}.matrix td{text-align:center;font-size:11px}.matrix th.row{text-align:right}
.placeholder{border:1px dashed #8c959f;padding:1rem;color:#57606a}
`;

function matrix(r: Report): string {
  const nodes = nodesOf(r);
  const cell = new Map<string, { text: string[]; cls: string }>();
  for (const f of r.flows) {
    if (f.verdict === "denied") continue;
    const key = `${f.source}>${f.destination}`;
    const c = cell.get(key) ?? { text: [], cls: "allowed" };
    c.text.push(`${f.protocol}/${f.port}`);
    const cls = f.verdict === "pending" ? "pending" : f.intended ? "allowed" : "unexpected";
    if (cls === "unexpected" || (cls === "allowed" && c.cls === "pending")) c.cls = cls;
    else if (c.text.length === 1) c.cls = cls;
    cell.set(key, c);
  }
  const head = `<tr><th>from \\ to</th>${nodes.map((n) => `<th>${x(n)}</th>`).join("")}</tr>`;
  const rows = nodes.map(
    (s) =>
      `<tr><th class="row">${x(s)}</th>${nodes
        .map((d) => {
          const c = cell.get(`${s}>${d}`);
          return c ? `<td class="${c.cls}" title="${x(`${s} => ${d}`)}">${x(c.text.join(" "))}</td>` : "<td></td>";
        })
        .join("")}</tr>`,
  );
  return `<table class="matrix">${head}${rows.join("")}</table><p>Green: intended and allowed. Red: allowed but not intended. Grey: pending. Empty: denied.</p>`;
}

function steps(list: readonly { layer: string; verdict: string; artifact: string; construct: string; line?: number }[]): string {
  return `<table><tr><th>layer</th><th>verdict</th><th>artifact</th><th>construct</th></tr>${list
    .map((s) => `<tr><td>${x(s.layer)}</td><td class="${s.verdict === "allow" ? "allowed" : s.verdict === "pending" ? "pending" : "broken"}">${x(s.verdict)}</td><td><code>${x(s.artifact)}${s.line ? `:${s.line}` : ""}</code></td><td>${x(s.construct)}</td></tr>`)
    .join("")}</table>`;
}

function exceptions(r: Report): string {
  if (r.exceptions.length === 0) return "<p>None.</p>";
  return `<table><tr><th>host</th><th>subject</th><th>exception</th><th>reason declared</th><th>artifact</th></tr>${r.exceptions
    .map((e) => `<tr><td>${x(e.host)}</td><td>${x(e.subject)}</td><td>${x(e.detail)}</td><td>${x(e.reason)}</td><td><code>${x(e.artifact)}</code> ${x(e.construct)}</td></tr>`)
    .join("")}</table>`;
}

function lab(r: Report): string {
  if (!r.lab) return `<div class="placeholder">Not run yet: <code>palisade lab up</code> then <code>palisade lab probe</code> and the drills (as root) run these artifacts on the real daemons and fill this section.</div>`;
  const out: string[] = [];
  const p = r.lab.probe;
  if (p) {
    out.push(`<p>Probe: every source &times; destination &times; declared port tried on the real daemons, compared with ${x(p.expectedFrom)}: <b class="${p.incorrect === 0 ? "pass" : "fail"}">${p.correct} correct, ${p.incorrect} incorrect</b>.</p>`);
    if (p.mismatches.length) out.push(`<table><tr><th>flow</th><th>expected</th><th>observed</th></tr>${p.mismatches.map((m) => `<tr><td><code>${x(m.line)}</code></td><td>${m.expected ? "open" : "closed"}</td><td class="broken">${m.observed ? "open" : "closed"}</td></tr>`).join("")}</table>`);
    if (p.checks.length) out.push(`<table><tr><th>end-to-end check</th><th>result</th><th>detail</th></tr>${p.checks.map((c) => `<tr><td>${x(c.name)}</td><td class="${c.pass ? "allowed" : "broken"}">${c.pass ? "pass" : "fail"}</td><td>${x(c.detail)}</td></tr>`).join("")}</table>`);
  }
  const drills = Object.entries(r.lab.drills);
  if (drills.length) {
    out.push(`<table><tr><th>drill</th><th>result</th><th>figures</th><th>targets</th><th>notes</th></tr>${drills
      .map(([name, d]) => `<tr><td>${x(name)}</td><td class="${d.pass ? "allowed" : "broken"}">${d.pass ? "pass" : "fail"}</td><td>${x(Object.entries(d.figures).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", "))}</td><td>${x(Object.entries(d.targets).map(([k, v]) => `${k} ${v}`).join("; "))}</td><td>${x(d.notes.join("; "))}</td></tr>`)
      .join("")}</table>`);
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
        `<table><tr><th>layer</th><th>evidence</th><th>artifact</th><th>statement</th></tr>${t.layers
          .map((l) => `<tr><td title="${x(l.claim)}">${x(l.layer)}</td><td class="${l.status === "evidenced" ? "allowed" : "broken"}">${x(l.status)}</td><td><code>${x(l.artifact ?? "")}</code></td><td>${x(l.construct)}</td></tr>`)
          .join("")}</table>`,
    )
    .join("");
}

/** `index.html`: the auditor's report, one self-contained page (inline CSS and SVG, no script, no external resource). */
export const htmlFormatter: ReportFormatter = {
  path: "report/index.html",
  render(r: Report): string {
    const s = r.summary;
    const cards = [
      ["verdict", s.verdict.toUpperCase()],
      ["intended flows effective", `${s.intendedEffective} / ${s.flowsIntended}`],
      ["pending", String(s.intendedPending + s.neversPending)],
      ["broken paths", String(s.intendedBroken)],
      ["unexpected exposures", String(s.unexpected)],
      ["must-never blocked (>= 2 layers)", `${s.neversBlocked} / ${r.nevers.length}`],
      ["violations", String(s.violations)],
      ["guardrails mandatory / advisory", `${s.guardrailsMandatory} / ${s.guardrailsAdvisory}`],
    ]
      .map(([k, v]) => `<div class="card"><b class="${k === "verdict" ? s.verdict : ""}">${x(v!)}</b>${x(k!)}</div>`)
      .join("");
    const findings = r.findings.length
      ? `<table><tr><th>severity</th><th>kind</th><th>subject</th><th>message</th><th>where</th></tr>${r.findings
          .map((f) => `<tr class="${f.severity === "violation" ? "broken" : "pending"}"><td>${x(f.severity)}</td><td>${x(f.kind)}</td><td><code>${x(f.subject)}</code></td><td>${x(f.message)}</td><td><code>${x(f.artifact ?? "")}${f.line ? `:${f.line}` : ""}</code></td></tr>`)
          .join("")}</table>`
      : "<p>No findings.</p>";
    const guardrails = r.guardrails.length
      ? `<table><tr><th>level</th><th>rule</th><th>subject</th><th>finding</th><th>rationale</th><th>source</th><th>where</th></tr>${r.guardrails
          .map((g) => `<tr class="${g.level === "mandatory" ? "broken" : ""}"><td>${x(g.level)}</td><td>${x(g.rule)}</td><td><code>${x(g.subject)}</code></td><td>${x(g.message)}</td><td>${x(g.rationale)}</td><td>${x(g.source)}</td><td><code>${x(g.artifact)}${g.line ? `:${g.line}` : ""}</code></td></tr>`)
          .join("")}</table>`
      : "<p>No guardrail findings.</p>";
    const nevers = `<table><tr><th>pair</th><th>status</th><th>blocking layers on the weakest path</th><th>reason</th><th>weakest path</th></tr>${r.nevers
      .map(
        (n) =>
          `<tr class="${n.status === "violation" ? "broken" : n.status === "pending" ? "pending" : ""}"><td><code>${x(`${n.source} => ${n.destination}`)}</code></td><td>${x(n.status)}</td><td>${x(n.layers.join(", ") || "—")}</td><td>${x(n.reason)}</td><td>${n.weakest ? `<details><summary>${x(`${n.weakest.port} via ${n.weakest.via}`)}</summary>${steps(n.weakest.steps)}</details>` : ""}</td></tr>`,
      )
      .join("")}</table>`;
    const exposed = r.exposed.length
      ? `<ul>${r.exposed.map((e) => `<li><code>${x(e.line)}</code>${e.intended ? "" : " <b class=\"fail\">not intended</b>"}${e.chain.length ? `<ul>${e.chain.map((c) => `<li><code>${x(c.trim())}</code></li>`).join("")}</ul>` : ""}</li>`).join("")}</ul>`
      : "<p>Nothing is reachable from the internet.</p>";
    const explain = r.flows
      .map((f) => `<details id="${x(`explain-${f.line}`)}"><summary><code>${x(f.line)}</code> — ${x(verdictMark(f.verdict, f.intended))}${f.via ? ` via ${x(f.via)}` : ""}${f.reason ? ` — ${x(f.reason)}` : ""}</summary>${steps(f.layers)}</details>`)
      .join("\n");
    const missing = r.artifacts.missing.length ? `<p>Not rendered yet (verdicts that need them are pending): ${r.artifacts.missing.map((m) => `<code>${x(m)}</code>`).join(", ")}</p>` : "";
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Palisade segmentation report</title><style>${CSS}</style></head>
<body>
<h1>Palisade segmentation report</h1>
<p>Re-derived from the rendered artifacts (engines: ${x(r.engines.join(", "))}), compared with the declared intent. Pending is ${r.pendingIsViolation ? "a violation" : "reported, not failed"}.</p>
<section id="summary"><h2>Summary</h2><div class="cards">${cards}</div>${missing}</section>
<section id="exposed"><h2>Exposed to the internet</h2>${exposed}</section>
<section id="violations"><h2>Violations and findings</h2>${findings}</section>
<section id="must-never"><h2>Must-never pairs and the layers behind them</h2>${nevers}</section>
<section id="matrix"><h2>Flow matrix</h2>${matrix(r)}</section>
<section id="graph"><h2>Graph</h2>${renderGraphSvg(r)}</section>
<section id="guardrails"><h2>Guardrails</h2>${guardrails}</section>
<section id="exceptions"><h2>Declared exceptions</h2><p>Where a container or network departs from the hardening defaults, read back from the engine output with the reason it declares. Each is a decision to review.</p>${exceptions(r)}</section>
<section id="explain"><h2>Explain</h2><p>For each pair: every layer on the path that decides it, with the artifact and the construct responsible.</p>${explain}</section>
<section id="tenant-isolation"><h2>Tenant isolation</h2><p>Per tenant: where its data lives, its roles and OpenBao paths, and each isolation layer with the rendered statement that implements it. A live database is checked by <code>palisade audit-db</code>.</p>${tenants(r)}</section>
<section id="lab-expected-vs-observed"><h2>Lab: expected vs observed</h2>${lab(r)}</section>
</body></html>
`;
  },
};
