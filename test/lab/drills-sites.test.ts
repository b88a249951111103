import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { labDown, labUp, type LabRecord } from "../../stacks/lab/up.js";
import { runDrills, type DrillResult } from "../../stacks/lab/drills.js";
import { DrillRefused, ingressSiteId } from "../../stacks/lab/drill-sites.js";
import { planSiteInto } from "../../stacks/lab/site-plan.js";
import { layoutNamespaces } from "../../stacks/lab/layout.js";
import { describeRoot } from "../helpers/root.js";
import { ROOT, tempDir } from "../helpers/paths.js";
import { requireTool } from "../helpers/tools.js";
import { runCli } from "../helpers/cli.js";

/*
 * The drills on a lab of several sites: examples/two-sites.yaml brought up once, every site drill
 * run on every site in order (the fault is that site's: its fiber, its dockerd, its containers),
 * acme on the ingress's site, one edge drill unchanged. What each site runs comes from the record
 * (its uplinks, its engine), never from the example's names. The one-site drills are lab.test.ts's.
 */
const SITE_FILE = join(ROOT, "examples", "two-sites.yaml");
const tools = ["nft", "wireguard-go", "wg", "haproxy", "knotd", "kdig", "fail2ban-server", "pebble", "lego", "conntrack", "dockerd", "busybox"].map((t) => requireTool(t));
const missing = tools.filter((t) => !t.path).map((t) => t.skipReason);

/** One line of figures per site, for the run's log (the drills report figures, never assert targets). */
const show = (rs: readonly DrillResult[]) => console.log(rs.map((r) => `${r.name}${r.site ? ` [${r.site}]` : ""}: ${r.pass ? "pass" : "FAIL"} ${JSON.stringify(r.figures)}`).join("\n"));

describeRoot("the drills on a lab of several sites (examples/two-sites.yaml): each site drill on every site, reported per site", () => {
  let rec: LabRecord;
  let ids: string[] = [];
  const out = tempDir("lab-drills-sites");

  beforeAll(async () => {
    if (missing.length) return;
    expect((await planSiteInto(SITE_FILE, out)).report.summary.verdict).toBe("pass");
    await labDown();
    rec = (await labUp({ outDir: out, siteFile: SITE_FILE })).record;
    ids = rec.layout.sites.map((s) => s.id);
  }, 240_000);

  afterAll(async () => {
    await labDown();
  }, 30_000);

  it.skipIf(missing.length > 0)("GIVEN each site's fiber cut in turn WHEN its agent fails over and back THEN traffic across that site's tunnel recovers and fails back without flapping, and no other site's agent moves", async () => {
    expect(ids.length).toBeGreaterThan(1);
    const rs = await runDrills(rec, "fiber-cut");
    show(rs);
    expect(rs.map((r) => r.site)).toEqual(ids);
    for (const r of rs) {
      expect(r.notes, r.site).toEqual([]);
      expect(r.figures.failovers, r.site).toBe(1);
      expect(r.figures.other_sites_moved, r.site).toEqual([]);
      // Each site's traffic is its own: the edge saw that site's peer at that site's cellular address.
      const backup = rec.layout.sites.find((s) => s.id === r.site)!.uplinks[1]!.address;
      expect(String(r.figures.endpoint_during_cut)).toMatch(new RegExp(`^${backup.replace(/\./g, "\\.")}:`));
      expect(r.pass, r.site).toBe(true);
    }
  }, 240_000);

  it.skipIf(missing.length > 0)("GIVEN a container of each site killed WHEN its site's dockerd restarts it THEN it is back and the whole matrix equals the verifier's", async () => {
    const rs = await runDrills(rec, "container-restart");
    show(rs);
    expect(rs.map((r) => r.site)).toEqual(ids);
    for (const r of rs) {
      expect(r.notes, r.site).toEqual([]);
      const site = rec.layout.sites.find((s) => s.id === r.site)!;
      expect(site.containers.map((c) => c.name), r.site).toContain(r.figures.container);
      expect(r.pass, r.site).toBe(true);
    }
  }, 240_000);

  it.skipIf(missing.length > 0)("GIVEN each site's dockerd stopped and started again WHEN its containers come back THEN that site's rendered firewall holds and the matrix equals the verifier's", async () => {
    const before = Object.fromEntries(ids.map((id) => [id, rec.dockers![id]!.pid]));
    const rs = await runDrills(rec, "dockerd-restart");
    show(rs);
    expect(rs.map((r) => r.site)).toEqual(ids);
    for (const r of rs) {
      expect(r.notes, r.site).toEqual([]);
      expect(r.figures.containers, r.site).toBe(rec.layout.sites.find((s) => s.id === r.site)!.containers.length);
      expect(r.pass, r.site).toBe(true);
    }
    // The saved record follows each engine's new PID.
    const saved = JSON.parse(readFileSync(join(ROOT, ".palisade/lab/lab.json"), "utf8")) as LabRecord;
    for (const id of ids) {
      expect(saved.dockers![id]!.pid, id).not.toBe(before[id]);
      expect(saved.dockers![id]!.pid, id).toBe(rec.dockers![id]!.pid);
    }
  }, 300_000);

  it.skipIf(missing.length > 0)("GIVEN the ingress on one site WHEN acme is drilled THEN it runs there once; asked on another site (the CLI) THEN it is refused with exit 2 saying why", async () => {
    const at = ingressSiteId(rec)!;
    const rs = await runDrills(rec, "acme");
    show(rs);
    expect(rs.map((r) => r.site)).toEqual([at]);
    expect(rs[0]!.pass).toBe(true);
    const other = ids.find((id) => id !== at)!;
    await expect(runDrills(rec, "acme", () => {}, other)).rejects.toThrow(DrillRefused);
    const cli = await runCli(["lab", "drill", "acme", "--site", other]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(`runs on site ${at}, the site with the ingress`);
  }, 120_000);

  it.skipIf(missing.length > 0)("GIVEN the CLI WHEN one site's fiber is cut (--site, --json) THEN only that site is drilled; an edge drill runs once, naming no site", async () => {
    const last = ids[ids.length - 1]!;
    const cli = await runCli(["lab", "drill", "fiber-cut", "--site", last, "--json"]);
    const j = JSON.parse(cli.stdout.trim().split("\n").pop()!) as { pass: boolean; site?: string; figures: Record<string, unknown> };
    expect(j.site).toBe(last);
    expect(j.pass).toBe(true);
    const lab = JSON.parse(readFileSync(join(out, "report", "lab.json"), "utf8")) as { drills: Record<string, unknown> };
    expect(Object.keys(lab.drills)).toContain(`fiber-cut:${last}`);
    expect(Object.keys(lab.drills)).not.toContain("fiber-cut");
    const brute = await runDrills(rec, "brute-force");
    show(brute);
    expect(brute.map((r) => r.site)).toEqual([undefined]);
    expect(brute[0]!.pass).toBe(true);
  }, 120_000);

  it.skipIf(missing.length > 0)("GIVEN the drilled lab WHEN it is taken down THEN none of its namespaces remains", async () => {
    const namespaces = layoutNamespaces(rec.layout);
    await labDown();
    const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    for (const ns of namespaces) expect(left).not.toMatch(new RegExp(`^${ns}\\b`, "m"));
  }, 30_000);
});
