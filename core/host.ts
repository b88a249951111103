import { Connections, type IntentLedger } from "./connections.js";
import type { IPeer } from "./peer.js";
import type { Zone } from "./zone.js";

export interface HostProps {
  readonly id: string;
  readonly zone: Zone;
  /** Addresses the host owns (public, uplink or tunnel), for reports and firewalls. */
  readonly addresses: readonly string[];
  /** The Docker daemon the engines deploy to, e.g. `ssh://deploy@203.0.113.10`. */
  readonly dockerHost: string;
}

/** A machine: the edge VPS or the private cloud's Docker host. A host is a peer too (its sshd, its agent). */
export class Host implements IPeer {
  readonly id: string;
  readonly zone: Zone;
  readonly addresses: readonly string[];
  readonly dockerHost: string;
  readonly connections: Connections;

  constructor(props: HostProps, ledger: IntentLedger) {
    this.id = props.id;
    this.zone = props.zone;
    this.addresses = props.addresses;
    this.dockerHost = props.dockerHost;
    this.connections = new Connections(this, ledger);
  }
}

/** A daemon on a host that is a destination of its own (edge haproxy, edge mail, edge sshd). */
export class HostDaemon implements IPeer {
  readonly id: string;
  readonly zone: Zone;
  readonly connections: Connections;
  constructor(
    readonly host: Host,
    readonly name: string,
    ledger: IntentLedger,
  ) {
    this.id = `${host.id}:${name}`;
    this.zone = host.zone;
    this.connections = new Connections(this, ledger);
  }
}
