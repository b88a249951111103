import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { deploy, stackOrder, type DeployOptions } from "../../stacks/ops/deploy.js";
import { HOST_CONFIG_ROOT, hostInstallScript, renderedHostFiles, SYSCTL_BOOT_DIR } from "../../stacks/ops/host-install.js";
import { readArtifacts } from "../../stacks/output.js";
import { edgeForwardFamilies } from "../../core/index.js";
import { ensureKeys, publicKeysYaml, siteKeys } from "../../stacks/ops/keys.js";
import { stackSpec } from "../../stacks/docker-spec.js";
import { buildTopology } from "../../stacks/platform.js";
import { examples } from "../helpers/examples.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { sandbox } from "./standins.js";

/*
 * keys and deploy on every example, of one site or several: one WireGuard key per site, named as
 * the site's rendered tunnel reads it; the stacks in the model's order (the edge, each site, the
 * secrets); each site's host checked, given its files and its own key. Stand-in engines and ssh
 * (no providers or Pulumi CLI here).
 */

const SUITE = "(stand-in engines: no providers or Pulumi CLI here)";
const multi = examples.filter((e) => e.site.sites.length > 1);
const planned: { name: string; e: (typeof examples)[number]; dir: string }[] = [];
for (const e of examples) planned.push({ name: e.name, e, dir: (await planOnce(e.file)).dir });

const postUpKey = (conf: string) => /^PostUp = wg set %i private-key (\S+)$/m.exec(conf)?.[1];

describe.each(planned)("palisade keys and the host install on the $name example", ({ e, dir }) => {
  it("GIVEN the platform WHEN its keys are listed THEN each site has its own WireGuard key, read by that site's host", () => {
    const wg = siteKeys(e.site).filter((k) => k.kind === "wireguard" && k.host !== "edge");
    expect(wg.map((k) => k.host)).toEqual(e.site.sites.map((s) => s.id));
    expect(new Set(wg.map((k) => k.file)).size).toBe(e.site.sites.length);
  });

  it.each(e.site.sites.map((s) => s.id))("GIVEN site %s WHEN deploy's install script reloads its tunnel THEN it loads the key file the rendered wg-cloud.conf's PostUp reads", (id) => {
    const s = e.site.sites.find((x) => x.id === id)!;
    const conf = readFileSync(join(dir, `hosts/${id}/wireguard/wg-cloud.conf`), "utf8");
    const rendered = [{ path: "wireguard/wg-cloud.conf", content: conf, mode: 0o644 }];
    const script = hostInstallScript({ host: id, rendered, keys: [], reload: true, wireguardKeyFile: `${s.keyFile}.key` });
    expect(postUpKey(conf)).toBeDefined();
    expect(script).toContain(`wg set wg-cloud private-key ${postUpKey(conf)}`);
  });

  it("GIVEN the edge's rendered files WHEN its install script runs under a temp root THEN each sysctl drop-in is there and linked from /etc/sysctl.d (read at boot), only where the edge forwards; a later install without it removes the link and nothing of the operator's", () => {
    const edge = renderedHostFiles(readArtifacts(dir), "edge");
    const dropIns = edge.filter((f) => f.path.startsWith("sysctl.d/"));
    // Drop-ins exactly where the model says the edge routes between sites.
    expect(dropIns.length > 0).toBe(edgeForwardFamilies(e.site).length > 0);
    const root = tempDir("install-sysctl");
    const run = (files: typeof edge) => spawnSync("sh", ["-s", "--", root], { input: hostInstallScript({ host: "edge", rendered: files, keys: [], reload: false }), encoding: "utf8" });
    const first = run(edge);
    expect(first.status, first.stderr).toBe(0);
    const boot = join(root, SYSCTL_BOOT_DIR);
    for (const f of dropIns) {
      const name = f.path.slice("sysctl.d/".length);
      expect(readFileSync(join(root, HOST_CONFIG_ROOT, f.path), "utf8")).toBe(f.content);
      expect(lstatSync(join(boot, name)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(boot, name))).toBe(`${HOST_CONFIG_ROOT}/${f.path}`);
    }
    if (!dropIns.length) return expect(existsSync(boot) ? readdirSync(boot) : []).toEqual([]);
    writeFileSync(join(boot, "10-operator.conf"), "vm.swappiness = 10\n");
    symlinkSync("/usr/lib/sysctl.d/50-default.conf", join(boot, "50-default.conf"));
    const second = run(edge.filter((f) => !dropIns.includes(f)));
    expect(second.status, second.stderr).toBe(0);
    expect(readdirSync(boot).sort()).toEqual(["10-operator.conf", "50-default.conf"]);
    expect(existsSync(join(root, HOST_CONFIG_ROOT, dropIns[0]!.path))).toBe(false);
  });

  it("GIVEN the edge's install script with reload THEN each sysctl drop-in is applied (sysctl -p, in name order) after the firewall is loaded and before the tunnel", () => {
    const edge = renderedHostFiles(readArtifacts(dir), "edge");
    const dropIns = edge.filter((f) => f.path.startsWith("sysctl.d/"));
    const s = hostInstallScript({ host: "edge", rendered: edge, keys: [], reload: true, wireguardKeyFile: "wireguard-edge.key" });
    const applied = [...s.matchAll(/^sysctl -p "\$P\/(\S+)"$/gm)].map((m) => m[1]);
    expect(applied).toEqual(dropIns.map((f) => f.path).sort());
    if (!dropIns.length) return;
    const at = s.indexOf("sysctl -p");
    expect(at).toBeGreaterThan(s.indexOf('nft -f "$P/nftables.conf"'));
    expect(at).toBeLessThan(s.indexOf("wg syncconf"));
  });

  it("GIVEN keys created WHEN their public halves are printed THEN each site's key is named with the field it goes in", () => {
    const r = ensureKeys(e.site, tempDir("keys-sites"));
    const yaml = publicKeysYaml(r.publicKeys);
    for (const [i, s] of e.site.sites.entries()) {
      const field = s.path === "cloud" ? "publicKeys.wireguardCloud" : `sites[${i}].publicKey`;
      expect(r.publicKeys.sites[i]).toMatchObject({ id: s.id, field });
      expect(yaml).toContain(r.publicKeys.sites[i]!.key!);
    }
    expect(new Set(r.publicKeys.sites.map((s) => s.key)).size).toBe(e.site.sites.length);
  });
});

