/**
 * `palisade lab up` / `down`: the planned platform rendered into network namespaces with real
 * daemons. Reads only the artifacts in `out/` (plus the site file for the lab's own addresses).
 *
 * Namespaces: the internet (client, attacker, admin, the ACME CA, scanners), one per ISP, the edge,
 * one per private-cloud site (site-layout.ts). Each site host is a real Docker host: a dockerd of
 * its own (Debian's docker.io; socket, data root, exec root and pidfile under the run directory)
 * runs in its namespace beside the site's rendered nftables.conf, WireGuard and failover agent, and
 * the site's rendered stack is applied to it from the artifacts (docker/apply.ts, the stand-in for
 * terraform apply / pulumi up); each container's network namespace is then named (`ip netns
 * attach`) so probes and drills enter it. The rendered rulesets are loaded unchanged with `nft -f`.
 * With several sites, each site's wireguard-go, `wg` calls and failover agent see a directory of
 * their own over /var/run/wireguard (wg-mountns.ts), so every site runs the rendered `wg-cloud`;
 * the edge's one wg-edge has a peer per site and forwards between them.
 *
 * State: `.palisade/lab/state.json` (netns.ts: namespaces, PIDs, WireGuard interfaces) and
 * `.palisade/lab/lab.json` (layout, run dir, sockets, namespace inodes, host sysctls changed, the
 * Docker engine's roots, PID and containers),
 * written before anything is created, so `down` removes everything even after a crash or an
 * interrupted `up`.
 *
 * One host-wide setting: nft `log` in a non-initial namespace reaches the kernel log only with
 * `net.netfilter.nf_log_all_netns=1`; `up` sets it (when the portscan jail is rendered and
 * /dev/kmsg is readable) so the edge's "palisade-drop: " lines reach its kern.log, and `down`
 * writes the previous value back.
 */
