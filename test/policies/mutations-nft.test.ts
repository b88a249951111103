import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut, editText, problemLines, verifyDirInProcess } from "./support.js";

/*
 * Mutations of the rendered firewalls an attacker would try, by class of issue 12: who the
 * internet is (1), every port (2), nftables as the kernel reads the file (3), routing and every
 * network of a multi-network container (4). Each must end in exit 1 with a violation that names
 * the artifact and the line.
 */
const planned = await planOnce();
const baseline = problemLines(verifyDirInProcess(planned.dir));

const NFT_CLOUD = "hosts/cloud/nftables.conf";
const NFT_EDGE = "hosts/edge/nftables.conf";
/** Inserts rules at the top of a chain's body (after its `type …; policy …;` line). */
const atTop = (chain: string, ...rules: string[]) => (t: string) => t.replace(new RegExp(`(chain ${chain} \\{\\n(?:\\s*#[^\\n]*\\n)?[^\\n]*policy \\w+;\\n)`), `$1${rules.map((r) => `\t\t${r}\n`).join("")}`);
/** Inserts rules right after the first line matching `after`. */
const afterLine = (after: RegExp, ...rules: string[]) => (t: string) => t.replace(new RegExp(`(${after.source}[^\\n]*\\n)`), `$1${rules.map((r) => `\t\t${r}\n`).join("")}`);
const append = (text: string) => (t: string) => `${t}${t.endsWith("\n") ? "" : "\n"}${text}\n`;

type Mutation = readonly [cls: number, name: string, file: string, edit: (t: string) => string, expected: RegExp];

