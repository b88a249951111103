import { hostLabel, IPS_REJECT_BACKEND, IPS_SNI_LOG_TAG, routedHosts, siteNames, siteZones, type Artifact, type Topology } from "../core/index.js";
import { EDGE_DIR, header, tunnelFacts } from "./private/edge-facts.js";

/** Backend that refuses TLS connections whose SNI names no site host (or that send no SNI). */
export const EDGE_REJECT_BACKEND = IPS_REJECT_BACKEND;
/** Backend that refuses the site's own names that serve no HTTPS (apex, mail, ns1, mta-sts): refused, not jailed. */
export const EDGE_CLOSED_BACKEND = "be_closed";
/** Tag at the start of every TLS frontend log line; the haproxy-sni jail reads lines with it. */
export const EDGE_SNI_LOG_TAG = IPS_SNI_LOG_TAG;
/** HAProxy's admin socket on the edge (stats only there, never on a TCP port). */
export const EDGE_HAPROXY_SOCKET = "/var/run/haproxy/admin.sock";

/** Host names the edge passes through to the cloud ingress (the site's routes), one backend each: `be_app` -> app.<domain>. */
export function edgeRoutes(t: Topology): { backend: string; host: string }[] {
  return routedHosts(t.site)
    .sort()
    .map((host) => ({ backend: `be_${hostLabel(t.site, host).replace(/-/g, "_")}`, host }));
}

/** The site's own names that point at the edge but serve nothing on 443 (sorted): the zones' apexes and the mail and DNS names. */
export function edgeClosedNames(t: Topology): string[] {
  const n = siteNames(t.site);
  const routed = new Set(routedHosts(t.site));
  return [...new Set([...siteZones(t.site), n.mail, n.mtaSts, n.ns1])].filter((h) => !routed.has(h)).sort();
}

/**
 * The edge HAProxy: SNI passthrough on 443 (TLS ends in the cloud), HTTP on 80 only for ACME
 * HTTP-01 (passed to the ingress) and a redirect to HTTPS. PROXY v2 carries the client address.
 */
export function renderProxy(t: Topology): Artifact {
  const { cloud4 } = tunnelFacts(t);
  const { ipv4, ipv6 } = t.site.edge;
  const routes = edgeRoutes(t);
  const hosts = routes.map((r) => r.host);
  const lines = [
    header("#", "HAProxy on the edge: SNI passthrough to the cloud ingress over the tunnel").trimEnd(),
    "global",
    "    log /dev/log local0 info",
    `    stats socket ${EDGE_HAPROXY_SOCKET} mode 600 level admin`,
    "    maxconn 4096",
    "",
    "defaults",
    "    log global",
    "    option dontlognull",
    "    timeout connect 5s",
    "    timeout client 60s",
    "    timeout server 60s",
    "    timeout http-request 10s",
    "",
    "# TLS passes through untouched: route on the SNI of the ClientHello only.",
    "frontend fe_tls",
    "    mode tcp",
    `    bind ${ipv4}:443`,
    `    bind [${ipv6}]:443`,
    `    log-format "${EDGE_SNI_LOG_TAG} client=%ci port=%cp frontend=%f backend=%b sni=%[var(sess.sni)] bytes=%B term=%ts"`,
    "    tcp-request inspect-delay 5s",
    "    tcp-request content set-var(sess.sni) req.ssl_sni,lower if { req.ssl_hello_type 1 }",
    "    tcp-request content accept if { req.ssl_hello_type 1 }",
    ...routes.map((r) => `    use_backend ${r.backend} if { req.ssl_sni -i ${r.host} }`),
    `    use_backend ${EDGE_CLOSED_BACKEND} if { req.ssl_sni -i ${edgeClosedNames(t).join(" ")} }`,
    `    default_backend ${EDGE_REJECT_BACKEND}`,
    "",
    "# HTTP: only ACME HTTP-01 challenges for the site's names go to the cloud; the rest moves to HTTPS.",
    "frontend fe_http",
    "    mode http",
    `    bind ${ipv4}:80`,
    `    bind [${ipv6}]:80`,
    "    option httplog",
    "    acl acme_challenge path_beg /.well-known/acme-challenge/",
    `    acl site_host req.hdr(host),field(1,:),lower -m str ${hosts.join(" ")}`,
    "    http-request redirect scheme https code 301 unless acme_challenge site_host",
    "    use_backend be_acme if acme_challenge site_host",
    "",
    ...routes.flatMap((r) => [
      `backend ${r.backend}`,
      "    mode tcp",
      `    server ingress ${cloud4}:443 send-proxy-v2`,
      "",
    ]),
    "backend be_acme",
    "    mode http",
    `    server ingress ${cloud4}:80 send-proxy-v2`,
    "",
    "# The site's own names with no HTTPS service: refused, logged as be_closed (not counted by the IPS).",
    `backend ${EDGE_CLOSED_BACKEND}`,
    "    mode tcp",
    "    tcp-request content reject",
    "",
    "# Unknown or missing SNI: refused, and logged (backend=be_reject) for the haproxy-sni jail.",
    `backend ${EDGE_REJECT_BACKEND}`,
    "    mode tcp",
    "    tcp-request content reject",
    "",
  ];
  return { path: `${EDGE_DIR}/haproxy/haproxy.cfg`, content: lines.join("\n") };
}
