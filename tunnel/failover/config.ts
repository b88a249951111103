/**
 * The failover agent's configuration file (`hosts/cloud/failover/failover.json`, mounted read-only
 * at /etc/palisade/failover/failover.json). Rendered by `renderFailoverConfig`; read and checked by
 * the agent. Node builtins only: the agent runs in its own small image.
 */

export interface FailoverUplinkConfig {
  readonly id: string;
  /** Interface name on the cloud host (e.g. fiber0). */
  readonly interface: string;
  /** The uplink's own address (no prefix): probes are sent from it. */
  readonly address: string;
  readonly gateway: string;
  /** 1 = primary. */
  readonly priority: number;
  /** Routing table holding this uplink's route to the edge; probes from `address` use it (`ip rule from address lookup table`). */
  readonly table: number;
  /** Priority of that `ip rule`. */
  readonly rulePriority: number;
}

export interface FailoverAgentConfig {
  readonly version: 1;
  /** The edge's public address and the tunnel's UDP port: the route the agent moves, the conntrack entries it flushes. */
  readonly edge: { readonly address: string; readonly tunnelPort: number };
  /**
   * How an uplink is probed: a TCP connect to `address:port` from the uplink's address, routed
   * out of that uplink by policy routing. An answer (SYN-ACK or RST) within `timeoutMs` is a hit:
   * the edge host is reachable through that uplink; silence is a miss.
   */
  readonly probe: { readonly kind: "tcp-connect"; readonly address: string; readonly port: number; readonly timeoutMs: number };
  readonly probeIntervalMs: number;
  readonly misses: number;
  readonly holdDownS: number;
  readonly uplinks: readonly FailoverUplinkConfig[];
  /** The cloud's WireGuard interface and its one peer (the edge): re-set after each switch so the edge roams. */
  readonly wireguard: { readonly interface: string; readonly peerPublicKey: string; readonly endpoint: string; readonly persistentKeepalive: number };
  /** File whose existence is the container's health check; holds the current state as JSON. */
  readonly stateFile: string;
  /** How this file is run (documentation for operators; the agent ignores it). */
  readonly agent: { readonly script: string; readonly command: readonly string[] };
}

function fail(path: string, given: unknown, expected: string): never {
  throw new Error(`failover config: ${path}: given ${JSON.stringify(given)}; expected ${expected}`);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IFNAME = /^[a-zA-Z0-9_.=+-]{1,15}$/;

/** Checks a parsed failover.json; throws naming the field, the value and what was expected. */
export function parseFailoverConfig(raw: unknown): FailoverAgentConfig {
  const c = raw as FailoverAgentConfig;
  if (typeof raw !== "object" || raw === null) fail("(file)", raw, "a JSON object");
  if (c.version !== 1) fail("version", c.version, "1");
  if (!IPV4.test(String(c.edge?.address))) fail("edge.address", c.edge?.address, "an IPv4 address");
  const port = (v: unknown, p: string) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535 ? v : fail(p, v, "a port 1-65535"));
  port(c.edge.tunnelPort, "edge.tunnelPort");
  if (c.probe?.kind !== "tcp-connect") fail("probe.kind", c.probe?.kind, '"tcp-connect"');
  if (!IPV4.test(String(c.probe.address))) fail("probe.address", c.probe.address, "an IPv4 address");
  port(c.probe.port, "probe.port");
  const positive = (v: unknown, p: string) => (Number.isInteger(v) && (v as number) > 0 ? v : fail(p, v, "a positive integer"));
  positive(c.probe.timeoutMs, "probe.timeoutMs");
  positive(c.probeIntervalMs, "probeIntervalMs");
  positive(c.misses, "misses");
  positive(c.holdDownS, "holdDownS");
  if (!Array.isArray(c.uplinks) || c.uplinks.length !== 2) fail("uplinks", c.uplinks, "exactly two uplinks");
  c.uplinks.forEach((u, i) => {
    if (!IFNAME.test(String(u.interface))) fail(`uplinks[${i}].interface`, u.interface, "an interface name");
    if (!IPV4.test(String(u.address))) fail(`uplinks[${i}].address`, u.address, "an IPv4 address without prefix");
    if (!IPV4.test(String(u.gateway))) fail(`uplinks[${i}].gateway`, u.gateway, "an IPv4 address");
    positive(u.table, `uplinks[${i}].table`);
    positive(u.rulePriority, `uplinks[${i}].rulePriority`);
  });
  const prios = c.uplinks.map((u) => u.priority).sort();
  if (prios[0] === prios[1]) fail("uplinks[].priority", prios, "two different priorities (1 = primary)");
  if (!IFNAME.test(String(c.wireguard?.interface))) fail("wireguard.interface", c.wireguard?.interface, "an interface name");
  if (typeof c.stateFile !== "string" || !c.stateFile.startsWith("/")) fail("stateFile", c.stateFile, "an absolute path");
  return c;
}

/** Primary (lowest priority number) first. */
export function uplinksByPriority(c: FailoverAgentConfig): [FailoverUplinkConfig, FailoverUplinkConfig] {
  const [a, b] = [...c.uplinks].sort((x, y) => x.priority - y.priority);
  return [a!, b!];
}