import { chmodSync, chownSync, closeSync, cpSync, existsSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { ChildProcess } from "node:child_process";
import { cidr4Overlaps, loadSite } from "../../core/index.js";
import { cleanupFromStateFile, NetnsLab, wgQuickStrip } from "./netns.js";
import { findHostArtifacts, readCloudStack, type HostArtifacts } from "./artifacts.js";
import { labLayout, layoutNamespaces, routesOf, type LabLayout } from "./layout.js";
import { alive, execAsync, ipBatch, listening, mustAsync, netnsInode, pidsInNetns, sleep, waitFor } from "./proc.js";
import { labEdgeHaproxyConfig, labFail2banJail, labFail2banLocal, labFailoverConfig, labKnotConfig, labWireguardConf, wgQuickAddresses, wgQuickMtu, handshakes } from "./configs.js";
import { applyStack, attachNetns, prepareImages, readApplyPlan, startEngine, stopEngine, type LabDocker, type LabEngine } from "./docker/cloud.js";
import { imageKind } from "./docker/images.js";
import { DockerApi, mountsUnder } from "./docker/engine.js";
import { ApplyError, type ApplyPlan } from "./docker/apply.js";
import { labCannotRun } from "./site-plan.js";
import { inWgDir, siteWgSocket } from "./wg-mountns.js";
import type { LabSiteLayout } from "./layout.js";
import { INGRESS_PATHS } from "../../cluster/index.js";
import { KMSG_RELAY_PY, STANDINS_PY } from "./private/scripts.js";
import { EDGE_DROP_LOG_PREFIX } from "../../edge/index.js";

/**
 * How long `up` waits for one daemon to be ready (listening, answering, its socket made). It only
 * bounds a failure: a daemon that is up is seen within milliseconds. On a quiet machine everything is
 * ready in about 12 s in all; on a loaded 2-core CI runner, where the site's dockerd starts its
 * containers at the same moment, fail2ban (Python, loading every jail) and knotd took more than
 * 10 s, and their 8-10 s waits failed a lab that was coming up.
 */
export const READY_TIMEOUT_MS = 45_000;

export interface LabPaths {
  /** `.palisade/lab` under the project root. */
  readonly dir: string;
  readonly stateFile: string;
  readonly labFile: string;
}

export function labPaths(root = process.cwd()): LabPaths {
  const dir = resolve(root, ".palisade/lab");
  return { dir, stateFile: join(dir, "state.json"), labFile: join(dir, "lab.json") };
}

export interface LabDaemon {
  readonly name: string;
  readonly ns: string;
  readonly pid: number;
  readonly log: string;
}

/** What `up` recorded: everything probe, drills and down need. */
export interface LabRecord {
  readonly version: 1;
  readonly root: string;
  readonly outDir: string;
  readonly runDir: string;
  readonly layout: LabLayout;
  readonly namespaces: readonly string[];
  readonly inodes: Record<string, number>;
  readonly daemons: LabDaemon[];
  readonly sockets: Record<string, string>;
  readonly files: Record<string, string>;
  /** The lab's WireGuard public keys: the edge's, the first site's, and every site's by id. */
  readonly keys: { readonly edgePublic: string; readonly cloudPublic: string; readonly sites?: Record<string, string> };
  /** Components not started, with the reason (a missing artifact, a missing tool). */
  readonly skipped: Record<string, string>;
  readonly warnings: string[];
  readonly timings: Record<string, number>;
  /**
   * Host-wide sysctls the lab changed, with the value each had before; `down` writes it back.
   * Recorded (and saved) before the change, so a crashed lab is restored too.
   * @default - none (records written before this field existed)
   */
  readonly sysctls?: Record<string, string>;
  /** Every site's Docker engine (roots, PID, containers, lab-only rewrites), by site id. @default - none (before its dockerd started) */
  dockers?: Record<string, LabDocker>;
  complete: boolean;
}

export type Progress = (line: string) => void;

function saveRecord(paths: LabPaths, rec: LabRecord): void {
  writeFileSync(paths.labFile, `${JSON.stringify(rec, null, 2)}\n`);
}

/** Saves a lab record where `up` wrote it (drills that change the lab: new PIDs, re-attached namespaces). */
export function saveLabRecord(rec: LabRecord): void {
  saveRecord(labPaths(rec.root), rec);
}

export function readRecord(paths = labPaths()): LabRecord | null {
  if (!existsSync(paths.labFile)) return null;
  return JSON.parse(readFileSync(paths.labFile, "utf8")) as LabRecord;
}

/** True when a recorded lab is complete and every namespace and daemon is still there. */
export function labHealthy(rec: LabRecord | null): boolean {
  if (!rec || !rec.complete) return false;
  return rec.namespaces.every((ns) => netnsInode(ns) === rec.inodes[ns]) && rec.daemons.every((d) => alive(d.pid));
}

/**
 * Removes everything a lab recorded: processes (SIGTERM, then SIGKILL), any other process still
 * inside one of its namespaces (found by namespace inode), the namespaces, WireGuard sockets, the
 * run directory and the state files. Safe to call when nothing is up.
 */
export async function labDown(paths = labPaths(), progress: Progress = () => {}): Promise<{ removedNamespaces: string[]; killed: number }> {
  const rec = readRecord(paths);
  const state = existsSync(paths.stateFile) ? (JSON.parse(readFileSync(paths.stateFile, "utf8")) as { processes: { pid: number }[]; namespaces: string[] }) : null;
  const pids = new Set<number>([...(state?.processes ?? []).map((p) => p.pid), ...(rec?.daemons ?? []).map((d) => d.pid)]);
  const inodes = new Set<number>(Object.values(rec?.inodes ?? {}));
  const nsNames = [...new Set([...(state?.namespaces ?? []), ...(rec?.namespaces ?? [])])];
  for (const ns of nsNames) {
    const ino = netnsInode(ns);
    if (ino !== null && (rec?.inodes[ns] === undefined || rec.inodes[ns] === ino)) inodes.add(ino);
  }
  // The lab's own daemons get SIGTERM at once, while the Docker engine stops (its containers
  // killed through the API, then dockerd by its PID): the two shutdowns overlap.
  const term = (pid: number) => {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone */
    }
  };
  let killed = 0;
  const termed = new Set<number>();
  const engines = Object.values(rec?.dockers ?? {});
  const enginePids = new Set(engines.map((d) => d.pid));
  for (const pid of pids) {
    if (enginePids.has(pid) || !alive(pid)) continue;
    killed++;
    termed.add(pid);
    term(pid);
  }
  const t0 = Date.now();
  const engineDone = (await Promise.all(engines.map((d) => stopEngine(d)))).flat();
  for (const pid of pidsInNetns(inodes)) pids.add(pid);
  for (const pid of pids) {
    if (termed.has(pid) || !alive(pid)) continue;
    killed++;
    term(pid);
  }
  const deadline = t0 + 1500;
  while ([...pids].some(alive) && Date.now() < deadline) await sleep(10);
  for (const pid of [...pids, ...pidsInNetns(inodes)]) {
    if (alive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
  cleanupFromStateFile(paths.stateFile);
  const restored = restoreSysctls(rec, progress);
  const removed: string[] = [];
  // One `ip` for every namespace (-force: a failing line does not stop the others).
  const present = nsNames.filter((ns) => netnsInode(ns) !== null);
  if (present.length) await execAsync(["ip", "-force", "-batch", "-"], { input: `${present.map((ns) => `netns del ${ns}`).join("\n")}\n` });
  removed.push(...nsNames);
  for (const ifname of ["wg-edge", "wg-cloud"].filter(() => rec !== null)) {
    const sock = `/var/run/wireguard/${ifname}.sock`;
    // Only ours: the recorded wireguard-go PIDs are gone now, so a socket left behind is stale.
    if (existsSync(sock) && rec?.sockets[ifname] === sock) rmSync(sock, { force: true });
  }
  if (rec?.runDir && rec.runDir.startsWith(tmpdir()) && existsSync(rec.runDir)) {
    // A crash between mounting the engine's tmpfs and recording the engine leaves it mounted here.
    for (const m of mountsUnder(rec.runDir)) await execAsync(["umount", "-l", m]);
    rmSync(rec.runDir, { recursive: true, force: true });
  }
  rmSync(paths.labFile, { force: true });
  rmSync(paths.stateFile, { force: true });
  progress(`down: ${[...engineDone, `${killed} process(es) stopped`].join(", ")}, ${removed.length} namespace(s) removed${restored.length ? `, ${restored.join(", ")} restored` : ""}`);
  return { removedNamespaces: removed, killed };
}

export interface UpOptions {
  readonly outDir: string;
  readonly siteFile: string;
  readonly root?: string;
  readonly progress?: Progress;
  /** Which engine's artifact the applier reads. @default "cdktf" */
  readonly engine?: LabEngine;
}

export interface UpResult {
  readonly alreadyUp: boolean;
  readonly record: LabRecord;
  readonly seconds: number;
}

/** Brings the lab up (or reports that a healthy one is up). Cleans a broken previous lab first. */
export async function labUp(opts: UpOptions): Promise<UpResult> {
  const t0 = Date.now();
  const root = resolve(opts.root ?? process.cwd());
  const paths = labPaths(root);
  const progress = opts.progress ?? (() => {});
  // Refused before anything is touched: a platform the lab cannot bring up is bad input (exit 2).
  const site = loadSite(resolve(root, opts.siteFile));
  const cannot = labCannotRun(site);
  if (cannot) throw new ApplyError(`${opts.siteFile}: ${cannot}`);
  const existing = readRecord(paths);
  if (labHealthy(existing)) {
    progress("up: the lab is already up and healthy (palisade lab down to remove it)");
    return { alreadyUp: true, record: existing!, seconds: 0 };
  }
  if (existing || existsSync(paths.stateFile)) {
    progress("up: removing a previous, incomplete lab");
    await labDown(paths);
  }
  mkdirSync(paths.dir, { recursive: true });

  const outDir = resolve(root, opts.outDir);
  // Every private-cloud site: its stack, host files and applier plan (a one-site platform's site is `cloud`).
  const siteIds = site.sites.map((s) => s.id);
  const multi = siteIds.length > 1;
  const stacks = Object.fromEntries(siteIds.map((id) => [id, readCloudStack(outDir, id)]));
  const art = findHostArtifacts(outDir, siteIds);
  // Read (and refused, field by field) before anything is created.
  const engine = opts.engine ?? "cdktf";
  const plans = Object.fromEntries(siteIds.map((id) => [id, readApplyPlan(outDir, engine, id)]));
  const intentFile = join(outDir, "intent.json");
  const routes = existsSync(intentFile) ? routesOf(JSON.parse(readFileSync(intentFile, "utf8")) as Parameters<typeof routesOf>[0]) : [];
  const runDir = mkdtempSync(join(tmpdir(), "palisade-lab-"));
  chmodSync(runDir, 0o755);
  let layout: LabLayout;
  try {
    layout = labLayout(site, stacks, routes, runDir);
  } catch (e) {
    rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
  const rec: LabRecord = {
    version: 1,
    root,
    outDir,
    runDir,
    layout,
    namespaces: layoutNamespaces(layout),
    inodes: {},
    daemons: [],
    sockets: {},
    files: {},
    keys: { edgePublic: "", cloudPublic: "" },
    skipped: {},
    warnings: [],
    timings: {},
    sysctls: {},
    complete: false,
  };
  saveRecord(paths, rec);
  const lab = new NetnsLab(paths.stateFile);
  const mark = (name: string) => {
    rec.timings[name] = (Date.now() - t0) / 1000;
  };

  try {
    // Several sites' wg-cloud sockets are in their own directories under the run directory (wg-mountns.ts).
    for (const ifname of multi ? ["wg-edge"] : ["wg-edge", "wg-cloud"]) {
      if (existsSync(`/var/run/wireguard/${ifname}.sock`)) {
        throw new Error(`/var/run/wireguard/${ifname}.sock exists: another wireguard-go (not this lab's) uses ${ifname}; WireGuard names are global across namespaces. Stop it, or wait for the other test to finish.`);
      }
    }
    for (const ns of rec.namespaces) {
      if (netnsInode(ns) !== null) throw new Error(`namespace ${ns} exists but is not recorded by this lab; remove it by hand (ip netns del ${ns}) if it is a leftover`);
    }
    // Work that needs no namespace starts at once, in parallel.
    const prep = prepareFiles(rec, art);
    prep.catch(() => {});
    // One site's images after the other's: they share the image cache (a cached build is a file read).
    const imageCache = join(root, ".palisade", "lab-cache", "images");
    const images: Record<string, ReturnType<typeof prepareImages>> = {};
    let previous: Promise<unknown> = Promise.resolve();
    for (const id of siteIds) {
      images[id] = previous.then(() => prepareImages(plans[id]!, imageCache));
      images[id].catch(() => {});
      previous = images[id].catch(() => {});
    }
    const containerNs = new Set(layout.containers.map((c) => c.ns));

    progress(`up: ${rec.namespaces.length - containerNs.size} namespaces (and ${containerNs.size} named container namespaces later)`);
    const own = rec.namespaces.filter((ns) => !containerNs.has(ns));
    lab.addNamespaces(own);
    for (const ns of own) rec.inodes[ns] = netnsInode(ns)!;
    saveRecord(paths, rec);
    mark("namespaces");
    // The rendered rulesets before any daemon talks (on a host, nftables.service starts before
    // docker), loaded while the links are made: a rule names interfaces, it does not need them.
    const rulesets = Promise.all([
      ...layout.sites.map((s) => {
        const nft = art.sites[s.id]!.nft;
        return nft ? mustAsync(["ip", "netns", "exec", s.ns, "nft", "-f", nft]) : (rec.skipped[`nftables:${s.id}`] = `hosts/${s.id}/nftables.conf not rendered`);
      }),
      art.edgeNft ? mustAsync(["ip", "netns", "exec", layout.ns.edge, "nft", "-f", art.edgeNft]) : (rec.skipped["nftables:edge"] = "hosts/edge/nftables.conf not rendered"),
    ]);
    rulesets.catch(() => {});
    await wireNetwork(layout);
    // The edge forwards as its rendered sysctl drop-ins say (per namespace: net.*), applied as deploy
    // applies them, in name order, over the kernel's boot defaults (off; a new namespace copies the
    // lab host's IPv4 settings, which may be on); none rendered, it forwards nothing, as a real edge.
    await mustAsync(["ip", "netns", "exec", layout.ns.edge, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"]);
    for (const f of art.edgeSysctl) await mustAsync(["ip", "netns", "exec", layout.ns.edge, "sysctl", "-q", "-p", f]);
    if (!art.edgeSysctl.length && multi) rec.skipped["sysctl:edge"] = "hosts/edge/sysctl.d/*.conf not rendered: the edge does not forward between sites";
    mark("links");
    progress("up: links, bridges and routes in place");
    await rulesets;
    mark("nftables");
    progress(`up: nftables loaded (edge: ${art.edgeNft ? "rendered ruleset" : "none"}, ${layout.sites.map((s) => `${s.id}: ${art.sites[s.id]!.nft ? "rendered ruleset" : "none"}`).join(", ")})`);

    await prep;
    const spawn = (ns: string, name: string, argv: readonly string[], env?: NodeJS.ProcessEnv, cwd?: string, logFile?: string, netOnly = false): ChildProcess => {
      const log = logFile ?? join(runDir, "logs", `${name.replace(/[^a-z0-9.-]+/gi, "_")}.log`);
      const child = lab.spawnDaemon(ns, argv, { name, logFile: log, env: env ?? process.env, cwd, netOnly });
      child.unref();
      rec.daemons.push({ name, ns, pid: child.pid!, log });
      saveRecord(paths, rec);
      return child;
    };

    // WireGuard: responder (edge) first, then the initiator (cloud).
    const tunnel = startTunnel(lab, rec, art, mark).then(() => {
      mark("wireguard");
      progress(`up: WireGuard wg-edge (responder) and wg-cloud (initiator${multi ? ` on each of ${siteIds.join(", ")}` : ""}) configured`);
    });

    // Daemons that do not depend on the tunnel start now, in parallel.
    // The cloud's Docker engine: dockerd now, the images as soon as they are built, the stack once
    // the tunnel address (where ports are published) exists.
    const dockers: Record<string, LabDocker> = {};
    const siteUp = layout.sites.map((ls) => {
      const plan = plans[ls.id]!;
      const where = multi ? `site ${ls.id}'s namespace` : "the cloud namespace";
      // One dockerd per site, each with its own socket, data root, exec root and pidfile (a one-site lab's are the run directory's).
      const engineDir = multi ? join(runDir, "sites", ls.id) : runDir;
      const engineUp = startEngine({
        runDir: engineDir,
        outDir,
        cloudNs: ls.ns,
        engine,
        plan,
        images: images[ls.id]!,
        spawn: (ns, name, argv, logFile) => {
          const child = spawn(ns, multi ? `${name} ${ls.id}` : name, argv, undefined, undefined, logFile, true);
          return { pid: child.pid!, exitCode: () => child.exitCode };
        },
        save: (d) => {
          dockers[ls.id] = d;
          rec.dockers = dockers;
          saveRecord(paths, rec);
        },
      }).then((r) => {
        mark(multi ? `dockerd:${ls.id}` : "dockerd");
        progress(`up: dockerd ready in ${where}; ${r.docker.images.length} image(s) imported (${r.docker.images.filter((im) => im.cached).length} from the cache)`);
        return r;
      });
      return engineUp.then(async ({ api, docker }) => {
        const notApplied = new Map<string, string>();
        for (const c of plan.containers) {
          if (c.networkMode === "host") notApplied.set(c.name, `network_mode host: the lab runs it as a process in ${where} (its image is not buildable here)`);
        }
        await applyStack({
          api,
          docker,
          plan,
          outDir,
          runDir,
          siteFiles: art.sites[ls.id]!,
          notApplied,
          publishedReady: tunnel,
          save: () => saveRecord(paths, rec),
          seed: async (volumes) => seedIngressCerts(rec, plan, volumes),
        });
        mark(multi ? `applied:${ls.id}` : "applied");
        // Each container's network namespace gets the layout's name, for probes and drills.
        for (const [name, c] of Object.entries(docker.containers)) {
          const lc = ls.containers.find((x) => x.name === name);
          if (!lc) continue;
          c.ns = lc.ns;
          rec.inodes[lc.ns] = await attachNetns(lc.ns, c.pid);
        }
        saveRecord(paths, rec);
        progress(`up: ${plan.source} applied to dockerd${multi ? ` of site ${ls.id}` : ""} (${Object.keys(docker.containers).length} containers; the applier stands in for ${engine === "cdktf" ? "terraform apply" : "pulumi up"})`);
        await waitContainersListening(rec, plan, docker);
        mark(multi ? `ready:containers:${ls.id}` : "ready:containers");
      });
    });
    const stackUp = Promise.all(siteUp);

    const ready: Promise<unknown>[] = [tunnel, stackUp];
    const waitListen = (name: string, child: ChildProcess, proto: "tcp" | "udp", port: number) =>
      waitFor(`${name} listening on ${proto}/${port}`, () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${rec.daemons.find((d) => d.pid === child.pid)?.log}`);
        return listening(child.pid!, proto, port);
      }, READY_TIMEOUT_MS).then((ms) => {
        mark(`ready:${name}`);
        return ms;
      });

    // Stand-ins for what the lab does not run for real outside Docker (the edge's sshd and mail
    // ports: the lab does not start Postfix; the ISPs' resolvers): one process, sockets in every namespace.
    {
      const spec: Record<string, Record<string, string[]>> = {};
      // The ISPs' resolvers (the cloud's DNS servers) answer on their gateway address.
      for (const u of layout.sites.flatMap((x) => x.uplinks)) spec[u.ns] = { [`resolver ${u.id}`]: [`udp/53@${u.gateway}`, "tcp/53"] };
      spec[layout.ns.edge] = { "edge:sshd": ["tcp/22"], "edge-mail": ["tcp/25", "tcp/465", "tcp/587", "tcp/993"] };
      rec.skipped["postfix"] = "the edge's sshd (22) and mail ports (25/465/587/993) are stand-in listeners: the lab does not start Postfix/Dovecot";
      const child = spawn(layout.ns.inet, "stand-ins", ["/usr/bin/python3", "-c", STANDINS_PY, JSON.stringify(spec)]);
      const log = rec.daemons.find((d) => d.pid === child.pid)!.log;
      ready.push(
        waitFor("stand-ins ready", () => {
          if (child.exitCode !== null) throw new Error(`stand-ins exited with ${child.exitCode}; see ${log}`);
          return readFileSync(log, "utf8").includes("ready");
        }, READY_TIMEOUT_MS).then(() => mark("ready:stand-ins")),
      );
    }

    // Edge HAProxy (SNI passthrough).
    if (art.edgeHaproxy) {
      const cfg = join(runDir, "edge", "haproxy.cfg");
      writeFileSync(cfg, labEdgeHaproxyConfig(readFileSync(art.edgeHaproxy, "utf8"), join(runDir, "edge", "haproxy.sock")));
      rec.sockets["edge-haproxy"] = join(runDir, "edge", "haproxy.sock");
      // Its log goes where the haproxy-sni jail reads (syslog format), as on the host.
      const jailLog = art.fail2banDir ? jailLogPath(art.fail2banDir, /haproxy/) : null;
      mkdirSync(join(runDir, "logs", "watched"), { recursive: true });
      const child = spawn(layout.ns.edge, "haproxy edge", ["haproxy", "-db", "-f", cfg], undefined, undefined, jailLog ? watchedLog(runDir, jailLog) : undefined);
      ready.push(waitListen("edge haproxy", child, "tcp", 443));
    } else rec.skipped["haproxy:edge"] = "hosts/edge/haproxy/haproxy.cfg not rendered";

    // Knot with the rendered zone.
    if (art.knotDir) ready.push(startKnot(rec, art.knotDir, spawn, waitListen));
    else rec.skipped["knot"] = "hosts/edge/knot/knot.conf not rendered";

    // fail2ban with the rendered jails.
    if (art.fail2banDir) ready.push(startFail2ban(rec, art.fail2banDir, spawn, () => saveRecord(paths, rec)).then(() => mark("ready:fail2ban")));
    else rec.skipped["fail2ban"] = "hosts/edge/fail2ban/ (jails) not rendered";

    // pebble, the lab's ACME CA, in the internet namespace; it resolves names through the edge's Knot.
    {
      const child = spawn(
        layout.ns.inet,
        "pebble",
        ["pebble", "-config", rec.files.pebbleConfig!, "-dnsserver", `${layout.edge.ipv4}:53`],
        { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
      );
      ready.push(waitListen("pebble", child, "tcp", 443));
    }

    // Each site's failover agent, once the tunnel exists (it nudges wg-cloud: in the site's WireGuard directory).
    for (const [i, ls] of layout.sites.entries()) {
      const failover = art.sites[ls.id]!.failover;
      const key = (k: string) => (i === 0 ? k : `${k}:${ls.id}`);
      if (!failover) {
        rec.skipped[multi ? `failover:${ls.id}` : "failover"] = `hosts/${ls.id}/failover/failover.json not rendered`;
        continue;
      }
      ready.push(
        tunnel.then(async () => {
          const cfgFile = join(runDir, ls.id, "failover.json");
          const stateFile = join(runDir, ls.id, "failover.state");
          writeFileSync(cfgFile, labFailoverConfig(readFileSync(failover, "utf8"), stateFile, rec.keys.edgePublic));
          rec.files[key("failoverConfig")] = cfgFile;
          rec.files[key("failoverState")] = stateFile;
          const child = spawn(ls.ns, multi ? `failover agent ${ls.id}` : "failover agent", inWgDir(ls.wgDir, [process.execPath, "--import", "tsx", join(root, "tunnel/failover/agent.ts"), "--config", cfgFile]), process.env, root);
          rec.files[key("failoverLog")] = rec.daemons.find((d) => d.pid === child.pid)!.log;
          await waitFor(`the failover agent's state file${multi ? ` (site ${ls.id})` : ""}`, () => {
            if (child.exitCode !== null) throw new Error(`failover agent${multi ? ` of site ${ls.id}` : ""} exited with ${child.exitCode}`);
            return existsSync(stateFile);
          }, READY_TIMEOUT_MS);
        }),
      );
    }

    const results = await Promise.allSettled(ready);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => String((r.reason as Error).message ?? r.reason));
    if (failures.length > 0) throw new Error(`lab up: ${failures.length} component(s) failed:\n  ${failures.join("\n  ")}`);
    mark("daemons");
    // The tunnels are up when the edge has seen a handshake from every site.
    const siteKeys = layout.sites.map((x) => rec.keys.sites?.[x.id] ?? rec.keys.cloudPublic);
    await waitFor(`a WireGuard handshake on wg-edge${multi ? " from every site" : ""}`, async () => {
      const hs = handshakes((await execAsync(["wg", "show", "wg-edge", "latest-handshakes"])).stdout);
      return siteKeys.every((k) => (hs.get(k) ?? 0) > 0);
    }, READY_TIMEOUT_MS, 10);
    mark("handshake");
    rec.complete = true;
    rec.timings.total = (Date.now() - t0) / 1000;
    saveRecord(paths, rec);
    progress(`up: ready in ${rec.timings.total.toFixed(2)} s (${rec.daemons.length} processes)`);
    for (const [k, v] of Object.entries(rec.skipped)) progress(`up: skipped ${k}: ${v}`);
    for (const w of rec.warnings) progress(`up: warning: ${w}`);
    return { alreadyUp: false, record: rec, seconds: rec.timings.total };
  } catch (e) {
    saveRecord(paths, rec);
    throw e;
  }
}

