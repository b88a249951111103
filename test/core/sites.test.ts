import { describe, expect, it } from "vitest";
import { declarationOf, parseSite, SiteError, siteOfServer, siteOfService, type SiteProblem } from "../../core/index.js";
import { examples } from "../helpers/examples.js";
import { mutated, twoSites } from "../helpers/sites.js";

function problems(text: string): SiteProblem[] {
  try {
    parseSite(text, "site.yaml");
  } catch (e) {
    if (e instanceof SiteError) return [...e.problems];
    throw e;
  }
  throw new Error("the site was accepted");
}

describe("private-cloud sites", () => {
  it.each(examples.filter((e) => e.site.sites.length === 1 && e.site.sites[0]!.path === "cloud").map((e) => [e.name, e] as const))(
    "GIVEN the one-site form (%s) WHEN parsed THEN it is one site named cloud, with the tunnel subnet, the cloud key and the default key file",
    (_name, e) => {
      const [only] = e.site.sites;
      expect(only).toMatchObject({ id: "cloud", path: "cloud", keyFile: "wireguard-cloud", tunnel: { subnet: e.site.tunnel.subnet, subnet6: e.site.tunnel.subnet6 } });
      expect(only!.publicKey).toBe(e.site.publicKeys.wireguardCloud);
      expect(e.site.cloud).toBe(only);
    },
  );

  it("GIVEN two sites WHEN parsed THEN each keeps its own tunnel, pool and key file, and the first is the primary", () => {
    const site = parseSite(twoSites());
    expect(site.sites.map((s) => [s.id, s.region, s.tunnel.subnet, s.networkPool, s.keyFile])).toEqual([
      ["eu", "eu-west", "10.77.0.0/30", "172.20.0.0/16", "wireguard-eu"],
      ["us", "us-east", "10.77.0.4/30", "172.22.0.0/16", "wireguard-us"],
    ]);
    expect(site.cloud.id).toBe("eu");
    expect(site.sites[1]!.failover).toEqual({ probeIntervalMs: 500, misses: 3, holdDownS: 10 });
  });

  it("GIVEN two sites with engine: docker written out WHEN parsed THEN it is accepted (only kubernetes is refused in the sites form)", () => {
    expect(parseSite(twoSites((s) => (s.sites[1].engine = "docker"))).sites[1]!.engine).toBe("docker");
  });

  it("GIVEN two sites and a route to a service placed on the ingress's site by name WHEN parsed THEN it is accepted", () => {
    expect(() => parseSite(twoSites((s) => (s.services.api.site = "eu")))).not.toThrow();
  });

  it("GIVEN two sites WHEN placing THEN a service defaults to the first site and a server to the site of its region", () => {
    const site = parseSite(twoSites((s) => { s.services.blog.site = "us"; s.routes = s.routes.filter((r: { to: string }) => r.to !== "blog"); }));
    expect(siteOfService(site, "api").id).toBe("eu");
    expect(siteOfService(site, "blog").id).toBe("us");
    expect(site.postgres.servers.map((srv) => siteOfServer(site, srv).id)).toEqual(["eu", "us"]);
  });

  it.each([
    ["a service on an unknown site", (s: any) => (s.services.api.site = "asia"), "services.api.site", '"asia"', /one of the sites \(eu, us\)/],
    ["a server on an unknown site", (s: any) => (s.postgres.servers[1].site = "asia"), "postgres.servers[1].site", '"asia"', /one of the sites/],
    ["a server on a site of another region", (s: any) => (s.postgres.servers[1].site = "eu"), "postgres.servers[1].site", '"eu"', /a site of region us-east \(us\)/],
    ["a dedicated tenant whose region has no site", (s: any) => {
      s.postgres.servers.push({ id: "pg-ap", region: "ap-south", site: "us" });
      s.tenants[1].region = "ap-south";
    }, "tenants[1].region", '"ap-south"', /a region some site holds \(eu-west, us-east\)/],
    ["two sites with overlapping tunnel subnets", (s: any) => (s.sites[1].tunnel.subnet = "10.77.0.0/29"), "sites[1].tunnel.subnet", '"10.77.0.0/29"', /does not overlap sites\[0\]\.tunnel\.subnet/],
    ["two sites with overlapping IPv6 tunnel subnets", (s: any) => (s.sites[1].tunnel.subnet6 = "fd77::/48"), "sites[1].tunnel.subnet6", '"fd77::/48"', /does not overlap sites\[0\]\.tunnel\.subnet6/],
    ["two sites with overlapping network pools", (s: any) => (s.sites[1].networkPool = "172.20.128.0/17"), "sites[1].networkPool", '"172.20.128.0/17"', /does not overlap sites\[0\]\.networkPool/],
    ["a pool overlapping another site's tunnel", (s: any) => (s.sites[1].networkPool = "10.77.0.0/16"), "sites[1].networkPool", '"10.77.0.0/16"', /does not overlap sites\[0\]\.tunnel\.subnet/],
    ["a site of the list on Kubernetes (rendered as Docker otherwise)", (s: any) => (s.sites[1].engine = "kubernetes"), "sites[1].engine", '"kubernetes"', /a site of the sites list runs on Docker/],
    ["an internet route to a service on another site than the ingress's", (s: any) => (s.services.api.site = "us"), "routes[0].to", '"api"', /a service on the ingress's site eu: api runs on site us/],
    ["two sites with one id", (s: any) => (s.services.api.site = "eu", s.sites[1].id = "eu"), "sites[1].id", '"eu"', /not used by another site/],
    ["a site named like a service", (s: any) => (s.sites[1].id = "api"), "sites[1].id", '"api"', /no service, server or platform peer uses/],
    ["two sites sharing a key file", (s: any) => (s.sites[1].keyFile = "wireguard-eu"), "sites[1].keyFile", '"wireguard-eu"', /this site alone/],
    ["a private key written inline", (s: any) => (s.sites[1].keyFile = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="), "sites[1].keyFile", '"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="', /a secret id/],
    ["both cloud and sites", (s: any) => {
      const { id: _id, region: _region, tunnel: _tunnel, publicKey: _key, ...host } = s.sites[0];
      s.cloud = host;
    }, "sites", "both cloud and sites", /either cloud \(one host\) or sites/],
    ["a tunnel subnet beside sites", (s: any) => (s.tunnel.subnet = "10.77.0.0/30"), "tunnel.subnet", '"10.77.0.0/30"', /each site has its own/],
    ["a cloud key beside sites", (s: any) => (s.publicKeys.wireguardCloud = s.sites[0].publicKey), "publicKeys.wireguardCloud", '"RIL0', /sites\[i\]\.publicKey/],
  ])("GIVEN %s WHEN parsed THEN the problem names the path, the value, what was expected and a fix", (_name, change, path, given, expected) => {
    const found = problems(twoSites(change)).find((p) => p.path === path);
    expect(found, `problems: ${JSON.stringify(problems(twoSites(change)))}`).toBeDefined();
    expect(found!.given).toContain(given);
    expect(found!.expected).toMatch(expected);
    expect(found!.fix.length).toBeGreaterThan(5);
  });

  it.each([...examples.map((e) => [e.name, e.text] as const), ["two sites", twoSites()] as const])(
    "GIVEN %s WHEN its declaration is taken back from the parsed platform and parsed again THEN the platform is the same (a variant can be derived by editing it)",
    (_name, text) => {
      const site = parseSite(text);
      expect(parseSite(JSON.stringify(declarationOf(site)))).toEqual(site);
    },
  );

  it("GIVEN neither cloud nor sites WHEN parsed THEN the problem says to declare one", () => {
    expect(problems(mutated((s) => delete s.cloud))).toEqual([expect.objectContaining({ path: "sites", given: "(missing)" })]);
  });

  it("GIVEN the one-site form with a region WHEN a dedicated tenant is of another region THEN it is rejected: that host does not hold that region", () => {
    const found = problems(mutated((s) => (s.cloud.region = "eu-west")));
    expect(found.map((p) => p.path)).toEqual(expect.arrayContaining(["postgres.servers[1].region", "tenants[1].region"]));
  });

  it("GIVEN the one-site form without a region WHEN parsed THEN servers of every region stay on the one host, as before sites existed", () => {
    const site = parseSite(mutated(() => {}));
    expect(site.postgres.servers.map((srv) => siteOfServer(site, srv).id)).toEqual(["cloud", "cloud"]);
  });
});
