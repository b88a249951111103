import { Port, type Topology } from "../core/index.js";

/**
 * The reference platform's segmentation intent, written once with the Connections API. Everything not
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
  const cloudHost = p("cloud");
  const [ingress, acme, frontend, api, postgres, openbao, gitea, giteaDb, blog] = [
    "ingress", "acme", "frontend", "api", "postgres", "openbao", "gitea", "gitea-db", "blog",
  ].map(p) as [ReturnType<typeof p>, ...ReturnType<typeof p>[]];

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
  cloudHost.connections.allowTo(p("edge:wireguard"), wgPort, "the tunnel (the cloud initiates)");
  internet.connections.allowTo(p("edge:wireguard"), wgPort, "the cellular uplink's source address is not fixed (carrier NAT); WireGuard drops every unauthenticated packet");
  cloudHost.connections.allowTo(proxy, Port.HTTPS, "the failover agent probes the edge through each uplink");
  p("edge").connections.allowTo(p("cloud:sshd"), Port.SSH, "the operator's jump path: SSH to the cloud host from the edge's tunnel address");
  cloudHost.connections.allowTo(openbao!, Port.VAULT, "deploy applies the secrets stack through an SSH forward to OpenBao from the cloud host");
  for (const port of [Port.DNS_UDP, Port.DNS_TCP]) {
    cloudHost.connections.allowTo(internet, port, "the cloud host resolves names through its uplink's resolver");
    p("edge").connections.allowTo(internet, port, "name resolution by the edge host (MX lookups, NOTIFY to secondaries)");
  }
  mail.connections.allowTo(internet, Port.SMTP, "outbound mail delivery to the recipients' MX");
  for (const port of [Port.HTTP, Port.HTTPS]) {
    proxy.connections.allowTo(ingress!, port, "app, git, blog traffic over the tunnel (PROXY protocol)");
  }
  ingress!.connections
    .allowTo(frontend!, Port.tcp(3000), "routed by host name: app")
    .allowTo(api!, Port.tcp(8080), "routed by host name and path: app /api")
    .allowTo(gitea!, Port.tcp(3000), "routed by host name: git")
    .allowTo(blog!, Port.tcp(2368), "routed by host name: blog")
    .allowTo(acme!, Port.HTTP, "HTTP-01 challenges answered by the ACME client");
  frontend!.connections.allowTo(api!, Port.tcp(8080), "server-side rendering calls");
  const databases = t.servicesOn("cloud").filter((s) => s.props.image === t.site.images.postgres && s.id !== "gitea-db");
  for (const db of databases.filter((d) => d !== postgres)) {
    api!.connections.allowTo(db, Port.POSTGRES, "data of the dedicated tenants placed on this server");
    openbao!.connections.allowTo(db, Port.POSTGRES, "creates and revokes the dedicated tenants' DB credentials");
  }
  api!.connections
    .allowTo(postgres!, Port.POSTGRES, "data")
    .allowTo(openbao!, Port.VAULT, "secrets, dynamic DB credentials")
    .allowTo(mail, Port.SUBMISSION, "transactional mail (via tunnel)");
  openbao!.connections.allowTo(postgres!, Port.POSTGRES, "creates and revokes per-tenant DB credentials");
  gitea!.connections.allowTo(giteaDb!, Port.POSTGRES, "git metadata");
  acme!.connections.allowTo(internet, Port.HTTPS, "ACME certificate issuance (the CA)");

  // Must-never pairs: each blocked by at least two independent layers.
  for (const db of databases) frontend!.connections.neverTo(db, "the frontend has no business with the data");
  frontend!.connections.neverTo(openbao!, "the frontend holds no secrets");
  for (const target of [api!, ...databases, openbao!]) blog!.connections.neverTo(target, "the blog is a separate, less trusted application");
  for (const target of [...databases, openbao!]) gitea!.connections.neverTo(target, "gitea has its own database and no secrets of the app");
  for (const target of [...databases, openbao!]) ingress!.connections.neverTo(target, "the ingress only routes to front services");
  for (const svc of t.servicesOn("cloud")) internet.connections.neverTo(svc, "nothing in the cloud is reachable from the internet");
  for (const svc of t.servicesOn("cloud")) {
    if (svc.id !== "ingress") proxy.connections.neverTo(svc, "the edge reaches the cloud only at the ingress ports");
  }
  for (const svc of t.servicesOn("cloud")) {
    if (svc.id !== "acme" && !svc.props.hostNetwork) svc.connections.neverTo(internet, "no container egress except the ACME client's");
  }
}