/** Config files, keys and certificates the daemons need; none of it needs a namespace. */
async function prepareFiles(rec: LabRecord, art: HostArtifacts): Promise<void> {
  const { runDir, layout } = rec;
  for (const d of [...new Set(["logs", "edge", "cloud", "ca", "pebble", "acme", ...layout.sites.map((s) => s.id)])]) mkdirSync(join(runDir, d), { recursive: true });
  const ca = join(runDir, "ca");
  // The lab CA signs the ingress's initial certificates and pebble's listener certificate.
  await mustAsync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(ca, "ca.key"), "-out", join(ca, "ca.pem"), "-subj", "/CN=palisade lab CA", "-days", "2"]);
  rec.files.labCa = join(ca, "ca.pem");
  const leaf = async (name: string, sans: string[], certOut: string, keyOut: string) => {
    const csr = `${certOut}.csr`;
    const ext = `${certOut}.ext`;
    writeFileSync(ext, `subjectAltName=${sans.join(",")}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
    await mustAsync(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyOut, "-out", csr, "-subj", `/CN=${name}`]);
    // A serial of its own (not -CAcreateserial's shared file), so leaves can be signed in parallel.
    await mustAsync(["openssl", "x509", "-req", "-in", csr, "-CA", join(ca, "ca.pem"), "-CAkey", join(ca, "ca.key"), "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-out", certOut, "-days", "2", "-extfile", ext]);
  };
  // One certificate per host the routes serve (each naming only its host: the acme drill replaces
  // one of them, and SNI must then find only the new one), made in parallel.
  const hosts = [...new Set(layout.routes.map((r) => r.host))].sort();
  await Promise.all([
    ...hosts.map((h) => leaf(h, [`DNS:${h}`], join(ca, `${h}.crt`), join(ca, `${h}.key`))),
    leaf("pebble", [`IP:${layout.internet.ca}`, "DNS:pebble"], join(ca, "pebble.crt"), join(ca, "pebble.key")),
  ]);
  rec.files.ingressHosts = hosts.join(",");
  rec.files.pebbleConfig = join(runDir, "pebble", "pebble.json");
  writeFileSync(
    rec.files.pebbleConfig,
    JSON.stringify({
      pebble: {
        listenAddress: `${layout.internet.ca}:443`,
        managementListenAddress: `${layout.internet.ca}:15000`,
        certificate: join(ca, "pebble.crt"),
        privateKey: join(ca, "pebble.key"),
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  // The lab's own WireGuard keys: the site's private keys never exist here.
  const keys: Record<string, string> = {};
  // The edge's and each site's (a one-site platform's site is `cloud`).
  for (const side of ["edge", ...layout.sites.map((s) => s.id)]) {
    const priv = (await mustAsync(["wg", "genkey"])).trim();
    const file = join(runDir, side, "wg.key");
    writeFileSync(file, `${priv}\n`, { mode: 0o600 });
    keys[side] = (await mustAsync(["wg", "pubkey"], { input: `${priv}\n` })).trim();
    rec.files[`wgKey${side}`] = file;
  }
  const siteKeys = Object.fromEntries(layout.sites.map((s) => [s.id, keys[s.id]!]));
  (rec as { keys: LabRecord["keys"] }).keys = { edgePublic: keys.edge!, cloudPublic: keys[layout.sites[0]!.id]!, ...(layout.sites.length > 1 ? { sites: siteKeys } : {}) };
  void art;
}

/**
 * The ingress's initial certificates (signed by the lab CA until the acme drill replaces them) in
 * the volume the ingress container mounts at its certificate directory, owned by its user.
 */
async function seedIngressCerts(rec: LabRecord, plan: ApplyPlan, volumes: Record<string, string>): Promise<void> {
  const ingress = plan.containers.find((c) => imageKind(c.image) === "haproxy");
  if (!ingress) return;
  const certs = ingress.mounts.find((m) => m.type === "volume" && m.target === INGRESS_PATHS.certDir);
  const runtime = ingress.mounts.find((m) => m.type === "volume" && m.target === dirname(INGRESS_PATHS.adminSocket));
  const [uid, gid] = String((ingress.create as { User?: string }).User ?? "0:0").split(":").map((x) => Number(x) || 0);
  if (certs) {
    const dir = volumes[certs.source]!;
    for (const h of rec.files.ingressHosts!.split(",").filter(Boolean)) {
      const file = join(dir, `${h}.pem`);
      writeFileSync(file, readFileSync(join(rec.runDir, "ca", `${h}.crt`), "utf8") + readFileSync(join(rec.runDir, "ca", `${h}.key`), "utf8"), { mode: 0o600 });
      chownSync(file, uid!, gid!);
    }
    rec.files.ingressCertsDir = dir;
  } else rec.warnings.push(`the ingress container mounts no volume at ${INGRESS_PATHS.certDir}: it starts without the lab's certificates`);
  if (runtime) {
    rec.sockets["ingress-admin"] = join(volumes[runtime.source]!, basename(INGRESS_PATHS.adminSocket));
    rec.sockets["ingress-master"] = join(volumes[runtime.source]!, "master.sock");
  }
}

/**
 * Waits until every applied container listens on its declared TCP ports (PostgreSQL only after
 * its init hook ran). A container that does not is a warning with its log's tail, not a failure:
 * the probe then shows what it does not answer.
 */
async function waitContainersListening(rec: LabRecord, plan: ApplyPlan, docker: LabDocker): Promise<void> {
  const api = new DockerApi(docker.paths.socket);
  await Promise.all(
    Object.entries(docker.containers).map(async ([name, c]) => {
      const spec = plan.containers.find((x) => x.name === name)!;
      if (imageKind(spec.image) === "idle") return;
      const ports = (spec.labels["palisade.listens"] ?? "").split(",").filter((p) => p.startsWith("tcp/")).map((p) => Number(p.slice(4)));
      try {
        await waitFor(`${name} listening on tcp/${ports.join(",")}`, async () => ports.every((p) => listening(c.pid, "tcp", p)), READY_TIMEOUT_MS, 25);
      } catch (e) {
        const info = await api.inspectContainer(c.id).catch(() => null);
        const logs = await api.call<string>("GET", `/containers/${c.id}/logs?stdout=1&stderr=1&tail=5`).catch(() => "");
        // eslint-disable-next-line no-control-regex
        const text = String(logs).replace(/[\x00-\x08]/g, "").trim().split("\n").slice(-3).join(" | ");
        rec.warnings.push(`${(e as Error).message} (container ${info?.State.Status ?? "?"}, exit ${info?.State.ExitCode ?? "?"}; log: ${text})`);
      }
    }),
  );
}

/** Links, addresses, bridges, routes and forwarding, batched per namespace. */
async function wireNetwork(l: LabLayout): Promise<void> {
  const { inet, edge } = l.ns;
  const uplinks = l.sites.flatMap((s) => s.uplinks);
  const batches = new Map<string, string[]>();
  const add = (ns: string, line: string) => batches.set(ns, [...(batches.get(ns) ?? []), line]);
  for (const ns of [inet, edge, ...l.sites.map((s) => s.ns), ...uplinks.map((u) => u.ns)]) add(ns, "link set lo up");
  // Creating links (in the namespace of one end, peer moved at once: no name in the root namespace).
  const create: [string, string][] = [[inet, `link add e-edge type veth peer name eth0 netns ${edge}`]];
  for (const s of l.sites) {
    for (const u of s.uplinks) {
      create.push([inet, `link add ${u.ifInet} type veth peer name wan0 netns ${u.ns}`]);
      create.push([u.ns, `link add cpe0 type veth peer name ${u.iface} netns ${s.ns}`]);
    }
  }
  const byNs = new Map<string, string[]>();
  for (const [ns, line] of create) byNs.set(ns, [...(byNs.get(ns) ?? []), line]);
  // Order matters only for the cloud/isp veths (the isp creates them into the cloud).
  for (const [ns, lines] of byNs) await ipBatch(ns, lines);

  // Internet namespace: router for the edge and the ISPs; the lab's internet hosts on lo.
  add(inet, `addr add ${l.edge.router4}/${l.edge.prefix4} dev e-edge`);
  add(inet, `addr add ${l.edge.router6}/64 dev e-edge nodad`);
  add(inet, "link set e-edge up");
  for (const a of [l.internet.client, l.internet.attacker, l.internet.admin, l.internet.ca, ...l.internet.scanners]) add(inet, `addr add ${a}/32 dev lo`);
  for (const u of uplinks) {
    add(inet, `addr add ${u.transit.inet}/30 dev ${u.ifInet}`);
    add(inet, `link set ${u.ifInet} up`);
    add(inet, `route add ${networkOf(u.cidr)} via ${u.transit.isp}`);
    add(u.ns, `addr add ${u.transit.isp}/30 dev wan0`);
    add(u.ns, "link set wan0 up");
    add(u.ns, `addr add ${u.gateway}/${u.cidr.split("/")[1]} dev cpe0`);
    add(u.ns, "link set cpe0 up");
    add(u.ns, `route add default via ${u.transit.inet}`);
  }
  // Edge: its public addresses; every route leads to the lab's internet namespace only.
  add(edge, `addr add ${l.edge.ipv4}/${l.edge.prefix4} dev eth0`);
  add(edge, `addr add ${l.edge.ipv6}/64 dev eth0 nodad`);
  add(edge, "link set eth0 up");
  add(edge, `route add default via ${l.edge.router4}`);
  // Each site host: uplinks and the route to the edge via the primary (dockerd makes the bridges).
  for (const s of l.sites) {
    for (const u of s.uplinks) {
      add(s.ns, `addr add ${u.cidr} dev ${u.iface}`);
      add(s.ns, `link set ${u.iface} up`);
    }
    const primary = s.uplinks[0]!;
    add(s.ns, `route add ${l.edge.ipv4}/32 via ${primary.gateway} dev ${primary.iface}`);
    add(s.ns, `route add default via ${primary.gateway} dev ${primary.iface}`);
  }
  await Promise.all([...batches].map(([ns, lines]) => ipBatch(ns, lines)));
  // Forwarding where the lab routes: the internet, the ISPs, the site hosts (dockerd sets it there
  // too). Not the edge: it forwards as its rendered sysctl drop-ins say (labUp applies them).
  await Promise.all(
    [inet, ...l.sites.map((s) => s.ns), ...uplinks.map((u) => u.ns)].map((ns) =>
      mustAsync(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]),
    ),
  );
}

