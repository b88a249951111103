import { Port, containerFlows, egressFlows, expandPeer, hostLabel, routedHosts, type Topology } from "../core/index.js";

/**
 * The segmentation intent, written once with the Connections API: the platform's own flows (edge,
 * tunnel, administration), the cloud's flows derived from the site file's declaration, and the
 * must-never pairs (the operator's, plus the platform's: internet -> cloud, edge -> cloud except
 * the ingress, container egress except the declared). Everything not
 * allowed here is denied; the verifier checks the artifacts against it. Peer ids: `internet`,
 * `admin`, edge services (`edge-proxy`, `edge-mail`, `edge-dns`), host daemons (`edge:sshd`,
 * `edge:wireguard`), the cloud host (`cloud`, for its uplinks) and containers.
 */
export function declareSegmentation(t: Topology): void {
  const p = (id: string) => t.peer(id);
  const internet = p("internet");
  const admin = p("admin");
  const proxy = p("edge-proxy");
  const mail = p("edge-mail");
  const dns = p("edge-dns");
  // Each site's host (the one-site form's is `cloud`); the first runs OpenBao.
  const siteHosts = t.site.sites.map((s) => p(s.id));
  const cloudHost = siteHosts[0]!;
  for (const port of [Port.HTTP, Port.HTTPS]) {
    internet.connections.allowTo(proxy, port, "public web; TLS passes through to the cloud");
  }
  for (const port of [Port.SMTP, Port.SMTPS, Port.SUBMISSION, Port.IMAPS]) {
    internet.connections.allowTo(mail, port, "mail");
  }
  for (const port of [Port.DNS_UDP, Port.DNS_TCP]) {
    internet.connections.allowTo(dns, port, "authoritative DNS");
  }
  admin.connections.allowTo(p("edge:sshd"), Port.SSH, "administration");
  const wgPort = Port.udp(t.site.tunnel.port);
  for (const h of siteHosts) h.connections.allowTo(p("edge:wireguard"), wgPort, "the tunnel (the cloud initiates)");
  internet.connections.allowTo(p("edge:wireguard"), wgPort, "the cellular uplink's source address is not fixed (carrier NAT); WireGuard drops every unauthenticated packet");
  for (const h of siteHosts) h.connections.allowTo(proxy, Port.HTTPS, "the failover agent probes the edge through each uplink");
  for (const h of siteHosts) p("edge").connections.allowTo(p(`${h.id}:sshd`), Port.SSH, "the operator's jump path: SSH to the cloud host from the edge's tunnel address");
  cloudHost.connections.allowTo(p("openbao"), Port.VAULT, "deploy applies the secrets stack through an SSH forward to OpenBao from the cloud host");
  for (const port of [Port.DNS_UDP, Port.DNS_TCP]) {
    for (const h of siteHosts) h.connections.allowTo(internet, port, "the cloud host resolves names through its uplink's resolver");
    p("edge").connections.allowTo(internet, port, "name resolution by the edge host (MX lookups, NOTIFY to secondaries)");
  }
  mail.connections.allowTo(internet, Port.SMTP, "outbound mail delivery to the recipients' MX");
  const ingress = p("ingress");
  const hosts = routedHosts(t.site).map((h) => hostLabel(t.site, h));
  for (const port of [Port.HTTP, Port.HTTPS]) {
    proxy.connections.allowTo(ingress, port, `${hosts.length ? hosts.join(", ") : "ACME"} traffic over the tunnel (PROXY protocol)`);
  }
  for (const f of [...containerFlows(t.site), ...egressFlows(t.site)]) p(f.from).connections.allowTo(p(f.to), f.port, f.reason);

  // Must-never pairs: each blocked by at least two independent layers. The operator's first, then the platform's own.
  for (const n of t.site.mustNever) {
    for (const from of expandPeer(t.site, n.from)) {
      for (const to of n.to.flatMap((id) => expandPeer(t.site, id))) p(from).connections.neverTo(p(to), n.reason);
    }
  }
  const cloud = t.site.sites.flatMap((s) => t.servicesOn(s.id));
  for (const svc of cloud) internet.connections.neverTo(svc, "nothing in the cloud is reachable from the internet");
  for (const svc of cloud) {
    if (svc.id !== "ingress") proxy.connections.neverTo(svc, "the edge reaches the cloud only at the ingress ports");
  }
  const toInternet = new Set(egressFlows(t.site).filter((f) => f.to === "internet").map((f) => f.from));
  for (const svc of cloud) {
    if (!toInternet.has(svc.id) && !svc.props.hostNetwork) svc.connections.neverTo(internet, "no container egress except the declared");
  }
}
