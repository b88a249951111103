import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const planned = await planOnce();
const html = planned.text("report/index.html");

describe("the auditor's report page", () => {
  it("GIVEN index.html WHEN read THEN it references no external resource and runs no script", () => {
    expect(html).not.toMatch(/<script|<link |src="http|href="http|@import|url\(http/i);
  });

  it("GIVEN index.html WHEN read THEN it has the sections an auditor needs, including the placeholders other checks fill", () => {
    for (const id of ["summary", "exposed", "violations", "must-never", "matrix", "graph", "guardrails", "explain", "tenant-isolation", "lab-expected-vs-observed"]) {
      expect(html).toContain(`<section id="${id}">`);
    }
    expect(html).toContain("<svg");
    expect(html).toContain("api =&gt; postgres : tcp/5432");
  });

  it.skipIf(!existsSync(CHROMIUM))("GIVEN index.html WHEN rendered in headless Chromium THEN there is no console error and a screenshot is saved", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("request", (r) => {
        if (!r.url().startsWith("file:")) requests.push(r.url());
      });
      await page.goto(`file://${join(planned.dir, "report", "index.html")}`);
      expect(await page.title()).toBe("Palisade segmentation report");
      expect(await page.locator("#summary .card").count()).toBeGreaterThan(5);
      expect(await page.locator("#graph svg rect").count()).toBeGreaterThan(5);
      const shots = join(ROOT, "test", "__screenshots__");
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, "report.png"), fullPage: true });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      expect(readFileSync(join(shots, "report.png")).length).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
