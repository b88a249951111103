import { derivedRoutes, type Artifact, type Topology } from "../core/index.js";

/*
 * The declared segmentation intent as plain data. The verifier compares what it derives from the
 * artifacts against this, and `plan` writes it as `intent.json`, so `verify --out D` (artifacts
 * only) reads the same intent the plan declared: the intent is itself an artifact the auditor reads.
 */

export interface IntentFlow {
  readonly from: string;
  readonly to: string;
  /** Canonical port form: `tcp/5432`. */
  readonly port: string;
  readonly reason: string;
}

export interface IntentNever {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/**
 * Who the names in the intent are. Vocabulary only: the verifier uses it to give names to
 * addresses (which CIDRs "admin" means) and never to decide what is reachable.
 */
export interface IntentPeer {
  readonly id: string;
  readonly kind: "addresses" | "host" | "daemon" | "service";
  readonly zone: string;
  /** For `addresses` peers: their CIDRs; for hosts: the addresses they own. @default - none */
  readonly addresses?: readonly string[];
  /** For daemons and services: the host they live on. */
  readonly host?: string;
}

/** Governance of one hardening exception, as the site file declares it (owner, ticket, expiry). */
export interface IntentException {
  readonly service: string;
  readonly kind: "host-network" | "root-user" | "capability" | "egress-network";
  readonly capability?: string;
  readonly reason: string;
  readonly owner: string;
  readonly ticket: string;
  /** Last valid day, YYYY-MM-DD (UTC). */
  readonly expires: string;
}

/** A public route the site declares: the edge and the ingress must both render it. */
export interface IntentRoute {
  readonly host: string;
  /** Path prefix. @default - the whole host */
  readonly path?: string;
  readonly service: string;
  /** `tcp/8080`. */
  readonly port: string;
}

/** An OpenBao identity a service logs in as: the rendered OpenBao files and secrets stacks must define it. */
export interface IntentIdentity {
  readonly name: string;
  readonly service: string;
}

export interface Intent {
  readonly version: 1;
  readonly peers: readonly IntentPeer[];
  readonly flows: readonly IntentFlow[];
  readonly nevers: readonly IntentNever[];
  /** @default - none declared */
  readonly exceptions?: readonly IntentException[];
  /** @default - none (an intent written before routes were declared) */
  readonly routes?: readonly IntentRoute[];
  /** @default - none */
  readonly identities?: readonly IntentIdentity[];
}

export const INTENT_PATH = "intent.json";

function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The intent ledger of a Topology as data, sorted (flows by from, to, port; nevers by from, to). */
export function intentOf(t: Topology): Intent {
  const peers: IntentPeer[] = [];
  for (const p of t.addressPeers.values()) peers.push({ id: p.id, kind: "addresses", zone: p.zone.name, addresses: [...p.cidrs] });
  for (const h of t.hosts.values()) peers.push({ id: h.id, kind: "host", zone: h.zone.name, addresses: [...h.addresses] });
  for (const d of t.daemons.values()) peers.push({ id: d.id, kind: "daemon", zone: d.zone.name, host: d.host.id });
  for (const s of t.services.values()) peers.push({ id: s.id, kind: "service", zone: s.zone.name, host: s.host.id });
  peers.sort(byId);
  return {
    version: 1,
    peers,
    flows: t.ledger.flows.map((f) => ({ from: f.from.id, to: f.to.id, port: f.port.toString(), reason: f.reason })),
    nevers: t.ledger.nevers.map((n) => ({ from: n.from.id, to: n.to.id, reason: n.reason })),
    routes: derivedRoutes(t.site).map((r) => ({ host: r.host, ...(r.path ? { path: r.path } : {}), service: r.to, port: r.port.toString() })),
    identities: t.site.openbao.identities.map((i) => ({ name: i.name, service: i.service })),
    ...((t.site.exceptions ?? []).length
      ? { exceptions: [...t.site.exceptions].sort((a, b) => (a.service + a.kind + (a.capability ?? "") < b.service + b.kind + (b.capability ?? "") ? -1 : 1)) }
      : {}),
  };
}

/** `intent.json`: the declared intent, written by `plan` next to the artifacts it describes. */
export function renderIntent(t: Topology): Artifact {
  return { path: INTENT_PATH, content: `${JSON.stringify(intentOf(t), null, 2)}\n` };
}

/** Reads `intent.json`; throws naming the field that is wrong. */
export function parseIntent(text: string): Intent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`intent.json: not JSON (${(e as Error).message})`);
  }
  const o = raw as Partial<Intent>;
  if (!o || typeof o !== "object") throw new Error("intent.json: expected an object");
  if (o.version !== 1) throw new Error(`intent.json: version: given ${JSON.stringify(o.version)}; expected 1`);
  for (const key of ["peers", "flows", "nevers"] as const) {
    if (!Array.isArray(o[key])) throw new Error(`intent.json: ${key}: expected an array`);
  }
  for (const [i, f] of o.flows!.entries()) {
    if (typeof f.from !== "string" || typeof f.to !== "string" || !/^(tcp|udp)\/\d+(-\d+)?$/.test(String(f.port))) {
      throw new Error(`intent.json: flows[${i}]: expected {from, to, port: "tcp/N", reason}; given ${JSON.stringify(f)}`);
    }
  }
  if (o.exceptions !== undefined) {
    if (!Array.isArray(o.exceptions)) throw new Error("intent.json: exceptions: expected an array");
    for (const [i, e] of o.exceptions.entries()) {
      if (!e || typeof e.service !== "string" || typeof e.kind !== "string" || typeof e.owner !== "string" || typeof e.ticket !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(String(e.expires))) {
        throw new Error(`intent.json: exceptions[${i}]: expected {service, kind, reason, owner, ticket, expires: "YYYY-MM-DD"}; given ${JSON.stringify(e)}`);
      }
    }
  }
  for (const [i, r] of (Array.isArray(o.routes) ? o.routes : []).entries()) {
    if (typeof r.host !== "string" || typeof r.service !== "string" || !/^tcp\/\d+$/.test(String(r.port))) {
      throw new Error(`intent.json: routes[${i}]: expected {host, path?, service, port: "tcp/N"}; given ${JSON.stringify(r)}`);
    }
  }
  if (o.routes !== undefined && !Array.isArray(o.routes)) throw new Error("intent.json: routes: expected an array");
  if (o.identities !== undefined && !Array.isArray(o.identities)) throw new Error("intent.json: identities: expected an array");
  return o as Intent;
}

