/**
 * `fiber-cut` on one site: the ISP's end of the site's fiber goes down (the site sees no carrier),
 * the site's failover agent moves its tunnel to the cellular uplink, the fiber comes back and the
 * agent fails back after its hold-down. Timed by traffic that crosses the site's tunnel:
 * - on the site with the ingress, HTTPS from the internet client through the edge, the tunnel and
 *   the ingress (the route the drills browse);
 * - on another site, the first declared flow between one of its containers and a container of
 *   another site (it crosses the edge and both tunnels), tried from its source's namespace;
 * - on a site with neither, the tunnel itself: the edge's peer for the site roams to the backup
 *   uplink's address with a handshake after the cut (failback: back at the fiber's address).
 * On a lab of several sites, the other sites' agents must not move meanwhile (no failover event).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { execAsync, mustAsync, sleep } from "./proc.js";
import { handshakes } from "./configs.js";
import { connectFrom, expectedFlows, httpsThroughEdge } from "./probe.js";
import { ingressSiteId, labSite, siteFile, sitePublicKey } from "./drill-sites.js";
import type { LabSiteLayout } from "./layout.js";
import type { LabRecord, Progress } from "./up.js";
import type { DrillResult } from "./drills.js";

const secs = (ms: number) => Math.round(ms) / 1000;

/** Agent events (JSON lines) written after `offset` bytes of its log. */
function agentEvents(file: string | undefined, offset: number): { event: string; ts: string }[] {
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .slice(offset)
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event: string; ts: string });
}

const logSize = (file: string | undefined) => (file && existsSync(file) ? statSync(file).size : 0);

/** Where the edge's wg-edge sees the site's peer (`address:port`, empty when it has none). */
async function edgeEndpoint(rec: LabRecord, site: string): Promise<string> {
  const key = sitePublicKey(rec, site);
  const lines = (await execAsync(["wg", "show", "wg-edge", "endpoints"])).stdout.trim().split("\n").map((l) => l.split("\t"));
  return lines.find((l) => l[0] === key)?.[1] ?? "";
}

/** The edge's latest handshake with the site's peer, in ms since the epoch (0: none). */
async function edgeHandshakeMs(rec: LabRecord, site: string): Promise<number> {
  return (handshakes((await execAsync(["wg", "show", "wg-edge", "latest-handshakes"])).stdout).get(sitePublicKey(rec, site)) ?? 0) * 1000;
}

interface Check {
  /** What the drill times recovery by, for the figures. */
  readonly by: string;
  /** Before the cut: traffic crosses the site's tunnel. */
  readonly before: () => Promise<boolean>;
  /** One attempt after the cut at `since`: true when traffic crossed the site's tunnel again. */
  readonly recovered: (since: number) => Promise<boolean>;
  /** One attempt after the fiber is back (the edge must also see the site at the fiber's address). */
  readonly back: () => Promise<boolean>;
}

const reached = (r: string) => ["open", "refused", "error:ECONNRESET", "error:ECONNREFUSED"].includes(r);

/**
 * The first declared TCP flow (by line) between a container of the site and a container of
 * another site, published on the destination site's tunnel address: the attempt's namespace,
 * address and port. Null when the site has none.
 */
export function crossSiteFlow(rec: LabRecord, site: LabSiteLayout): { line: string; ns: string; host: string; port: number } | null {
  const l = rec.layout;
  const siteOfContainer = new Map(l.sites.flatMap((s) => s.containers.map((c) => [c.service, s] as const)));
  for (const line of [...expectedFlows(rec).lines].sort()) {
    const m = /^(\S+) => (\S+) : tcp\/(\d+)$/.exec(line);
    if (!m) continue;
    const [from, to, port] = [siteOfContainer.get(m[1]!), siteOfContainer.get(m[2]!), Number(m[3])];
    if (!from || !to || from.id === to.id || (from.id !== site.id && to.id !== site.id)) continue;
    const dst = to.containers.find((c) => c.service === m[2])!;
    const published = dst.ports.find((p) => p.protocol === "tcp" && p.ip === to.tunnel.cloud4 && (p.external === port || p.internal === port));
    const src = from.containers.find((c) => c.service === m[1])!;
    if (published) return { line, ns: src.ns, host: published.ip, port };
  }
  return null;
}

function recoveryCheck(rec: LabRecord, site: LabSiteLayout): Check {
  const same = (by: string, attempt: () => Promise<boolean>): Check => ({ by, before: attempt, recovered: attempt, back: attempt });
  if (ingressSiteId(rec) === site.id && rec.layout.routes.length > 0) {
    return same(`HTTPS to ${rec.layout.browseHost} through the edge, the tunnel and the ingress`, async () => (await httpsThroughEdge(rec, rec.layout.browseHost, "/", undefined, 1.5)).ok);
  }
  const flow = crossSiteFlow(rec, site);
  if (flow) return same(`the declared flow ${flow.line} (${flow.host}:${flow.port}, across the edge)`, async () => reached(await connectFrom(flow.ns, undefined, flow.host, flow.port, 1500)));
  const [primary, backup] = site.uplinks;
  const at = async (u: typeof primary) => (await edgeEndpoint(rec, site.id)).startsWith(`${u!.address}:`);
  return {
    by: `the edge's WireGuard peer for site ${site.id} (its endpoint and a handshake after the cut)`,
    before: async () => (await at(primary)) && (await edgeHandshakeMs(rec, site.id)) > 0,
    recovered: async (since) => (await at(backup)) && (await edgeHandshakeMs(rec, site.id)) >= Math.floor(since / 1000) * 1000,
    back: async () => true,
  };
}

