import type { Artifact, Topology } from "../core/index.js";
import { renderAcmeFiles, renderIngressConfig } from "./ingress.js";
export { declareCluster, postgresServiceIds, CLOUD_PORTS, CERTS_VOLUME, INGRESS_RUNTIME_VOLUME } from "./declare.js";
export { HARDENING } from "./hardening.js";
export { INGRESS_PATHS, SECURITY_HEADERS, renderIngressConfig } from "./ingress.js";

/** Files for the private cloud's containers: the ingress's HAProxy config and lego's jobs. */
export function renderCluster(t: Topology): Artifact[] {
  // On the first site, which runs the ingress and the ACME client (`cloud` in the one-site form).
  return [{ path: `hosts/${t.site.cloud.id}/ingress/haproxy.cfg`, content: renderIngressConfig(t) }, ...renderAcmeFiles(t)];
}
