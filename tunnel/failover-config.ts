import { Port, type Artifact, type Topology } from "../core/index.js";
import type { FailoverAgentConfig } from "./failover/config.js";
import { CLOUD_WG_IFACE } from "./names.js";
import { MISSING_KEY_PLACEHOLDER } from "./wireguard.js";
import { cloudSite } from "./sites.js";

/** Path of the agent inside the repository and in the failover image. */
export const FAILOVER_AGENT_SCRIPT = "tunnel/failover/agent.ts";
export const FAILOVER_CONFIG_PATH = "/etc/palisade/failover/failover.json";

/**
 * What the agent probes: a TCP connect to the edge's public HTTPS port (the edge proxy), which
 * the edge already accepts from the internet, so probing needs no extra opening on the edge. A RST
 * counts as an answer too: the probe tests the path to the edge host, not HAProxy.
 */
export const FAILOVER_PROBE_PORT = Port.HTTPS;

/** Routing tables for the per-uplink probe routes: 200 + priority; rule priorities 1000 + priority. */
export const UPLINK_TABLE_BASE = 200;
export const UPLINK_RULE_PRIORITY_BASE = 1000;

/** The failover agent's config for one site (default: the first), from its uplinks and failover settings. */
export function failoverAgentConfig(t: Topology, siteId: string = t.site.cloud.id): FailoverAgentConfig {
  const s = t.site;
  const here = cloudSite(s, siteId);
  const f = here.failover;
  return {
    version: 1,
    edge: { address: s.edge.ipv4, tunnelPort: s.tunnel.port },
    probe: {
      kind: "tcp-connect",
      address: s.edge.ipv4,
      port: FAILOVER_PROBE_PORT.number,
      // A probe may take twice the interval (cellular latency), but never less than 500 ms.
      timeoutMs: Math.min(5000, Math.max(500, 2 * f.probeIntervalMs)),
    },
    probeIntervalMs: f.probeIntervalMs,
    misses: f.misses,
    holdDownS: f.holdDownS,
    uplinks: [...here.uplinks]
      .sort((a, b) => a.priority - b.priority)
      .map((u) => ({
        id: u.id,
        interface: u.interface,
        address: u.address.split("/")[0]!,
        gateway: u.gateway,
        priority: u.priority,
        table: UPLINK_TABLE_BASE + u.priority,
        rulePriority: UPLINK_RULE_PRIORITY_BASE + u.priority,
      })),
    wireguard: {
      interface: CLOUD_WG_IFACE,
      peerPublicKey: s.publicKeys.wireguardEdge ?? MISSING_KEY_PLACEHOLDER,
      endpoint: `${s.edge.ipv4}:${s.tunnel.port}`,
      persistentKeepalive: s.tunnel.keepalive,
    },
    stateFile: "/tmp/failover.state",
    agent: { script: FAILOVER_AGENT_SCRIPT, command: ["npx", "tsx", FAILOVER_AGENT_SCRIPT, "--config", FAILOVER_CONFIG_PATH] },
  };
}

export function renderFailoverConfig(t: Topology, siteId: string = t.site.cloud.id): Artifact {
  return { path: `hosts/${siteId}/failover/failover.json`, content: `${JSON.stringify(failoverAgentConfig(t, siteId), null, 2)}\n` };
}
