/**
 * The uplink failover agent of the private cloud host.
 *
 *   npx tsx tunnel/failover/agent.ts --config /etc/palisade/failover/failover.json [--dry-run]
 *
 * Runs as a host-network container (NET_ADMIN + NET_RAW) or as a plain root process. Every
 * `probeIntervalMs` it probes the edge through each uplink separately, feeds the results to the
 * pure state machine (`machine.ts`) and carries out its actions:
 *
 * - probe: a TCP connect to `probe.address:probe.port` bound to the uplink's own address. A policy
 *   rule (`ip rule add from UPLINK_ADDR lookup TABLE`) and a host route in that table
 *   (`EDGE/32 via GATEWAY dev IFACE table TABLE`) make each probe leave through its own uplink,
 *   whatever the main table says. A SYN-ACK or a RST within `probe.timeoutMs` is a hit (the edge
 *   host answered through that uplink); silence or a local error is a miss. No ping, no ICMP.
 * - route: `ip route replace EDGE/32 via GATEWAY dev IFACE` in the main table: the tunnel's
 *   packets (the edge's address only) now leave through the chosen uplink.
 * - pin-tunnel: replaces the agent's own nftables table `inet palisade_failover` (one atomic
 *   `nft -f -`) with a raw-priority prerouting rule dropping the edge's tunnel packets
 *   (`ip saddr EDGE udp sport PORT`) that arrive on any uplink but the active one. Why: WireGuard
 *   (wireguard-go and the kernel module alike) pins its source address to the local address the
 *   peer's last packet arrived at. Until the edge has roamed, it still sends to the old uplink's
 *   address; one such packet arriving after the nudge pins the cloud back to the old address, and
 *   the edge then roams back to it: the tunnel stays on the old uplink (on cellular after a failback,
 *   or dead where the ISP drops foreign source addresses). The table only narrows what the host
 *   firewall accepts; it is removed when the agent stops.
 * - nudge-tunnel: `wg set IF peer KEY endpoint EDGE:PORT persistent-keepalive 0`, then
 *   `... persistent-keepalive N`. Re-setting the endpoint drops the source address WireGuard had
 *   pinned to the old uplink; turning keepalive back on sends one keepalive at once, so the edge
 *   (the responder) sees an authenticated packet from the new address and roams to it without
 *   waiting for the next keepalive.
 * - flush-conntrack: `conntrack -D -p udp --dport PORT` (stale entries of the tunnel's flow).
 *   Without the conntrack binary the agent logs `conntrack-unavailable` once and carries on.
 *
 * Output: one JSON line per event on stdout (start, uplink-down/up, failover, failback, both-down,
 * action-failed). The current state is written to `stateFile` (the container's health check).
 */
import { execFile } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { parseArgs } from "node:util";
import { parseFailoverConfig, uplinksByPriority, type FailoverAgentConfig, type FailoverUplinkConfig } from "./config.js";
import { activeUplink, decide, initialState, type FailoverAction, type FailoverState, type MachineConfig, type ProbeResult } from "./machine.js";

