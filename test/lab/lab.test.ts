import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { labDown, labPaths, labUp, NETNS_KERNEL_LOG_SYSCTL, readRecord, readSysctl, type LabRecord } from "../../stacks/lab/up.js";
import { labProbe } from "../../stacks/lab/probe.js";
import { runDrill, type DrillResult } from "../../stacks/lab/drills.js";
import { firstSiteDocker } from "../../stacks/lab/drill-sites.js";
import { layoutNamespaces } from "../../stacks/lab/layout.js";
import { describeRoot } from "../helpers/root.js";
import { tempDir } from "../helpers/paths.js";
import { requireTool } from "../helpers/tools.js";
import { DockerApi, mountsUnder } from "../../stacks/lab/docker/engine.js";

// A fresh plan of the current code, never a stale out/ left in the checkout.
const OUT = tempDir("lab-out");
const tools = ["nft", "wireguard-go", "wg", "haproxy", "knotd", "kdig", "fail2ban-server", "pebble", "lego", "conntrack", "dockerd", "busybox"].map((t) => requireTool(t));
const missing = tools.filter((t) => !t.path).map((t) => t.skipReason);

/** Host-wide sysctls the lab (or dockerd) could touch: each must read the same after `down`. */
const HOST_SYSCTLS = ["net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables", "net/netfilter/nf_log_all_netns"];
const readHostSysctls = () => Object.fromEntries(HOST_SYSCTLS.map((k) => [k, existsSync(`/proc/sys/${k}`) ? readFileSync(`/proc/sys/${k}`, "utf8").trim() : null]));

