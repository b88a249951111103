import { execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, expect, it } from "vitest";
import { declarationOf, loadSite, parseSite, tunnelAddresses, type Site } from "../../core/index.js";
import { buildTopology } from "../../stacks/platform.js";
import { NetnsLab, wgQuickStrip } from "../../stacks/lab/netns.js";
import { CLOUD_WG_IFACE, EDGE_WG_IFACE, parseFailoverConfig, renderTunnel } from "../../tunnel/index.js";
import { PIN_TABLE } from "../../tunnel/failover/agent.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";

/*
 * The fiber -> cellular drill, with the real agent and real WireGuard (wireguard-go):
 *
 *   edge (203.0.113.10, wg responder) --- inet-router --- isp-fiber ---- fiber0 \
 *                                                    \--- isp-cellular - wwan0  - cloud (wg initiator, agent, firewall)
 *
 * Only documentation ranges (the site file's, 192.0.2.0/24 for the transit links) and the tunnel
 * subnet, all inside this test's own namespaces; no namespace has a link to the root namespace.
 * The rendered WireGuard configs (stripped by wg-quick), the rendered failover.json and the
 * rendered cloud firewall are what runs; only the interface names are made unique per run.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const TCP_TOOL = join(import.meta.dirname, "fixtures", "tcp-tool.mjs");
const run = (argv: string[], input?: string) => execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", input }).trim();

interface ProbeLine { start: number; end: number; ok: boolean }
interface AgentLine { event: string; [k: string]: unknown }

function collect<T>(child: ChildProcess, into: T[]): void {
  const rl = createInterface({ input: child.stdout! });
  rl.on("line", (line) => {
    try {
      into.push(JSON.parse(line) as T);
    } catch {
      /* not JSON: ignore */
    }
  });
  child.stderr?.on("data", (d: Buffer) => process.stderr.write(`[${child.pid}] ${d}`));
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const tools = ["wireguard-go", "wg", "wg-quick", "nft", "ip"].map((t) => requireTool(t, t === "wg" || t === "wg-quick" ? "wireguard-tools" : t));
const missing = tools.find((t) => !t.path);

