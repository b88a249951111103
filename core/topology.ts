import { IntentLedger } from "./connections.js";
import { Host, HostDaemon, type HostProps } from "./host.js";
import { Network, type NetworkProps } from "./network.js";
import { AddressPeer, type IPeer } from "./peer.js";
import { Service, type ServiceProps } from "./service.js";
import type { Site } from "./site-schema.js";
import { Zone } from "./zone.js";
import { Connections } from "./connections.js";

/** A warning that `plan` prints and `--strict` turns into a failure. */
export interface PlanWarning {
  readonly id: string;
  readonly subject: string;
  readonly message: string;
}

/**
 * The whole platform as one graph: hosts, networks, services, address peers and the intent
 * ledger. Built by `stacks/platform.ts`; read by the renderers. Never read by the verifier.
 */
export class Topology {
  readonly ledger = new IntentLedger();
  readonly hosts = new Map<string, Host>();
  readonly daemons = new Map<string, HostDaemon>();
  readonly networks = new Map<string, Network>();
  readonly services = new Map<string, Service>();
  readonly addressPeers = new Map<string, AddressPeer>();
  readonly warnings: PlanWarning[] = [];

  constructor(readonly site: Site) {}

  addHost(props: HostProps): Host {
    this.unique(props.id, this.hosts);
    const host = new Host(props, this.ledger);
    this.hosts.set(host.id, host);
    return host;
  }

  addDaemon(host: Host, name: string): HostDaemon {
    const daemon = new HostDaemon(host, name, this.ledger);
    this.unique(daemon.id, this.daemons);
    this.daemons.set(daemon.id, daemon);
    return daemon;
  }

  addNetwork(props: NetworkProps): Network {
    const net = new Network(props);
    this.unique(`${props.host.id}/${props.id}`, this.networks);
    this.networks.set(`${props.host.id}/${props.id}`, net);
    return net;
  }

  addService(props: ServiceProps): Service {
    this.unique(props.id, this.services);
    const svc = new Service(props, this.ledger);
    this.services.set(svc.id, svc);
    if (!props.image.digest) {
      this.warnings.push({ id: "image-digest", subject: svc.id, message: `image ${props.image.image} of ${svc.id} has no digest; pin it in ${props.imageKey ?? `images.${svc.id}.digest`}` });
    }
    return svc;
  }

  addAddressPeer(id: string, zone: Zone, cidrs: readonly string[]): AddressPeer {
    this.unique(id, this.addressPeers);
    const peer = new AddressPeer(id, zone, cidrs, (p) => new Connections(p, this.ledger));
    this.addressPeers.set(id, peer);
    return peer;
  }

  host(id: string): Host {
    return this.must(this.hosts, id, "host");
  }
  service(id: string): Service {
    return this.must(this.services, id, "service");
  }
  network(hostId: string, id: string): Network {
    return this.must(this.networks, `${hostId}/${id}`, "network");
  }
  daemon(id: string): HostDaemon {
    return this.must(this.daemons, id, "daemon");
  }
  peer(id: string): IPeer {
    const p = this.services.get(id) ?? this.daemons.get(id) ?? this.addressPeers.get(id) ?? this.hosts.get(id);
    if (!p) throw new Error(`no peer named ${id}`);
    return p;
  }

  servicesOn(hostId: string): Service[] {
    return [...this.services.values()].filter((s) => s.host.id === hostId).sort((a, b) => a.id.localeCompare(b.id));
  }
  /**
   * The services of a Kubernetes host that run as pods, each in its own namespace: all but the
   * host-network ones, which are the node's own agents (the uplink failover agent).
   */
  podsOn(hostId: string): Service[] {
    return this.servicesOn(hostId).filter((s) => !s.props.hostNetwork);
  }
  networksOn(hostId: string): Network[] {
    return [...this.networks.values()].filter((n) => n.host.id === hostId).sort((a, b) => a.id.localeCompare(b.id));
  }

  private unique(id: string, map: Map<string, unknown>): void {
    if (map.has(id)) throw new Error(`duplicate id ${id}`);
  }
  private must<T>(map: Map<string, T>, id: string, kind: string): T {
    const v = map.get(id);
    if (!v) throw new Error(`no ${kind} named ${id}`);
    return v;
  }
}

export { Zone };
