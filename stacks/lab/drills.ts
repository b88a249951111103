/**
 * Fault drills on a running lab. Each returns figures; targets are reported, never asserted. A
 * drill fails only on a functional miss: no recovery within 30 s, no ban within 10 s, a benign
 * address banned, an undeclared port open, an unsigned or unverifiable answer, no certificate.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { execAsync, mustAsync, sleep } from "./proc.js";
import { PROBER_JS } from "./private/scripts.js";
import { connectFrom, expectedFlows, expectedWithSubsets, httpsThroughEdge } from "./probe.js";
import { jailLogPath, watchedLog, type LabRecord, type Progress } from "./up.js";
import { INGRESS_PATHS } from "../../cluster/index.js";
import { containerRestart, dockerdRestart } from "./engine-drills.js";
import { imageKind } from "./docker/images.js";
import { drillTargets, siteDocker, siteProgress } from "./drill-sites.js";
import { fiberCut } from "./uplink-drill.js";

export const DRILLS = ["fiber-cut", "brute-force", "port-scan", "dns", "acme", "container-restart", "dockerd-restart"] as const;
export type DrillName = (typeof DRILLS)[number];

export interface DrillResult {
  readonly name: DrillName;
  /** The site the drill ran on, on a lab of several sites (a one-site lab's and the edge drills' name none). @default - none */
  readonly site?: string;
  readonly pass: boolean;
  readonly figures: Record<string, unknown>;
  readonly targets: Record<string, string>;
  readonly notes: string[];
}

/**
 * Runs drill `name` on every site it concerns, in the site file's order (drill-sites.ts), or on the
 * one `site` names: one result per site; the edge drills give one result. Throws DrillRefused
 * (bad input) when `site` is not one of the lab's or the drill cannot run there.
 */
export async function runDrills(rec: LabRecord, name: DrillName, progress: Progress = () => {}, site?: string): Promise<DrillResult[]> {
  const targets = drillTargets(rec, name, site);
  const out: DrillResult[] = [];
  for (const at of targets) out.push(await runDrill(rec, name, progress, at));
  return out;
}

/**
 * Runs drill `name` once: a site drill on `site` (default: the first site), acme on the ingress's
 * site, an edge drill on the edge. Throws DrillRefused as runDrills does.
 */
export async function runDrill(rec: LabRecord, name: DrillName, progress: Progress = () => {}, site?: string): Promise<DrillResult> {
  const at = drillTargets(rec, name, site)[0];
  const r = await drillOn(rec, name, siteProgress(rec, at, progress), at ?? rec.layout.sites[0]!.id);
  return at !== undefined && rec.layout.sites.length > 1 ? { ...r, site: at } : r;
}

function drillOn(rec: LabRecord, name: DrillName, progress: Progress, site: string): Promise<DrillResult> {
  switch (name) {
    case "fiber-cut":
      return fiberCut(rec, site, progress);
    case "brute-force":
      return bruteForce(rec, progress);
    case "port-scan":
      return portScan(rec, progress);
    case "dns":
      return dnsDrill(rec, progress);
    case "acme":
      return acmeDrill(rec, site, progress);
    case "container-restart":
      return containerRestart(rec, site, progress);
    case "dockerd-restart":
      return dockerdRestart(rec, site, progress);
  }
}

const secs = (ms: number) => Math.round(ms) / 1000;

