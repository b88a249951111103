import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deriveNetworks, loadSite, tunnelAddresses, type Artifact } from "../../core/index.js";
import { buildTopology } from "../../stacks/platform.js";
import { CLOUD_WG_IFACE, EDGE_WG_IFACE, bridgeName, parseFailoverConfig, renderTunnel } from "../../tunnel/index.js";
import { requireTool } from "../helpers/tools.js";
import { dockerSiteFiles } from "../policies/planned-sites.js";
import { siteFacts } from "../policies/site-facts.js";

const tmp = mkdtempSync(join(tmpdir(), "palisade-tunnel-render-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The simple rule form the renderer promises: one rule per line, keyword-value pairs, a verdict, a comment. */
interface NftRule {
  chain: string;
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  proto?: string;
  dport?: string;
  sport?: string;
  ct?: string;
  verdict: string;
  comment: string;
}
function parseNft(text: string): NftRule[] {
  const rules: NftRule[] = [];
  let chain = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const c = /^chain (\S+) \{$/.exec(line);
    if (c) chain = c[1]!;
    if (!chain || line.startsWith("type ") || line.startsWith("chain ") || line === "}" || line === "") continue;
    const m = /^(.*?) (accept|drop|snat ip to \S+) comment "([^"]*)"$/.exec(line);
    if (!m) throw new Error(`rule not in the simple form: ${line}`);
    const r: NftRule = { chain, verdict: m[2]!, comment: m[3]! };
    const toks = m[1]!.split(" ");
    for (let i = 0; i < toks.length; i++) {
      const [k, v] = [toks[i], toks[i + 1]];
      if (k === "iifname") (r.iif = v!.replace(/"/g, "")), i++;
      else if (k === "oifname") (r.oif = v!.replace(/"/g, "")), i++;
      else if ((k === "ip" || k === "ip6") && v === "saddr") (r.saddr = toks[i + 2]), (i += 2);
      else if ((k === "ip" || k === "ip6") && v === "daddr") (r.daddr = toks[i + 2]), (i += 2);
      else if ((k === "tcp" || k === "udp") && (v === "dport" || v === "sport")) (r.proto = k), (r[v] = toks[i + 2]), (i += 2);
      else if (k === "ct" && v === "state") (r.ct = toks[i + 2]), (i += 2);
      else throw new Error(`unexpected token ${k} in: ${line}`);
    }
    rules.push(r);
  }
  return rules;
}
/** The public key written while the site has none yet (`palisade keys` writes the real ones): all zero bits. */
const NO_KEY_YET = `${"A".repeat(43)}=`;

function wgLines(conf: string, key: string): string[] {
  return conf.split("\n").filter((l) => l.startsWith(`${key} =`)).map((l) => l.slice(key.length + 3).trim());
}

/* The tunnel, the failover agent and the cloud firewall of every example, read from what is rendered. */
describe.each(dockerSiteFiles())("the tunnel and the cloud host of %s", ({ file: siteFile }) => {
  const site = loadSite(siteFile);
  const topology = buildTopology(site);
  const facts = siteFacts(siteFile);
  const artifacts = renderTunnel(topology);
  const file = (path: string): string => {
    const a = artifacts.find((x: Artifact) => x.path === path);
    if (!a) throw new Error(`no artifact ${path}; got ${artifacts.map((x) => x.path).join(", ")}`);
    return a.content;
  };
  const tun = tunnelAddresses(site);
  const edgeConf = file(`hosts/edge/wireguard/${EDGE_WG_IFACE}.conf`);
  const cloudConf = file(`hosts/cloud/wireguard/${CLOUD_WG_IFACE}.conf`);
  const nftConf = file("hosts/cloud/nftables.conf");
  const rules = parseNft(nftConf);
  const accepts = (chain: string) => rules.filter((r) => r.chain === chain && r.verdict === "accept" && !r.ct);
  const uplinkIfs = site.cloud.uplinks.map((u) => u.interface);
  const ip = (svc: string, net: string) => topology.service(svc).addresses.get(net)!;

  describe("the WireGuard configs", () => {
    const wgQuick = requireTool("wg-quick", "wireguard-tools");
    it.skipIf(!wgQuick.path).each([
      ["edge", EDGE_WG_IFACE, edgeConf],
      ["cloud", CLOUD_WG_IFACE, cloudConf],
    ])("GIVEN the %s config WHEN wg-quick strips it THEN it parses and keeps the peer", (_side, ifname, conf) => {
      const path = join(tmp, `${ifname}.conf`);
      writeFileSync(path, conf, { mode: 0o600 });
      const stripped = execFileSync("wg-quick", ["strip", path], { encoding: "utf8" });
      expect(stripped).toContain("[Peer]");
      expect(stripped).not.toMatch(/^(Address|MTU|PostUp)\s*=/m);
    });

    it("GIVEN every rendered tunnel artifact THEN none carries a private key", () => {
      for (const a of artifacts) {
        expect(a.content).not.toMatch(/PrivateKey/i);
        expect(a.content).not.toContain("BEGIN PRIVATE KEY");
      }
      expect(wgLines(edgeConf, "PostUp")).toEqual(["wg set %i private-key /etc/palisade/secrets/wireguard-edge.key"]);
      expect(wgLines(cloudConf, "PostUp")).toEqual(["wg set %i private-key /etc/palisade/secrets/wireguard-cloud.key"]);
    });

    it("GIVEN the tunnel THEN AllowedIPs are exactly the peer's tunnel host routes", () => {
      expect(wgLines(edgeConf, "AllowedIPs")).toEqual([`${tun.cloud4}/32, ${tun.cloud6}/128`]);
      expect(wgLines(cloudConf, "AllowedIPs")).toEqual([`${tun.edge4}/32, ${tun.edge6}/128`]);
      for (const net of deriveNetworks(site)) expect(edgeConf + cloudConf).not.toContain(net.subnet.split("/")[0]);
    });

    it("GIVEN the edge is the responder THEN it listens on the tunnel port and names no endpoint", () => {
      expect(wgLines(edgeConf, "ListenPort")).toEqual([String(site.tunnel.port)]);
      expect(wgLines(edgeConf, "Endpoint")).toEqual([]);
      expect(wgLines(edgeConf, "PublicKey")).toEqual([site.publicKeys.wireguardCloud ?? NO_KEY_YET]);
    });

    it("GIVEN the cloud is the initiator THEN it dials the edge with a keepalive from the tunnel's fixed port (the one its firewall admits the edge to)", () => {
      expect(wgLines(cloudConf, "Endpoint")).toEqual([`${site.edge.ipv4}:${site.tunnel.port}`]);
      expect(wgLines(cloudConf, "PersistentKeepalive")).toEqual([String(site.tunnel.keepalive)]);
      expect(wgLines(cloudConf, "ListenPort")).toEqual([String(site.tunnel.port)]);
      expect(wgLines(cloudConf, "PublicKey")).toEqual([site.publicKeys.wireguardEdge ?? NO_KEY_YET]);
    });

    it("GIVEN the site's MTU THEN both ends use it", () => {
      expect(wgLines(edgeConf, "MTU")).toEqual([String(site.tunnel.mtu)]);
      expect(wgLines(cloudConf, "MTU")).toEqual([String(site.tunnel.mtu)]);
    });

    it("GIVEN the same site twice THEN the artifacts are byte-identical (deterministic)", () => {
      expect(renderTunnel(buildTopology(site))).toEqual(artifacts);
    });
  });

  describe("the failover agent's config", () => {
    const cfg = parseFailoverConfig(JSON.parse(file("hosts/cloud/failover/failover.json")));
    it("GIVEN the site's failover settings THEN the agent gets them, primary first", () => {
      expect(cfg.probeIntervalMs).toBe(site.cloud.failover.probeIntervalMs);
      expect(cfg.misses).toBe(site.cloud.failover.misses);
      expect(cfg.holdDownS).toBe(site.cloud.failover.holdDownS);
      expect(cfg.uplinks.map((u) => [u.id, u.priority])).toEqual([...site.cloud.uplinks].sort((a, b) => a.priority - b.priority).map((u) => [u.id, u.priority]));
      expect(cfg.wireguard.interface).toBe(CLOUD_WG_IFACE);
      expect(cfg.agent.script).toBe("tunnel/failover/agent.ts");
    });
    it("GIVEN each uplink THEN it has its own routing table and rule priority", () => {
      expect(new Set(cfg.uplinks.map((u) => u.table)).size).toBe(site.cloud.uplinks.length);
      expect(new Set(cfg.uplinks.map((u) => u.rulePriority)).size).toBe(site.cloud.uplinks.length);
    });
  });

  describe("the cloud host firewall", () => {
    const nft = requireTool("nft", "nftables");
    const unshare = requireTool("unshare", "util-linux");
    it.skipIf(!nft.path || !unshare.path || process.getuid?.() !== 0)("GIVEN the rendered ruleset WHEN nft checks it in a fresh network namespace THEN it is valid", () => {
      const path = join(tmp, "nftables.conf");
      writeFileSync(path, nftConf);
      execFileSync("unshare", ["-n", "nft", "-c", "-f", path], { encoding: "utf8" });
    });

    it("GIVEN the three filter chains THEN each drops by default", () => {
      for (const chain of ["input", "forward", "output"]) {
        expect(nftConf).toMatch(new RegExp(`chain ${chain} \\{\\n\\t\\ttype filter hook ${chain} priority filter; policy drop;`));
      }
    });

    it("GIVEN traffic from an uplink THEN only the tunnel's return traffic from the edge, to the WireGuard port, is accepted", () => {
      const fromUplinks = accepts("input").filter((r) => uplinkIfs.includes(r.iif ?? ""));
      expect(fromUplinks.map((r) => [r.iif, r.saddr, r.proto, r.sport, r.dport])).toEqual(
        uplinkIfs.map((i) => [i, site.edge.ipv4, "udp", String(site.tunnel.port), String(site.tunnel.port)]),
      );
      // and no input rule without an interface except loopback/conntrack
      expect(accepts("input").filter((r) => !r.iif)).toEqual([]);
    });

    it("GIVEN SSH THEN it is accepted only from the edge's tunnel address, on the tunnel", () => {
      const ssh = accepts("input").filter((r) => r.dport === "22");
      expect(ssh.map((r) => [r.iif, r.saddr, r.daddr])).toEqual([[CLOUD_WG_IFACE, tun.edge4, tun.cloud4]]);
      expect(accepts("forward").filter((r) => r.dport === "22")).toEqual([]);
    });

    it("GIVEN the tunnel interface THEN only the ingress ports and SSH are accepted from it", () => {
      const fromTunnel = accepts("input").filter((r) => r.iif === CLOUD_WG_IFACE);
      expect(fromTunnel.map((r) => r.dport).sort()).toEqual(["22", "443", "80"]);
      const ingressIp = ip("ingress", "ingress");
      const fwd = accepts("forward").filter((r) => r.iif === CLOUD_WG_IFACE);
      expect(fwd.map((r) => [r.oif, r.saddr, r.daddr, r.dport])).toEqual([
        ["br-ingress", tun.edge4, ingressIp, "80"],
        ["br-ingress", tun.edge4, ingressIp, "443"],
      ]);
    });

    it("GIVEN every declared flow between two containers THEN forward accepts it between their addresses on each bridge they share", () => {
      expect(facts.containerFlows.length).toBeGreaterThan(0);
      for (const f of facts.containerFlows) {
        const shared = [...f.from.addresses.keys()].filter((n) => f.to.addresses.has(n));
        expect(shared.length, `${f.from.id} => ${f.to.id}`).toBeGreaterThan(0);
        for (const net of shared) {
          const br = bridgeName(topology.network("cloud", net));
          expect(accepts("forward")).toContainEqual(expect.objectContaining({ iif: br, oif: br, saddr: ip(f.from.id, net), daddr: ip(f.to.id, net), proto: f.port.split("/")[0], dport: f.port.split("/")[1] }));
        }
      }
    });

    it("GIVEN every must-never pair of two containers THEN no forward rule accepts any of its addresses", () => {
      for (const [from, to] of facts.containerNevers) {
        const src = [...from.addresses.values()];
        const dst = [...to.addresses.values()];
        expect(accepts("forward").filter((r) => src.includes(r.saddr ?? "") && dst.includes(r.daddr ?? "")), `${from.id} => ${to.id}`).toEqual([]);
      }
    });

    it("GIVEN the forward chain THEN every container rule is one declared flow (nothing else between containers)", () => {
      const declared = new Set(
        topology.ledger.flows.flatMap((f) => {
          const a = topology.services.get(f.from.id);
          const b = topology.services.get(f.to.id);
          if (!a || !b || a.host.id !== "cloud" || b.host.id !== "cloud") return [];
          return [...a.addresses].filter(([n]) => b.addresses.has(n)).map(([n, s]) => `${s}>${b.addresses.get(n)}:${f.port.from}`);
        }),
      );
      const bridged = accepts("forward").filter((r) => r.iif?.startsWith("br-") && r.iif === r.oif);
      expect(new Set(bridged.map((r) => `${r.saddr}>${r.daddr}:${r.dport}`))).toEqual(declared);
    });

    it("GIVEN container egress THEN only acme reaches the internet, on tcp/443, out of its egress network via the uplinks", () => {
      const out = accepts("forward").filter((r) => uplinkIfs.includes(r.oif ?? ""));
      expect(out.map((r) => [r.iif, r.oif, r.saddr, r.dport])).toEqual(uplinkIfs.map((u) => ["br-acme-egress", u, ip("acme", "acme-egress"), "443"]));
    });

    it("GIVEN the host's own traffic THEN output allows the tunnel and the failover probe to the edge, DNS to the uplink resolvers, OpenBao for the secrets stack, nothing more", () => {
      const out = accepts("output").filter((r) => r.oif !== "lo");
      const toBridges = out.filter((r) => r.oif?.startsWith("br-"));
      const openbao = topology.service("openbao");
      expect(toBridges.map((r) => `${r.oif} ${r.daddr} ${r.proto}/${r.dport}`).sort()).toEqual(
        [...openbao.addresses].map(([net, ip]) => `br-${net} ${ip} tcp/8200`).sort(),
      );
      const viaUplinks = out.filter((r) => !r.oif?.startsWith("br-"));
      for (const r of viaUplinks) expect(uplinkIfs).toContain(r.oif);
      const toEdge = viaUplinks.filter((r) => r.daddr === site.edge.ipv4).map((r) => `${r.oif} ${r.proto}/${r.dport}`);
      expect(toEdge.sort()).toEqual(uplinkIfs.flatMap((u) => [`${u} tcp/443`, `${u} udp/${site.tunnel.port}`]).sort());
      const others = viaUplinks.filter((r) => r.daddr !== site.edge.ipv4);
      expect(others.every((r) => r.dport === "53" && site.cloud.uplinks.some((u) => u.gateway === r.daddr && u.interface === r.oif))).toBe(true);
    });

    it("GIVEN the host's own traffic THEN it reaches no database container (negative)", () => {
      const dbIps = facts.containers.filter((c) => c.props.listens.some((p) => p.toString() === "tcp/5432")).flatMap((c) => [...c.addresses.values()]);
      expect(dbIps.length).toBeGreaterThan(0);
      expect(accepts("output").filter((r) => dbIps.includes(String(r.daddr)))).toEqual([]);
    });

    it("GIVEN every rule THEN it carries a comment naming its intent", () => {
      expect(rules.length).toBeGreaterThan(20);
      for (const r of rules) expect(r.comment.length).toBeGreaterThan(3);
      for (const r of accepts("forward").filter((x) => x.iif?.startsWith("br-"))) expect(r.comment).toMatch(/ => .* : (tcp|udp)\/\d+: /);
    });
  });
});

describe("bridge names", () => {
  it("GIVEN a network id too long for a Linux bridge name THEN bridgeName says so", () => {
    expect(bridgeName({ id: "web" })).toBe("br-web");
    expect(() => bridgeName({ id: "a-very-long-name" })).toThrow(/longer than 15 characters/);
  });
});
