import { beforeAll, describe, expect, it } from "vitest";
import { crossSiteFlows, parseSite, siteOfContainer, siteTunnelAddresses, type Artifact, type Site } from "../../core/index.js";
import { parseNftables } from "../../policies/verifier/nftables.js";
import { parseWireguard } from "../../policies/verifier/wireguard.js";
import { renderEngines } from "../../stacks/engines.js";
import { renderHostFiles } from "../../stacks/host-files.js";
import { buildTopology } from "../../stacks/platform.js";
import { twoSites } from "../helpers/sites.js";
import { MISSING_KEY_PLACEHOLDER, missingKeyPlaceholder, renderWireguard } from "../../tunnel/index.js";

/*
 * A platform of two sites (the reference's cloud as site eu, a second host us holding the
 * us-east server), rendered: each site's files, the edge's peer per site, and the cross-site
 * flows in every firewall on their path. Generic over the declaration: the expectations come
 * from crossSiteFlows and the sites, not from names written here.
 */
let site: Site;
let files: Map<string, string>;
let engines: Artifact[];

beforeAll(async () => {
  site = parseSite(twoSites());
  const t = buildTopology(site);
  files = new Map(renderHostFiles(t).map((a) => [a.path, a.content]));
  engines = await renderEngines(t, "both");
}, 120_000);

const tunnel = (id: string) => siteTunnelAddresses(site.sites.find((s) => s.id === id)!);

