/**
 * `palisade lab probe`: every source × destination × declared port, tried for real from the
 * source's namespace, gives the observed matrix; it is compared, flow line by flow line
 * (`api => postgres : tcp/5432`), with the verifier's computed matrix (out/report/report.json), or
 * with the intent until the verifier has written one.
 *
 * How each attempt is judged:
 * - TCP: a connect from the source's address with a short timeout; a completed handshake or a RST
 *   means the network let it through (allowed); silence or "no route" means blocked.
 * - DNS (udp/53): one query; any answer = allowed.
 * - Other UDP (WireGuard): one datagram from a unique source port; allowed when the destination
 *   host's conntrack table holds that flow afterwards (an entry is confirmed only after the input
 *   hook accepted it). The cloud's own tunnel is observed as the edge's latest handshake.
 * End-to-end checks (HTTPS through the edge and the tunnel with curl --resolve and the lab CA) are
 * reported next to the matrix.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { flowLine, rng, seedOf } from "../../core/index.js";
import type { Report } from "../../policies/verifier/index.js";
import { verifyOutDir, writeReportDir } from "../verify-dir.js";
import { execAsync } from "./proc.js";
import { handshakes } from "./configs.js";
import { PROBER_JS } from "./private/scripts.js";
import type { LabRecord, Progress } from "./up.js";

export interface ProbeCheck {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

export interface ProbeResult {
  /** Where the expected matrix came from: `out/report/report.json`, `out/intent.json` or `intent (site file)`. */
  readonly expectedFrom: string;
  readonly correct: number;
  readonly incorrect: number;
  readonly probes: number;
  readonly seconds: number;
  /** Allowed flow lines, sorted (inside the probed universe). */
  readonly expected: string[];
  readonly observed: string[];
  readonly mismatches: { line: string; expected: boolean; observed: boolean }[];
  readonly checks: ProbeCheck[];
  /** Every attempt: `line @ address` -> result. */
  readonly attempts: Record<string, string>;
}

interface Source {
  readonly id: string;
  readonly ns: string;
  readonly bind?: string;
}

interface Destination {
  readonly id: string;
  readonly addresses: readonly string[];
  readonly ports: readonly string[];
}

/**
 * The expected allowed set: the verifier's matrix for the same artifacts (`report/report.json`),
 * computed first if the report is not there. Never the model: the lab checks the verifier.
 */
export function expectedFlows(rec: LabRecord): { from: string; lines: string[]; edgePeers: string[] } {
  const reportPath = join(rec.outDir, "report", "report.json");
  if (!existsSync(reportPath)) writeReportDir(rec.outDir, verifyOutDir(rec.outDir));
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as Report;
  return {
    from: relative(rec.root, reportPath) || reportPath,
    lines: report.flows.filter((f) => f.verdict === "allowed").map((f) => f.line),
    // The peers on the edge host (its daemons share one network stack): reached at the edge's addresses.
    edgePeers: report.peers.filter((p) => p.zone === "edge").map((p) => p.id),
  };
}

/** How many ports outside a destination's declared set each probe tries (a seeded sample, stable per destination). */
export const SAMPLED_PORTS = 3;

/** `n` TCP ports not in `declared`, drawn by the project's PRNG seeded by the destination's name: the same sample every run. */
export function sampledPorts(destination: string, declared: readonly string[], n = SAMPLED_PORTS): string[] {
  const next = rng(seedOf(`lab-probe:${destination}`));
  const out = new Set<string>();
  while (out.size < n) {
    const p = `tcp/${1 + Math.floor(next() * 65535)}`;
    if (!declared.includes(p)) out.add(p);
  }
  return [...out];
}

