import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";
import { dockerSiteFiles } from "../policies/planned-sites.js";

/*
 * The kernel's own checker on every host firewall of every example: `nft -c -f` in a throwaway
 * network namespace (`unshare -n`), so that nothing is loaded into this machine's ruleset. A file
 * nft refuses would leave the host on its previous ruleset. (The haproxy, knot and shellcheck
 * checkers of every rendered file are in checkers.test.ts; this one needs root and a namespace.)
 */

const nft = requireTool("nft", "nftables");
const planned: { name: string; dir: string; hosts: string[] }[] = [];
for (const s of dockerSiteFiles()) {
  const dir = (await planOnce(s.file)).dir;
  planned.push({ name: s.name, dir, hosts: readdirSync(join(dir, "hosts")).filter((h) => readdirSync(join(dir, "hosts", h)).includes("nftables.conf")).sort() });
}
const check = (text: string) => {
  const file = join(tempDir("nftc"), "nftables.conf");
  writeFileSync(file, text, { mode: 0o600 });
  const r = spawnSync("unshare", ["-n", nft.path ?? "nft", "-c", "-f", file], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};

describeRoot("nft -c -f on every host's rendered nftables.conf of every example, in a private network namespace", () => {
  const cases = planned.flatMap((p) => p.hosts.map((host) => [p.name, host, p.dir] as const));

  it("GIVEN the examples WHEN their hosts are listed THEN each has an edge and a cloud firewall", () => {
    for (const p of planned) expect(p.hosts, p.name).toEqual(expect.arrayContaining(["cloud", "edge"]));
  });

  it.skipIf(!nft.path).each(cases)("GIVEN %s's %s firewall WHEN nft -c -f checks it THEN the kernel accepts it", (_name, host, dir) => {
    const r = check(readFileSync(join(dir, "hosts", host, "nftables.conf"), "utf8"));
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  it.skipIf(!nft.path)("GIVEN a cloud firewall with a rule nft cannot parse WHEN nft -c -f checks it THEN it is refused (negative control)", () => {
    const text = readFileSync(join(planned[0]!.dir, "hosts", "cloud", "nftables.conf"), "utf8").replace(/(chain forward \{\n[^\n]*policy drop;\n)/, "$1\t\ttcp dport 5432 acept\n");
    const r = check(text);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/Error/);
  });
});
