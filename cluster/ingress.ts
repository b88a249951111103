import { derivedRoutes, routedHosts, tunnelAddresses, type Artifact, type DerivedRoute, type Service, type Topology } from "../core/index.js";
import { CLOUD_PORTS } from "./declare.js";

/** Paths inside the ingress container. The lab and tests substitute their own. */
export const INGRESS_PATHS = {
  config: "/usr/local/etc/haproxy/haproxy.cfg",
  certDir: "/etc/haproxy/certs",
  adminSocket: "/var/run/haproxy/admin.sock",
  masterSocket: "/var/run/haproxy/master.sock",
} as const;

/** Security headers of the seed design, set on every HTTPS response. */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["Strict-Transport-Security", "max-age=63072000; includeSubDomains"],
  ["Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"],
  ["X-Content-Type-Options", "nosniff"],
];

const ACME_PATH = "/.well-known/acme-challenge/";

const backendKey = (r: DerivedRoute) => `${r.to}\u0000${r.port}`;

/** Backend names of the routed services: `be_<service>`, or `be_<service>_<port>` for a service routed on several ports. */
export function ingressBackends(routes: readonly DerivedRoute[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of routes) {
    const several = new Set(routes.filter((x) => x.to === r.to).map((x) => x.port.toString())).size > 1;
    out.set(backendKey(r), `be_${r.to.replace(/-/g, "_")}${several ? `_${r.port.number}` : ""}`);
  }
  return out;
}

/** Address of `target` on a network it shares with `from`: the backend address the ingress dials. */
/** The cluster DNS name of a service on a Kubernetes cloud: its Service, in its own namespace. */
export function kubeServiceName(id: string): string {
  return `${id}.${id}.svc.cluster.local`;
}

function addressFrom(from: Service, target: Service): string {
  for (const [net, ip] of target.addresses) if (from.addresses.has(net)) return ip;
  throw new Error(`${from.id} shares no network with ${target.id}: cannot route to it`);
}

/**
 * The ingress's HAProxy configuration: PROXY v2 accepted only from the edge's tunnel address,
 * TLS termination, routing by host name and path, HTTP to HTTPS except ACME HTTP-01, security
 * headers, and a stats/Prometheus endpoint bound to an internal network only.
 */
export function renderIngressConfig(t: Topology): string {
  // On Kubernetes pods have no fixed address: the ingress reaches each Service by its cluster DNS name
  // and binds its stats on the pod's address (the namespace's NetworkPolicies keep it internal).
  const kube = t.site.cloud.engine === "kubernetes";
  const edgeTunnel = tunnelAddresses(t.site).edge4;
  const ingress = t.service("ingress");
  const routes = derivedRoutes(t.site);
  const backends = ingressBackends(routes);
  const be = (name: string, id: string, port: number) => {
    const svc = t.service(id);
    return [`backend ${name}`, `    server ${id} ${kube ? kubeServiceName(svc.id) : addressFrom(ingress, svc)}:${port} check inter 5s`, ""];
  };
  // The stats endpoint binds on an internal network (the first routed service's, else the ACME client's), never published.
  const first = t.service(routes[0]?.to ?? "acme");
  const membersOf = (net: string) => t.servicesOn(ingress.host.id).filter((s) => s.addresses.has(net)).length;
  const statsNet = [...ingress.addresses.keys()]
    .filter((net) => first.addresses.has(net))
    .sort((a, b) => membersOf(a) - membersOf(b) || a.localeCompare(b))[0];
  const statsIp = kube ? "0.0.0.0" : statsNet ? ingress.addresses.get(statsNet) : undefined;
  if (!statsIp) throw new Error("the ingress shares no internal network with the service it routes to first: nowhere to bind its stats endpoint");
  const hostAcl = (r: DerivedRoute) => `host_${r.label.replace(/-/g, "_")}`;
  const pathAcl = (path: string) => `path_${path.slice(1).replace(/[^A-Za-z0-9]/g, "_")}`;
  const acls = [
    ...[...new Map(routes.map((r) => [hostAcl(r), `    acl ${hostAcl(r)} hdr(host),field(1,:) -i ${r.host}`])).values()],
    // Two lines, ORed: one `acl` line takes one fetch, and every further word is a pattern.
    ...[...new Set(routes.flatMap((r) => (r.path ? [r.path] : [])))].flatMap((path) => [`    acl ${pathAcl(path)} path ${path}`, `    acl ${pathAcl(path)} path_beg ${path}/`]),
  ];
  const uses = routes.map((r) => `    use_backend ${backends.get(backendKey(r))} if ${hostAcl(r)}${r.path ? ` ${pathAcl(r.path)}` : ""}`);
  const onlyEdge = [
    `    # PROXY protocol v2 only from the edge's tunnel address (${edgeTunnel}); anyone else is refused.`,
    `    tcp-request connection expect-proxy layer4 if { src ${edgeTunnel} }`,
    `    tcp-request connection reject unless { src ${edgeTunnel} }`,
  ];
  return [
    "# Rendered by palisade from the site file; do not edit on the host.",
    "global",
    "    log stdout format raw local0",
    "    master-worker",
    `    stats socket ${INGRESS_PATHS.adminSocket} mode 660 level admin expose-fd listeners`,
    "    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets",
    "    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
    "    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
    "",
    "defaults",
    "    mode http",
    "    log global",
    "    option httplog",
    "    option dontlognull",
    "    timeout connect 5s",
    "    timeout client 30s",
    "    timeout server 30s",
    "    timeout http-request 10s",
    "",
    "frontend fe_http",
    "    bind :80",
    ...onlyEdge,
    `    acl acme_challenge path_beg ${ACME_PATH}`,
    "    http-request redirect scheme https code 301 unless acme_challenge",
    "    use_backend be_acme if acme_challenge",
    "",
    "frontend fe_https",
    `    bind :443 ssl crt ${INGRESS_PATHS.certDir}/ alpn h2,http/1.1`,
    ...onlyEdge,
    "    http-request set-header X-Forwarded-Proto https",
    ...acls,
    ...SECURITY_HEADERS.map(([h, v]) => `    http-response set-header ${h} "${v}"`),
    ...uses,
    "    # An unknown host never falls back to an application.",
    "    default_backend be_reject",
    "",
    "frontend fe_stats",
    kube ? "    # The pod's own address; no NetworkPolicy admits it and the Service does not expose it." : `    # Internal network only (${statsNet}: ${statsIp}); never published.`,
    `    bind ${statsIp}:${CLOUD_PORTS.ingressStats.number}`,
    "    http-request use-service prometheus-exporter if { path /metrics }",
    "    stats enable",
    "    stats uri /stats",
    "    stats refresh 10s",
    "",
    ...[...backends.entries(), [`acme\u0000${CLOUD_PORTS.acme}`, "be_acme"] as [string, string]]
      .sort(([, a], [, b]) => a.localeCompare(b))
      .flatMap(([key, name]) => {
        const [id, port] = key.split("\u0000") as [string, string];
        return be(name, id, Number(port.split("/")[1]));
      }),
    "backend be_reject",
    "    http-request deny deny_status 421",
    "",
  ].join("\n");
}

