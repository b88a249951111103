import type { Connections } from "./connections.js";
import type { Zone } from "./zone.js";

/**
 * Anything a flow can start or end at: a container, a daemon on a host, a set of addresses.
 * Every kind reduces to the same `id` (stable, used in reports: `api`, `edge:haproxy`, `internet`).
 */
export interface IPeer {
  readonly id: string;
  readonly zone: Zone;
  readonly connections: Connections;
}

/** A set of addresses that is not a workload: the internet, the admin ranges. */
export class AddressPeer implements IPeer {
  readonly connections: Connections;
  constructor(
    readonly id: string,
    readonly zone: Zone,
    readonly cidrs: readonly string[],
    connections: (peer: IPeer) => Connections,
  ) {
    this.connections = connections(this);
  }
}
