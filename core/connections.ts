import type { IPeer } from "./peer.js";
import { comparePorts, type Port } from "./port.js";

/** One intended flow. Written once by `allowTo`/`allowFrom`, visible from both ends. */
export interface FlowIntent {
  readonly from: IPeer;
  readonly to: IPeer;
  readonly port: Port;
  readonly reason: string;
}

/** A pair that must never connect, on any port. */
export interface NeverIntent {
  readonly from: IPeer;
  readonly to: IPeer;
  readonly reason: string;
}

/** Canonical one-line form of a flow, as used in every report: `api => postgres : tcp/5432`. */
export function flowLine(from: string, to: string, port: Port | string): string {
  return `${from} => ${to} : ${String(port)}`;
}

/**
 * The shared ledger behind every peer's `connections`. Intent is recorded once here; each side's
 * view (`egress` of the source, `ingress` of the destination) is a filter over the same records,
 * so a one-sided rule cannot exist.
 */
export class IntentLedger {
  private readonly flowsByKey = new Map<string, FlowIntent>();
  private readonly neversByKey = new Map<string, NeverIntent>();

  addFlow(flow: FlowIntent): void {
    const key = flowLine(flow.from.id, flow.to.id, flow.port);
    const existing = this.flowsByKey.get(key);
    if (existing && existing.reason !== flow.reason) {
      throw new Error(`flow ${key} declared twice with different reasons: "${existing.reason}" and "${flow.reason}"`);
    }
    this.flowsByKey.set(key, flow);
  }

  addNever(never: NeverIntent): void {
    this.neversByKey.set(`${never.from.id} => ${never.to.id}`, never);
  }

  get flows(): FlowIntent[] {
    return [...this.flowsByKey.values()].sort(
      (a, b) => a.from.id.localeCompare(b.from.id) || a.to.id.localeCompare(b.to.id) || comparePorts(a.port, b.port),
    );
  }

  get nevers(): NeverIntent[] {
    return [...this.neversByKey.values()].sort(
      (a, b) => a.from.id.localeCompare(b.from.id) || a.to.id.localeCompare(b.to.id),
    );
  }
}

/**
 * Segmentation intent attached to one peer, in the style of aws-cdk's `Connections`:
 * `api.connections.allowTo(postgres, Port.POSTGRES, "data")` records the source's egress and the
 * destination's ingress in one call. Semantics: everything not allowed is denied.
 */
export class Connections {
  constructor(
    private readonly owner: IPeer,
    private readonly ledger: IntentLedger,
  ) {}

  allowTo(other: IPeer, port: Port, reason: string): this {
    this.ledger.addFlow({ from: this.owner, to: other, port, reason });
    return this;
  }

  allowFrom(other: IPeer, port: Port, reason: string): this {
    this.ledger.addFlow({ from: other, to: this.owner, port, reason });
    return this;
  }

  /** Declares that this peer must never reach `other` on any port (checked for two layers). */
  neverTo(other: IPeer, reason: string): this {
    this.ledger.addNever({ from: this.owner, to: other, reason });
    return this;
  }

  get egress(): FlowIntent[] {
    return this.ledger.flows.filter((f) => f.from === this.owner);
  }

  get ingress(): FlowIntent[] {
    return this.ledger.flows.filter((f) => f.to === this.owner);
  }
}
