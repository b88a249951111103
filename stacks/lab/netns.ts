/**
 * Network-namespace helpers for the lab and the root tests: namespaces, veth pairs, addresses,
 * routes, daemons run inside a namespace (tracked by PID) and WireGuard (wireguard-go) interfaces.
 * Everything created is recorded in a JSON state file, so `cleanup()` (or `cleanupFromStateFile`
 * after a crash) removes exactly what this lab made: its processes by PID, its namespaces by name.
 *
 * Traps handled here:
 * - wireguard-go's UAPI socket (/var/run/wireguard/<ifname>.sock) is shared by every namespace:
 *   give every WireGuard interface a distinct name; `wg` commands always name the interface.
 * - Configure the responder before the initiator (else the first handshake waits REKEY_TIMEOUT, 5 s).
 * - `ip netns exec NS CMD` execs, so the spawned PID is the daemon itself.
 * - No namespace gets a link to the root namespace or a route off the machine: only veth pairs
 *   between this lab's own namespaces.
 */
// node's child_process, not zx (which runs the lab's and deploy's one-shot commands, `proc.ts`,
// `ops/runner.ts`): the daemons here are long-running, tracked by their own PID (which `ip netns exec`
// makes the daemon itself, not a shell wrapping it) and killed by that PID at `down`; zx would put a
// bash process between us and the daemon and tie its lifetime to a promise. The few synchronous
// calls stay execFileSync for the same reason they are synchronous: the teardown path runs them in order.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive, sleep } from "./proc.js";

export interface LabProcess {
  readonly pid: number;
  readonly ns: string;
  readonly name: string;
  readonly argv: readonly string[];
}

export interface LabState {
  readonly namespaces: string[];
  readonly processes: LabProcess[];
  readonly wireguardInterfaces: string[];
}

export interface VethEnd {
  readonly ns: string;
  readonly ifname: string;
  /** Addresses with prefix, e.g. `198.51.100.20/28`. @default - none */
  readonly addresses?: readonly string[];
}

export interface RouteSpec {
  readonly to: string;
  readonly via?: string;
  readonly dev?: string;
  /** @default - the main table */
  readonly table?: number;
}

export interface DaemonOptions {
  /** Name for logs and the state file. */
  readonly name: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** File that receives stdout and stderr. @default - piped (read them from the ChildProcess) */
  readonly logFile?: string;
  /**
   * Enter only the network namespace (`nsenter --net=`), keeping the host's mounts: `ip netns exec`
   * remounts /sys, which hides the cgroup hierarchy dockerd needs. @default false
   */
  readonly netOnly?: boolean;
}

export interface WireguardOptions {
  /** wg(8) config text (e.g. the output of `wg-quick strip`): peers, listen port, keepalive. */
  readonly conf: string;
  /** File holding the private key (mode 0600); never part of `conf`. */
  readonly privateKeyFile: string;
  /** Interface addresses with prefix. */
  readonly addresses: readonly string[];
  /** @default 1420 (wireguard-go's default) */
  readonly mtu?: number;
}

