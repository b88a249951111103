/*
 * The semantic connectivity diff of two manifest sets (netpol-analyzer's `diff`): for each source and
 * destination, the connections of dir1 against those of dir2. Both sides cut the external space at the
 * blocks of both, so a range is the same peer on either side. The formatters order the lines.
 */
import type { ConnSet } from "./connset.js";
import { connectivity, peerName, referencedBlocks, type Connection } from "./evaluate.js";
import type { K8sResources } from "./model.js";

export type DiffType = "changed" | "added" | "removed";

export interface DiffLine {
  readonly type: DiffType;
  readonly src: string;
  readonly dst: string;
  readonly dir1: string;
  readonly dir2: string;
  /** `workload ns/x[Deployment] added`, when an end exists on one side only; else empty. */
  readonly workloadsInfo: string;
  readonly fromIngressController: boolean;
}

export interface ConnectivityDiff {
  readonly lines: readonly DiffLine[];
  readonly warnings: readonly string[];
}

export function diffConnectivity(dir1: K8sResources, dir2: K8sResources): ConnectivityDiff {
  const b1 = referencedBlocks(dir1);
  const b2 = referencedBlocks(dir2);
  const c1 = connectivity(dir1, { extraBlocks: b2 });
  const c2 = connectivity(dir2, { extraBlocks: b1 });
  const index = (cs: readonly Connection[]) => new Map(cs.map((c) => [`${peerName(c.src)}\n${peerName(c.dst)}`, c] as const));
  const m1 = index(c1.connections);
  const m2 = index(c2.connections);
  const lines: DiffLine[] = [];
  const info = (c: Connection, type: DiffType): string => {
    if (type === "changed") return "";
    const other = type === "added" ? c1.workloads : c2.workloads;
    const ends = [c.src, c.dst].filter((p) => p.kind === "workload" && !other.has(peerName(p))).map(peerName);
    return ends.length ? `workload ${ends.join(" and ")} ${type}` : "";
  };
  const line = (type: DiffType, c: Connection, a: ConnSet | undefined, b: ConnSet | undefined): DiffLine => ({
    type,
    src: peerName(c.src),
    dst: peerName(c.dst),
    dir1: a ? a.toString() : "No Connections",
    dir2: b ? b.toString() : "No Connections",
    workloadsInfo: info(c, type),
    fromIngressController: c.src.kind === "ingress-controller",
  });
  for (const [key, c] of m1) {
    const other = m2.get(key);
    if (!other) lines.push(line("removed", c, c.conns, undefined));
    else if (!other.conns.equals(c.conns)) lines.push(line("changed", c, c.conns, other.conns));
  }
  for (const [key, c] of m2) if (!m1.has(key)) lines.push(line("added", c, undefined, c.conns));
  return { lines, warnings: [...new Set([...c1.warnings, ...c2.warnings])].sort() };
}

export function diffIsEmpty(d: ConnectivityDiff): boolean {
  return d.lines.length === 0;
}