describe("a platform of two sites, rendered", () => {
  it("GIVEN two sites WHEN rendered THEN each has its own firewall, WireGuard config and failover agent config, and parses", () => {
    for (const s of site.sites) {
      const nft = parseNftables(`hosts/${s.id}/nftables.conf`, files.get(`hosts/${s.id}/nftables.conf`)!);
      expect(nft.problems).toEqual([]);
      const wg = parseWireguard(`hosts/${s.id}/wireguard/wg-cloud.conf`, files.get(`hosts/${s.id}/wireguard/wg-cloud.conf`)!);
      expect(wg.problems).toEqual([]);
      expect(wg.addresses).toContain(`${tunnel(s.id).cloud4}/${tunnel(s.id).prefix4}`);
      expect(files.get(`hosts/${s.id}/wireguard/wg-cloud.conf`)).toContain(`private-key /etc/palisade/secrets/${s.keyFile}.key`);
      const failover = JSON.parse(files.get(`hosts/${s.id}/failover/failover.json`)!) as { uplinks: { address: string }[] };
      expect(failover.uplinks.map((u) => u.address).sort()).toEqual(s.uplinks.map((u) => u.address.split("/")[0]).sort());
    }
    expect([...files.keys()].filter((p) => p.startsWith("hosts/cloud/nftables") || p.startsWith("hosts/cloud/wireguard"))).toEqual([]);
  });

  it("GIVEN two sites WHEN the edge's WireGuard config is read THEN it has one peer per site, each allowed exactly that site's tunnel addresses", () => {
    const wg = parseWireguard("hosts/edge/wireguard/wg-edge.conf", files.get("hosts/edge/wireguard/wg-edge.conf")!);
    expect(wg.problems).toEqual([]);
    expect(wg.peers.map((p) => p.allowedIps)).toEqual(site.sites.map((s) => [`${tunnel(s.id).cloud4}/32`, `${tunnel(s.id).cloud6}/128`]));
    expect(wg.peers.map((p) => p.publicKey)).toEqual(site.sites.map((s, i) => s.publicKey ?? missingKeyPlaceholder(i)));
  });

  it("GIVEN cross-site flows WHEN the edge's firewall is read THEN its forward chain accepts exactly those, from one site's tunnel address to the other's, and drops the rest", () => {
    const flows = crossSiteFlows(site);
    expect(flows.length).toBeGreaterThan(0);
    const nft = parseNftables("hosts/edge/nftables.conf", files.get("hosts/edge/nftables.conf")!);
    const forward = nft.chains.find((c) => c.name === "forward")!;
    expect(forward.policy).toBe("drop");
    const text = files.get("hosts/edge/nftables.conf")!;
    const accepts = text.split("\n").filter((l) => l.includes('iifname "wg-edge" oifname "wg-edge"'));
    const expected = flows.map((f) => `ip saddr ${tunnel(siteOfContainer(site, f.from)).cloud4} ip daddr ${tunnel(siteOfContainer(site, f.to)).cloud4} ${f.port.protocol} dport ${f.port.from}`);
    expect(accepts.map((l) => l.trim().replace(/^iifname "wg-edge" oifname "wg-edge" /, "").replace(/ accept comment .*$/, "")).sort()).toEqual(expected.sort());
  });

  it("GIVEN a cross-site flow WHEN each site's files are read THEN the source site routes and SNATs it into its tunnel, the destination accepts it only from the source site's tunnel address", () => {
    for (const f of crossSiteFlows(site)) {
      const [a, b] = [siteOfContainer(site, f.from), siteOfContainer(site, f.to)];
      const src = files.get(`hosts/${a}/nftables.conf`)!;
      const dst = files.get(`hosts/${b}/nftables.conf`)!;
      expect(src).toMatch(new RegExp(`oifname "wg-cloud" ip saddr \\S+ ip daddr ${tunnel(b).cloud4} ${f.port.protocol} dport ${f.port.from} accept`));
      expect(src).toMatch(new RegExp(`oifname "wg-cloud" ip saddr \\S+ ip daddr ${tunnel(b).cloud4} ${f.port.protocol} dport ${f.port.from} snat ip to ${tunnel(a).cloud4}`));
      expect(dst).toContain(`iifname "wg-cloud" ip saddr ${tunnel(a).cloud4} ip daddr ${tunnel(b).cloud4} ${f.port.protocol} dport ${f.port.from} accept`);
      const srcWg = parseWireguard("a", files.get(`hosts/${a}/wireguard/wg-cloud.conf`)!);
      const dstWg = parseWireguard("b", files.get(`hosts/${b}/wireguard/wg-cloud.conf`)!);
      expect(srcWg.peers[0]!.allowedIps).toContain(`${tunnel(b).cloud4}/32`);
      expect(dstWg.peers[0]!.allowedIps).toContain(`${tunnel(a).cloud4}/32`);
    }
  });

  it("GIVEN two sites WHEN the engines render THEN each engine has one stack per site, and each container is in the stack of its site only", () => {
    const tf = (s: string) => engines.find((a) => a.path === `cdktf/stacks/${s}/cdk.tf.json`)?.content;
    const pulumi = (s: string) => engines.find((a) => a.path === `pulumi/${s}.json`)?.content;
    for (const s of site.sites) {
      expect(tf(s.id), `cdktf stack ${s.id}`).toBeDefined();
      expect(pulumi(s.id), `pulumi stack ${s.id}`).toBeDefined();
      const resources = (JSON.parse(tf(s.id)!) as { resource: Record<string, Record<string, { name: string }>> }).resource;
      const names = (type: string) => Object.values(resources[type] ?? {}).map((r) => r.name);
      const servers = site.postgres.servers.map((srv, i) => (i === 0 ? "postgres" : srv.id));
      for (const id of servers) {
        const mine = siteOfContainer(site, id) === s.id;
        expect(names("docker_container").includes(`${s.id}-${id}`), `${id} in cdktf ${s.id}`).toBe(mine);
        expect(names("docker_volume").includes(`${id}-data`), `${id}'s volume in cdktf ${s.id}`).toBe(mine);
      }
    }
    expect(tf("cloud")).toBeUndefined();
  });
});

describe("two sites planned before their keys exist", () => {
  it("GIVEN two sites without publicKey WHEN the WireGuard configs are rendered THEN the edge's peers carry distinct placeholders and each site's field is warned about", () => {
    const site = parseSite(twoSites((s) => s.sites.forEach((x: { publicKey?: string }) => delete x.publicKey)));
    const t = buildTopology(site);
    const edge = renderWireguard(t).find((a) => a.path.startsWith("hosts/edge/wireguard/"))!;
    const keys = [...edge.content.matchAll(/^PublicKey = (\S+)$/gm)].map((m) => m[1]!);
    expect(keys).toHaveLength(site.sites.length);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys[0]).toBe(MISSING_KEY_PLACEHOLDER);
    for (const s of site.sites) expect(t.warnings.some((w) => w.id === "wireguard-key" && w.message.startsWith(`${s.path}.publicKey is not set`)), s.id).toBe(true);
  });
});