/** Runs a command, returns stdout; throws with the command and its stderr. */
export function run(argv: readonly string[], input?: string): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(" ")} failed: ${(err.stderr ?? "").trim() || err.message}`);
  }
}

function tryRun(argv: readonly string[]): boolean {
  try {
    run(argv);
    return true;
  } catch {
    return false;
  }
}

/** `wg-quick strip` of a wg-quick config: the part `wg setconf` accepts. */
export function wgQuickStrip(ifname: string, wgQuickConf: string): string {
  const dir = mkdtempSync(join(tmpdir(), "palisade-wgstrip-"));
  try {
    const file = join(dir, `${ifname}.conf`);
    writeFileSync(file, wgQuickConf, { mode: 0o600 });
    return run(["wg-quick", "strip", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class NetnsLab {
  private readonly state: LabState = { namespaces: [], processes: [], wireguardInterfaces: [] };
  private readonly children = new Map<number, ChildProcess>();

  /** @param stateFile where this lab records what it created (for `cleanupFromStateFile` after a crash) */
  constructor(readonly stateFile: string) {
    this.save();
  }

  private save(): void {
    writeFileSync(this.stateFile, `${JSON.stringify(this.state, null, 2)}\n`);
  }

  get recorded(): LabState {
    return this.state;
  }

  /** Creates a namespace with its loopback up. Fails if it exists (it belongs to someone else). */
  addNamespace(ns: string): void {
    run(["ip", "netns", "add", ns]);
    this.state.namespaces.push(ns);
    this.save();
    run(["ip", "-n", ns, "link", "set", "lo", "up"]);
  }

  /**
   * Creates namespaces in one `ip -batch` (recorded first, so a failure half-way is still cleaned);
   * their loopbacks are left down: the caller brings them up in its per-namespace batch.
   */
  addNamespaces(names: readonly string[]): void {
    if (names.length === 0) return;
    this.state.namespaces.push(...names);
    this.save();
    run(["ip", "-batch", "-"], `${names.map((n) => `netns add ${n}`).join("\n")}\n`);
  }

  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, argv: readonly string[], input?: string): string {
    return run(["ip", "netns", "exec", ns, ...argv], input);
  }

  sysctl(ns: string, key: string, value: string | number): void {
    this.exec(ns, ["sysctl", "-q", "-w", `${key}=${value}`]);
  }

  /** A veth pair between two namespaces of this lab, created in place (no name clash with the root namespace), both ends up. */
  addVeth(a: VethEnd, b: VethEnd): void {
    run(["ip", "-n", a.ns, "link", "add", a.ifname, "type", "veth", "peer", "name", b.ifname, "netns", b.ns]);
    for (const end of [a, b]) {
      for (const addr of end.addresses ?? []) this.addAddress(end.ns, end.ifname, addr);
      this.setLink(end.ns, end.ifname, true);
    }
  }

  addAddress(ns: string, dev: string, cidr: string): void {
    run(["ip", "-n", ns, ...(cidr.includes(":") ? ["-6"] : []), "addr", "add", cidr, "dev", dev]);
  }

  setLink(ns: string, dev: string, up: boolean): void {
    run(["ip", "-n", ns, "link", "set", "dev", dev, up ? "up" : "down"]);
  }

  /** `ip route replace` (idempotent). */
  route(ns: string, r: RouteSpec): void {
    const argv = ["ip", "-n", ns, "route", "replace", r.to];
    if (r.via) argv.push("via", r.via);
    if (r.dev) argv.push("dev", r.dev);
    if (r.table !== undefined) argv.push("table", String(r.table));
    run(argv);
  }

  /** Starts a long-running process inside a namespace and records its PID. */
  spawnDaemon(ns: string, argv: readonly string[], opts: DaemonOptions): ChildProcess {
    let fd: number | undefined;
    if (opts.logFile) fd = openSync(opts.logFile, "a");
    const child = spawn(opts.netOnly ? "nsenter" : "ip", opts.netOnly ? [`--net=/run/netns/${ns}`, "--", ...argv] : ["netns", "exec", ns, ...argv], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: fd === undefined ? ["ignore", "pipe", "pipe"] : ["ignore", fd, fd],
    });
    if (fd !== undefined) closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${opts.name}: ${argv.join(" ")}`);
    this.children.set(child.pid, child);
    this.state.processes.push({ pid: child.pid, ns, name: opts.name, argv: [...argv] });
    this.save();
    return child;
  }

  /** Stops one recorded process: SIGTERM, then SIGKILL after `graceMs`; reaps it. */
  async stopProcess(pid: number, graceMs = 2000): Promise<void> {
    const child = this.children.get(pid);
    const exited = child ? new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()))) : null;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + graceMs;
    while (alive(pid) && Date.now() < deadline) await sleep(25);
    if (alive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    if (exited) await Promise.race([exited, sleep(1000)]);
    this.children.delete(pid);
    const i = this.state.processes.findIndex((p) => p.pid === pid);
    if (i >= 0) this.state.processes.splice(i, 1);
    this.save();
  }

  /**
   * Starts wireguard-go in the foreground in `ns` as interface `ifname`, then configures it with
   * `wg setconf` + `wg set private-key`, its addresses, MTU, and brings it up. Call it for the
   * responder before the initiator.
   */
  async startWireguard(ns: string, ifname: string, opts: WireguardOptions): Promise<ChildProcess> {
    const sock = `/var/run/wireguard/${ifname}.sock`;
    if (existsSync(sock)) throw new Error(`${sock} exists: another wireguard-go already uses the name ${ifname} (names are global across namespaces)`);
    const child = this.spawnDaemon(ns, ["wireguard-go", "-f", ifname], { name: `wireguard-go ${ifname}`, env: { ...process.env, LOG_LEVEL: "error" } });
    this.state.wireguardInterfaces.push(ifname);
    this.save();
    const deadline = Date.now() + 5000;
    while (!existsSync(sock)) {
      if (Date.now() > deadline) throw new Error(`wireguard-go ${ifname} did not create ${sock} within 5 s`);
      if (child.exitCode !== null) throw new Error(`wireguard-go ${ifname} exited with ${child.exitCode}`);
      await sleep(10);
    }
    // `wg setconf IF /dev/stdin` fails on node's stdio (a socket, ENXIO): go through a private file.
    const dir = mkdtempSync(join(tmpdir(), "palisade-wgconf-"));
    try {
      const file = join(dir, `${ifname}.conf`);
      writeFileSync(file, opts.conf, { mode: 0o600 });
      run(["wg", "setconf", ifname, file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    run(["wg", "set", ifname, "private-key", opts.privateKeyFile]);
    for (const a of opts.addresses) this.addAddress(ns, ifname, a);
    run(["ip", "-n", ns, "link", "set", "dev", ifname, "mtu", String(opts.mtu ?? 1420), "up"]);
    return child;
  }

  /** Stops every recorded process (by PID), deletes every recorded namespace, removes the state file. */
  async cleanup(): Promise<void> {
    for (const p of [...this.state.processes].reverse()) await this.stopProcess(p.pid);
    for (const ns of [...this.state.namespaces].reverse()) {
      tryRun(["ip", "netns", "del", ns]);
      this.state.namespaces.splice(this.state.namespaces.indexOf(ns), 1);
    }
    for (const ifname of this.state.wireguardInterfaces) rmSync(`/var/run/wireguard/${ifname}.sock`, { force: true });
    this.state.wireguardInterfaces.length = 0;
    rmSync(this.stateFile, { force: true });
  }
}

/**
 * Cleans up after a lab that crashed: kills the recorded PIDs that still run the recorded command,
 * deletes the recorded namespaces and sockets. Safe to call when the file does not exist.
 */
export function cleanupFromStateFile(stateFile: string): void {
  if (!existsSync(stateFile)) return;
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as LabState;
  for (const p of state.processes) {
    try {
      const cmdline = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
      if (cmdline.includes(p.argv[0]!) || cmdline.join(" ").includes(p.argv.join(" "))) process.kill(p.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (const ns of state.namespaces) tryRun(["ip", "netns", "del", ns]);
  for (const ifname of state.wireguardInterfaces) rmSync(`/var/run/wireguard/${ifname}.sock`, { force: true });
  rmSync(stateFile, { force: true });
}
