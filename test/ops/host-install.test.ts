import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { edgeForwardFamilies, loadSite } from "../../core/index.js";
import { deploy, type DeployOptions } from "../../stacks/ops/deploy.js";
import { HOST_CONFIG_ROOT, hostInstallScript, hostKeyFiles, INSTALLED_LIST, REMOTE_INSTALL_COMMAND, renderedHostFiles, type HostFile } from "../../stacks/ops/host-install.js";
import { planArtifacts } from "../../stacks/plan.js";
import { readArtifacts } from "../../stacks/output.js";
import { examples } from "../helpers/examples.js";
import { planOnce } from "../helpers/plan-once.js";
import { CLOUD_FIREWALL_TABLE } from "../../tunnel/index.js";
import { REFERENCE_SITE } from "../helpers/paths.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";
import { sandbox, type Sandbox } from "./standins.js";

const SUITE = "(stand-in ssh and engines: no hosts here)";
const tmp = mkdtempSync(join(tmpdir(), "palisade-host-install-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const site = loadSite(REFERENCE_SITE);
const planned = await planArtifacts(site, readFileSync(REFERENCE_SITE, "utf8"), { engine: "both" });
const artifacts = planned.artifacts;

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const mode = (p: string) => statSync(p).mode & 0o777;

/** Runs an install script with `sh -s -- ROOT` (what ssh runs, under a temp root instead of /). */
function runScript(script: string, root: string): { status: number | null; output: string } {
  const r = spawnSync("sh", ["-s", "--", root], { input: script, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const fakeKeys: HostFile[] = [{ path: "secrets/wireguard-edge.key", content: "a-fake-private-key-for-this-test=\n", mode: 0o600 }];

describe("the host install script (what deploy streams to each host)", () => {
  it("GIVEN the edge's rendered files WHEN mapped THEN out/hosts/edge/X is /etc/palisade/X, scripts executable, nothing from another host", () => {
    const files = renderedHostFiles(artifacts, "edge");
    expect(files.map((f) => f.path)).toContain("nftables.conf");
    expect(files.map((f) => f.path)).toContain("knot/knot.conf");
    expect(files.map((f) => f.path)).toContain("haproxy/haproxy.cfg");
    expect(files.map((f) => f.path)).not.toContain("ingress/haproxy.cfg");
    const cloud = renderedHostFiles(artifacts, "cloud");
    expect(cloud.find((f) => f.path === "acme/renew.sh")?.mode).toBe(0o755);
    expect(cloud.find((f) => f.path === "failover/failover.json")?.mode).toBe(0o644);
  });

  it("GIVEN the script WHEN run under a temp root THEN every rendered file is there with its bytes and mode, and the keys are 0600 in a 0700 directory", () => {
    const root = join(tmp, "install-1");
    const rendered = renderedHostFiles(artifacts, "edge");
    const r = runScript(hostInstallScript({ host: "edge", rendered, keys: fakeKeys, reload: false }), root);
    expect(r.status, r.output).toBe(0);
    const base = join(root, HOST_CONFIG_ROOT);
    for (const f of rendered) {
      expect(readFileSync(join(base, f.path), "utf8"), f.path).toBe(f.content);
      expect(mode(join(base, f.path)), f.path).toBe(f.mode);
    }
    // The containers' non-root users (knot, haproxy) traverse these directories.
    for (const dir of ["", "knot", "knot/zones", "haproxy", "fail2ban/filter.d"]) expect(mode(join(base, dir)), dir || "/etc/palisade").toBe(0o755);
    expect(readFileSync(join(base, "secrets/wireguard-edge.key"), "utf8")).toBe(fakeKeys[0]!.content);
    expect(mode(join(base, "secrets/wireguard-edge.key"))).toBe(0o600);
    expect(mode(join(base, "secrets"))).toBe(0o700);
    expect(readFileSync(join(base, INSTALLED_LIST), "utf8")).not.toContain("secrets/");
    expect(r.output).toContain(`palisade: edge: ${rendered.length} file(s) and 1 key(s)`);
  });

  it("GIVEN a second install without one file THEN that file is removed; keys and files Palisade did not install stay", () => {
    const root = join(tmp, "install-2");
    const rendered = renderedHostFiles(artifacts, "cloud");
    expect(runScript(hostInstallScript({ host: "cloud", rendered, keys: [], reload: false }), root).status).toBe(0);
    const base = join(root, HOST_CONFIG_ROOT);
    writeFileSync(join(base, "secrets", "openbao-tls.key"), "operator's\n");
    writeFileSync(join(base, "postgres", "operator-notes.txt"), "mine\n");
    const dropped = "postgres/tenants/globex.sql";
    expect(existsSync(join(base, dropped))).toBe(true);
    const r = runScript(hostInstallScript({ host: "cloud", rendered: rendered.filter((f) => f.path !== dropped), keys: [], reload: false }), root);
    expect(r.status, r.output).toBe(0);
    expect(existsSync(join(base, dropped))).toBe(false);
    expect(existsSync(join(base, "postgres/tenants/acme.sql"))).toBe(true);
    expect(readFileSync(join(base, "secrets", "openbao-tls.key"), "utf8")).toBe("operator's\n");
    expect(readFileSync(join(base, "postgres", "operator-notes.txt"), "utf8")).toBe("mine\n");
  });

  it("GIVEN a rendered path that climbs out of /etc/palisade WHEN the script is built THEN it is refused", () => {
    expect(() => hostInstallScript({ host: "edge", rendered: [{ path: "../etc/shadow", content: "x", mode: 0o644 }], keys: [], reload: false })).toThrow(/not a plain relative path/);
  });

  it("GIVEN the same plan twice THEN the script is the same bytes (no timestamps)", () => {
    const a = hostInstallScript({ host: "edge", rendered: renderedHostFiles(artifacts, "edge"), keys: fakeKeys, reload: true });
    const b = hostInstallScript({ host: "edge", rendered: renderedHostFiles(artifacts, "edge"), keys: fakeKeys, reload: true });
    expect(a).toBe(b);
  });

  it("GIVEN reload WHEN the script is built THEN the firewall is checked (nft -c) before it is loaded, and the tunnel is synced or brought up", () => {
    const s = hostInstallScript({ host: "edge", rendered: renderedHostFiles(artifacts, "edge"), keys: fakeKeys, reload: true });
    const check = s.indexOf('nft -c -f "$P/nftables.conf"');
    const load = s.indexOf('nft -f "$P/nftables.conf"');
    expect(check).toBeGreaterThan(0);
    expect(load).toBeGreaterThan(check);
    expect(s).toContain("wg syncconf wg-edge");
    expect(s).toContain("wg set wg-edge private-key /etc/palisade/secrets/wireguard-edge.key");
    expect(s).toContain('wg-quick up "$P/wireguard/wg-edge.conf"');
    expect(hostInstallScript({ host: "edge", rendered: renderedHostFiles(artifacts, "edge"), keys: [], reload: false })).not.toContain("nft ");
  });

  it("GIVEN the full script (reload on) WHEN shellcheck reads it THEN it reports nothing", () => {
    const tool = requireTool("shellcheck");
    if (!tool.path) return expect.soft(tool.skipReason).toBe("");
    const file = join(tmp, "install-edge.sh");
    writeFileSync(file, hostInstallScript({ host: "edge", rendered: renderedHostFiles(artifacts, "edge"), keys: fakeKeys, reload: true }));
    const r = spawnSync(tool.path, ["--shell=sh", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("GIVEN every container's bind mount under /etc/palisade in the planned Terraform JSON THEN its source is a file or directory the install puts there, or a key path", () => {
    const problems: string[] = [];
    for (const host of ["edge", "cloud"]) {
      const tf = JSON.parse(artifacts.find((a) => a.path === `cdktf/stacks/${host}/cdk.tf.json`)!.content) as {
        resource: { docker_container: Record<string, { name: string; mounts?: { type: string; source: string }[] }> };
      };
      const installed = renderedHostFiles(artifacts, host).map((f) => f.path);
      for (const c of Object.values(tf.resource.docker_container)) {
        for (const m of c.mounts ?? []) {
          if (m.type !== "bind" || !m.source.startsWith(`${HOST_CONFIG_ROOT}/`)) continue;
          const rel = m.source.slice(HOST_CONFIG_ROOT.length + 1);
          // Keys and certificates the operator provides (docs/runbook.md, 2.4).
          if (rel === "secrets" || rel.startsWith("secrets/") || rel === "tls") continue;
          if (!installed.some((p) => p === rel || p.startsWith(`${rel}/`))) problems.push(`${host}: ${c.name} mounts ${m.source}, which no rendered file provides`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describeRoot("the host install script on a real nft (a network namespace stands in for the host)", () => {
  const nft = requireTool("nft");
  if (!nft.path) {
    it.skip(nft.skipReason, () => {});
    return;
  }
  const ns = `palinst-${randomBytes(2).toString("hex")}`;
  const cloudFiles = renderedHostFiles(artifacts, "cloud").filter((f) => !f.path.startsWith("wireguard/")); // no WireGuard module here
  const inNs = (argv: string[], input?: string) => spawnSync("ip", ["netns", "exec", ns, ...argv], { input, encoding: "utf8" });
  afterAll(() => void spawnSync("ip", ["netns", "del", ns]));

  it("GIVEN the cloud's files WHEN the script runs with reload THEN the rendered firewall is loaded", () => {
    execFileSync("ip", ["netns", "add", ns]);
    const root = join(tmp, "install-nft");
    const r = inNs(["sh", "-s", "--", root], hostInstallScript({ host: "cloud", rendered: cloudFiles, keys: [], reload: true }));
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("palisade: cloud: firewall loaded");
    expect(inNs(["nft", "list", "tables"]).stdout).toContain(`table inet ${CLOUD_FIREWALL_TABLE}`);
  });

  it("GIVEN a firewall file nft rejects WHEN the script runs THEN it fails before loading it and the loaded firewall stays", () => {
    const root = join(tmp, "install-nft");
    const broken = cloudFiles.map((f) => (f.path === "nftables.conf" ? { ...f, content: f.content.replace("policy drop;", "policy dorp;") } : f));
    const before = inNs(["nft", "list", "ruleset"]).stdout;
    const r = inNs(["sh", "-s", "--", root], hostInstallScript({ host: "cloud", rendered: broken, keys: [], reload: true }));
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("firewall loaded");
    expect(inNs(["nft", "list", "ruleset"]).stdout).toBe(before);
  });
});

describeRoot("the host install script applies the edge's sysctl drop-ins on a real kernel (a network namespace stands in for the edge)", () => {
  // Every example whose edge forwards between sites (its rendered forwarding drop-in is per-namespace: net.*).
  const forwarding = examples.filter((e) => edgeForwardFamilies(e.site).length > 0);
  it.each(forwarding.map((e) => [e.name, e] as const))("GIVEN %s's edge files WHEN the script runs with reload THEN sysctl -p turns on forwarding in the namespace, which was off", async (_n, e) => {
    const ns = `palsys-${randomBytes(2).toString("hex")}`;
    const edge = renderedHostFiles(readArtifacts((await planOnce(e.file)).dir), "edge").filter((f) => f.path.startsWith("sysctl.d/"));
    expect(edge.length).toBeGreaterThan(0);
    execFileSync("ip", ["netns", "add", ns]);
    try {
      const inNs = (argv: string[], input?: string) => spawnSync("ip", ["netns", "exec", ns, ...argv], { input, encoding: "utf8" });
      // The kernel's boot defaults (a new namespace copies this host's IPv4 settings, which may differ).
      expect(inNs(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"]).status).toBe(0);
      expect(inNs(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.trim()).toBe("0");
      const r = inNs(["sh", "-s", "--", join(tmp, `install-sysctl-${ns}`)], hostInstallScript({ host: "edge", rendered: edge, keys: [], reload: true }));
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain("kernel settings of sysctl.d/");
      expect(inNs(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.trim()).toBe("1");
      // The family no flow between sites uses stays as the kernel has it.
      expect(inNs(["sysctl", "-n", "net.ipv6.conf.all.forwarding"]).stdout.trim()).toBe("0");
    } finally {
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
});

function opts(over: Partial<DeployOptions> = {}): DeployOptions {
  return { siteFile: "palisade.yaml", outDir: "out", engine: "cdktf", yes: true, secretsDir: ".palisade/secrets", skipSshCheck: true, ...over };
}

/** The files deploy wrote to out/hosts/<host>/, as the install script maps them. */
function sandboxHostFiles(sb: Sandbox, host: string): HostFile[] {
  const arts = sb.outFiles().map((f) => ({ path: relative(sb.outDir, f.path), content: f.content }));
  return renderedHostFiles(arts, host);
}

describe(`palisade deploy installs the host files ${SUITE}`, () => {
  it("GIVEN a deploy WHEN a host's stack is applied THEN ssh first gets exactly that host's install script, on stdin only", async () => {
    const sb = sandbox({ tools: ["tofu", "ssh"] });
    expect(await deploy(opts(), sb.ctx())).toBe(0);
    const calls = sb.calls();
    const seq = calls.map((c) => (c.tool === "ssh" ? `ssh ${c.args.at(-2)}` : `${c.tool} ${c.args[0]!.replace(/^-chdir=out\/cdktf\/stacks\//, "")} ${c.args[1]}`));
    expect(seq).toEqual([
      "ssh deploy@203.0.113.10",
      "tofu edge init",
      "tofu edge apply",
      "ssh deploy@10.77.0.2",
      "tofu cloud init",
      "tofu cloud apply",
      "tofu secrets init",
      "tofu secrets apply",
    ]);
    for (const [i, host] of [[0, "edge"], [3, "cloud"]] as const) {
      const keys = hostKeyFiles(sb.site, sb.secretsDir, host);
      const expected = hostInstallScript({ host, rendered: sandboxHostFiles(sb, host), keys, reload: true });
      expect(calls[i]!.args.at(-1)).toBe(REMOTE_INSTALL_COMMAND);
      expect(calls[i]!.stdin).toBe(`data:${sha(expected.replace(/\n$/, ""))}`);
    }
    const argv = calls.flatMap((c) => c.args).join("\n");
    for (const v of sb.secretValues()) expect(argv).not.toContain(v);
    for (const f of sb.outFiles()) for (const v of sb.secretValues()) expect(f.content.includes(v), f.path).toBe(false);
  });

  it("GIVEN the edge's keys WHEN its install script is built THEN it carries the edge's keys and none of the cloud's", () => {
    const sb = sandbox({ tools: ["tofu", "ssh"] });
    expect(hostKeyFiles(sb.site, sb.secretsDir, "edge").map((f) => f.path)).toEqual(["secrets/wireguard-edge.key", "secrets/dkim.key", "secrets/knot-tsig.conf"]);
    expect(hostKeyFiles(sb.site, sb.secretsDir, "cloud").map((f) => f.path)).toEqual(["secrets/wireguard-cloud.key"]);
  });

  it("GIVEN the install over ssh fails on the cloud WHEN deploy runs THEN it exits with ssh's code, names the step, and the cloud's engine never runs", async () => {
    const sb = sandbox({ tools: ["tofu", "ssh"] });
    const code = await deploy(opts(), sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "deploy@10.77.0.2 if [", STANDIN_FAIL_CODE: "255" } }));
    expect(code).toBe(255);
    expect(sb.output()).toContain("stack cloud failed: `host files over ssh to deploy@10.77.0.2` exited 255");
    expect(sb.output()).toContain("already applied: edge");
    expect(sb.calls().some((c) => c.tool === "tofu" && c.args[0]!.endsWith("/cloud"))).toBe(false);
  });

  it("GIVEN --skip-host-files WHEN deploy runs THEN no install is attempted and the stacks are applied", async () => {
    const sb = sandbox({ tools: ["tofu", "ssh"] });
    expect(await deploy(opts({ skipHostFiles: true }), sb.ctx())).toBe(0);
    expect(sb.calls().filter((c) => c.tool === "ssh")).toEqual([]);
    expect(sb.calls().filter((c) => c.tool === "tofu")).toHaveLength(6);
  });
});
