import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { labSites } from "../../stacks/lab/site-layout.js";
import { labSiteFiles } from "../../stacks/lab/site-files.js";
import { inWgDir, siteWgDir } from "../../stacks/lab/wg-mountns.js";
import { labWireguardConf, wgQuickAddresses } from "../../stacks/lab/configs.js";
import { DRILLS } from "../../stacks/lab/drills.js";
import { DrillRefused, drillScope, drillTargets } from "../../stacks/lab/drill-sites.js";
import { crossSiteFlow } from "../../stacks/lab/uplink-drill.js";
import { labLayout, routesOf } from "../../stacks/lab/layout.js";
import { readCloudStack } from "../../stacks/lab/artifacts.js";
import type { LabRecord } from "../../stacks/lab/up.js";
import { examples } from "../helpers/examples.js";
import { findHostArtifacts } from "../../stacks/lab/artifacts.js";
import { labCannotRun } from "../../stacks/lab/site-plan.js";
import { loadSite, postgresDir, siteOfServer, siteOfService } from "../../core/index.js";
import { readFileSync } from "node:fs";
import { planSite, siteFiles } from "../policies/planned-sites.js";

/* The lab's per-site shape (pure): names, transits, tunnels and WireGuard run directories, generic over every example. */
describe.each(examples.map((e) => [e.name, e] as const))("the lab's sites of example %s", (_n, e) => {
  const run = "/tmp/palisade-lab-test";
  const sites = labSites(e.site, run);
  it(`GIVEN ${e.site.sites.length} site(s) WHEN laid out THEN one lab site each, names and transits unique, and a one-site platform keeps the one-site lab's names`, () => {
    expect(sites.map((s) => s.id)).toEqual(e.site.sites.map((s) => s.id));
    const all = (f: (s: (typeof sites)[number]) => string[]) => sites.flatMap(f);
    for (const list of [all((s) => [s.ns]), all((s) => s.uplinks.map((u) => u.ns)), all((s) => s.uplinks.map((u) => u.ifInet)), all((s) => s.uplinks.map((u) => u.transit.isp)), all((s) => [s.tunnel.cloud4])]) {
      expect(new Set(list).size).toBe(list.length);
    }
    for (const u of sites.flatMap((s) => s.uplinks)) expect(u.ifInet.length).toBeLessThanOrEqual(15);
    if (sites.length === 1) {
      expect(sites[0]!.ns).toBe("plab-cloud");
      expect(sites[0]!.wgDir).toBeUndefined();
      expect(sites[0]!.uplinks.map((u) => u.ns)).toEqual(e.site.sites[0]!.uplinks.map((u) => `plab-isp-${u.id}`));
    } else {
      expect(sites.map((s) => s.wgDir)).toEqual(e.site.sites.map((s) => siteWgDir(run, s.id)));
    }
  });
});

describe("a site's files and WireGuard wrapper", () => {
  it("GIVEN a plan with hosts/<site> WHEN its files are looked up THEN they are the site's own, and a file the site did not render is null", () => {
    const out = mkdtempSync(join(tmpdir(), "palisade-sitefiles-"));
    for (const d of ["hosts/eu/wireguard", "hosts/eu/failover", "hosts/us/postgres"]) mkdirSync(join(out, d), { recursive: true });
    writeFileSync(join(out, "hosts/eu/nftables.conf"), "");
    writeFileSync(join(out, "hosts/eu/wireguard/wg-cloud.conf"), "");
    writeFileSync(join(out, "hosts/eu/failover/failover.json"), "{}");
    const eu = labSiteFiles(out, "eu");
    expect([eu.nft, eu.wg, eu.failover, eu.ingressHaproxy]).toEqual([join(out, "hosts/eu/nftables.conf"), join(out, "hosts/eu/wireguard/wg-cloud.conf"), join(out, "hosts/eu/failover/failover.json"), null]);
    expect(eu.cdktfStack).toBe(join(out, "cdktf/stacks/eu/cdk.tf.json"));
    expect(labSiteFiles(out, "us").postgresDir).toBe(join(out, "hosts/us/postgres"));
    expect(labSiteFiles(out, "us").nft).toBeNull();
    expect(labSiteFiles(out, "us").wg).toBeNull();
  });

  it("GIVEN no site directory WHEN wrapped THEN the argv is the one-site lab's; GIVEN one THEN it runs under unshare -m with the directory over /var/run/wireguard", () => {
    expect(inWgDir(undefined, ["wg", "show", "wg-cloud"])).toEqual(["wg", "show", "wg-cloud"]);
    expect(inWgDir(undefined, ["wg", "show"], "ns1")).toEqual(["ip", "netns", "exec", "ns1", "wg", "show"]);
    const w = inWgDir("/tmp/x/eu/wireguard", ["wg", "show", "wg-cloud"], "ns1");
    expect(w.slice(0, 2)).toEqual(["unshare", "-m"]);
    expect(w).toContain("/tmp/x/eu/wireguard");
    expect(w.slice(-7)).toEqual(["ip", "netns", "exec", "ns1", "wg", "show", "wg-cloud"]);
  });

  it("GIVEN an edge config with one Address and [Peer] per site WHEN read for the lab THEN every address is added and each peer gets its own lab key", () => {
    const conf = "[Interface]\nAddress = 10.0.0.1/30, fd00::1/64\nAddress = 10.0.0.5/30\n[Peer]\nPublicKey = A\n[Peer]\nPublicKey = B\n";
    expect(wgQuickAddresses(conf)).toEqual(["10.0.0.1/30", "fd00::1/64", "10.0.0.5/30"]);
    expect(labWireguardConf(conf, ["K1", "K2"])).toContain("PublicKey = K1\n[Peer]\nPublicKey = K2\n");
    expect(labWireguardConf(conf, "K1")).toContain("PublicKey = K1\n[Peer]\nPublicKey = B\n");
  });

});

