import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { labSites } from "../../stacks/lab/site-layout.js";
import { labSiteFiles } from "../../stacks/lab/site-files.js";
import { inWgDir, siteWgDir } from "../../stacks/lab/wg-mountns.js";
import { labWireguardConf, wgQuickAddresses } from "../../stacks/lab/configs.js";
import { drillsCannotRun } from "../../stacks/lab/drills.js";
import type { LabRecord } from "../../stacks/lab/up.js";
import { examples } from "../helpers/examples.js";
import { findHostArtifacts } from "../../stacks/lab/artifacts.js";
import { labCannotRun } from "../../stacks/lab/site-plan.js";
import { loadSite, postgresDir, siteOfServer } from "../../core/index.js";
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

  it("GIVEN a lab record of several sites WHEN a drill is asked THEN it is refused naming the sites; GIVEN one site THEN it is not", () => {
    for (const e of examples) {
      const rec = { layout: { sites: labSites(e.site, "/tmp/x") } } as unknown as LabRecord;
      const why = drillsCannotRun(rec);
      if (e.site.sites.length === 1) expect(why).toBeUndefined();
      else expect(why).toBe(`the drills run on a one-site lab; this lab brings up ${e.site.sites.length} sites (${e.site.sites.map((s) => s.id).join(", ")}): probe it with palisade lab probe`);
    }
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
