/*
 * Vocabulary shared by the reachability engine, the checks and the report formatters.
 */

/** The independent layers a connection passes. */
export type LayerName = "docker-network" | "nftables:edge" | "nftables:cloud" | `nftables:${string}` | "wireguard" | `haproxy:${string}` | `networkpolicy:${string}` | `sysctl:${string}`;

/**
 * A host's kernel forwarding (`sysctl:<host>`) is a condition of a path, not a filter: off, it
 * breaks the flows relayed through the host, but it is no independent layer for a must-never pair
 * (one host-wide switch, which other software on the host, dockerd for one, turns on by itself).
 */
const isCondition = (layer: LayerName) => layer.startsWith("sysctl:");

/** One layer's say on one path: allow, deny, or pending (its artifact is not rendered yet). */
export interface LayerStep {
  readonly layer: LayerName;
  readonly verdict: "allow" | "deny" | "pending";
  /** Artifact path relative to the output directory. */
  readonly artifact: string;
  /** The rule, resource or setting responsible: `docker_network.network_cloud_data internal`, `… rule (line 12): tcp dport 22 accept`. */
  readonly construct: string;
  /** 1-based line in the artifact when known. */
  readonly line?: number;
}

/** One way a packet can go from the source to the destination. */
export interface Path {
  readonly via: string;
  readonly steps: readonly LayerStep[];
}

export type FlowVerdict = "allowed" | "denied" | "pending";

export interface PortSpec {
  readonly protocol: "tcp" | "udp";
  readonly port: number;
}

export function parsePortText(text: string): PortSpec & { to: number } {
  const m = /^(tcp|udp)\/(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a port: ${JSON.stringify(text)} (expected tcp/N)`);
  return { protocol: m[1] as "tcp" | "udp", port: Number(m[2]), to: Number(m[3] ?? m[2]) };
}

export function pathVerdict(p: Path): FlowVerdict {
  if (p.steps.some((s) => s.verdict === "deny")) return "denied";
  if (p.steps.some((s) => s.verdict === "pending")) return "pending";
  return "allowed";
}

/** Distinct layers that deny on a path. */
export function blockingLayers(p: Path): LayerName[] {
  return [...new Set(p.steps.filter((s) => s.verdict === "deny" && !isCondition(s.layer)).map((s) => s.layer))].sort();
}

/** blockingLayers(p).length, without building the list (paths have a few steps: each is compared with the ones before it). */
export function blockingCount(p: Path): number {
  const steps = p.steps;
  let n = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.verdict !== "deny" || isCondition(s.layer)) continue;
    let again = false;
    for (let j = 0; j < i; j++) {
      const t = steps[j]!;
      if (t.layer === s.layer && t.verdict === "deny") {
        again = true;
        break;
      }
    }
    if (!again) n++;
  }
  return n;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs `fn` (a check of one case), , adding its seconds to `key` in `sink` when one is given. */
export function timed<T>(sink: Map<string, number> | undefined, key: string, fn: () => T): T {
  if (!sink) return fn();
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    sink.set(key, (sink.get(key) ?? 0) + (performance.now() - t0) / 1000);
  }
}
