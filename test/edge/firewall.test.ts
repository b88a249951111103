import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { EDGE_BAN_SETS, EDGE_DROP_LOG_PREFIX, EDGE_WG_IFACE, renderFirewall } from "../../edge/index.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";
import { nftChain, nftSet, referenceSite, rulePorts, run, siteWith, tempDir, topology, writeFile } from "./edge-test-kit.js";

const t = topology();
const conf = renderFirewall(t).content;
const input = nftChain(conf, "input");
const output = nftChain(conf, "output");
const forward = nftChain(conf, "forward");
const accepts = (rules: readonly string[]) => rules.filter((r) => / accept( |$)/.test(r));

describe("edge firewall (nftables.conf)", () => {
  it("GIVEN the reference site WHEN the firewall is rendered THEN input, forward and output all default to drop", () => {
    expect(input.policy).toBe("drop");
    expect(forward.policy).toBe("drop");
    expect(output.policy).toBe("drop");
    expect(conf).not.toMatch(/policy accept/);
  });

  it("GIVEN the reference site WHEN rendered THEN the forward chain accepts nothing (HAProxy runs on the host)", () => {
    expect(forward.rules).toEqual([]);
  });

  it("GIVEN the ban sets WHEN the input chain is read in order THEN both are checked before the first accept", () => {
    const firstAccept = input.rules.findIndex((r) => / accept( |$)/.test(r));
    const ban4 = input.rules.findIndex((r) => r.startsWith(`ip saddr @${EDGE_BAN_SETS.v4} drop`));
    const ban6 = input.rules.findIndex((r) => r.startsWith(`ip6 saddr @${EDGE_BAN_SETS.v6} drop`));
    expect(ban4).toBeGreaterThanOrEqual(0);
    expect(ban6).toBeGreaterThanOrEqual(0);
    expect(ban4).toBeLessThan(firstAccept);
    expect(ban6).toBeLessThan(firstAccept);
    expect(conf).toMatch(new RegExp(`set ${EDGE_BAN_SETS.v4} \\{\\s*type ipv4_addr\\s*flags timeout`));
    expect(conf).toMatch(new RegExp(`set ${EDGE_BAN_SETS.v6} \\{\\s*type ipv6_addr\\s*flags timeout`));
  });

  it("GIVEN the admin CIDRs WHEN rendered THEN SSH is accepted only from the admin sets, split by family", () => {
    const ssh = input.rules.filter((r) => rulePorts(r, "tcp").includes(22));
    expect(ssh).toEqual([
      'ip saddr @admin4 tcp dport 22 accept comment "admin => edge:sshd: administration"',
      'ip6 saddr @admin6 tcp dport 22 accept comment "admin => edge:sshd: administration"',
    ]);
    expect(nftSet(conf, "admin4")).toEqual(["198.51.100.64/28"]);
    expect(nftSet(conf, "admin6")).toEqual(["2001:db8:ad::/48"]);
  });

  it("GIVEN any rule that opens port 22 WHEN it is read THEN none accepts SSH from everyone", () => {
    const open = accepts(input.rules).filter((r) => rulePorts(r, "tcp").includes(22) && !/saddr @admin[46] /.test(r));
    expect(open).toEqual([]);
  });

  it("GIVEN a site with other admin CIDRs WHEN rendered THEN the admin sets follow the site and the old range is gone", () => {
    const other = renderFirewall(topology(siteWith((s) => (s.site.adminCidrs = ["192.0.2.128/25"])))).content;
    expect(nftSet(other, "admin4")).toEqual(["192.0.2.128/25"]);
    expect(other).not.toContain("set admin6");
    expect(other).not.toContain("198.51.100.64/28");
  });

  it("GIVEN the intent WHEN rendered THEN the public (source-less) accepts are exactly the ports the intent opens from the internet to the edge", () => {
    const pub = accepts(input.rules).filter((r) => /dport/.test(r) && !/saddr|iifname/.test(r));
    const rendered = [...new Set(pub.flatMap((r) => [...rulePorts(r, "tcp").map((p) => `tcp/${p}`), ...rulePorts(r, "udp").map((p) => `udp/${p}`)]))].sort();
    const intended = [...new Set(t.ledger.flows.filter((f) => f.from.id === "internet" && /^edge[-:]/.test(f.to.id)).map((f) => String(f.port)))].sort();
    expect(rendered).toEqual(intended);
    expect(rendered).toEqual(expect.arrayContaining(["tcp/25", "tcp/53", "tcp/80", "tcp/443", "tcp/465", "tcp/587", "tcp/993", "udp/53"]));
    expect(rendered).not.toContain("tcp/22");
  });

  it("GIVEN each accept rule derived from intent WHEN read THEN it carries the flow and its reason as a comment", () => {
    expect(input.rules).toContain('tcp dport { 80, 443 } accept comment "internet => edge-proxy: public web; TLS passes through to the cloud"');
    for (const r of accepts(input.rules).filter((r) => /dport/.test(r))) expect(r).toMatch(/ comment "[^"]+ => [^"]+: [^"]+"$/);
  });

  it("GIVEN the tunnel WHEN rendered THEN WireGuard is accepted on the site's port from the sources the intent names, and moves with the port", () => {
    const wg = input.rules.filter((r) => rulePorts(r, "udp").includes(51820));
    const wgFlows = t.ledger.flows.filter((f) => f.to.id === "edge:wireguard");
    expect(wgFlows.length).toBeGreaterThan(0);
    for (const f of wgFlows) expect(wg.some((r) => r.includes(`"${f.from.id} => edge:wireguard:`))).toBe(true);
    expect(nftSet(conf, "cloud_public4")).toEqual(["198.51.100.20", "198.51.100.36"]);
    const moved = renderFirewall(topology(siteWith((s) => (s.tunnel.port = 41000)))).content;
    expect(moved).toContain("udp dport 41000 accept");
    expect(moved).not.toContain("51820");
  });

  it("GIVEN the api's transactional mail WHEN rendered THEN 587 from the tunnel is accepted only on the tunnel interface from the cloud's tunnel address", () => {
    const tun = input.rules.filter((r) => r.includes(`iifname "${EDGE_WG_IFACE}"`));
    expect(tun).toEqual([
      'iifname "wg-edge" ip saddr 10.77.0.2 tcp dport 587 accept comment "api => edge-mail: transactional mail (via tunnel)"',
      'iifname "wg-edge" ip6 saddr fd77::2 tcp dport 587 accept comment "api => edge-mail: transactional mail (via tunnel)"',
    ]);
  });

  it("GIVEN floods and scans WHEN rendered THEN a per-source meter drops new-connection floods before the accepts and the last rule logs for the portscan jail", () => {
    const meter = input.rules.findIndex((r) => r.startsWith("ct state new add @flood4 { ip saddr limit rate over"));
    const firstPortAccept = input.rules.findIndex((r) => /dport .* accept/.test(r));
    expect(meter).toBeGreaterThan(0);
    expect(meter).toBeLessThan(firstPortAccept);
    expect(conf).toMatch(/set flood4 \{[^}]*flags dynamic,timeout[^}]*timeout 60s/s);
    expect(input.rules.at(-1)).toContain(`log prefix "${EDGE_DROP_LOG_PREFIX}"`);
  });

  it("GIVEN ICMP WHEN rendered THEN echo is rate-limited and IPv6 neighbour discovery and PMTU errors pass", () => {
    expect(input.rules.some((r) => r.startsWith("icmp type echo-request limit rate"))).toBe(true);
    const v6 = input.rules.filter((r) => r.startsWith("icmpv6 type")).join("\n");
    for (const t of ["nd-neighbor-solicit", "nd-neighbor-advert", "nd-router-advert", "packet-too-big", "time-exceeded", "parameter-problem", "destination-unreachable"]) {
      expect(v6).toContain(t);
    }
    expect(input.rules.some((r) => /^icmp type echo-request accept/.test(r))).toBe(false);
  });

  it("GIVEN the output chain WHEN rendered THEN the edge reaches the cloud only over the tunnel, at the ports the intent gives it", () => {
    const toCloud = output.rules.filter((r) => r.includes("10.77.0.2") || r.includes(EDGE_WG_IFACE));
    expect(toCloud).toContain(
      'oifname "wg-edge" ip daddr 10.77.0.2 tcp dport { 80, 443 } accept comment "edge-proxy => ingress: app, git, blog traffic over the tunnel (PROXY protocol)"',
    );
    for (const r of toCloud) expect(r).toMatch(/^oifname "wg-edge" ip daddr 10\.77\.0\.2 tcp dport /);
    const toCloudPorts = toCloud.flatMap((r) => rulePorts(r, "tcp"));
    expect(toCloudPorts).not.toContain(5432);
    expect(toCloudPorts).not.toContain(8200);
  });

  it("GIVEN the output chain WHEN rendered THEN the edge may send only SMTP, DNS and its tunnel flows, with no source-port rule", () => {
    const outPorts = [...new Set(accepts(output.rules).flatMap((r) => [...rulePorts(r, "tcp").map((p) => `tcp/${p}`), ...rulePorts(r, "udp").map((p) => `udp/${p}`)]))];
    const tunnelPorts = t.ledger.flows.filter((f) => f.from.id.startsWith("edge") && f.to.zone.name === "cloud").map((f) => String(f.port));
    expect(outPorts.sort()).toEqual([...new Set(["tcp/25", "tcp/53", "udp/53", ...tunnelPorts])].sort());
    expect(output.rules.some((r) => / sport /.test(r))).toBe(false);
    expect(input.rules.some((r) => / sport /.test(r))).toBe(false);
  });

  it("GIVEN a reason longer than nft allows WHEN rendered THEN every comment fits in 128 bytes", () => {
    for (const r of [...input.rules, ...output.rules]) {
      const c = / comment "([^"]*)"$/.exec(r)?.[1];
      if (c) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(128);
    }
  });

  it("GIVEN the reference site WHEN rendered twice THEN the output is identical and matches the snapshot", async () => {
    expect(renderFirewall(topology(referenceSite())).content).toBe(conf);
    await expect(conf).toMatchFileSnapshot("__snapshots__/nftables.conf");
  });
});

