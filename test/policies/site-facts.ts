import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSite, tunnelAddresses, type Network, type Service, type Site, type Topology } from "../../core/index.js";
import { buildTopology } from "../../stacks/platform.js";
import { intentOf } from "../../policies/intent.js";
import type { Report } from "../../policies/verifier/index.js";

/*
 * What a generic test needs to know of one planned site to aim a mutation at it: its cloud
 * containers, their networks and addresses, the must-never pairs between two of them, the flows.
 * Names come from the site and its plan, never from the reference.
 */

export interface PlannedIntent {
  readonly peers: readonly { id: string; kind: string; zone?: string; host?: string }[];
  readonly flows: readonly { from: string; to: string; port: string; reason: string }[];
  readonly nevers: readonly { from: string; to: string; reason: string }[];
  readonly routes: readonly { host: string; path?: string; service: string; port: string }[];
  readonly identities: readonly { name: string; service: string }[];
}

/** One container on the cloud host with an address on one of its networks. */
export interface Attachment {
  readonly service: Service;
  readonly network: Network;
  readonly ip: string;
}

export interface SiteFacts {
  readonly site: Site;
  readonly topology: Topology;
  readonly intent: PlannedIntent;
  /** The cloud's tunnel address (where the edge reaches the ingress and SSH). */
  readonly cloudTunnel4: string;
  /** The cloud's uplink interfaces, by priority. */
  readonly uplinks: readonly string[];
  /** The cloud's containers (bridge networking), by id. */
  readonly containers: readonly Service[];
  /** Must-never pairs whose both ends are cloud containers, in the intent's order. */
  readonly containerNevers: readonly (readonly [Service, Service])[];
  /** The layers that block a must-never pair in the plan's own report (`docker-network`, `nftables:cloud`, `haproxy:ingress`...); none without a plan. */
  neverLayers(from: string, to: string): readonly string[];
  /** Declared flows between two cloud containers, in the intent's order. */
  readonly containerFlows: readonly { from: Service; to: Service; port: string }[];
  /** Every network a service is on, with its address there, by network id. */
  attachments(service: Service): Attachment[];
  /** The first port a service listens on (`tcp/5432`). */
  port(service: Service): string;
}

/**
 * The facts of a site file, from its model (the intent is what plan writes to intent.json), and of
 * the directory it was planned into when one is given (the layers of the plan's own report).
 */
export function siteFacts(file: string, planned?: string): SiteFacts {
  const site = loadSite(file);
  const topology = buildTopology(site);
  const derived = intentOf(topology);
  const intent: PlannedIntent = { ...derived, routes: derived.routes ?? [], identities: derived.identities ?? [] };
  const containers = topology
    .servicesOn("cloud")
    .filter((s) => s.addresses.size > 0)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const byId = new Map(containers.map((s) => [s.id, s]));
  const pair = <T extends { from: string; to: string }>(x: T) => (byId.has(x.from) && byId.has(x.to) ? ([byId.get(x.from)!, byId.get(x.to)!] as const) : undefined);
  const nevers = planned ? plannedReport(planned).nevers : [];
  return {
    neverLayers: (from, to) => nevers.find((n) => n.source === from && n.destination === to)?.layers ?? [],
    site,
    topology,
    intent,
    cloudTunnel4: tunnelAddresses(site).cloud4,
    uplinks: [...site.cloud.uplinks].sort((a, b) => a.priority - b.priority).map((u) => u.interface),
    containers,
    containerNevers: intent.nevers.map(pair).filter((p) => p !== undefined),
    containerFlows: intent.flows.flatMap((f) => {
      const p = pair(f);
      return p ? [{ from: p[0], to: p[1], port: f.port }] : [];
    }),
    attachments: (service) => [...service.addresses].sort(([a], [b]) => (a < b ? -1 : 1)).map(([net, ip]) => ({ service, network: topology.network("cloud", net), ip })),
    port: (service) => {
      const p = service.props.listens[0];
      if (!p) throw new Error(`${service.id} listens on no port`);
      return p.toString();
    },
  };
}

/** The verdict the plan itself wrote (report/report.json): the baseline, without verifying again. */
export function plannedReport(planned: string): Report {
  return JSON.parse(readFileSync(join(planned, "report", "report.json"), "utf8")) as Report;
}

/** A name escaped for a regular expression's source. */
export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** A regexp source matching any of the names, escaped. */
export function anyOf(names: readonly string[]): string {
  return `(${names.map(esc).join("|")})`;
}