/**
 * Launches one attempt every `everyMs` (each with a short timeout) until one succeeds and `extra`
 * holds, or `timeoutMs`. Returns the elapsed ms when the first such attempt completed, or null.
 */
async function until(attempt: (since: number) => Promise<boolean>, since: number, timeoutMs: number, extra: () => Promise<boolean> = async () => true, everyMs = 200): Promise<number | null> {
  let done: number | null = null;
  const inflight: Promise<void>[] = [];
  while (done === null && Date.now() - since < timeoutMs) {
    inflight.push(
      attempt(since).then(async (ok) => {
        if (ok && done === null && (await extra())) done = Date.now() - since;
      }),
    );
    await sleep(everyMs);
  }
  await Promise.all(inflight);
  return done;
}

export async function fiberCut(rec: LabRecord, siteId: string, progress: Progress): Promise<DrillResult> {
  const site = labSite(rec, siteId);
  const [primary, backup] = site.uplinks;
  const log = siteFile(rec, siteId, "failoverLog");
  const notes: string[] = [];
  if (!primary || !backup || !log) return { name: "fiber-cut", pass: false, figures: {}, targets: {}, notes: ["needs two uplinks and the failover agent"] };
  const check = recoveryCheck(rec, site);
  if (!(await check.before())) return { name: "fiber-cut", pass: false, figures: { recovery_by: check.by }, targets: {}, notes: [`${check.by} does not work before the cut`] };
  const offset = logSize(log);
  const others = rec.layout.sites.filter((s) => s.id !== siteId).map((s) => ({ id: s.id, log: siteFile(rec, s.id, "failoverLog") }));
  const otherOffsets = others.map((o) => logSize(o.log));
  // Cut the fiber: the ISP's end of the site's fiber link goes down (the site sees no carrier).
  const cutAt = Date.now();
  await mustAsync(["ip", "-n", primary.ns, "link", "set", "cpe0", "down"]);
  progress(`fiber-cut: ${primary.id} cut (${primary.ns} cpe0 down); waiting for ${check.by} through ${backup.id}`);
  const recovery = await until(check.recovered, cutAt, 30_000);
  const endpointDuring = await edgeEndpoint(rec, siteId);
  progress(`fiber-cut: recovery ${recovery === null ? "none within 30 s" : `${secs(recovery)} s`} (edge sees the site at ${endpointDuring})`);
  // Restore and time the failback (the agent holds down before returning to the primary).
  const restoreAt = Date.now();
  await mustAsync(["ip", "-n", primary.ns, "link", "set", "cpe0", "up"]);
  progress(`fiber-cut: ${primary.id} restored; waiting for the failback`);
  const atPrimary = async () => (await edgeEndpoint(rec, siteId)).startsWith(`${primary.address}:`);
  const failback = await until(check.back, restoreAt, 30_000, atPrimary, 250);
  await sleep(1000);
  const events = agentEvents(log, offset);
  const failovers = events.filter((e) => e.event === "failover").length;
  const failbacks = events.filter((e) => e.event === "failback").length;
  const firstFailover = events.find((e) => e.event === "failover");
  const detection = firstFailover ? Date.parse(firstFailover.ts) - cutAt : null;
  const flapping = failovers > 1 || failbacks > 1;
  const disturbed = others.filter((o, i) => agentEvents(o.log, otherOffsets[i]!).some((e) => e.event === "failover" || e.event === "failback")).map((o) => o.id);
  progress(`fiber-cut: failback ${failback === null ? "none within 30 s" : `${secs(failback)} s`}; agent events: ${failovers} failover, ${failbacks} failback${others.length ? `; other sites' agents moved: ${disturbed.length ? disturbed.join(", ") : "none"}` : ""}`);
  if (!endpointDuring.startsWith(`${backup.address}:`)) notes.push(`during the cut the edge saw the site at ${endpointDuring}, not at ${backup.address}`);
  if (flapping) notes.push("flapping: more than one failover or failback during the drill");
  if (disturbed.length) notes.push(`the failover agent of ${disturbed.join(", ")} moved while only site ${siteId}'s fiber was cut`);
  return {
    name: "fiber-cut",
    pass: recovery !== null && failback !== null && !flapping && disturbed.length === 0,
    figures: {
      recovery_s: recovery === null ? null : secs(recovery),
      failback_s: failback === null ? null : secs(failback),
      detection_s: detection === null ? null : secs(detection),
      failovers,
      failbacks,
      endpoint_during_cut: endpointDuring,
      recovery_by: check.by,
      ...(others.length ? { other_sites_moved: disturbed } : {}),
    },
    targets: { recovery_s: "<= 5 s", failback_s: "hold-down + a few probes, no flapping", ...(others.length ? { other_sites_moved: "none" } : {}) },
    notes,
  };
}