/* Each site's tenancy SQL: what its own PostgreSQL servers run, read from its own hosts/<site>/postgres/, over every platform the lab runs. */
describe.each(siteFiles().filter((f) => !labCannotRun(loadSite(f.file))).map((f) => [f.name, f] as const))("the lab's tenancy SQL of %s", (_n, f) => {
  it("GIVEN the plan WHEN each site's tenancy SQL is looked up THEN it is one entry file per PostgreSQL server placed on that site, under that site's postgres directory, never another site's", async () => {
    const site = loadSite(f.file);
    const out = await planSite(f.file);
    const ids = site.sites.map((s) => s.id);
    const sql = findHostArtifacts(out, ids).tenancySql;
    expect(Object.keys(sql)).toEqual(ids);
    for (const id of ids) {
      const servers = site.postgres.servers.filter((s) => siteOfServer(site, s).id === id).map((s) => s.id).sort();
      expect(sql[id]!.map((p) => p.split("/").pop()!.replace(/\.sql$/, ""))).toEqual(servers);
      for (const p of sql[id]!) expect(p.startsWith(join(out, postgresDir(id), "servers") + "/")).toBe(true);
    }
  });
});

/*
 * The drills on every platform the lab runs, one site or several: a lab record laid out from the
 * plan (as `up` lays it out, without its processes). Every site drill runs on every site in the
 * site file's order, or on the one --site names; acme on the ingress's site (the model's: the
 * platform's own containers run on the first site); the edge drills once, on no site.
 */
describe.each(siteFiles().filter((f) => !labCannotRun(loadSite(f.file))).map((f) => [f.name, f] as const))("the drills on the lab of %s", (_n, f) => {
  const recOf = async (): Promise<LabRecord> => {
    const site = loadSite(f.file);
    const out = await planSite(f.file);
    const stacks = Object.fromEntries(site.sites.map((s) => [s.id, readCloudStack(out, s.id)]));
    const routes = routesOf(JSON.parse(readFileSync(join(out, "intent.json"), "utf8")) as Parameters<typeof routesOf>[0]);
    return { root: out, outDir: out, layout: labLayout(site, stacks, routes, "/tmp/palisade-lab-test") } as unknown as LabRecord;
  };

  it("GIVEN the lab's sites WHEN each drill is asked with no --site THEN a site drill runs on every site in order, acme on the ingress's site, an edge drill once on the edge", async () => {
    const rec = await recOf();
    const site = loadSite(f.file);
    const ids = site.sites.map((s) => s.id);
    for (const name of DRILLS) {
      const expected = { site: ids, ingress: [siteOfService(site, "ingress").id], edge: [undefined] }[drillScope(name)];
      expect(drillTargets(rec, name), name).toEqual(expected);
    }
    expect(DRILLS.filter((d) => drillScope(d) === "site")).toEqual(["fiber-cut", "container-restart", "dockerd-restart"]);
  });

  it("GIVEN --site ID WHEN each drill is asked THEN a site drill runs there only, acme only on the ingress's site, an edge drill and an unknown site are refused naming why and the lab's sites", async () => {
    const rec = await recOf();
    const site = loadSite(f.file);
    const ids = site.sites.map((s) => s.id);
    const ingress = siteOfService(site, "ingress").id;
    for (const id of ids) {
      for (const name of DRILLS) {
        const scope = drillScope(name);
        if (scope === "site" || (scope === "ingress" && id === ingress)) expect(drillTargets(rec, name, id)).toEqual([id]);
        else if (scope === "ingress") expect(() => drillTargets(rec, name, id)).toThrow(new RegExp(`runs on site ${ingress}, the site with the ingress.*site ${id} runs neither`));
        else expect(() => drillTargets(rec, name, id)).toThrow(/is an edge drill.*run it without --site/);
      }
    }
    expect(() => drillTargets(rec, "fiber-cut", "nowhere")).toThrow(DrillRefused);
    expect(() => drillTargets(rec, "fiber-cut", "nowhere")).toThrow(`--site nowhere: not a site of this lab; expected one of ${ids.join(", ")}, or no --site for every site in order`);
    expect(() => drillTargets(rec, "fiber-cut", "examples/two-sites.yaml")).toThrow(/the site file was lab up's/);
  });

  it("GIVEN a site without the ingress WHEN fiber-cut picks its traffic THEN it is a declared flow between one of the site's containers and another site's, published on the destination site's tunnel address (or none: the tunnel's handshake)", async () => {
    const rec = await recOf();
    const ingress = siteOfService(loadSite(f.file), "ingress").id;
    for (const s of rec.layout.sites.filter((x) => x.id !== ingress)) {
      const flow = crossSiteFlow(rec, s);
      if (!flow) continue;
      const [, src, dst] = /^(\S+) => (\S+) : /.exec(flow.line)!;
      const siteOf = (svc: string) => rec.layout.sites.find((x) => x.containers.some((c) => c.service === svc))!;
      expect([siteOf(src!).id, siteOf(dst!).id]).toContain(s.id);
      expect(siteOf(src!).id).not.toBe(siteOf(dst!).id);
      expect(flow.host).toBe(siteOf(dst!).tunnel.cloud4);
      expect(flow.ns).toBe(siteOf(src!).containers.find((c) => c.service === src)!.ns);
    }
  });
});