describeRoot("the lab: the planned platform in namespaces with real daemons, the cloud on a real dockerd", () => {
  let rec: LabRecord;
  let kernelLogBefore: string | null = null;
  let sysctlsBefore: Record<string, string | null> = {};
  let dockerKeyBefore = false;
  // One port scan (~30 s) serves the open-set test and the portscan-jail test.
  let scan: Promise<DrillResult> | undefined;
  const portScan = () => (scan ??= runDrill(rec, "port-scan"));

  beforeAll(async () => {
    if (missing.length) return;
    execFileSync(process.execPath, ["--import", "tsx", "scripts/palisade.ts", "plan", "--out", OUT], { stdio: "ignore" });
    await labDown();
    kernelLogBefore = readSysctl(NETNS_KERNEL_LOG_SYSCTL);
    sysctlsBefore = readHostSysctls();
    dockerKeyBefore = existsSync("/etc/docker/key.json");
    rec = (await labUp({ outDir: OUT, siteFile: "palisade.yaml" })).record;
  }, 240_000);

  afterAll(async () => {
    await labDown();
  }, 30_000);

  it.skipIf(missing.length > 0)("GIVEN the planned artifacts WHEN the lab comes up THEN every namespace and daemon is recorded and a second up is a no-op", async () => {
    expect(rec.complete).toBe(true);
    expect(rec.daemons.length).toBeGreaterThan(5);
    const again = await labUp({ outDir: OUT, siteFile: "palisade.yaml" });
    expect(again.alreadyUp).toBe(true);
  }, 30_000);

  it.skipIf(missing.length > 0)("GIVEN the cloud stack applied from cdk.tf.json WHEN dockerd is asked THEN every bridge-mode container of the artifact runs, on its addresses, its namespace named for the probes", async () => {
    const d = firstSiteDocker(rec)!;
    expect(d.engine).toBe("cdktf");
    const api = new DockerApi(d.paths.socket);
    expect(Object.keys(d.containers).length).toBe(rec.layout.containers.length);
    for (const c of rec.layout.containers) {
      const info = await api.inspectContainer(c.name);
      expect(info.State.Running).toBe(true);
      const addrs = Object.values(info.NetworkSettings.Networks).map((n) => n.IPAddress).sort();
      expect(addrs).toEqual(c.links.map((k) => k.ipv4).sort());
      // Left the default bridge, as the kreuzwerker provider does.
      expect(Object.keys(info.NetworkSettings.Networks)).not.toContain("bridge");
      expect(rec.inodes[c.ns]).toBeGreaterThan(0);
    }
    expect(rec.warnings).toEqual([]);
  }, 30_000);

  it.skipIf(missing.length > 0)("GIVEN the lab WHEN every source tries every declared port THEN the observed matrix equals the verifier's (0 incorrect)", async () => {
    const r = await labProbe(rec);
    expect(r.correct).toBeGreaterThan(100);
    expect(r.mismatches.map((m) => m.line)).toEqual([]);
  }, 60_000);

  it.skipIf(missing.length > 0)("GIVEN the fiber is cut WHEN the agent fails over THEN HTTPS through edge and tunnel recovers within 30 s and fails back without flapping", async () => {
    const r = await runDrill(rec, "fiber-cut");
    expect(r.notes).toEqual([]);
    expect(r.pass).toBe(true);
    expect(r.figures.failovers).toBe(1);
  }, 90_000);

  it.skipIf(missing.length > 0)("GIVEN SSH and SASL failures from the attacker WHEN the threshold is crossed THEN it is banned in nft within 10 s and no benign address is", async () => {
    const r = await runDrill(rec, "brute-force");
    expect(r.notes).toEqual([]);
    expect(r.figures.benign_banned).toEqual([]);
    expect(r.pass).toBe(true);
  }, 60_000);

  it.skipIf(missing.length > 0)("GIVEN a scan of every TCP port and a UDP sample of the edge WHEN it ends THEN the open set equals the declared set and no benign address is banned", async () => {
    const r = await portScan();
    expect(r.figures.tcp_open).toEqual(r.figures.tcp_declared);
    expect(r.figures.benign_banned).toEqual([]);
    expect(r.pass).toBe(true);
  }, 120_000);

  it.skipIf(missing.length > 0)("GIVEN the edge's drop log relayed from the kernel log WHEN a scanner hits closed ports THEN the portscan jail bans it within 10 s (or the lab says why the kernel log is out of reach)", async () => {
    if (!rec.files.kernLogRelay) {
      // Not exercised on this machine: the reason is recorded, and the filter stays tested by fail2ban-regex fixtures.
      expect(rec.skipped["portscan-kernel-log"]).toMatch(/\S/);
      return;
    }
    expect(readSysctl(NETNS_KERNEL_LOG_SYSCTL)).toBe("1");
    const r = await portScan();
    expect(r.figures.portscan_jail).toBe(true);
    expect(r.figures.portscan_ban_s).not.toBeNull();
    expect(r.figures.portscan_ban_s as number).toBeLessThanOrEqual(10);
    expect(r.figures.portscan_scanner_after).not.toBe("open");
    expect(r.figures.benign_banned).toEqual([]);
  }, 120_000);

  it.skipIf(missing.length > 0)("GIVEN the edge's Knot WHEN queried from the internet THEN answers are signed, match the DS, and AXFR and recursion are refused", async () => {
    const r = await runDrill(rec, "dns");
    expect(r.figures).toMatchObject({ signed: true, ds_matches_ksk: true, signatures_validate: true, axfr_refused: true, recursion_refused: true });
  }, 30_000);

  it.skipIf(missing.length > 0)("GIVEN pebble as the CA WHEN lego runs behind the ingress THEN the ingress serves a certificate that verifies against pebble's root", async () => {
    const r = await runDrill(rec, "acme");
    expect(r.notes.filter((n) => n.startsWith("lego failed"))).toEqual([]);
    expect(r.pass).toBe(true);
  }, 90_000);

  it.skipIf(missing.length > 0)("GIVEN a container killed WHEN its restart policy brings it back THEN its flows come back and nothing else opens (the whole matrix probed again)", async () => {
    const r = await runDrill(rec, "container-restart");
    expect(r.notes).toEqual([]);
    expect(r.figures.back_s).not.toBeNull();
    expect(r.pass).toBe(true);
  }, 120_000);

  it.skipIf(missing.length > 0)("GIVEN dockerd stopped and started again WHEN its containers come back THEN the rendered firewall still holds and the matrix equals the verifier's", async () => {
    const r = await runDrill(rec, "dockerd-restart");
    expect(r.notes).toEqual([]);
    expect(r.figures.firewall_holds).toBe(true);
    expect(r.pass).toBe(true);
  }, 180_000);

  it.skipIf(missing.length > 0)("GIVEN the lab WHEN it is taken down THEN no namespace, process, WireGuard socket, dockerd root or mount of it remains and every host sysctl reads as before", async () => {
    const namespaces = layoutNamespaces(rec.layout);
    const pids = [...rec.daemons.map((d) => d.pid), ...Object.values(firstSiteDocker(rec)!.containers).map((c) => c.pid)];
    await labDown();
    expect(existsSync(firstSiteDocker(rec)!.paths.dataRoot)).toBe(false);
    expect(mountsUnder(rec.runDir)).toEqual([]);
    expect(existsSync("/etc/docker/key.json")).toBe(dockerKeyBefore);
    expect(readHostSysctls()).toEqual(sysctlsBefore);
    const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    for (const ns of namespaces) expect(left).not.toMatch(new RegExp(`^${ns}\\b`, "m"));
    for (const pid of pids) expect(existsSync(`/proc/${pid}`) && !/\) Z /.test(execFileSync("cat", [`/proc/${pid}/stat`], { encoding: "utf8" }))).toBe(false);
    const socks = existsSync("/var/run/wireguard") ? readdirSync("/var/run/wireguard") : [];
    expect(socks).not.toContain("wg-edge.sock");
    expect(socks).not.toContain("wg-cloud.sock");
    expect(readRecord(labPaths())).toBeNull();
    expect(existsSync(rec.runDir)).toBe(false);
    expect(readSysctl(NETNS_KERNEL_LOG_SYSCTL)).toBe(kernelLogBefore);
  }, 30_000);
});