function log(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), agent: "palisade-failover", ...entry })}\n`);
}

interface RunResult {
  readonly ok: boolean;
  readonly code: number | string | null;
  readonly stderr: string;
}

/** The agent's own nftables table (pin-tunnel); nothing else touches it. */
export const PIN_TABLE = "palisade_failover";

function run(argv: readonly string[], dryRun: boolean, stdin?: string): Promise<RunResult> {
  if (dryRun) {
    log({ event: "dry-run", cmd: argv, ...(stdin === undefined ? {} : { stdin }) });
    return Promise.resolve({ ok: true, code: 0, stderr: "" });
  }
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: 5000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true, code: 0, stderr: String(stderr) });
      const code = (err as NodeJS.ErrnoException).code ?? null;
      resolve({ ok: false, code: typeof code === "number" || typeof code === "string" ? code : null, stderr: String(stderr).trim() });
    });
    child.stdin?.on("error", () => undefined); // a missing binary: reported through the callback
    child.stdin?.end(stdin ?? "");
  });
}

/** One probe through one uplink: true when the edge answers (SYN-ACK or RST) in time. */
export function probeOnce(c: FailoverAgentConfig, uplink: FailoverUplinkConfig): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const socket = connect({ host: c.probe.address, port: c.probe.port, localAddress: uplink.address });
    const timer = setTimeout(() => done(false), c.probe.timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED"));
  });
}

class Agent {
  private readonly machine: MachineConfig;
  private readonly primary: FailoverUplinkConfig;
  private readonly backup: FailoverUplinkConfig;
  private state: FailoverState;
  private stopped = false;
  private conntrackMissingLogged = false;
  private lastReassert = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly c: FailoverAgentConfig,
    private readonly dryRun: boolean,
  ) {
    [this.primary, this.backup] = uplinksByPriority(c);
    this.machine = { primary: this.primary.id, backup: this.backup.id, misses: c.misses, holdDownMs: c.holdDownS * 1000 };
    this.state = initialState(this.machine, Date.now());
  }

  private uplink(id: string): FailoverUplinkConfig {
    return id === this.primary.id ? this.primary : this.backup;
  }

  private async must(what: string, argv: readonly string[], stdin?: string): Promise<RunResult> {
    const r = await run(argv, this.dryRun, stdin);
    if (!r.ok) log({ event: "action-failed", action: what, cmd: argv, code: r.code, stderr: r.stderr });
    return r;
  }

  /** The uplink's own table and rule: probes from its address leave through it. Idempotent. */
  private async ensurePolicyRouting(u: FailoverUplinkConfig): Promise<void> {
    await run(["ip", "-4", "rule", "del", "priority", String(u.rulePriority)], this.dryRun);
    await this.must("policy-rule", ["ip", "-4", "rule", "add", "from", u.address, "lookup", String(u.table), "priority", String(u.rulePriority)]);
    for (const dst of new Set([this.c.edge.address, this.c.probe.address])) {
      await this.must("policy-route", ["ip", "-4", "route", "replace", `${dst}/32`, "via", u.gateway, "dev", u.interface, "table", String(u.table)]);
    }
  }

  private async refreshUplinkRoute(u: FailoverUplinkConfig): Promise<void> {
    for (const dst of new Set([this.c.edge.address, this.c.probe.address])) {
      await run(["ip", "-4", "route", "replace", `${dst}/32`, "via", u.gateway, "dev", u.interface, "table", String(u.table)], this.dryRun);
    }
  }

  private async route(u: FailoverUplinkConfig): Promise<void> {
    await this.must("route", ["ip", "-4", "route", "replace", `${this.c.edge.address}/32`, "via", u.gateway, "dev", u.interface]);
  }

  /** The edge's tunnel packets are accepted on the active uplink only (see the header: why). */
  private async pinTunnel(active: FailoverUplinkConfig): Promise<void> {
    const others = [this.primary, this.backup].filter((u) => u.id !== active.id).map((u) => JSON.stringify(u.interface));
    const script = [
      // add-then-delete: the delete never fails, and the whole file is one transaction.
      `table inet ${PIN_TABLE}`,
      `delete table inet ${PIN_TABLE}`,
      `table inet ${PIN_TABLE} {`,
      `  chain tunnel_uplink {`,
      `    type filter hook prerouting priority raw; policy accept;`,
      `    iifname { ${others.join(", ")} } ip saddr ${this.c.edge.address} udp sport ${this.c.edge.tunnelPort} drop comment ${JSON.stringify(`tunnel pinned to ${active.id}`)}`,
      `  }`,
      `}`,
      "",
    ].join("\n");
    await this.must("pin-tunnel", ["nft", "-f", "-"], script);
  }

  /** Puts the host back as the rendered firewall left it. */
  async unpinTunnel(): Promise<void> {
    await run(["nft", "delete", "table", "inet", PIN_TABLE], this.dryRun);
  }

  private async nudgeTunnel(): Promise<void> {
    const w = this.c.wireguard;
    await this.must("nudge-tunnel", ["wg", "set", w.interface, "peer", w.peerPublicKey, "endpoint", w.endpoint, "persistent-keepalive", "0"]);
    await this.must("nudge-tunnel", ["wg", "set", w.interface, "peer", w.peerPublicKey, "persistent-keepalive", String(w.persistentKeepalive)]);
  }

  private async flushConntrack(): Promise<void> {
    const r = await run(["conntrack", "-D", "-p", "udp", "--dport", String(this.c.edge.tunnelPort)], this.dryRun);
    if (r.ok || /0 flow entries/.test(r.stderr)) return;
    if (r.code === "ENOENT") {
      if (!this.conntrackMissingLogged) log({ event: "conntrack-unavailable", detail: "no conntrack binary; stale entries expire on their own (udp timeout)" });
      this.conntrackMissingLogged = true;
      return;
    }
    log({ event: "action-failed", action: "flush-conntrack", code: r.code, stderr: r.stderr });
  }

  private async apply(actions: readonly FailoverAction[]): Promise<void> {
    for (const a of actions) {
      if (a.kind === "log") log({ ...a.entry, state: this.state.mode });
      else if (a.kind === "route") await this.route(this.uplink(a.uplink));
      else if (a.kind === "pin-tunnel") await this.pinTunnel(this.uplink(a.uplink));
      else if (a.kind === "nudge-tunnel") await this.nudgeTunnel();
      else await this.flushConntrack();
    }
  }

  private writeState(): void {
    const tmp = `${this.c.stateFile}.tmp`;
    const body = { ...this.state, active: activeUplink(this.state.mode, this.machine) };
    try {
      writeFileSync(tmp, `${JSON.stringify(body)}\n`);
      renameSync(tmp, this.c.stateFile);
    } catch (e) {
      log({ event: "action-failed", action: "state-file", detail: (e as Error).message });
    }
  }

  async start(): Promise<void> {
    log({
      event: "start",
      primary: this.primary.id,
      backup: this.backup.id,
      probe: `${this.c.probe.kind} ${this.c.probe.address}:${this.c.probe.port}`,
      probeIntervalMs: this.c.probeIntervalMs,
      misses: this.c.misses,
      holdDownS: this.c.holdDownS,
      dryRun: this.dryRun,
    });
    for (const u of [this.primary, this.backup]) await this.ensurePolicyRouting(u);
    await this.route(this.primary);
    await this.pinTunnel(this.primary);
    await this.nudgeTunnel();
    this.lastReassert = Date.now();
    this.writeState();
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    const started = Date.now();
    const ups = [this.primary, this.backup];
    const oks = await Promise.all(ups.map((u) => probeOnce(this.c, u)));
    if (this.stopped) return;
    const probes: ProbeResult[] = ups.map((u, i) => ({ uplink: u.id, ok: oks[i]! }));
    const before = this.state;
    const { state, actions } = decide(this.state, probes, Date.now(), this.machine);
    this.state = state;
    await this.apply(actions);
    // A missed probe may mean the uplink's routes went with its link: put them back for the next probe.
    for (const [i, u] of ups.entries()) if (!oks[i]) await this.refreshUplinkRoute(u);
    const now = Date.now();
    if (!oks.every(Boolean) || now - this.lastReassert > 5000) {
      await run(["ip", "-4", "route", "replace", `${this.c.edge.address}/32`, "via", this.uplink(activeUplink(state.mode, this.machine)).gateway, "dev", this.uplink(activeUplink(state.mode, this.machine)).interface], this.dryRun);
      this.lastReassert = now;
    }
    const changed = before.mode !== state.mode || before.bothDown !== state.bothDown || ups.some((u) => before.uplinks[u.id]?.up !== state.uplinks[u.id]?.up);
    if (changed) this.writeState();
    this.schedule(Math.max(0, this.c.probeIntervalMs - (Date.now() - started)));
  }
}

export async function main(argv: string[]): Promise<number> {
  let values: { config?: string; "dry-run"?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: "string" }, "dry-run": { type: "boolean" } } }));
  } catch (e) {
    process.stderr.write(`usage: agent.ts --config FILE [--dry-run]\n${(e as Error).message}\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write("usage: agent.ts --config FILE [--dry-run]\n");
    return 2;
  }
  let config: FailoverAgentConfig;
  try {
    config = parseFailoverConfig(JSON.parse(readFileSync(values.config, "utf8")));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const agent = new Agent(config, values["dry-run"] ?? false);
  await agent.start();
  return await new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      agent.stop();
      void agent.unpinTunnel().then(() => {
        log({ event: "stop", signal });
        resolve(0);
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

const invokedDirectly = process.argv[1] !== undefined && /agent\.[tj]s$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
