import { describe, expect, it } from "vitest";
import { bridgeName } from "../../tunnel/index.js";
import { runCli } from "../helpers/cli.js";
import { copyOut, editText, problemLines, verifyDirInProcess } from "./support.js";
import { dockerSiteFiles, planSite } from "./planned-sites.js";
import { esc, plannedReport, siteFacts, type SiteFacts } from "./site-facts.js";

/*
 * Mutations of the rendered firewalls an attacker would try, by class of issue 12: who the
 * internet is (1), every port (2), nftables as the kernel reads the file (3), routing and every
 * network of a multi-network container (4). Each must end in a violation that names the artifact
 * and the line. Run on every example: the class-4 mutations follow each site's own derived
 * networks (a must-never pair between two containers, the ingress's internal networks, OpenBao's
 * networks), never the reference's names.
 */

const NFT_CLOUD = "hosts/cloud/nftables.conf";
const NFT_EDGE = "hosts/edge/nftables.conf";
/** Inserts rules at the top of a chain's body (after its `type …; policy …;` line). */
const atTop = (chain: string, ...rules: string[]) => (t: string) => t.replace(new RegExp(`(chain ${chain} \\{\\n(?:\\s*#[^\\n]*\\n)?[^\\n]*policy \\w+;\\n)`), `$1${rules.map((r) => `\t\t${r}\n`).join("")}`);
/** Inserts rules right after the first line matching `after`. */
const afterLine = (after: RegExp, ...rules: string[]) => (t: string) => t.replace(new RegExp(`(${after.source}[^\\n]*\\n)`), `$1${rules.map((r) => `\t\t${r}\n`).join("")}`);
const append = (text: string) => (t: string) => `${t}${t.endsWith("\n") ? "" : "\n"}${text}\n`;

type Mutation = readonly [cls: number, name: string, file: string, edit: (t: string) => string, expected: RegExp];

