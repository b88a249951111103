import { hostInCidr4 } from "./cidr.js";
import type { Host } from "./host.js";

export interface NetworkProps {
  /** Segment name; the Docker network is named `<host>-<id>` on the host. */
  readonly id: string;
  readonly host: Host;
  readonly subnet: string;
  /**
   * No route out of the host: Docker's `internal: true`.
   * @default true - only a network whose members need egress says otherwise, with a reason
   */
  readonly internal?: boolean;
  /** Why this network needs egress (required when `internal` is false). */
  readonly egressReason?: string;
  /**
   * Source-NAT to the host's uplink address for traffic leaving the host. Without it a
   * non-internal network can publish ports and reach what the host routes for it (the tunnel,
   * with the host firewall's own SNAT) but its private addresses have no way back from the internet.
   * @default false - only the ACME client's egress network masquerades
   */
  readonly masquerade?: boolean;
}

/** A Docker bridge network: containers talk only over networks they share. */
export class Network {
  readonly id: string;
  readonly host: Host;
  readonly subnet: string;
  readonly internal: boolean;
  readonly egressReason?: string;
  readonly masquerade: boolean;
  private nextHost = 10;

  constructor(props: NetworkProps) {
    this.id = props.id;
    this.host = props.host;
    this.subnet = props.subnet;
    this.internal = props.internal ?? true;
    if (!this.internal && !props.egressReason) {
      throw new Error(`network ${props.id} is not internal but gives no egressReason`);
    }
    this.egressReason = props.egressReason;
    this.masquerade = !this.internal && (props.masquerade ?? false);
  }

  /** Docker's name for it on the host. */
  get dockerName(): string {
    return `${this.host.id}-${this.id}`;
  }

  get gateway(): string {
    return hostInCidr4(this.subnet, 1);
  }

  /** Static addresses are handed out in declaration order, so they are stable between plans. */
  allocate(): string {
    return hostInCidr4(this.subnet, this.nextHost++);
  }
}