describeRoot("GIVEN the cloud on fiber and cellular, the edge, and the failover agent in network namespaces", () => {
  if (missing) {
    it.skip(missing.skipReason, () => {});
    return;
  }
  const id = randomBytes(2).toString("hex");
  const ns = { edge: `pal${id}-edge`, router: `pal${id}-inet-router`, fiber: `pal${id}-isp-fiber`, cell: `pal${id}-isp-cellular`, cloud: `pal${id}-cloud` };
  const wgEdge = `${EDGE_WG_IFACE}-${id}`;
  const wgCloud = `${CLOUD_WG_IFACE}-${id}`;
  const tmp = mkdtempSync(join(tmpdir(), `palisade-failover-${id}-`));
  const lab = new NetnsLab(join(tmp, "lab-state.json"));
  const HOLD_DOWN_S = 3;
  const probes: ProbeLine[] = [];
  const agentLog: AgentLine[] = [];
  let site: Site;
  let edgeIp = "";
  let fiberAddr = "";
  let cellAddr = "";
  let tunnelCloud = "";
  let tCut = 0;

  const edgeEndpoint = () => run(["wg", "show", wgEdge, "endpoints"]).split(/\s+/)[1] ?? "";
  const cloudRouteDev = () => /dev (\S+)/.exec(lab.exec(ns.cloud, ["ip", "-4", "route", "get", edgeIp]))?.[1];
  /** The uplinks on which the agent's own table drops the edge's tunnel packets. */
  const pinnedDropInterfaces = () => {
    const table = lab.exec(ns.cloud, ["nft", "list", "table", "inet", PIN_TABLE]);
    const rule = /iifname (?:\{ )?(.+?)(?: \})? ip saddr (\S+) udp sport (\d+) drop/.exec(table);
    expect(rule?.[2]).toBe(edgeIp);
    return rule![1]!.split(/,\s*/).map((n) => n.replaceAll('"', ""));
  };
  const okAfter = (t: number) => probes.find((p) => p.ok && p.start > t);

  beforeAll(async () => {
    const base = loadSite(join(ROOT, "palisade.yaml"));
    const key = (name: string) => {
      const priv = run(["wg", "genkey"]);
      const file = join(tmp, `${name}.key`);
      writeFileSync(file, `${priv}\n`, { mode: 0o600 });
      return { file, pub: run(["wg", "pubkey"], priv) };
    };
    const edgeKey = key("edge");
    const cloudKey = key("cloud");
    const declared = declarationOf(base);
    site = parseSite(
      JSON.stringify({
        ...declared,
        publicKeys: { ...declared.publicKeys, wireguardEdge: edgeKey.pub, wireguardCloud: cloudKey.pub },
        cloud: { ...declared.cloud!, failover: { probeIntervalMs: 100, misses: 3, holdDownS: HOLD_DOWN_S } },
      }),
    );
    const arts = renderTunnel(buildTopology(site));
    const art = (p: string) => arts.find((a) => a.path === p)!.content;
    const tun = tunnelAddresses(site);
    tunnelCloud = tun.cloud4;
    edgeIp = site.edge.ipv4;
    const [fiber, cell] = [...site.cloud.uplinks].sort((a, b) => a.priority - b.priority) as [Site["cloud"]["uplinks"][0], Site["cloud"]["uplinks"][0]];
    fiberAddr = fiber.address.split("/")[0]!;
    cellAddr = cell.address.split("/")[0]!;
    const prefix = (cidr: string) => cidr.split("/")[1];

    for (const n of Object.values(ns)) lab.addNamespace(n);
    for (const n of [ns.router, ns.fiber, ns.cell]) lab.sysctl(n, "net.ipv4.ip_forward", 1);
    lab.sysctl(ns.cloud, "net.ipv4.conf.all.rp_filter", 1); // strict: the per-uplink rules keep the backup's probe replies valid
    lab.addVeth({ ns: ns.cloud, ifname: fiber.interface, addresses: [fiber.address] }, { ns: ns.fiber, ifname: "cust0", addresses: [`${fiber.gateway}/${prefix(fiber.address)}`] });
    lab.addVeth({ ns: ns.cloud, ifname: cell.interface, addresses: [cell.address] }, { ns: ns.cell, ifname: "cust0", addresses: [`${cell.gateway}/${prefix(cell.address)}`] });
    lab.addVeth({ ns: ns.fiber, ifname: "up0", addresses: ["192.0.2.1/30"] }, { ns: ns.router, ifname: "fib0", addresses: ["192.0.2.2/30"] });
    lab.addVeth({ ns: ns.cell, ifname: "up0", addresses: ["192.0.2.5/30"] }, { ns: ns.router, ifname: "cel0", addresses: ["192.0.2.6/30"] });
    lab.addVeth({ ns: ns.router, ifname: "edge0", addresses: ["203.0.113.1/24"] }, { ns: ns.edge, ifname: "eth0", addresses: [`${edgeIp}/24`] });
    lab.route(ns.fiber, { to: "203.0.113.0/24", via: "192.0.2.2" });
    lab.route(ns.cell, { to: "203.0.113.0/24", via: "192.0.2.6" });
    lab.route(ns.router, { to: "198.51.100.16/28", via: "192.0.2.1" });
    lab.route(ns.router, { to: "198.51.100.32/28", via: "192.0.2.5" });
    lab.route(ns.edge, { to: "198.51.100.0/24", via: "203.0.113.1" });

    // The cloud firewall as rendered (tunnel interface renamed for this run).
    const fw = join(tmp, "nftables.conf");
    writeFileSync(fw, art("hosts/cloud/nftables.conf").replaceAll(`"${CLOUD_WG_IFACE}"`, `"${wgCloud}"`));
    lab.exec(ns.cloud, ["nft", "-f", fw]);

    // WireGuard: responder first, then the initiator (with a first route so its first handshake goes out).
    await lab.startWireguard(ns.edge, wgEdge, {
      conf: wgQuickStrip(EDGE_WG_IFACE, art(`hosts/edge/wireguard/${EDGE_WG_IFACE}.conf`)),
      privateKeyFile: edgeKey.file,
      addresses: [`${tun.edge4}/${tun.prefix4}`],
      mtu: site.tunnel.mtu,
    });
    lab.route(ns.cloud, { to: `${edgeIp}/32`, via: fiber.gateway, dev: fiber.interface });
    await lab.startWireguard(ns.cloud, wgCloud, {
      conf: wgQuickStrip(CLOUD_WG_IFACE, art(`hosts/cloud/wireguard/${CLOUD_WG_IFACE}.conf`)),
      privateKeyFile: cloudKey.file,
      addresses: [`${tun.cloud4}/${tun.prefix4}`],
      mtu: site.tunnel.mtu,
    });

    // What the agent probes (the edge's HTTPS port), a service on the cloud's tunnel address (the
    // ingress's published port), and a client on the edge that keeps connecting to it.
    const cfg = parseFailoverConfig(JSON.parse(art("hosts/cloud/failover/failover.json")));
    const listeners = [
      lab.spawnDaemon(ns.edge, ["node", TCP_TOOL, "listen", cfg.probe.address, String(cfg.probe.port)], { name: "probe target" }),
      lab.spawnDaemon(ns.cloud, ["node", TCP_TOOL, "listen", tun.cloud4, "443"], { name: "ingress stand-in" }),
    ];
    const ready: AgentLine[] = [];
    for (const l of listeners) collect(l, ready);
    await waitFor("both listeners", 5000, () => ready.filter((r) => r.event === "listening").length === 2);

    const agentConfig = join(tmp, "failover.json");
    writeFileSync(agentConfig, JSON.stringify({ ...cfg, wireguard: { ...cfg.wireguard, interface: wgCloud }, stateFile: join(tmp, "failover.state") }));
    const agent = lab.spawnDaemon(ns.cloud, [process.execPath, "--import", "tsx", "tunnel/failover/agent.ts", "--config", agentConfig], { name: "failover agent", cwd: ROOT });
    collect(agent, agentLog);
    await waitFor("the agent's start line", 10_000, () => agentLog.some((l) => l.event === "start"));

    const prober = lab.spawnDaemon(ns.edge, ["node", TCP_TOOL, "probe", tun.cloud4, "443", "100", "400"], { name: "edge client" });
    collect(prober, probes);
    await waitFor("traffic through the tunnel", 10_000, () => probes.filter((p) => p.ok).length >= 3);
  }, 40_000);

  afterAll(async () => {
    await lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    for (const n of Object.values(ns)) expect(run(["ip", "netns", "list"])).not.toContain(n);
  }, 30_000);

  it("THEN the edge reaches the cloud's tunnel address over the fiber", () => {
    expect(edgeEndpoint()).toBe(`${fiberAddr}:${edgeEndpoint().split(":")[1]}`);
    expect(cloudRouteDev()).toBe(site.cloud.uplinks.find((u) => u.priority === 1)!.interface);
    expect(pinnedDropInterfaces()).toEqual([site.cloud.uplinks.find((u) => u.priority === 2)!.interface]);
    expect(agentLog.filter((l) => l.event === "failover")).toEqual([]);
  });

  it("WHEN the fiber is cut upstream THEN traffic flows through the tunnel again over cellular (within 30 s)", async () => {
    tCut = Date.now();
    lab.setLink(ns.router, "fib0", false);
    const failover = await waitFor("the failover log line", 30_000, () => agentLog.find((l) => l.event === "failover"));
    const tDetected = Date.now();
    await waitFor("a failed probe after the cut", 30_000, () => probes.some((p) => !p.ok && p.start > tCut));
    const firstFail = probes.find((p) => !p.ok && p.start > tCut)!;
    const ok = await waitFor("traffic again after the cut", 30_000 - (Date.now() - tCut), () => okAfter(firstFail.start));
    const recoveryMs = ok.end - tCut;
    console.log(`[failover drill] fiber cut -> failover decided: ${((tDetected - tCut) / 1000).toFixed(2)} s (observed); -> traffic through the tunnel again: ${(recoveryMs / 1000).toFixed(2)} s`);
    expect(failover).toMatchObject({ from: "fiber", to: "cellular" });
    expect(recoveryMs).toBeLessThan(30_000);
    expect(cloudRouteDev()).toBe(site.cloud.uplinks.find((u) => u.priority === 2)!.interface);
    await waitFor("the edge roaming to the cellular address", 5000, () => edgeEndpoint().startsWith(`${cellAddr}:`));
    expect(pinnedDropInterfaces()).toEqual([site.cloud.uplinks.find((u) => u.priority === 1)!.interface]);
  }, 40_000);

  it("WHEN the fiber comes back while the edge keeps sending through the tunnel THEN the agent fails back only after the hold-down, the edge roams back and traffic flows over fiber", async () => {
    // The edge keeps sending to the cloud's cellular address until it roams. Each of those packets
    // that reaches the cloud after the switch would pin WireGuard's source address back to
    // cellular (and the edge would follow it there): 5,000 packets a second make that race certain
    // unless the agent drops the edge's tunnel packets on the inactive uplink.
    const floodScript = `const s = require("node:dgram").createSocket("udp4"); setInterval(() => { for (let i = 0; i < 10; i++) s.send("x", 9, ${JSON.stringify(tunnelCloud)}); }, 2);`;
    const flood = lab.spawnDaemon(ns.edge, [process.execPath, "-e", floodScript], { name: "edge flood" });
    const tRestore = Date.now();
    lab.setLink(ns.router, "fib0", true);
    lab.route(ns.router, { to: "198.51.100.16/28", via: "192.0.2.1" });
    const failback = await waitFor("the failback log line", 30_000 + HOLD_DOWN_S * 1000, () => agentLog.find((l) => l.event === "failback"));
    const tFailback = Date.now();
    const ok = await waitFor("traffic after the failback", 10_000, () => okAfter(tFailback));
    await waitFor("the edge roaming back to the fiber address", 5000, () => edgeEndpoint().startsWith(`${fiberAddr}:`));
    await new Promise((r) => setTimeout(r, 1000)); // and staying there
    expect(edgeEndpoint()).toMatch(new RegExp(`^${fiberAddr.replaceAll(".", "\\.")}:`));
    await lab.stopProcess(flood.pid!);
    const lost = probes.filter((p) => !p.ok && p.start > tRestore && p.start < ok.end).length;
    console.log(
      `[failover drill] fiber restored -> failback: ${((tFailback - tRestore) / 1000).toFixed(2)} s (hold-down ${HOLD_DOWN_S} s); ` +
        `-> traffic over fiber: ${((ok.end - tRestore) / 1000).toFixed(2)} s; failed client connects during failback: ${lost}`,
    );
    console.log(`[failover drill] agent events: ${agentLog.filter((l) => !["start", "dry-run"].includes(l.event)).map((l) => JSON.stringify({ ...l, ts: undefined, agent: undefined })).join("\n  ")}`);
    expect(failback).toMatchObject({ from: "cellular", to: "fiber" });
    expect(tFailback - tRestore).toBeGreaterThanOrEqual(HOLD_DOWN_S * 1000);
    expect(cloudRouteDev()).toBe(site.cloud.uplinks.find((u) => u.priority === 1)!.interface);
    expect(pinnedDropInterfaces()).toEqual([site.cloud.uplinks.find((u) => u.priority === 2)!.interface]);
    expect(agentLog.filter((l) => l.event === "failover" || l.event === "failback").map((l) => l.event)).toEqual(["failover", "failback"]);
  }, 60_000);
});
