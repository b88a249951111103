import type { Artifact, Topology } from "../core/index.js";
export { declareEdge, EDGE_PORTS } from "./declare.js";

/** Every file for the edge host, under `hosts/edge/`. */
export function renderEdge(t: Topology): Artifact[] {
  void t;
  return [];
}
