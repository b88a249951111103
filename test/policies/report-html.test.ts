import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { siteFiles } from "./planned-sites.js";
import { GRID_MAX_PEERS, htmlFormatter } from "../../policies/report/html.js";
import type { Report } from "../../policies/verifier/index.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const planned = await planOnce();
const html = planned.text("report/index.html");
const page = join(planned.dir, "report", "index.html");
/** Every example's page: the layout checks run on each (the reference's names appear in none of them). */
const pages: { name: string; page: string }[] = [];
for (const s of siteFiles()) pages.push({ name: s.name, page: join((await planOnce(s.file)).dir, "report", "index.html") });

describe("the auditor's report page", () => {
  it("GIVEN index.html WHEN read THEN it references no external resource and its only script is inline", () => {
    expect(html).not.toMatch(/<link |src=|href="http|@import|url\(http/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  it("GIVEN index.html WHEN read THEN it has the sections an auditor needs, each in the table of contents", () => {
    for (const id of ["summary", "diff", "exposed", "violations", "must-never", "matrix", "graph", "who", "exceptions", "guardrails", "explain", "tenant-isolation", "controls", "lab-expected-vs-observed", "provenance"]) {
      expect(html).toContain(`<section id="${id}">`);
      expect(html).toContain(`<a href="#${id}">`);
    }
    expect(html).toContain('id="filter-box"');
  });

  it("GIVEN a report of more peers than a readable grid holds WHEN rendered THEN the matrix lists each non-empty cell once, in the grid's order, each linking to its explanation, and draws no grid", () => {
    const report = planned.json<Report>("report/report.json");
    const extra = Array.from({ length: GRID_MAX_PEERS }, (_, i) => `extra-${String(i).padStart(3, "0")}`);
    const big: Report = { ...report, nevers: [...report.nevers, ...extra.map((id) => ({ source: id, destination: report.nevers[0]!.destination, reason: "test", status: "blocked" as const, layers: [], portsTried: [] }))] };
    const out = htmlFormatter.render(big);
    const section = out.slice(out.indexOf('<section id="matrix">'), out.indexOf("</section>", out.indexOf('<section id="matrix">')));
    expect(section).not.toContain('class="matrix"');
    const cells = [...section.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td class="[^"]+"><a href="#([^"]+)">/g)];
    const pairs = new Set([...big.flows.filter((f) => f.verdict !== "denied").map((f) => `${f.source} => ${f.destination}`), ...big.nevers.map((n) => `${n.source} => ${n.destination}`)]);
    expect(cells.map((c) => `${c[1]} => ${c[2]}`).sort()).toEqual([...pairs].sort());
    for (const c of cells) expect(out).toContain(`id="${c[3]}"`);
    // The small report keeps its grid.
    expect(html).toContain('<table class="matrix">');
  });

  it("GIVEN index.html WHEN read THEN a print stylesheet for A4 expands every explanation", () => {
    expect(html).toMatch(/@media print\{[^]*@page\{size:A4/);
    expect(html).toMatch(/details::details-content\{content-visibility:visible/);
  });

  it("GIVEN the report's guardrails WHEN one rule has several alike findings THEN the page shows them as one row", () => {
    const report = planned.json<{ guardrails: { rule: string; level: string }[] }>("report/report.json");
    const groups = new Set(report.guardrails.map((g) => `${g.level}|${g.rule}`));
    const rows = html.slice(html.indexOf('<section id="guardrails">'), html.indexOf("</section>", html.indexOf('<section id="guardrails">'))).match(/<tr class="[^"]*" data-filter>/g) ?? [];
    expect(rows).toHaveLength(groups.size);
  });
});

/** The cells of one short word (up to 30 letters, digits, dots or underscores: nothing to break at) laid out on more than one line. */
function splitWords(p: Page): Promise<string[]> {
  return p.evaluate(() =>
      [...document.querySelectorAll("td, th")]
        .filter((c) => c.getClientRects().length > 0 && /^[A-Za-z0-9_.]{1,30}$/.test((c.textContent ?? "").trim()))
        .filter((c) => {
          const tops = new Set<number>();
          const walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
          for (let t = walk.nextNode(); t; t = walk.nextNode()) {
            const r = document.createRange();
            r.selectNodeContents(t);
            for (const b of r.getClientRects()) if (b.width > 0) tops.add(Math.round(b.top));
          }
          return tops.size > 1;
        })
        .map((c) => (c.textContent ?? "").trim()),
    );
}

describe.skipIf(!existsSync(CHROMIUM))("the report page in headless Chromium", () => {
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await chromium.launchPersistentContext(tempDir("chromium-profile"), { executablePath: CHROMIUM, args: ARGS, viewport: { width: 1400, height: 1000 } });
  });
  afterAll(async () => ctx?.close());

  it.each(pages)("GIVEN the page of $name at 1400 px WHEN rendered THEN ids are valid and unique, every link resolves, the body never scrolls sideways, no word is split and nothing is fetched", async ({ name, page }) => {
    const p = await ctx.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    p.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    p.on("pageerror", (e) => errors.push(String(e)));
    p.on("request", (r) => void (!r.url().startsWith("file:") && requests.push(r.url())));
    await p.goto(`file://${page}`);
    const facts = await p.evaluate(() => {
      const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
      const links = [...document.querySelectorAll('a[href^="#"]')].map((a) => a.getAttribute("href")!.slice(1));
      return { ids, links, scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, matrixLinks: document.querySelectorAll("#matrix td a").length };
    });
    expect(facts.ids.filter((id) => !/^[A-Za-z][A-Za-z0-9_-]*$/.test(id))).toEqual([]);
    expect(new Set(facts.ids).size).toBe(facts.ids.length);
    expect(facts.links.filter((l) => !facts.ids.includes(l))).toEqual([]);
    expect(facts.matrixLinks).toBeGreaterThan(0);
    expect(facts.scrollWidth).toBeLessThanOrEqual(facts.clientWidth);
    // No table cell breaks a short word across lines ("evidence|d", "severit|y"): a cell holding one
    // word of up to 30 letters, digits, dots or underscores (no hyphen or slash to break at) lays it out on one line.
    expect(await splitWords(p)).toEqual([]);
    const shots = join(ROOT, "test", "__screenshots__");
    mkdirSync(shots, { recursive: true });
    await p.screenshot({ path: join(shots, `report-${name.replace(/[^A-Za-z0-9.-]+/g, "_")}.png`), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it("GIVEN the filter box WHEN a peer is typed THEN rows not naming it are hidden", async () => {
    const p = await ctx.newPage();
    await p.goto(`file://${page}`);
    const total = await p.locator("#explain details.pair").count();
    const flow = planned.json<{ flows: { source: string }[] }>("report/report.json").flows[0]!;
    await p.fill("#filter-box", flow.source);
    const visible = await p.locator("#explain details.pair:not(.hidden)").count();
    expect(visible).toBeGreaterThan(0);
    expect(visible).toBeLessThan(total);
  });

  it.each(pages)("GIVEN the page of $name WHEN printed to an A4 PDF THEN the page fits A4 width, no word is split and every explanation is expanded", async ({ page }) => {
    const p = await ctx.newPage();
    await p.setViewportSize({ width: 794, height: 1123 });
    await p.goto(`file://${page}`);
    await p.emulateMedia({ media: "print" });
    const facts = await p.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      hiddenEvidence: [...document.querySelectorAll("details table")].filter((t) => t.getBoundingClientRect().height === 0).length,
    }));
    expect(facts.hiddenEvidence).toBe(0);
    expect(await splitWords(p), "a word split across lines on the A4 page").toEqual([]);
    expect(facts.scrollWidth).toBeLessThanOrEqual(facts.clientWidth);
    const pdf = await p.pdf({ format: "A4", printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    // A4 is 595 x 842 points.
    const boxes = [...pdf.toString("latin1").matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    expect(boxes.length).toBeGreaterThan(0);
    for (const [w, h] of boxes) expect([w, h]).toEqual([596, 843]);
  });
});