const sshDest = (dockerHost: string) => dockerHost.replace(/^ssh:\/\//, "").replace(/:\d+$/, "");

describe.each(multi.map((e) => ({ name: e.name, e })))(`palisade deploy on the $name example (several sites) ${SUITE}`, ({ e }) => {
  const make = () => sandbox({ data: () => parse(e.text) });
  const opts = (over: Partial<DeployOptions> = {}): DeployOptions => ({ siteFile: "palisade.yaml", outDir: "out", engine: "cdktf", yes: true, secretsDir: ".palisade/secrets", skipSshCheck: false, ...over });

  it("GIVEN every precondition WHEN deploy --yes runs THEN the edge, each site and the secrets are applied in that order, each host checked and given its files", async () => {
    const sb = make();
    expect(await deploy(opts(), sb.ctx())).toBe(0);
    const order = ["edge", ...e.site.sites.map((s) => s.id), "secrets"];
    expect(stackOrder(sb.site)).toEqual(order);
    const applies = sb.calls().filter((c) => c.tool === "tofu" && c.args.includes("apply"));
    expect(applies.map((c) => c.args[0])).toEqual(order.map((s) => `-chdir=out/cdktf/stacks/${s}`));
    const t = buildTopology(sb.site);
    const hosts = order.filter((s) => s !== "secrets").map((s) => sshDest(stackSpec(t, s).dockerHost));
    // One check per host, then one install before each host's stack.
    expect(sb.calls().filter((c) => c.tool === "ssh").map((c) => c.args.at(-2))).toEqual([...hosts, ...hosts]);
  });

  it("GIVEN --stack of the second site WHEN deploy runs THEN only that stack is applied and only its host is checked", async () => {
    const sb = make();
    const id = e.site.sites[1]!.id;
    expect(await deploy(opts({ stack: id }), sb.ctx())).toBe(0);
    expect(sb.calls().filter((c) => c.tool === "tofu" && c.args.includes("apply")).map((c) => c.args[0])).toEqual([`-chdir=out/cdktf/stacks/${id}`]);
    expect(new Set(sb.calls().filter((c) => c.tool === "ssh").map((c) => c.args.at(-2)))).toEqual(new Set([sshDest(stackSpec(buildTopology(sb.site), id).dockerHost)]));
  });

  it("GIVEN --stack cloud (the one-site form's name) WHEN deploy runs THEN it is refused, listing this platform's stacks, and nothing runs", async () => {
    const sb = make();
    await expect(deploy(opts({ stack: "cloud" }), sb.ctx())).rejects.toThrow(`is not one of this platform's stacks (${stackOrder(sb.site).join(", ")})`);
    expect(sb.calls()).toEqual([]);
  });

  it("GIVEN a site's key pasted from another site WHEN deploy runs THEN it refuses naming that site's publicKey field", async () => {
    const sb = make();
    const data = parse(readFileSync(sb.siteFile, "utf8"));
    data.sites[1].publicKey = data.sites[0].publicKey;
    writeFileSync(sb.siteFile, stringify(data));
    await expect(deploy(opts(), sb.ctx())).rejects.toThrow(/sites\[1\]\.publicKey in palisade\.yaml does not match wireguard-\S+\.key/);
  });
});
