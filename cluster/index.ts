import type { Artifact, Topology } from "../core/index.js";
export { declareCluster, CLOUD_PORTS } from "./declare.js";
export { HARDENING } from "./hardening.js";

/** Files for the private cloud's containers (the ingress's HAProxy config, lego's settings). */
export function renderCluster(t: Topology): Artifact[] {
  void t;
  return [];
}