/** A syslog timestamp as the daemons write it (`Nov 26 01:42:45`), local time. */
function syslogDate(d = new Date()): string {
  const mon = d.toLocaleString("en-US", { month: "short" });
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${mon} ${String(d.getDate()).padStart(2, " ")} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

async function banSet(rec: LabRecord): Promise<string> {
  return (await execAsync(["ip", "netns", "exec", rec.layout.ns.edge, "nft", "list", "set", "inet", "palisade_edge", "ips_ban4"])).stdout;
}

/** The lab's addresses that no jail may ever ban: the client, the admin, the edge, every site's tunnel and uplinks. */
function benignBanned(rec: LabRecord, set: string): string[] {
  const l = rec.layout;
  return [l.internet.client, l.internet.admin, l.edge.ipv4, ...l.sites.flatMap((s) => [s.tunnel.edge4, s.tunnel.cloud4, ...s.uplinks.map((u) => u.address)])].filter((a) => new RegExp(`\\b${a.replace(/\./g, "\\.")}\\b`).test(set));
}

/** Lifts a ban in fail2ban (each jail given) and in nft (the action leaves unbanning to the element's timeout). */
async function unban(rec: LabRecord, jails: readonly string[], addresses: readonly string[]): Promise<void> {
  if (addresses.length === 0) return;
  if (rec.files.fail2banDir) for (const jail of jails) await execAsync(["fail2ban-client", "-c", rec.files.fail2banDir!, "set", jail, "unbanip", ...addresses]);
  for (const a of addresses) await execAsync(["ip", "netns", "exec", rec.layout.ns.edge, "nft", "delete", "element", "inet", "palisade_edge", "ips_ban4", `{ ${a} }`]);
}

async function bruteForce(rec: LabRecord, progress: Progress): Promise<DrillResult> {
  const l = rec.layout;
  const f2b = rec.files.fail2banDir;
  const rendered = join(rec.outDir, "hosts", "edge", "fail2ban");
  const authLogHost = existsSync(rendered) ? jailLogPath(rendered, /^sshd$/) : null;
  const saslLogHost = existsSync(rendered) ? jailLogPath(rendered, /postfix-sasl/) : null;
  if (!f2b || !authLogHost) return { name: "brute-force", pass: false, figures: {}, targets: {}, notes: ["fail2ban or its sshd jail is not running in the lab"] };
  const jail = readFileSync(join(rendered, "jail.local"), "utf8");
  const maxretry = Number(/^\s*maxretry\s*=\s*(\d+)/m.exec(jail)?.[1] ?? 5);
  const attacker = l.internet.attacker;
  // A clean start: the attacker is not banned (a previous run's ban is lifted in fail2ban and nft).
  await execAsync(["fail2ban-client", "-c", f2b, "set", "sshd", "unbanip", attacker]);
  await execAsync(["ip", "netns", "exec", l.ns.edge, "nft", "delete", "element", "inet", "palisade_edge", "ips_ban4", `{ ${attacker} }`]);
  const beforeAttacker = await connectFrom(l.ns.inet, attacker, l.edge.ipv4, 443);
  // The attacker fails to log in over SSH, maxretry times, and the lines land where the jail reads.
  const authLog = watchedLog(rec.runDir, authLogHost);
  let thresholdAt = 0;
  for (let i = 1; i <= maxretry; i++) {
    const port = 40000 + i;
    appendFileSync(authLog, `${syslogDate()} edge sshd[${3000 + i}]: Failed password for invalid user admin from ${attacker} port ${port} ssh2\n`);
    if (i === maxretry) thresholdAt = Date.now();
    else await sleep(20);
  }
  progress(`brute-force: ${maxretry} SSH failures from ${attacker} written to the sshd jail's log (${authLogHost}); waiting for the ban`);
  let banMs: number | null = null;
  while (Date.now() - thresholdAt < 10_000) {
    if ((await banSet(rec)).includes(attacker)) {
      banMs = Date.now() - thresholdAt;
      break;
    }
    await sleep(10);
  }
  // SASL failures from a second attacker address (the client's neighbour is not used: a fresh one).
  let saslBanMs: number | null = null;
  if (saslLogHost) {
    const saslAttacker = l.internet.scanners[l.internet.scanners.length - 1];
    if (saslAttacker) {
      await execAsync(["fail2ban-client", "-c", f2b, "set", "postfix-sasl", "unbanip", saslAttacker]);
      await execAsync(["ip", "netns", "exec", l.ns.edge, "nft", "delete", "element", "inet", "palisade_edge", "ips_ban4", `{ ${saslAttacker} }`]);
      const saslLog = watchedLog(rec.runDir, saslLogHost);
      let at = 0;
      for (let i = 1; i <= maxretry; i++) {
        appendFileSync(saslLog, `${syslogDate()} edge postfix/submission/smtpd[${4000 + i}]: warning: unknown[${saslAttacker}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n`);
        if (i === maxretry) at = Date.now();
        else await sleep(20);
      }
      while (Date.now() - at < 10_000) {
        if ((await banSet(rec)).includes(saslAttacker)) {
          saslBanMs = Date.now() - at;
          break;
        }
        await sleep(10);
      }
      await execAsync(["fail2ban-client", "-c", f2b, "set", "postfix-sasl", "unbanip", saslAttacker]);
      await execAsync(["ip", "netns", "exec", l.ns.edge, "nft", "delete", "element", "inet", "palisade_edge", "ips_ban4", `{ ${saslAttacker} }`]);
    }
  }
  const afterAttacker = await connectFrom(l.ns.inet, attacker, l.edge.ipv4, 443);
  const client = await httpsThroughEdge(rec, l.browseHost);
  const set = await banSet(rec);
  const benign = benignBanned(rec, set);
  progress(`brute-force: ban after ${banMs === null ? "none within 10 s" : `${secs(banMs)} s`}; attacker :443 ${beforeAttacker} -> ${afterAttacker}; client HTTPS ${client.ok ? "ok" : client.status}; SASL ban ${saslBanMs === null ? "none" : `${secs(saslBanMs)} s`}`);
  // Leave the lab as found.
  await execAsync(["fail2ban-client", "-c", f2b, "set", "sshd", "unbanip", attacker]);
  await execAsync(["ip", "netns", "exec", l.ns.edge, "nft", "delete", "element", "inet", "palisade_edge", "ips_ban4", `{ ${attacker} }`]);
  const notes: string[] = [];
  if (benign.length) notes.push(`benign addresses banned: ${benign.join(", ")}`);
  if (afterAttacker === "open") notes.push("the attacker still connects after the ban");
  if (!client.ok) notes.push(`the client lost HTTPS: ${client.status}`);
  if (saslLogHost && saslBanMs === null) notes.push("SASL failures did not lead to a ban within 10 s");
  return {
    name: "brute-force",
    pass: banMs !== null && benign.length === 0 && afterAttacker !== "open" && client.ok && (saslLogHost === null || saslBanMs !== null),
    figures: { ban_s: banMs === null ? null : secs(banMs), sasl_ban_s: saslBanMs === null ? null : secs(saslBanMs), maxretry, attacker_before: beforeAttacker, attacker_after: afterAttacker, client_https: client.ok, benign_banned: benign },
    targets: { ban_s: "<= 1 s after the threshold is crossed" },
    notes,
  };
}

/** Adds (and removes) `range` to every running jail's ignoreip, through fail2ban's socket. */
function scanRangeExemption(rec: LabRecord, range: string): { add: () => Promise<void>; remove: () => Promise<void> } {
  const dir = rec.files.fail2banDir;
  const jails = async () => {
    if (!dir) return [];
    const st = await execAsync(["fail2ban-client", "-c", dir, "status"]);
    return (/Jail list:\s*(.*)$/m.exec(st.stdout)?.[1] ?? "").split(",").map((j) => j.trim()).filter(Boolean);
  };
  const each = async (op: string) => {
    for (const j of await jails()) await execAsync(["fail2ban-client", "-c", dir!, "set", j, op, range]);
  };
  return { add: () => each("addignoreip"), remove: () => each("delignoreip") };
}

async function portScan(rec: LabRecord, progress: Progress): Promise<DrillResult> {
  const l = rec.layout;
  const expected = new Set(expectedWithSubsets(expectedFlows(rec).lines));
  const declared = (proto: string) =>
    [...expected].map((x) => new RegExp(`^internet => edge\\S* : ${proto}/(\\d+)$`).exec(x)?.[1]).filter((x): x is string => !!x).map(Number).sort((a, b) => a - b);
  const declaredTcp = [...new Set(declared("tcp"))];
  const declaredUdp = [...new Set(declared("udp"))];
  const scanners = l.internet.scanners;
  if (scanners.length === 0) return { name: "port-scan", pass: false, figures: {}, targets: {}, notes: ["no scanner addresses (198.51.100.128/25 overlaps the site)"] };
  const notes: string[] = [];
  // 1. The portscan jail, end to end, while the edge's log limit has its full burst: one scanner
  // hits closed ports, each dropped and logged by the edge (kernel log -> relay -> kern.log), up
  // to the jail's threshold; it must be in the ban set within 10 s, then it is let in again.
  const jailScanner = scanners[0]!;
  const jailOn = !!rec.files.kernLogRelay && !!rec.files.fail2banDir;
  let jailBanMs: number | null = null;
  let jailScannerAfter = "not run";
  let maxretry = 0;
  if (jailOn) {
    const jailLocal = join(rec.outDir, "hosts", "edge", "fail2ban", "jail.local");
    maxretry = Number(/^\s*maxretry\s*=\s*(\d+)/m.exec(existsSync(jailLocal) ? readFileSync(jailLocal, "utf8") : "")?.[1] ?? 5);
    await unban(rec, ["portscan", "recidive"], [jailScanner]);
    const closed = Array.from({ length: 1024 }, (_, i) => i + 1).filter((p) => !declaredTcp.includes(p)).slice(0, maxretry);
    progress(`port-scan: ${jailScanner} tries ${maxretry} closed TCP ports of ${l.edge.ipv4} (the portscan jail's threshold); waiting for the ban`);
    const t0 = Date.now();
    const probes = execAsync(["ip", "netns", "exec", l.ns.inet, process.execPath, "-e", PROBER_JS], {
      input: JSON.stringify({ targets: closed.map((p) => ({ id: String(p), kind: "connect", host: l.edge.ipv4, port: p, bind: jailScanner })), timeoutMs: 300, concurrency: closed.length }),
    });
    // Timed from the launch of the probes (so the prober's start-up counts against the jail).
    while (Date.now() - t0 < 10_000) {
      if ((await banSet(rec)).includes(jailScanner)) {
        jailBanMs = Date.now() - t0;
        break;
      }
      await sleep(20);
    }
    await probes;
    jailScannerAfter = await connectFrom(l.ns.inet, jailScanner, l.edge.ipv4, 443);
    await unban(rec, ["portscan", "recidive"], [jailScanner]);
    progress(`port-scan: portscan jail ban ${jailBanMs === null ? "none within 10 s" : `after ${secs(jailBanMs)} s`}; ${jailScanner} :443 after the ban: ${jailScannerAfter}`);
    if (jailBanMs === null) notes.push(`the portscan jail did not ban ${jailScanner} within 10 s of ${maxretry} logged drops`);
    if (jailScannerAfter === "open") notes.push(`${jailScanner} still connects after its portscan ban`);
  } else {
    notes.push(`the portscan jail is not exercised: ${rec.skipped["portscan-kernel-log"] ?? "this lab has no kernel-log relay (palisade lab down && palisade lab up)"}`);
  }
  // 2. The open set.
  // Each scanner source stays under the edge's per-source new-connection limit (25/s, burst 50),
  // so the limit cannot hide an open port; together they scan all 65535 ports. The scanners'
  // range is exempted from the jails (fail2ban's ignoreip) for the scan, and only for it: the
  // portscan jail's ban is proven above, and a scanner banned mid-scan (how many depends on the
  // machine's speed: the jail bans ~4 sources a second) would make its later ports read closed.
  // The firewall itself is untouched. Should a ban still land (an exemption the jail missed), the
  // banned sources' closed ports are scanned again from unbanned ones: a ban can only hide an open
  // port, never open one, so the open set is judged on unbanned sources alone.
  const isBanned = (set: string, a: string) => new RegExp(`\\b${a.replace(/\./g, "\\.")}\\b`).test(set);
  // Scanners banned earlier (the probe sends its expected-dropped internet attempts from them) start unbanned.
  const bannedBefore = await banSet(rec);
  await unban(rec, ["portscan", "recidive"], scanners.filter((a) => isBanned(bannedBefore, a)));
  const exempt = scanRangeExemption(rec, "198.51.100.128/25");
  await exempt.add();
  const t0 = Date.now();
  progress(`port-scan: 65535 TCP ports of ${l.edge.ipv4} from ${scanners.length} internet sources (each under the edge's per-source rate limit)`);
  const results: Record<string, string> = {};
  let pending = Array.from({ length: 65535 }, (_, i) => i + 1);
  let passes = 0;
  let rescanned = 0;
  const bannedByScan = new Set<string>();
  for (let offset = 0; pending.length > 0 && passes < 4; passes++) {
    const source = new Map(pending.map((p, i) => [p, scanners[(i + offset) % scanners.length]!]));
    offset += 7; // a port rescanned goes from another scanner than the one banned under it
    const targets = pending.map((p) => ({ id: String(p), kind: "connect", host: l.edge.ipv4, port: p, bind: source.get(p) }));
    const r = await execAsync(["ip", "netns", "exec", l.ns.inet, process.execPath, "-e", PROBER_JS], {
      input: JSON.stringify({ targets, timeoutMs: 300, concurrency: 1500, perSourceRate: 20, perSourceBurst: 40 }),
      timeoutMs: 300_000,
    });
    const got = (JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { results?: Record<string, string> }).results;
    if (!got) throw new Error(`port-scan: the prober in ${l.ns.inet} gave no results (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    Object.assign(results, got);
    if (jailOn) await sleep(1000); // the scan's last logged drops reach the jail and its actions
    const set = await banSet(rec);
    const banned = new Set(scanners.filter((a) => isBanned(set, a)));
    for (const a of banned) bannedByScan.add(a);
    await unban(rec, ["portscan", "recidive"], [...banned]);
    pending = pending.filter((p) => !(results[String(p)] === "open" || results[String(p)] === "refused") && banned.has(source.get(p)!));
    if (pending.length) {
      rescanned += pending.length;
      progress(`port-scan: ${banned.size} scanner(s) banned by the portscan jail during pass ${passes + 1}; their ${pending.length} closed port(s) scanned again from unbanned sources`);
    }
  }
  if (pending.length) notes.push(`${pending.length} port(s) were only ever scanned from banned sources: the open set is unproven there`);
  const openTcp = Object.entries(results).filter(([, v]) => v === "open" || v === "refused").map(([k]) => Number(k)).sort((a, b) => a - b);
  const tcpSeconds = (Date.now() - t0) / 1000;
  // UDP sample: declared ports and common ones; judged by the edge's conntrack table. Sent from a
  // scanner address: the drops are logged, and the portscan jail rightly bans whoever sends them.
  const sample = [...new Set([...declaredUdp, 53, 67, 69, 123, 137, 161, 500, 514, 1194, 1900, 4500, 5353, 11211, 51820, 51821])].sort((a, b) => a - b);
  const udpSource = scanners[1] ?? jailScanner;
  await unban(rec, ["portscan", "recidive"], [udpSource]);
  const udpTargets = sample.map((p, i) => ({ id: String(p), kind: p === 53 ? "dns" : "udp-send", host: l.edge.ipv4, port: p, bind: udpSource, sport: 42000 + i, qname: l.domain }));
  const u = await execAsync(["ip", "netns", "exec", l.ns.inet, process.execPath, "-e", PROBER_JS], { input: JSON.stringify({ targets: udpTargets, timeoutMs: 500, concurrency: 32 }) });
  const uRes = (JSON.parse(u.stdout.trim().split("\n").pop() ?? "{}") as { results: Record<string, string> }).results ?? {};
  const ct = (await execAsync(["ip", "netns", "exec", l.ns.edge, "conntrack", "-L", "-p", "udp"])).stdout;
  const openUdp = udpTargets
    .filter((t) => uRes[t.id] === "answered" || new RegExp(`src=${udpSource.replace(/\./g, "\\.")} dst=\\S+ sport=${t.sport} dport=${t.port}\\b`).test(ct))
    .map((t) => t.port);
  const extraTcp = openTcp.filter((p) => !declaredTcp.includes(p));
  const missingTcp = declaredTcp.filter((p) => !openTcp.includes(p));
  const extraUdp = openUdp.filter((p) => !declaredUdp.includes(p));
  const missingUdp = declaredUdp.filter((p) => sample.includes(p) && !openUdp.includes(p));
  progress(`port-scan: TCP open ${JSON.stringify(openTcp)} (declared ${JSON.stringify(declaredTcp)}) in ${tcpSeconds.toFixed(1)} s; UDP open ${JSON.stringify(openUdp)} of sample (declared ${JSON.stringify(declaredUdp)})`);
  if (extraTcp.length || extraUdp.length) notes.push(`undeclared ports open: tcp ${JSON.stringify(extraTcp)} udp ${JSON.stringify(extraUdp)}`);
  if (missingTcp.length || missingUdp.length) notes.push(`declared ports not open: tcp ${JSON.stringify(missingTcp)} udp ${JSON.stringify(missingUdp)}`);
  await exempt.remove();
  // 3. No benign address banned; the scanners the full scan got banned are let in again.
  if (jailOn) await sleep(1000); // the UDP sample's logged drops reach the jail and its actions
  const set = await banSet(rec);
  const benign = benignBanned(rec, set);
  const bannedScanners = scanners.filter((a) => isBanned(set, a));
  for (const a of bannedScanners) bannedByScan.add(a);
  await unban(rec, ["portscan", "recidive"], bannedScanners);
  if (benign.length) notes.push(`benign addresses banned: ${benign.join(", ")}`);
  if (jailOn) progress(`port-scan: the scan got ${bannedByScan.size} of ${scanners.length} scanner addresses banned by the portscan jail (lifted again); benign addresses banned: ${benign.length ? benign.join(", ") : "none"}`);
  const jailOk = !jailOn || (jailBanMs !== null && jailScannerAfter !== "open");
  return {
    name: "port-scan",
    pass: extraTcp.length === 0 && extraUdp.length === 0 && missingTcp.length === 0 && missingUdp.length === 0 && pending.length === 0 && jailOk && benign.length === 0,
    figures: {
      tcp_open: openTcp,
      tcp_declared: declaredTcp,
      udp_open: openUdp,
      udp_declared: declaredUdp,
      udp_sample: sample,
      tcp_scan_s: tcpSeconds,
      sources: scanners.length,
      portscan_jail: jailOn,
      portscan_ban_s: jailBanMs === null ? null : secs(jailBanMs),
      portscan_maxretry: jailOn ? maxretry : null,
      portscan_scanner_after: jailScannerAfter,
      scanners_banned_by_scan: jailOn ? bannedByScan.size : null,
      tcp_scan_passes: passes,
      tcp_ports_rescanned: rescanned,
      benign_banned: benign,
    },
    targets: { open_set: "equals the declared set", portscan_ban_s: "<= 2 s from the first probe (hard bound 10 s)" },
    notes,
  };
}

/** DS digest (SHA-256) of a DNSKEY: sha256(owner in wire form | flags | protocol | algorithm | key). */
export function dsDigest(owner: string, flags: number, protocol: number, algorithm: number, keyBase64: string): string {
  const labels = owner.replace(/\.$/, "").toLowerCase().split(".").filter(Boolean);
  const wire = Buffer.concat([...labels.map((lab) => Buffer.concat([Buffer.from([lab.length]), Buffer.from(lab)])), Buffer.from([0])]);
  const rdata = Buffer.concat([Buffer.from([flags >> 8, flags & 255, protocol, algorithm]), Buffer.from(keyBase64, "base64")]);
  return createHash("sha256").update(Buffer.concat([wire, rdata])).digest("hex").toUpperCase();
}

async function dnsDrill(rec: LabRecord, progress: Progress): Promise<DrillResult> {
  const l = rec.layout;
  const conf = rec.files.knotConf;
  if (!conf) return { name: "dns", pass: false, figures: {}, targets: {}, notes: ["Knot is not running in the lab"] };
  const dig = (...args: string[]) => execAsync(["ip", "netns", "exec", l.ns.inet, "kdig", `@${l.edge.ipv4}`, "-b", l.internet.client, "+time=2", "+retry=0", ...args]);
  const notes: string[] = [];
  // 1. Signed answers: the A record of the app comes with an RRSIG.
  const a = await dig(l.browseHost, "A", "+dnssec", "+tcp");
  const signed = /\bRRSIG\s+A\b/.test(a.stdout) && a.stdout.includes("NOERROR");
  // 2. The served KSK matches the DS that keymgr gives the parent.
  const dnskey = await dig(l.domain, "DNSKEY", "+dnssec", "+tcp", "+short");
  const served = dnskey.stdout.trim().split("\n").map((x) => x.trim().split(/\s+/)).filter((f) => f.length >= 4 && /^\d+$/.test(f[0]!));
  const ksks = served.filter((f) => f[0] === "257").map((f) => dsDigest(l.domain, 257, Number(f[1]), Number(f[2]), f.slice(3).join("")));
  const ds = await execAsync(["keymgr", "-c", conf, l.domain, "ds"]);
  const dsDigests = [...ds.stdout.matchAll(/\bDS\s+\d+\s+\d+\s+2\s+([0-9A-Fa-f]+)/g)].map((m) => m[1]!.toUpperCase());
  const dsMatches = ksks.some((k) => dsDigests.includes(k));
  // 3. Every signature validates: the signed zone, read from the server, through kzonecheck -d on.
  const zone = await execAsync(["knotc", "-c", conf, "zone-read", l.domain]);
  const zoneFile = join(rec.runDir, "knot", "signed.zone");
  writeFileSync(zoneFile, zone.stdout.split("\n").map((x) => x.replace(/^\[[^\]]+\]\s*/, "")).join("\n"));
  const check = await execAsync(["kzonecheck", "-o", l.domain, "-d", "on", zoneFile]);
  const validates = check.code === 0 && zone.stdout.includes("RRSIG");
  // 4. AXFR refused to the internet; 5. no recursion.
  const axfr = await dig(l.domain, "AXFR");
  const axfrRefused = !/\bSOA\b[\s\S]*\bSOA\b/.test(axfr.stdout.replace(/;;.*$/gm, "")) && /REFUSED|NOTAUTH|failed|refused/i.test(axfr.stdout + axfr.stderr);
  const rec1 = await dig("example.org", "A", "+rec");
  const noRecursion = !/flags:[^;]*\bra\b/.test(rec1.stdout) && /REFUSED|NOTAUTH|SERVFAIL/.test(rec1.stdout);
  progress(`dns: signed answers ${signed}; DS matches served KSK ${dsMatches}; signatures validate (kzonecheck -d on) ${validates}; AXFR refused ${axfrRefused}; recursion refused ${noRecursion}`);
  if (!validates) notes.push(`kzonecheck: ${(check.stdout + check.stderr).trim().split("\n").slice(0, 5).join(" | ")}`);
  notes.push("delv is not installed: validation is the DS digest of the served KSK (computed here) plus kzonecheck -d on over the signed zone read from knotd");
  return {
    name: "dns",
    pass: signed && dsMatches && validates && axfrRefused && noRecursion,
    figures: { signed, ds_matches_ksk: dsMatches, signatures_validate: validates, axfr_refused: axfrRefused, recursion_refused: noRecursion, ds: dsDigests.length },
    targets: { all: "true" },
    notes,
  };
}

function adminSocket(path: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let out = "";
    s.on("data", (d) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
    s.end(command);
  });
}

async function acmeDrill(rec: LabRecord, site: string, progress: Progress): Promise<DrillResult> {
  const l = rec.layout;
  // The ACME client: the container of the ingress's site whose image the lab builds as the idle lego stand-in.
  const docker = siteDocker(rec, site);
  const acme = l.sites.find((s) => s.id === site)?.containers.find((c) => docker?.containers[c.name] && imageKind(docker.containers[c.name]!.image) === "idle");
  const admin = rec.sockets["ingress-admin"];
  if (!acme || !admin) return { name: "acme", pass: false, figures: {}, targets: {}, notes: ["no acme container or no ingress"] };
  const domain = l.browseHost;
  const dir = join(rec.runDir, "acme");
  const t0 = Date.now();
  // lego answers HTTP-01 only while it runs: the ingress's health check of it is paused meanwhile.
  await adminSocket(admin, "set server be_acme/acme health up\n");
  await adminSocket(admin, "disable health be_acme/acme\n");
  const lego = await execAsync(
    ["ip", "netns", "exec", acme.ns, "lego", "--accept-tos", "--server", `https://${l.internet.ca}:443/dir`, "--email", "ops@example.com", "--domains", domain, "--http", "--http.port", ":80", "--path", dir, "run"],
    { env: { ...process.env, LEGO_CA_CERTIFICATES: rec.files.labCa! }, timeoutMs: 60_000 },
  );
  await adminSocket(admin, "enable health be_acme/acme\n");
  const issueS = (Date.now() - t0) / 1000;
  const crt = join(dir, "certificates", `${domain}.crt`);
  const key = join(dir, "certificates", `${domain}.key`);
  if (lego.code !== 0 || !existsSync(crt)) {
    return { name: "acme", pass: false, figures: { issue_s: issueS }, targets: {}, notes: [`lego failed: ${(lego.stderr || lego.stdout).trim().split("\n").slice(-3).join(" | ")}`] };
  }
  // The deploy hook's job, done over the same admin socket: set + commit the new certificate.
  const pem = readFileSync(crt, "utf8") + readFileSync(key, "utf8");
  // The path as the ingress container sees it; the file itself is in the certificates volume.
  const certPath = `${INGRESS_PATHS.certDir}/${domain}.pem`;
  const set = await adminSocket(admin, `set ssl cert ${certPath} <<\n${pem.trimEnd()}\n\n`);
  const commit = await adminSocket(admin, `commit ssl cert ${certPath}\n`);
  if (rec.files.ingressCertsDir) writeFileSync(join(rec.files.ingressCertsDir, `${domain}.pem`), pem, { mode: 0o600 });
  // The client checks the served certificate against pebble's root (from its management port).
  const root = await execAsync(["ip", "netns", "exec", l.ns.inet, "curl", "-sS", "--cacert", rec.files.labCa!, `https://${l.internet.ca}:15000/roots/0`]);
  const rootFile = join(rec.runDir, "ca", "pebble-root.pem");
  writeFileSync(rootFile, root.stdout);
  writeFileSync(join(rec.runDir, "ca", "bundle.pem"), readFileSync(rec.files.labCa!, "utf8") + root.stdout);
  const served = await httpsThroughEdge(rec, domain, "/", rootFile, 3);
  const total = (Date.now() - t0) / 1000;
  progress(`acme: ${domain} issued by pebble in ${issueS.toFixed(2)} s (HTTP-01 via Knot, edge HAProxy, tunnel, ingress, lego); installed (${set.trim().split("\n")[0]} / ${commit.trim().split("\n")[0]}); served certificate verifies against pebble's root: ${served.ok ? "yes" : served.status}`);
  return {
    name: "acme",
    pass: served.ok,
    figures: { issue_s: issueS, total_s: total, verified_against_pebble_root: served.ok },
    targets: { issue_s: "a few seconds" },
    notes: ["the rendered deploy-hook.sh needs nc (not installed here): the lab performs its two admin-socket commands itself"],
  };
}
