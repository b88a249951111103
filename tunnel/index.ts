import type { Artifact, Topology } from "../core/index.js";
export { declareTunnel } from "./declare.js";

/** WireGuard configs for both hosts, the failover agent and the cloud host firewall. */
export function renderTunnel(t: Topology): Artifact[] {
  void t;
  return [];
}