/** Sources and destinations of the lab, from its layout and the declared ports. */
export function probeUniverse(rec: LabRecord, expected: readonly string[], edgePeers: ReadonlySet<string>): { sources: Source[]; destinations: Destination[] } {
  const l = rec.layout;
  const sources: Source[] = [
    { id: "internet", ns: l.ns.inet, bind: l.internet.client },
    { id: "admin", ns: l.ns.inet, bind: l.internet.admin },
    // Each site host, named as the verifier names it (a one-site platform's is `cloud`).
    ...l.sites.map((s) => ({ id: s.id, ns: s.ns, bind: s.uplinks[0]!.address })),
    { id: "edge-proxy", ns: l.ns.edge },
    ...l.containers.map((c) => ({ id: c.service, ns: c.ns })),
  ];
  const ports = new Map<string, Set<string>>();
  const addPort = (dst: string, p: string) => ports.set(dst, new Set([...(ports.get(dst) ?? []), p]));
  for (const line of expected) {
    const m = /^(.+) => (.+) : (\S+)$/.exec(line);
    if (m) addPort(m[2]!, m[3]!);
  }
  for (const c of l.containers) for (const p of c.listens) addPort(c.service, p);
  const edgeAddrs = [l.edge.ipv4, ...l.sites.map((s) => s.tunnel.edge4)];
  const addressOf = (id: string): string[] | null => {
    if (edgePeers.has(id)) return edgeAddrs;
    // The internet: the CA (tcp/443) and the ISPs' resolvers (the uplinks' gateways, DNS).
    if (id === "internet") return [l.internet.ca, ...l.sites.flatMap((s) => s.uplinks.map((u) => u.gateway))];
    const c = l.containers.find((x) => x.service === id);
    if (c) return [...c.ports.map((p) => p.ip), ...c.links.map((k) => k.ipv4)];
    return null;
  };
  const destinations: Destination[] = [];
  for (const [id, ps] of [...ports].sort(([a], [b]) => a.localeCompare(b))) {
    const addresses = addressOf(id);
    // The declared ports, plus a seeded sample of the others (must stay closed unless the verifier says otherwise).
    if (addresses) destinations.push({ id, addresses: [...new Set(addresses)], ports: [...ps, ...sampledPorts(id, [...ps])].sort() });
  }
  return { sources, destinations };
}

const EDGE_PEER = /^edge(?:$|[-:])/;

/** Two peers on one host (the edge's daemons share its network stack): not a segmentation question. */
function sameHost(src: string, dst: string): boolean {
  if (EDGE_PEER.test(src) && EDGE_PEER.test(dst)) return true;
  return ["internet", "admin"].includes(src) && dst === "internet";
}

/** The admin ranges are internet addresses: what the internet may reach, they may too. */
export function expectedWithSubsets(lines: readonly string[]): string[] {
  const out = new Set(lines);
  for (const line of lines) if (line.startsWith("internet => ")) out.add(line.replace(/^internet => /, "admin => "));
  return [...out].sort();
}

/**
 * The edge's daemons share one network stack, so a flow observed from the edge namespace is
 * named after the edge peer that declares it (edge-mail => internet : tcp/25), else edge-proxy.
 */
function nameEdgeSource(line: string, expected: ReadonlySet<string>): string {
  const m = /^edge-proxy => (.+)$/.exec(line);
  if (!m) return line;
  for (const e of expected) {
    const em = /^(\S+) => (.+)$/.exec(e);
    if (em && EDGE_PEER.test(em[1]!) && em[2] === m[1]) return e;
  }
  return line;
}

function localAddresses(rec: LabRecord): Map<string, Set<string>> {
  const l = rec.layout;
  const m = new Map<string, Set<string>>();
  m.set(l.ns.inet, new Set([l.internet.client, l.internet.attacker, l.internet.admin, l.internet.ca, l.edge.router4]));
  m.set(l.ns.edge, new Set([l.edge.ipv4, ...l.sites.map((s) => s.tunnel.edge4)]));
  for (const s of l.sites) m.set(s.ns, new Set([s.tunnel.cloud4, ...s.uplinks.map((u) => u.address), ...s.stack.networks.map((n) => n.gateway)]));
  for (const c of l.containers) m.set(c.ns, new Set(c.links.map((k) => k.ipv4)));
  return m;
}