describeRoot("the lab: the cloud stack applied from the Pulumi capture", () => {
  beforeAll(async () => {
    if (missing.length) return;
    if (!existsSync(`${OUT}/pulumi/cloud.json`)) execFileSync(process.execPath, ["--import", "tsx", "scripts/palisade.ts", "plan", "--out", OUT], { stdio: "ignore" });
    await labDown();
  }, 60_000);
  afterAll(async () => {
    await labDown();
  }, 30_000);

  it.skipIf(missing.length > 0)("GIVEN the Pulumi capture WHEN applied to dockerd and probed THEN the observed matrix equals the verifier's (0 incorrect)", async () => {
    const rec = (await labUp({ outDir: OUT, siteFile: "palisade.yaml", engine: "pulumi" })).record;
    expect(firstSiteDocker(rec)!.engine).toBe("pulumi");
    expect(firstSiteDocker(rec)!.artifact).toBe("pulumi/cloud.json");
    const r = await labProbe(rec);
    expect(r.mismatches.map((m) => m.line)).toEqual([]);
    expect(r.correct).toBeGreaterThan(100);
  }, 240_000);
});

describeRoot("the lab: a crash in the middle of up", () => {
  it.skipIf(missing.length > 0)("GIVEN `lab up` killed once dockerd runs WHEN `lab down` runs THEN dockerd, its containers, namespaces, mounts and run directory are gone", async () => {
    if (!existsSync(`${OUT}/cdktf/stacks/cloud/cdk.tf.json`)) execFileSync(process.execPath, ["--import", "tsx", "scripts/palisade.ts", "plan", "--out", OUT], { stdio: "ignore" });
    await labDown();
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/palisade.ts", "lab", "up", "--out", OUT], { stdio: "ignore" });
    let mid: LabRecord | null = null;
    const t0 = Date.now();
    while (Date.now() - t0 < 120_000) {
      try {
        mid = readRecord(labPaths());
      } catch {
        mid = null; // caught mid-write
      }
      if (mid && Object.keys(firstSiteDocker(mid)?.containers ?? {}).length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(mid && firstSiteDocker(mid)).toBeDefined();
    expect(mid!.complete).toBe(false);
    await labDown();
    const crashed = mid!;
    const crashedPid = firstSiteDocker(crashed)!.pid;
    const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    for (const ns of layoutNamespaces(crashed.layout)) expect(left).not.toMatch(new RegExp(`^${ns}\\b`, "m"));
    expect(existsSync(`/proc/${crashedPid}`) && !/\) Z /.test(readFileSync(`/proc/${crashedPid}/stat`, "utf8"))).toBe(false);
    expect(mountsUnder(crashed.runDir)).toEqual([]);
    expect(existsSync(crashed.runDir)).toBe(false);
    expect(readRecord(labPaths())).toBeNull();
  }, 240_000);
});