/**
 * lego's renewal job and its deploy hook: the renewed certificate goes to HAProxy over the
 * admin socket on the shared runtime volume (`set ssl cert` + `commit ssl cert`). No docker.sock.
 */
export function renderAcmeFiles(t: Topology): Artifact[] {
  const domains = routedHosts(t.site);
  const renew = [
    "#!/bin/sh",
    "# Rendered by palisade. Runs in the acme (lego) container; HTTP-01 is answered on :80 behind the ingress.",
    "set -eu",
    `CA_SERVER="\${CA_SERVER:-https://acme-v02.api.letsencrypt.org/directory}"`,
    // One call per domain (a loop over one word is a shellcheck warning; an unquoted list would word-split).
    "renew() {",
    '  d="$1"',
    `  set -- --accept-tos --server "$CA_SERVER" --email "${t.site.site.contactEmail}" --domains "$d" --http --http.port :${CLOUD_PORTS.acme.number} --path /certs/lego`,
    `  if [ -f "/certs/lego/certificates/$d.crt" ]; then`,
    `    lego "$@" renew --days 30 --renew-hook /etc/lego/deploy-hook.sh`,
    "  else",
    `    lego "$@" run --run-hook /etc/lego/deploy-hook.sh`,
    "  fi",
    "}",
    ...domains.map((d) => `renew ${d}`),
    "",
  ].join("\n");
  const hook = [
    "#!/bin/sh",
    "# Rendered by palisade. lego calls this with LEGO_CERT_DOMAIN, LEGO_CERT_PATH and LEGO_CERT_KEY_PATH.",
    "set -eu",
    `pem="/certs/$LEGO_CERT_DOMAIN.pem"`,
    `cat "$LEGO_CERT_PATH" "$LEGO_CERT_KEY_PATH" > "$pem.new" && mv "$pem.new" "$pem"`,
    `sock="${INGRESS_PATHS.adminSocket}"`,
    `{ printf 'set ssl cert ${INGRESS_PATHS.certDir}/%s.pem <<\\n' "$LEGO_CERT_DOMAIN"; cat "$pem"; printf '\\n'; } | nc -U "$sock"`,
    `printf 'commit ssl cert ${INGRESS_PATHS.certDir}/%s.pem\\n' "$LEGO_CERT_DOMAIN" | nc -U "$sock"`,
    "",
  ].join("\n");
  return [
    { path: `hosts/${t.site.cloud.id}/acme/renew.sh`, content: renew, mode: 0o755 },
    { path: `hosts/${t.site.cloud.id}/acme/deploy-hook.sh`, content: hook, mode: 0o755 },
  ];
}
