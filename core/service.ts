import { Connections, type IntentLedger } from "./connections.js";
import type { Host } from "./host.js";
import type { Network } from "./network.js";
import type { IPeer } from "./peer.js";
import type { Port } from "./port.js";
import type { ImageRef } from "./site-schema.js";
import type { Zone } from "./zone.js";

/** A Linux capability added back after `cap_drop: ALL`, always with the reason. */
export interface CapabilityGrant {
  readonly cap: string;
  readonly reason: string;
}

export interface Mount {
  readonly kind: "volume" | "bind";
  /** Volume name, or an absolute host path for binds. */
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface PublishedPort {
  /** Host address it binds to. Never 0.0.0.0 or `::` (a guardrail checks the artifacts). */
  readonly hostIp: string;
  readonly port: Port;
  readonly containerPort: number;
}

export interface Healthcheck {
  readonly test: readonly string[];
  readonly intervalS: number;
  readonly timeoutS: number;
  readonly retries: number;
}

export interface ServiceProps {
  readonly id: string;
  readonly host: Host;
  readonly image: ImageRef;
  /** Where the site file pins this image's digest (named in the warning when it is missing). @default `images.<id>.digest` */
  readonly imageKey?: string;
  /** Ports the service listens on (on every attached network). */
  readonly listens: readonly Port[];
  readonly networks?: readonly Network[];
  readonly publish?: readonly PublishedPort[];
  /** Run on the host's network stack; the reason shows in the report. @default - bridge networks only */
  readonly hostNetwork?: { readonly reason: string };
  /** @default "65534:65534" (nobody) - a service that must start as root says why in `rootReason` */
  readonly user?: string;
  readonly rootReason?: string;
  /** @default - none: every capability is dropped */
  readonly capAdd?: readonly CapabilityGrant[];
  /** Writable paths on a read-only root filesystem. @default - none */
  readonly tmpfs?: readonly string[];
  readonly mounts?: readonly Mount[];
  readonly memoryMb: number;
  /** @default 256 */
  readonly pidsLimit?: number;
  readonly healthcheck: Healthcheck;
  /** Non-secret environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Environment variables whose values are secrets: name -> secret id in `.palisade/secrets/`. */
  readonly secretEnv?: Readonly<Record<string, string>>;
  readonly command?: readonly string[];
  readonly description: string;
}

/** A container. Hardened by construction: the fields that would weaken it do not exist. */
export class Service implements IPeer {
  readonly id: string;
  readonly zone: Zone;
  readonly connections: Connections;
  readonly props: ServiceProps;
  /** Static address per attached network id. */
  readonly addresses: ReadonlyMap<string, string>;

  constructor(props: ServiceProps, ledger: IntentLedger) {
    this.id = props.id;
    this.zone = props.host.zone;
    this.props = props;
    this.connections = new Connections(this, ledger);
    const addresses = new Map<string, string>();
    for (const net of props.networks ?? []) {
      if (net.host !== props.host) throw new Error(`service ${props.id} cannot join ${net.id}: it lives on another host`);
      addresses.set(net.id, net.allocate());
    }
    if (props.hostNetwork && (props.networks?.length ?? 0) > 0) {
      throw new Error(`service ${props.id} uses host networking and cannot also join bridge networks`);
    }
    // "root", "0", and any "root:…"/"0:…" (user:group) run as uid 0.
    if (props.user !== undefined && /^(root|0)(:|$)/.test(props.user)) {
      if (!props.rootReason) throw new Error(`service ${props.id} runs as root without rootReason`);
    }
    this.addresses = addresses;
  }

  get host(): Host {
    return this.props.host;
  }

  get containerName(): string {
    return `${this.props.host.id}-${this.id}`;
  }
}