interface Attempt {
  readonly id: string;
  readonly line: string;
  readonly source: Source;
  readonly kind: "connect" | "dns" | "udp-send";
  readonly host: string;
  readonly port: number;
  readonly sport?: number;
  /** Source address to bind, when not the source's own default. */
  readonly bind?: string;
}

// Reached: a handshake, a RST (closed port, but the path is open), a reset after the handshake,
// a DNS answer or an ICMP port-unreachable from the resolver host, a UDP flow the host accepted.
const allowedResult = (r: string | undefined) => ["open", "refused", "error:ECONNRESET", "answered", "error:ECONNREFUSED", "accepted"].includes(r ?? "");

async function runProber(ns: string, targets: object[], timeoutMs: number, extra: object = {}): Promise<Record<string, string>> {
  const r = await execAsync(["ip", "netns", "exec", ns, process.execPath, "-e", PROBER_JS], { input: JSON.stringify({ targets, timeoutMs, concurrency: 256, ...extra }), timeoutMs: 600_000 });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return (JSON.parse(last) as { results: Record<string, string> }).results;
  } catch {
    throw new Error(`prober in ${ns} failed: ${r.stderr.trim() || r.stdout.trim()}`);
  }
}

export async function labProbe(rec: LabRecord, progress: Progress = () => {}): Promise<ProbeResult> {
  const t0 = Date.now();
  const l = rec.layout;
  const expected = expectedFlows(rec);
  const { sources, destinations } = probeUniverse(rec, expected.lines, new Set(expected.edgePeers));
  const attempts: Attempt[] = [];
  let sport = 41000;
  // Addresses local to a source's namespace: connecting there reaches the source itself, not the
  // destination, except at a published (DNAT'ed) port.
  const local = localAddresses(rec);
  const published = new Set(l.containers.flatMap((c) => c.ports.map((p) => `${c.service}|${p.ip}|${p.protocol}/${p.external}`)));
  const expectedSet = new Set(expectedWithSubsets(expected.lines));
  const edgeHosts = new Set([l.edge.ipv4, ...l.sites.map((x) => x.tunnel.edge4)]);
  const siteOf = new Map(l.sites.map((x) => [x.ns, x]));
  // Scanners the drills do not use (port-scan: the first two; brute-force: the last).
  const scannerPool = l.internet.scanners.slice(2, -1);
  for (const s of sources) {
    for (const d of destinations) {
      if (s.id === d.id || sameHost(s.id, d.id)) continue;
      for (const p of d.ports) {
        const [proto, num] = p.split("/") as ["tcp" | "udp", string];
        const line = flowLine(s.id, d.id, p);
        if (siteOf.has(s.ns) && d.id === "edge:wireguard") continue; // observed from the live tunnels below
        for (const host of d.addresses) {
          if (local.get(s.ns)?.has(host) && !published.has(`${d.id}|${host}|${p}`)) continue;
          const kind = proto === "tcp" ? "connect" : Number(num) === 53 ? "dns" : "udp-send";
          // The cloud host reaches its own containers from the bridge (the kernel picks the gateway
          // address, as sshd's forward does); elsewhere it speaks from its primary uplink.
          const ownContainer = siteOf.get(s.ns)?.containers.some((c) => c.service === d.id && c.links.some((k) => k.ipv4 === host)) ?? false;
          // The edge's IPS bans a source after a few dropped connections (its portscan jail): an
          // internet attempt the verifier expects dropped at the edge goes from a scanner address
          // of its own (any internet address is the internet), so the client never gets banned
          // and the expected flows keep their source. A banned scanner only makes a drop drop.
          const bind = ownContainer ? undefined : s.id === "internet" && edgeHosts.has(host) && !expectedSet.has(nameEdgeSource(line, expectedSet)) && scannerPool.length > 0 ? scannerPool[seedOf(`${line} @ ${host}`) % scannerPool.length] : s.bind;
          attempts.push({ id: `${line} @ ${host}`, line, source: s, kind, host, port: Number(num), sport: kind === "udp-send" ? sport++ : undefined, bind });
        }
      }
    }
  }
  progress(`probe: ${attempts.length} attempts from ${sources.length} sources to ${destinations.length} destinations (expected: ${expected.from})`);
  const byNs = new Map<string, Attempt[]>();
  for (const a of attempts) byNs.set(a.source.ns, [...(byNs.get(a.source.ns) ?? []), a]);
  const results: Record<string, string> = {};
  await Promise.all(
    [...byNs].map(async ([ns, list]) => {
      const r = await runProber(ns, list.map((a) => ({ id: a.id, kind: a.kind, host: a.host, port: a.port, bind: a.bind, sport: a.sport, qname: l.domain })), 400);
      Object.assign(results, r);
    }),
  );
  // A second chance, with a 2 s timeout and little concurrency, for connects and DNS queries whose
  // flow is expected but did not answer within 400 ms: on a loaded machine a handshake can be late.
  // A path that is really blocked stays silent, so this cannot turn a drop into a pass.
  const late = attempts.filter((a) => a.kind !== "udp-send" && expectedSet.has(nameEdgeSource(a.line, expectedSet)) && !allowedResult(results[a.id]));
  if (late.length > 0) {
    const byNsLate = new Map<string, Attempt[]>();
    for (const a of late) byNsLate.set(a.source.ns, [...(byNsLate.get(a.source.ns) ?? []), a]);
    await Promise.all(
      [...byNsLate].map(async ([ns, list]) => {
        const r = await runProber(ns, list.map((a) => ({ id: a.id, kind: a.kind, host: a.host, port: a.port, bind: a.bind, qname: l.domain })), 2000, { concurrency: 8 });
        Object.assign(results, r);
      }),
    );
    progress(`probe: ${late.length} expected attempt(s) silent after 400 ms, tried again with 2 s: ${late.filter((a) => !allowedResult(results[a.id])).length} still silent`);
  }
  // UDP datagrams: judged by the destination host's conntrack table.
  const udp = attempts.filter((a) => a.kind === "udp-send");
  if (udp.length > 0) {
    const ct = (await execAsync(["ip", "netns", "exec", l.ns.edge, "conntrack", "-L", "-p", "udp"])).stdout;
    for (const a of udp) {
      const seen = new RegExp(`dst=${a.host.replace(/\./g, "\\.")} sport=${a.sport} dport=${a.port}\\b`).test(ct);
      results[a.id] = results[a.id] === "sent" ? (seen ? "accepted" : "dropped") : results[a.id] ?? "error";
    }
  }
  const observed = new Set<string>();
  for (const a of attempts) if (allowedResult(results[a.id])) observed.add(nameEdgeSource(a.line, expectedSet));
  // Each tunnel itself: the edge has a handshake from the site's peer, from one of its uplink addresses.
  const endpoints = new Map((await execAsync(["wg", "show", "wg-edge", "endpoints"])).stdout.trim().split("\n").map((x) => x.split("\t") as [string, string]));
  const hsTimes = handshakes((await execAsync(["wg", "show", "wg-edge", "latest-handshakes"])).stdout);
  const tunnelLines: string[] = [];
  for (const site of l.sites) {
    const key = rec.keys.sites?.[site.id] ?? rec.keys.cloudPublic;
    const tunnelLine = flowLine(site.id, "edge:wireguard", "udp/51820");
    tunnelLines.push(tunnelLine);
    const tunnelUp = site.uplinks.some((u) => (endpoints.get(key) ?? "").startsWith(`${u.address}:`)) && (hsTimes.get(key) ?? 0) > 0;
    results[`${tunnelLine} @ handshake`] = tunnelUp ? "handshake" : "no handshake";
    if (tunnelUp) observed.add(tunnelLine);
  }

  // The comparison, inside the probed universe.
  const universe = new Set([...attempts.map((a) => nameEdgeSource(a.line, expectedSet)), ...tunnelLines]);
  const exp = new Set([...expectedSet].filter((x) => universe.has(x)));
  const mismatches: ProbeResult["mismatches"] = [];
  let correct = 0;
  for (const line of [...universe].sort()) {
    const e = exp.has(line);
    const o = observed.has(line);
    if (e === o) correct++;
    else mismatches.push({ line, expected: e, observed: o });
  }
  const checks = await endToEnd(rec);
  const seconds = (Date.now() - t0) / 1000;
  progress(`probe: ${correct} correct, ${mismatches.length} incorrect of ${universe.size} flows in ${seconds.toFixed(2)} s`);
  for (const m of mismatches) progress(`probe:   ${m.expected ? "expected, not observed" : "observed, not expected"}: ${m.line}`);
  for (const c of checks) progress(`probe: ${c.pass ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
  const notProbed = [...expectedSet].filter((x) => !universe.has(x));
  if (notProbed.length) progress(`probe: not probed (no lab source or destination for them): ${notProbed.join("; ")}`);
  return {
    expectedFrom: expected.from,
    correct,
    incorrect: mismatches.length,
    probes: attempts.length,
    seconds,
    expected: [...exp].sort(),
    observed: [...observed].sort(),
    mismatches,
    checks,
    attempts: Object.fromEntries(Object.entries(results).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** One TCP connect from namespace `ns` (from `bind`, else the kernel's choice of address): the prober's result (`open`, `refused`, `timeout`, …). */
export async function connectFrom(ns: string, bind: string | undefined, host: string, port: number, timeoutMs = 400): Promise<string> {
  const r = await execAsync(["ip", "netns", "exec", ns, process.execPath, "-e", PROBER_JS], { input: JSON.stringify({ targets: [{ id: "x", kind: "connect", host, port, bind }], timeoutMs }) });
  return (JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { results?: { x?: string } }).results?.x ?? "error";
}

/** HTTPS from the internet client through the edge, the tunnel and the ingress, verified against the CA the ingress's certificate comes from. */
export async function httpsThroughEdge(rec: LabRecord, host: string, path = "/", cacert = labTrust(rec), timeoutS = 2): Promise<{ ok: boolean; status: string; body: string }> {
  const l = rec.layout;
  const r = await execAsync([
    "ip", "netns", "exec", l.ns.inet, "curl", "-sS", "--max-time", String(timeoutS), "--interface", l.internet.client,
    "--resolve", `${host}:443:${l.edge.ipv4}`, "--cacert", cacert, "-o", "-", "-w", "\n%{http_code}", `https://${host}${path}`,
  ]);
  const lines = r.stdout.trimEnd().split("\n");
  const status = lines.pop() ?? "";
  return { ok: r.code === 0 && status === "200", status: r.code === 0 ? status : `curl exit ${r.code}: ${r.stderr.trim()}`, body: lines.join("\n") };
}

/** The lab CA, plus pebble's root once the acme drill has installed a certificate from it. */
export function labTrust(rec: LabRecord): string {
  const bundle = join(rec.runDir, "ca", "bundle.pem");
  return existsSync(bundle) ? bundle : rec.files.labCa!;
}

/** Every route of the site, browsed from the internet client: the service the route names must answer. */
async function endToEnd(rec: LabRecord): Promise<ProbeCheck[]> {
  return Promise.all(
    rec.layout.routes.map(async ({ host, path, service }) => {
      const r = await httpsThroughEdge(rec, host, path);
      const served = /stand-in: (\S+)/.exec(r.body)?.[1] ?? "?";
      return { name: `https://${host}${path} via edge+tunnel+ingress -> ${service}`, pass: r.ok && served === service, detail: r.ok ? `${r.status} from ${served}` : r.status };
    }),
  );
}
