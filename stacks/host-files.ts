import type { Artifact, Topology } from "../core/index.js";
import { renderCluster } from "../cluster/index.js";
import { renderEdge } from "../edge/index.js";
import { renderOpenBao } from "../policies/openbao/index.js";
import { renderTenancy } from "../policies/tenancy/index.js";
import { renderTunnel } from "../tunnel/index.js";

/** Every file placed on a host, from every renderer. Each area's renderer is listed here once. */
export function renderHostFiles(t: Topology): Artifact[] {
  return [...renderEdge(t), ...renderTunnel(t), ...renderCluster(t), ...renderTenancy(t.site), ...renderOpenBao(t.site)];
}
