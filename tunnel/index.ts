import { sortArtifacts, type Artifact, type Topology } from "../core/index.js";
import { renderCloudFirewall } from "./cloud-firewall.js";
import { renderFailoverConfig } from "./failover-config.js";
import { renderWireguard } from "./wireguard.js";
export { declareTunnel, failoverServiceId } from "./declare.js";
export { EDGE_WG_IFACE, CLOUD_WG_IFACE, CLOUD_FIREWALL_TABLE, WG_PRIVATE_KEY_PATH, bridgeName } from "./names.js";
export { renderWireguard, allowedIps, MISSING_KEY_PLACEHOLDER, missingKeyPlaceholder } from "./wireguard.js";
export { cloudSite, peerSites, tunnelOf } from "./sites.js";
export { renderCloudFirewall, nftComment } from "./cloud-firewall.js";
export {
  renderFailoverConfig,
  failoverAgentConfig,
  FAILOVER_AGENT_SCRIPT,
  FAILOVER_CONFIG_PATH,
  FAILOVER_PROBE_PORT,
  UPLINK_TABLE_BASE,
  UPLINK_RULE_PRIORITY_BASE,
} from "./failover-config.js";
export { decide, initialState, activeUplink, type FailoverState, type FailoverMode, type FailoverAction, type ProbeResult, type MachineConfig, type Decision, type LogEvent, type UplinkHealth } from "./failover/machine.js";
export { parseFailoverConfig, uplinksByPriority, type FailoverAgentConfig, type FailoverUplinkConfig } from "./failover/config.js";

/** WireGuard configs for the edge and each site, and each site's failover agent config and host firewall. */
export function renderTunnel(t: Topology): Artifact[] {
  return sortArtifacts([...renderWireguard(t), ...t.site.sites.flatMap((s) => [renderFailoverConfig(t, s.id), renderCloudFirewall(t, s.id)])]);
}