const MUTATIONS: readonly Mutation[] = [
  // 1. Who the internet is: any source outside the declared peers.
  [1, "accept SSH from 0.0.0.0/1 on the edge", NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, "ip saddr 0.0.0.0/1 tcp dport 22 accept"), /unexpected-exposure internet => edge(:sshd)? : tcp\/22 /],
  [1, "widen the edge's admin set with 10.0.0.0/8 (add element at the end of the file)", NFT_EDGE, append("add element inet palisade_edge admin4 { 10.0.0.0/8 }"), /unexpected-exposure internet => edge(:sshd)? : tcp\/22 .*\[from 10\.0\.0\.0\]/],
  [1, "accept SSH from IPv4-mapped IPv6 sources on the edge", NFT_EDGE, afterLine(/ip6 saddr @ips_ban6 drop/, "ip6 saddr ::ffff:0.0.0.0/96 tcp dport 22 accept"), /unexpected-exposure internet => edge(:sshd)? : tcp\/22 .*::ffff/],
  [1, "accept IPv6 SSH on the cloud, which the site gives no public IPv6 address", NFT_CLOUD, atTop("input", "meta nfproto ipv6 tcp dport 22 accept"), /unexpected-exposure internet => cloud(:sshd)? : tcp\/22 /],
  // 2. Every port, whatever the labels say listens.
  [2, "open IMAP plaintext (tcp/143) on the edge", NFT_EDGE, afterLine(/tcp dport \{ 25, 465, 587, 993 \} accept/, "tcp dport 143 accept"), /unexpected-exposure internet => edge : tcp\/143 /],
  [2, "open a UDP port range on the edge", NFT_EDGE, afterLine(/udp dport 53 accept comment "internet => edge-dns/, "udp dport 6000-6100 accept"), /unexpected-exposure internet => edge : udp\/6000 /],
  [2, "widen the edge's web set with 8000-9000", NFT_EDGE, (t) => t.replace("tcp dport { 80, 443 } accept comment \"internet", "tcp dport { 80, 443, 8000-9000 } accept comment \"internet"), /unexpected-exposure internet => edge : tcp\/8000 /],
  // 3. nftables as the kernel reads the file.
  [3, "append a rule to the edge's input chain after the table (add rule)", NFT_EDGE, append("add rule inet palisade_edge input tcp dport 3306 accept"), /unexpected-exposure internet => edge : tcp\/3306 /],
  [3, "flush the whole ruleset at the end of the edge's file", NFT_EDGE, append("flush ruleset"), /unexpected-exposure internet => edge : tcp\/1 /],
  [3, "remove the IPS ban drop for IPv4", NFT_EDGE, (t) => t.replace(/\n[^\n]*ip saddr @ips_ban4 drop[^\n]*/, ""), /ips-ban-bypass hosts\/edge\/nftables\.conf:\d+ .*ips_ban4/],
  [3, "accept SSH from the admin range before the ban in a second base chain at an earlier priority", NFT_EDGE, append("table inet early {\n\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n\t\ttcp dport 22 accept\n\t}\n}"), /^$/],
  [3, "include another file", NFT_EDGE, append('include "/etc/palisade/extra.nft"'), /nft-unsupported hosts\/edge\/nftables\.conf:\d+ include is not followed/],
  [3, "destination NAT from the edge's public port 2222 to the cloud's SSH", NFT_EDGE, append("table ip divert {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\ttcp dport 2222 dnat to 10.77.0.2:22\n\t}\n}"), /unexpected-exposure 0\.0\.0\.0\/0 => cloud : tcp\/22 .*dnat to 10\.77\.0\.2:22/],
  [3, "a drop in a prerouting base chain for the edge's web traffic", NFT_EDGE, append("table inet pre {\n\tchain p {\n\t\ttype filter hook prerouting priority -5; policy accept;\n\t\ttcp dport 443 drop\n\t}\n}"), /broken-path .*: tcp\/443 /],
  // 4. Routing: every network of a multi-network container.
  [4, "accept the frontend's second network (br-frontend) to postgres", NFT_CLOUD, atTop("forward", 'iifname "br-frontend" oifname "br-postgres" ip saddr 172.20.192.11 tcp dport 5432 accept'), /single-layer frontend => postgres .*routed from cloud-frontend to cloud-postgres.*opened by nftables:cloud/],
  [4, "accept gitea's second network (br-gitea-db) to OpenBao", NFT_CLOUD, atTop("forward", 'iifname "br-gitea-db" oifname "br-openbao" ip saddr 172.20.224.10 tcp dport 8200 accept'), /single-layer gitea => openbao .*routed from cloud-gitea-db to cloud-openbao/],
  [4, "let the ingress's internal network br-frontend out to the internet", NFT_CLOUD, atTop("forward", 'iifname "br-frontend" oifname "fiber0" ip saddr 172.20.192.10 accept'), /single-layer ingress => internet .*cloud-frontend/],
  [4, "let OpenBao's second network (br-postgres) out through the cellular uplink", NFT_CLOUD, atTop("forward", 'iifname "br-postgres" oifname "wwan0" accept'), /single-layer openbao => internet .*cloud-postgres/],
];

/** The accept in an earlier base chain continues to the next one (the edge's, which drops): no finding. */
const NOT_A_FINDING = "accept SSH from the admin range before the ban in a second base chain at an earlier priority";

describe("mutating the rendered firewalls (issue 12, classes 1-4)", () => {
  it("GIVEN the good plan WHEN verified THEN it has no violation", () => {
    expect(baseline).toEqual([]);
  });

  it.each(MUTATIONS.filter((m) => m[1] !== NOT_A_FINDING))("GIVEN class %i: %s WHEN palisade verify runs THEN it exits 1 with a finding naming the artifact and the line", async (_cls, _name, file, edit, expected) => {
    const dir = copyOut(planned.dir);
    editText(dir, file, edit);
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(1);
    const report = verifyDirInProcess(dir);
    const hits = report.findings.filter((f) => f.severity === "violation" && expected.test(`${f.kind} ${f.subject} ${f.message}`));
    expect(hits.length, `expected ${expected} among:\n${problemLines(report).join("\n")}`).toBeGreaterThan(0);
    expect(hits.some((f) => f.artifact === file && typeof f.line === "number" && f.line > 0), `a finding naming ${file} and a line among ${JSON.stringify(hits.map((f) => [f.artifact, f.line]))}`).toBe(true);
    expect(baseline.some((l) => expected.test(l))).toBe(false);
  });

  it("GIVEN an accept in a base chain at an earlier priority WHEN verified THEN the edge's own chain still drops: no exposure", () => {
    const m = MUTATIONS.find((x) => x[1] === NOT_A_FINDING)!;
    const dir = copyOut(planned.dir);
    editText(dir, m[2], m[3]);
    expect(problemLines(verifyDirInProcess(dir))).toEqual([]);
  });

  it("GIVEN the mutations WHEN counted by class THEN each class has at least three", () => {
    for (const cls of [1, 2, 3, 4]) expect(MUTATIONS.filter((m) => m[0] === cls && m[1] !== NOT_A_FINDING).length).toBeGreaterThanOrEqual(3);
  });
});