function networkOf(cidr: string): string {
  const [addr, bits] = cidr.split("/");
  const n = Number(bits);
  const parts = addr!.split(".").map(Number);
  const v = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  const base = (v & mask) >>> 0;
  return `${[base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join(".")}/${n}`;
}

/**
 * WireGuard as `netns.ts`'s `startWireguard` does it (responder first, `wg setconf`, private key,
 * addresses, MTU), but with wireguard-go's output in a log file: a daemon must not hold a pipe to
 * the `lab up` process, which exits while the lab keeps running.
 */
async function startTunnel(lab: NetnsLab, rec: LabRecord, art: HostArtifacts, mark: (n: string) => void): Promise<void> {
  const l = rec.layout;
  const missing = l.sites.filter((s) => !art.sites[s.id]?.wg);
  if (!art.edgeWg || missing.length) {
    rec.skipped["wireguard"] = `hosts/{edge,${l.sites.map((s) => s.id).join(",")}}/wireguard/*.conf not rendered`;
    return;
  }
  const multi = l.sites.length > 1;
  const siteKey = (s: LabSiteLayout) => rec.keys.sites?.[s.id] ?? rec.keys.cloudPublic;
  // The edge has one [Peer] per site: each gets that site's lab key (found by the site's tunnel address in its AllowedIPs).
  const edgeText = readFileSync(art.edgeWg, "utf8");
  const edgePeerKeys = edgeText
    .split(/^\[Peer\]/m)
    .slice(1)
    .map((block) => {
      const allowed = (/^AllowedIPs\s*=\s*(.+)$/m.exec(block)?.[1] ?? "").split(",").map((x) => x.trim().split("/")[0]);
      const s = l.sites.find((x) => allowed.includes(x.tunnel.cloud4)) ?? l.sites[0]!;
      return siteKey(s);
    });
  const sides = [
    { ns: l.ns.edge, dir: "edge", file: art.edgeWg, key: rec.files.wgKeyedge!, peer: edgePeerKeys as string | string[], wgDir: undefined as string | undefined, site: undefined as LabSiteLayout | undefined },
    ...l.sites.map((s) => ({ ns: s.ns, dir: s.id, file: art.sites[s.id]!.wg!, key: rec.files[`wgKey${s.id}`]!, peer: rec.keys.edgePublic as string | string[], wgDir: s.wgDir, site: s })),
  ];
  for (const s of sides) {
    const ifname = s.file.split("/").pop()!.replace(/\.conf$/, "");
    const text = readFileSync(s.file, "utf8");
    const conf = labWireguardConf(wgQuickStrip(ifname, text), s.peer);
    const sock = siteWgSocket(s.wgDir, ifname);
    if (s.wgDir) mkdirSync(s.wgDir, { recursive: true });
    if (existsSync(sock)) throw new Error(`${sock} exists: another wireguard-go already uses the name ${ifname}`);
    const label = s.site && multi ? `wireguard-go ${ifname} ${s.site.id}` : `wireguard-go ${ifname}`;
    const log = join(rec.runDir, "logs", `${label.replace(/ /g, "_")}.log`);
    // A site of several runs wireguard-go (and every wg call) with its own directory over /var/run/wireguard.
    const child = lab.spawnDaemon(s.ns, inWgDir(s.wgDir, ["wireguard-go", "-f", ifname]), { name: label, logFile: log, env: { ...process.env, LOG_LEVEL: "error" } });
    child.unref();
    if (!s.wgDir) lab.recorded.wireguardInterfaces.push(ifname);
    rec.sockets[s.site && multi ? `${ifname}:${s.site.id}` : ifname] = sock;
    rec.daemons.push({ name: label, ns: s.ns, pid: child.pid!, log });
    await waitFor(`${label} creating ${sock}`, () => {
      if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}; see ${log}`);
      return existsSync(sock);
    }, READY_TIMEOUT_MS, 5);
    // A file, not /dev/stdin: node's stdio pipes are sockets, which wg cannot fopen.
    const confFile = join(rec.runDir, s.dir, `${ifname}.wg.conf`);
    writeFileSync(confFile, conf, { mode: 0o600 });
    await mustAsync(inWgDir(s.wgDir, ["wg", "setconf", ifname, confFile]));
    await mustAsync(inWgDir(s.wgDir, ["wg", "set", ifname, "private-key", s.key]));
    const mtu = wgQuickMtu(text) ?? 1420;
    const addrs = wgQuickAddresses(text);
    // wg-quick's routes for AllowedIPs outside the interface's own subnets (another site's tunnel address, through the edge).
    const own4 = addrs.filter((a) => !a.includes(":"));
    const routes = wgQuickAllowedIps(text).filter((a) => !a.includes(":") && !own4.some((o) => cidr4Overlaps(o, a)));
    await ipBatch(s.ns, [...addrs.map((a) => `addr add ${a} dev ${ifname}${a.includes(":") ? " nodad" : ""}`), `link set dev ${ifname} mtu ${mtu} up`, ...routes.map((r) => `route add ${r} dev ${ifname}`)]);
    mark(s.site && multi ? `ready:${ifname}:${s.site.id}` : `ready:${ifname}`);
  }
}

/** Every AllowedIPs entry of a wg-quick config. */
function wgQuickAllowedIps(conf: string): string[] {
  return [...conf.matchAll(/^AllowedIPs\s*=\s*(.+)$/gm)].flatMap((m) => m[1]!.split(",").map((x) => x.trim()).filter(Boolean));
}


/** Where the lab keeps a log file a jail watches on the host (`/var/log/auth.log`). */
export function watchedLog(runDir: string, hostPath: string): string {
  return join(runDir, "logs", "watched", hostPath.replace(/^\/+/, "").replace(/[/*]/g, "_"));
}

/** The host log path a rendered jail reads for the first jail whose filter matches `filter`. */
export function jailLogPath(f2bDir: string, filter: RegExp): string | null {
  const file = join(f2bDir, "jail.local");
  if (!existsSync(file)) return null;
  for (const section of readFileSync(file, "utf8").split(/^\[/m)) {
    const f = /^\s*filter\s*=\s*(\S+)/m.exec(section)?.[1] ?? /^([^\]]+)\]/.exec(section)?.[1];
    const lp = /^\s*logpath\s*=\s*(\S+)/m.exec(section)?.[1];
    if (f && lp && filter.test(f)) return lp;
  }
  return null;
}

type SpawnFn = (ns: string, name: string, argv: readonly string[], env?: NodeJS.ProcessEnv, cwd?: string, logFile?: string, netOnly?: boolean) => ChildProcess;
type WaitListenFn = (name: string, child: ChildProcess, proto: "tcp" | "udp", port: number) => Promise<number>;

async function startKnot(rec: LabRecord, knotDir: string, spawn: SpawnFn, waitListen: WaitListenFn): Promise<void> {
  const dir = join(rec.runDir, "knot");
  cpSync(knotDir, dir, { recursive: true });
  const conf = join(dir, "knot.conf");
  const text = readFileSync(conf, "utf8");
  // Every absolute path moves under the lab's copy: a rendered path inside hosts/edge/knot maps to the copy.
  const mapped = labKnotConfig(text, dir, (p) => {
    const base = p.split("/").pop()!;
    if (existsSync(join(dir, base))) return join(dir, base);
    if (existsSync(join(dir, "zones", base))) return join(dir, "zones", base);
    return join(dir, "var", p.replace(/^\/+/, ""));
  });
  writeFileSync(conf, mapped);
  // An included file that only exists on the host (the TSIG secret): the lab makes its own.
  for (const m of mapped.matchAll(/^\s*include\s*:\s*"([^"]+)"/gm)) {
    if (existsSync(m[1]!)) continue;
    mkdirSync(join(m[1]!, ".."), { recursive: true });
    const ids = [...new Set([...mapped.matchAll(/^\s*key\s*:\s*(\S+)/gm)].map((k) => k[1]!))];
    const keys = await Promise.all(ids.map((id) => mustAsync(["keymgr", "-t", id, "hmac-sha256"])));
    const body = keys.flatMap((k) => k.split("\n").filter((l) => l.trim() && !l.startsWith("#") && l.trim() !== "key:"));
    writeFileSync(m[1]!, ["key:", ...body, ""].join("\n"), { mode: 0o600 });
  }
  for (const m of mapped.matchAll(/^\s*(?:storage|rundir|kasp-db|timer-db|journal-db|keystore)\s*:\s*"([^"]+)"/gm)) mkdirSync(m[1]!, { recursive: true });
  rec.files.knotConf = conf;
  const rundir = /^\s*rundir\s*:\s*"([^"]+)"/m.exec(mapped)?.[1];
  if (rundir) rec.sockets["knot"] = join(rundir, "knot.sock");
  const child = spawn(rec.layout.ns.edge, "knotd", ["knotd", "-c", conf]);
  await waitListen("knotd", child, "udp", 53);
}

/** The sysctl that lets nft `log` in a non-initial network namespace reach the kernel log. */
export const NETNS_KERNEL_LOG_SYSCTL = "net.netfilter.nf_log_all_netns";

const sysctlFile = (name: string) => `/proc/sys/${name.replace(/\./g, "/")}`;

/** The current value of a sysctl of the initial namespace (this process's), or null. */
export function readSysctl(name: string): string | null {
  try {
    return readFileSync(sysctlFile(name), "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * Makes the edge's nft `log` lines reach the kernel log: checks /dev/kmsg can be read, records the
 * previous value of `net.netfilter.nf_log_all_netns` in the lab record (saved before the write),
 * then sets it to 1. Returns null on success, else why the kernel log is out of the lab's reach
 * (nothing changed then).
 */
function enableNetnsKernelLog(rec: LabRecord, save: () => void): string | null {
  try {
    closeSync(openSync("/dev/kmsg", "r"));
  } catch (e) {
    return `/dev/kmsg is not readable here (${(e as Error).message})`;
  }
  const before = readSysctl(NETNS_KERNEL_LOG_SYSCTL);
  if (before === null) return `${sysctlFile(NETNS_KERNEL_LOG_SYSCTL)} does not exist (no nf_log backend in this kernel?)`;
  if (before === "1") return null;
  const sysctls = ((rec as { sysctls?: Record<string, string> }).sysctls ??= {});
  sysctls[NETNS_KERNEL_LOG_SYSCTL] = before;
  save();
  try {
    writeFileSync(sysctlFile(NETNS_KERNEL_LOG_SYSCTL), "1");
    return null;
  } catch (e) {
    delete sysctls[NETNS_KERNEL_LOG_SYSCTL];
    save();
    return `cannot set ${NETNS_KERNEL_LOG_SYSCTL}=1 (${(e as Error).message})`;
  }
}

/** Writes back every sysctl a lab record says the lab changed; returns `name=value` of each restored. */
function restoreSysctls(rec: LabRecord | null, progress: Progress): string[] {
  const done: string[] = [];
  for (const [name, value] of Object.entries(rec?.sysctls ?? {})) {
    try {
      writeFileSync(sysctlFile(name), value);
      done.push(`${name}=${value}`);
    } catch (e) {
      progress(`down: warning: could not restore ${name}=${value}: ${(e as Error).message}`);
    }
  }
  return done;
}

async function startFail2ban(rec: LabRecord, f2bDir: string, spawn: SpawnFn, save: () => void): Promise<void> {
  const dir = join(rec.runDir, "fail2ban");
  // Debian's stock filter.d/action.d come first; the rendered files override them.
  cpSync("/etc/fail2ban", dir, { recursive: true, dereference: true });
  cpSync(f2bDir, dir, { recursive: true });
  rmSync(join(dir, "jail.d", "defaults-debian.conf"), { force: true });
  mkdirSync(join(rec.runDir, "logs", "watched"), { recursive: true });
  const logs: Record<string, string> = {};
  const mapLog = (p: string) => {
    const lab = watchedLog(rec.runDir, p);
    logs[p] = lab;
    // Seeded with one line that matches no filter: a watched log is never empty on a host, and
    // fail2ban's first read of an empty file delays the first ban by seconds.
    if (!existsSync(lab)) writeFileSync(lab, `${new Date().toISOString()} palisade-lab: log opened\n`);
    return lab;
  };
  // Only the rendered jail files get their log paths moved (the stock jail.conf stays as shipped).
  const rendered = readdirSync(f2bDir, { recursive: true }).map(String).filter((n) => /^jail\.(local|conf)$|^jail\.d\//.test(n));
  for (const rel of rendered) writeFileSync(join(dir, rel), labFail2banJail(readFileSync(join(f2bDir, rel), "utf8"), mapLog));
  const renderedTarget = existsSync(join(f2bDir, "fail2ban.conf")) ? /^\s*logtarget\s*=\s*(\/\S+)/m.exec(readFileSync(join(f2bDir, "fail2ban.conf"), "utf8"))?.[1] : undefined;
  writeFileSync(join(dir, "fail2ban.local"), labFail2banLocal(dir, renderedTarget ? mapLog(renderedTarget) : join(dir, "fail2ban.log")));
  rec.files.fail2banDir = dir;
  rec.files.fail2banLogs = JSON.stringify(logs);
  rec.sockets["fail2ban"] = join(dir, "fail2ban.sock");
  // The portscan jail's kern.log: the edge's "palisade-drop: " kernel lines, relayed as rsyslog would.
  const kernLogHost = jailLogPath(f2bDir, /^portscan$/);
  let relayReady: Promise<unknown> = Promise.resolve();
  if (kernLogHost && logs[kernLogHost]) {
    const why = enableNetnsKernelLog(rec, save);
    if (why) rec.skipped["portscan-kernel-log"] = `${why}: the portscan jail gets no lines in the lab (it stays tested by fail2ban-regex fixtures)`;
    else {
      const relay = spawn(rec.layout.ns.edge, "kernel-log relay", ["/usr/bin/python3", "-c", KMSG_RELAY_PY, logs[kernLogHost]!, "edge", EDGE_DROP_LOG_PREFIX]);
      const relayLog = rec.daemons.find((d) => d.pid === relay.pid)!.log;
      rec.files.kernLogRelay = logs[kernLogHost]!;
      relayReady = waitFor("the kernel-log relay reading /dev/kmsg", () => {
        if (relay.exitCode !== null) throw new Error(`the kernel-log relay exited with ${relay.exitCode}; see ${relayLog}`);
        return existsSync(relayLog) && readFileSync(relayLog, "utf8").includes("ready");
      }, READY_TIMEOUT_MS);
    }
  }
  const child = spawn(rec.layout.ns.edge, "fail2ban-server", ["fail2ban-server", "-f", "-x", "-c", dir]);
  const serverLog = rec.daemons.find((d) => d.pid === child.pid)?.log;
  await relayReady;
  // Each ping is a Python process of its own: polled every 250 ms, not faster, so that the pings do
  // not take the CPU the server needs to load its jails.
  await waitFor("fail2ban answering ping", async () => {
    if (child.exitCode !== null) throw new Error(`fail2ban-server exited with ${child.exitCode}; see ${serverLog}`);
    if (!existsSync(rec.sockets["fail2ban"]!)) return false;
    return (await execAsync(["fail2ban-client", "-c", dir, "ping"], { timeoutMs: 5000 })).code === 0;
  }, READY_TIMEOUT_MS, 250);
}