/** The edge's mutations: the edge is the same platform piece on every site, its addresses are the site's. */
function edgeMutations(f: SiteFacts): Mutation[] {
  return [
    // 1. Who the internet is: any source outside the declared peers.
    [1, "accept SSH from 0.0.0.0/1 on the edge", NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, "ip saddr 0.0.0.0/1 tcp dport 22 accept"), /unexpected-exposure internet => edge(:sshd)? : tcp\/22 /],
    [1, "widen the edge's admin set with 10.0.0.0/8 (add element at the end of the file)", NFT_EDGE, append("add element inet palisade_edge admin4 { 10.0.0.0/8 }"), /unexpected-exposure internet => edge(:sshd)? : tcp\/22 .*\[from 10\.0\.0\.0\]/],
    [1, "accept SSH from IPv4-mapped IPv6 sources on the edge", NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, "ip6 saddr ::ffff:0.0.0.0/96 tcp dport 22 accept"), /unexpected-exposure internet => edge(:sshd)? : tcp\/22 .*::ffff/],
    [1, "accept IPv6 SSH on the cloud, which the site gives no public IPv6 address", NFT_CLOUD, atTop("input", "meta nfproto ipv6 tcp dport 22 accept"), /unexpected-exposure internet => cloud(:sshd)? : tcp\/22 /],
    // 2. Every port, whatever the labels say listens.
    [2, "open IMAP plaintext (tcp/143) on the edge", NFT_EDGE, afterLine(/tcp dport \{ 25, 465, 587, 993 \} accept/, "tcp dport 143 accept"), /unexpected-exposure internet => edge : tcp\/143 /],
    [2, "open a UDP port range on the edge", NFT_EDGE, afterLine(/udp dport 53 accept comment "internet => edge-dns/, "udp dport 6000-6100 accept"), /unexpected-exposure internet => edge : udp\/6000 /],
    [2, "widen the edge's web set with 8000-9000", NFT_EDGE, (t) => t.replace('tcp dport { 80, 443 } accept comment "internet', 'tcp dport { 80, 443, 8000-9000 } accept comment "internet'), /unexpected-exposure internet => edge : tcp\/8000 /],
    // 3. nftables as the kernel reads the file.
    [3, "append a rule to the edge's input chain after the table (add rule)", NFT_EDGE, append("add rule inet palisade_edge input tcp dport 3306 accept"), /unexpected-exposure internet => edge : tcp\/3306 /],
    [3, "flush the whole ruleset at the end of the edge's file", NFT_EDGE, append("flush ruleset"), /unexpected-exposure internet => edge : tcp\/1 /],
    [3, "remove the IPS ban drop for IPv4", NFT_EDGE, (t) => t.replace(/\n[^\n]*ip saddr @ips_ban4 drop[^\n]*/, ""), /ips-ban-bypass hosts\/edge\/nftables\.conf:\d+ .*ips_ban4/],
    [3, "include another file", NFT_EDGE, append('include "/etc/palisade/extra.nft"'), /nft-unsupported hosts\/edge\/nftables\.conf:\d+ include is not followed/],
    [3, "destination NAT from the edge's public port 2222 to the cloud's SSH", NFT_EDGE, append(`table ip divert {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\ttcp dport 2222 dnat to ${f.cloudTunnel4}:22\n\t}\n}`), new RegExp(`unexpected-exposure 0\\.0\\.0\\.0/0 => cloud : tcp/22 .*dnat to ${esc(f.cloudTunnel4)}:22`)],
    // Verdict maps: each selects its verdict by one field, as the kernel does.
    [3, "a port verdict map on the edge opens MySQL", NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, "tcp dport vmap { 3306 : accept, 9 : drop }"), /unexpected-exposure internet => edge : tcp\/3306 .*vmap/],
    [3, "a protocol verdict map on the edge accepts every UDP port", NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, "meta l4proto vmap { udp : accept }"), /unexpected-exposure internet => edge : udp\/\d+ .*l4proto vmap/],
    [3, "an interface verdict map on the edge accepts whatever enters from outside", NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, 'iifname vmap { "eth0" : accept, "lo" : accept }'), /unexpected-exposure internet => edge : tcp\/\d+ .*iifname vmap/],
    [3, "a drop in a prerouting base chain for the edge's web traffic", NFT_EDGE, append("table inet pre {\n\tchain p {\n\t\ttype filter hook prerouting priority -5; policy accept;\n\t\ttcp dport 443 drop\n\t}\n}"), /broken-path .*: tcp\/443 /],
  ];
}

/** Class 4 on the site's own networks: every network of a multi-network container, and every uplink. */
function routingMutations(f: SiteFacts): Mutation[] {
  const out: Mutation[] = [];
  // A must-never pair between two containers that only the Docker networks and the cloud
  // firewall keep apart (not the ingress, whose HAProxy is a third layer), opened from a network
  // of a multi-network source: up to two such pairs with distinct sources.
  const seen = new Set<string>();
  for (const [x, y] of f.containerNevers) {
    const from = f.attachments(x);
    const twoLayers = f.neverLayers(x.id, y.id).join() === "docker-network,nftables:cloud";
    if (!twoLayers || from.length < 2 || seen.has(x.id) || y.props.listens.length === 0 || seen.size >= 2) continue;
    seen.add(x.id);
    const a = from.at(-1)!;
    const b = f.attachments(y)[0]!;
    const port = f.port(y).split("/");
    out.push([4, `accept ${x.id}'s network ${bridgeName(a.network)} to ${y.id} (a must-never pair)`, NFT_CLOUD, atTop("forward", `iifname "${bridgeName(a.network)}" oifname "${bridgeName(b.network)}" ip saddr ${a.ip} ${port[0]} dport ${port[1]} accept`), new RegExp(`single-layer ${esc(x.id)} => ${esc(y.id)} .*routed from ${esc(a.network.dockerName)} to ${esc(b.network.dockerName)}.*opened by nftables:cloud`)]);
  }
  const ingress = f.topology.service("ingress");
  // The ingress sits on an internal network per routed service and ACME's: its first and its last
  // are each evaluated (not only the container's first network), each through its own uplink.
  const inners = f.attachments(ingress).filter((a) => a.network.internal);
  for (const [inner, uplink] of [...new Map([[inners[0]!, f.uplinks[0]!], [inners.at(-1)!, f.uplinks.at(-1)!]])]) {
    out.push([4, `let the ingress's internal network ${bridgeName(inner.network)} out to the internet through ${uplink}`, NFT_CLOUD, atTop("forward", `iifname "${bridgeName(inner.network)}" oifname "${uplink}" ip saddr ${inner.ip} accept`), new RegExp(`single-layer ingress => internet .*${esc(inner.network.dockerName)}`)]);
  }
  const bao = f.attachments(f.topology.service("openbao")).at(-1)!;
  out.push([4, `let OpenBao's network ${bridgeName(bao.network)} out through the last uplink`, NFT_CLOUD, atTop("forward", `iifname "${bridgeName(bao.network)}" oifname "${f.uplinks.at(-1)}" accept`), new RegExp(`single-layer openbao => internet .*${esc(bao.network.dockerName)}`)]);
  return out;
}

