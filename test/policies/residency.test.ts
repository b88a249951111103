import { beforeAll, describe, expect, it } from "vitest";
import { crossSiteFlows, regionsArePlaces, siteOfServer, siteTunnelAddresses } from "../../core/index.js";
import { examples } from "../helpers/examples.js";
import { planOnce, type PlannedOutput } from "../helpers/plan-once.js";
import { copyOut, editJson, editText, problemLines, verifyDirInProcess } from "./support.js";

/*
 * Data residency and the edge's cross-site forwarding, checked from the artifacts, on every
 * example whose sites hold regions: planned once per example, each mutation verified in process.
 */
const multiSite = examples.filter((e) => regionsArePlaces(e.site) && e.site.sites.length > 1);

describe.each(multiSite.map((e) => [e.name, e] as const))("residency of %s", (_name, e) => {
  let planned: PlannedOutput;
  const dedicated = e.site.tenants.filter((t) => t.mode === "dedicated");
  beforeAll(async () => {
    planned = await planOnce(e.file);
  }, 240_000);

  it("GIVEN the plan WHEN verified THEN it passes and the report holds each dedicated tenant's site, where its server is rendered and the blocked paths out of it", () => {
    expect(planned.result.code).toBe(0);
    const report = planned.json<{ residency: { tenant: string; site: string; renderedOn: { host: string }[]; toOtherSites: { verdict: string }[] }[] }>("report/report.json");
    expect(report.residency.map((r) => r.tenant).sort()).toEqual(dedicated.map((t) => t.id).sort());
    for (const r of report.residency) {
      expect(new Set(r.renderedOn.map((x) => x.host))).toEqual(new Set([r.site]));
      expect(r.toOtherSites.length).toBeGreaterThan(0);
      expect(r.toOtherSites.every((x) => x.verdict === "denied")).toBe(true);
    }
    expect(planned.text("report/segmentation.md")).toContain("## Data residency");
  });

  it("GIVEN the plan WHEN the HTML report is read THEN it has a Data residency section in its table of contents, one row per dedicated tenant naming its site", () => {
    const html = planned.text("report/index.html");
    expect(html).toContain('<a href="#data-residency">Data residency</a>');
    const section = /<section id="data-residency">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? "";
    expect(html.match(/ id="data-residency"/g)).toHaveLength(1);
    for (const t of dedicated) {
      const server = e.site.postgres.servers.find((srv) => srv.region === t.region)!;
      expect(section).toContain(`<td><code>${t.id}</code></td>`);
      expect(section).toContain(`on <b>${siteOfServer(e.site, server).id}</b>`);
    }
  });

  it("GIVEN a tenant's database moved into another site's stack WHEN verified THEN a residency violation names that stack's artifact and line", () => {
    const t = dedicated.find((x) => e.site.sites.some((s) => s.id !== siteOfServer(e.site, e.site.postgres.servers.find((srv) => srv.region === x.region)!).id))!;
    const server = e.site.postgres.servers.find((srv) => srv.region === t.region)!;
    const home = siteOfServer(e.site, server).id;
    const other = e.site.sites.find((s) => s.id !== home)!.id;
    const service = e.site.postgres.servers.indexOf(server) === 0 ? "postgres" : server.id;
    const dir = copyOut(planned.dir);
    let moved: [string, unknown] | undefined;
    editJson(dir, `cdktf/stacks/${home}/cdk.tf.json`, (j) => {
      const containers = (j as { resource: { docker_container: Record<string, { name: string }> } }).resource.docker_container;
      const key = Object.keys(containers).find((k) => containers[k]!.name === `${home}-${service}`)!;
      moved = [key, containers[key]];
      delete containers[key];
    });
    editJson(dir, `cdktf/stacks/${other}/cdk.tf.json`, (j) => {
      (j as { resource: { docker_container: Record<string, unknown> } }).resource.docker_container[moved![0]] = moved![1];
    });
    const r = verifyDirInProcess(dir);
    const found = r.findings.filter((f) => f.kind === "residency");
    expect(found.some((f) => f.artifact === `cdktf/stacks/${other}/cdk.tf.json` && typeof f.line === "number"), problemLines(r).join("\n")).toBe(true);
    expect(r.summary.verdict).toBe("fail");
  });

  it("GIVEN an edge forward rule opened between two sites that no flow declares WHEN verified THEN a violation names the edge's firewall and the rule's line", () => {
    const [a, b] = e.site.sites;
    const from = siteTunnelAddresses(b!).cloud4;
    const to = siteTunnelAddresses(a!).cloud4;
    const dir = copyOut(planned.dir);
    editText(dir, "hosts/edge/nftables.conf", (text) => text.replace(/(\t\ttype filter hook forward priority filter; policy drop;\n)/, `$1\t\tiifname "wg-edge" oifname "wg-edge" ip saddr ${from} ip daddr ${to} accept\n`));
    const r = verifyDirInProcess(dir);
    const opened = r.findings.filter((f) => f.id.startsWith("cross-site:") && f.artifact === "hosts/edge/nftables.conf");
    expect(opened.length, problemLines(r).join("\n")).toBeGreaterThan(0);
    expect(opened.every((f) => typeof f.line === "number")).toBe(true);
    expect(r.summary.verdict).toBe("fail");
  });

  it("GIVEN the edge's forward rule of a declared cross-site flow removed WHEN verified THEN that flow is broken", () => {
    const f = crossSiteFlows(e.site)[0]!;
    const dir = copyOut(planned.dir);
    editText(dir, "hosts/edge/nftables.conf", (text) => text.split("\n").filter((l) => !(l.includes('iifname "wg-edge" oifname "wg-edge"') && l.includes(`dport ${f.port.from}`))).join("\n"));
    const r = verifyDirInProcess(dir);
    expect(problemLines(r).some((l) => l.startsWith(`broken-path ${f.from} => ${f.to} : ${f.port}`)), problemLines(r).join("\n")).toBe(true);
  });
});

describe.each(examples.filter((e) => !regionsArePlaces(e.site)).map((e) => [e.name, e] as const))("the HTML report of %s (no regions held by sites)", (_name, e) => {
  it("GIVEN the plan WHEN the HTML report is read THEN it has no Data residency section (none is claimed)", async () => {
    const planned = await planOnce(e.file);
    expect(planned.text("report/index.html")).not.toContain("data-residency");
  }, 240_000);
});