const nft = requireTool("nft", "nftables");
describeRoot("edge firewall checked by nft -c in a private network namespace", () => {
  it.skipIf(!nft.path)("GIVEN the rendered ruleset WHEN nft -c -f checks it THEN it is valid", () => {
    const file = writeFile(join(tempDir("nft"), "nftables.conf"), conf);
    const r = run("unshare", ["-n", nft.path ?? "nft", "-c", "-f", file]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.skipIf(!nft.path)("GIVEN a ruleset with a misspelt verdict WHEN nft -c -f checks it THEN it is rejected", () => {
    const file = writeFile(join(tempDir("nft-bad"), "nftables.conf"), conf.replace('iifname "lo" accept', 'iifname "lo" acept'));
    const r = run("unshare", ["-n", nft.path ?? "nft", "-c", "-f", file]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/syntax error|Error/);
  });

  it.skipIf(!nft.path)("GIVEN the ruleset loaded in a namespace WHEN loaded a second time THEN the reload is idempotent and the ban sets exist", () => {
    const file = writeFile(join(tempDir("nft-load"), "nftables.conf"), conf);
    const script = `${nft.path} -f ${file} && ${nft.path} -f ${file} && ${nft.path} list set inet palisade_edge ${EDGE_BAN_SETS.v4} && ${nft.path} list tables`;
    const r = run("unshare", ["-n", "sh", "-c", script]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.match(/table inet palisade_edge/g)?.length).toBe(2);
  });
});