/** The accept in an earlier base chain continues to the next one (the edge's, which drops): no finding. */
const EARLIER_CHAIN = append("table inet early {\n\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n\t\ttcp dport 22 accept\n\t}\n}");

/** Every site, planned once (shared by the run), with the facts its mutations are aimed by. */
const sites: { name: string; file: string; dir: string; facts: SiteFacts; mutations: Mutation[] }[] = [];
for (const s of dockerSiteFiles()) {
  const dir = await planSite(s.file);
  const facts = siteFacts(s.file, dir);
  sites.push({ ...s, dir, facts, mutations: [...edgeMutations(facts), ...routingMutations(facts)] });
}

describe.each(sites)("mutating the rendered firewalls of $name (issue 12, classes 1-4)", ({ dir: planned, mutations }) => {
  const baseline = problemLines(plannedReport(planned));

  it("GIVEN the good plan WHEN verified THEN it has no violation", () => {
    expect(baseline).toEqual([]);
  });

  it.each(mutations)("GIVEN class %i: %s WHEN verified THEN a violation names the artifact and the line", (_cls, _name, path, edit, expected) => {
    const dir = copyOut(planned);
    editText(dir, path, edit);
    const report = verifyDirInProcess(dir);
    const hits = report.findings.filter((x) => x.severity === "violation" && expected.test(`${x.kind} ${x.subject} ${x.message}`));
    expect(hits.length, `expected ${expected} among:\n${problemLines(report).join("\n")}`).toBeGreaterThan(0);
    expect(hits.some((x) => x.artifact === path && typeof x.line === "number" && x.line > 0), `a finding naming ${path} and a line among ${JSON.stringify(hits.map((x) => [x.artifact, x.line]))}`).toBe(true);
    expect(baseline.some((l) => expected.test(l))).toBe(false);
  });

  it("GIVEN an accept in a base chain at an earlier priority WHEN verified THEN the edge's own chain still drops: no exposure", () => {
    const dir = copyOut(planned);
    editText(dir, NFT_EDGE, EARLIER_CHAIN);
    expect(problemLines(verifyDirInProcess(dir))).toEqual([]);
  });

  it("GIVEN the mutations WHEN counted by class THEN each class has at least three on this site", () => {
    for (const cls of [1, 2, 3, 4]) expect(mutations.filter((m) => m[0] === cls).length, `class ${cls}`).toBeGreaterThanOrEqual(3);
  });
});

describe("a firewall mutation through the real CLI", () => {
  it("GIVEN the reference's edge opened to 0.0.0.0/1 on SSH WHEN palisade verify runs THEN it exits 1 and prints the exposure", async () => {
    const dir = copyOut(sites[0]!.dir);
    editText(dir, NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, "ip saddr 0.0.0.0/1 tcp dport 22 accept"));
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/unexpected-exposure|internet => edge/);
  });
});
