import { Port, type Host, type Topology } from "../core/index.js";
import { MAIL_SECRETS } from "./mail.js";

/** Ports the edge serves to the internet. */
export const EDGE_PORTS = {
  web: [Port.HTTP, Port.HTTPS],
  mail: [Port.SMTP, Port.SMTPS, Port.SUBMISSION, Port.IMAPS],
  dns: [Port.DNS_UDP, Port.DNS_TCP],
} as const;

const HOST_NET_REASON =
  "runs on the host's network stack so that the host firewall (INPUT chain) governs it; a published Docker port would bypass INPUT";

/**
 * The edge host's services. They use host networking on purpose (see HOST_NET_REASON); each
 * exception is declared with its reason, and the verifier and the report show it.
 */
export function declareEdge(t: Topology, edge: Host): void {
  const img = t.site.images;
  t.addDaemon(edge, "sshd");
  t.addService({
    id: "edge-proxy",
    description: "HAProxy: SNI passthrough to the cloud ingress over the tunnel (PROXY v2)",
    host: edge,
    image: img["edge-proxy"],
    listens: [...EDGE_PORTS.web],
    hostNetwork: { reason: HOST_NET_REASON },
    user: "99:99",
    capAdd: [{ cap: "NET_BIND_SERVICE", reason: "binds 80 and 443 as the unprivileged haproxy user" }],
    tmpfs: ["/tmp", "/var/run/haproxy"],
    mounts: [
      { kind: "bind", source: "/etc/palisade/haproxy", target: "/usr/local/etc/haproxy", readOnly: true },
      { kind: "bind", source: "/dev/log", target: "/dev/log", readOnly: false },
    ],
    memoryMb: 256,
    healthcheck: { test: ["CMD", "haproxy", "-c", "-f", "/usr/local/etc/haproxy/haproxy.cfg"], intervalS: 30, timeoutS: 5, retries: 3 },
  });
  t.addService({
    id: "edge-dns",
    description: "Knot: authoritative DNS for the site's domain, DNSSEC-signed",
    host: edge,
    image: img["edge-dns"],
    listens: [...EDGE_PORTS.dns],
    hostNetwork: { reason: HOST_NET_REASON },
    user: "101:101",
    capAdd: [{ cap: "NET_BIND_SERVICE", reason: "binds port 53 as the unprivileged knot user" }],
    tmpfs: ["/tmp", "/run/knot"],
    mounts: [
      { kind: "bind", source: "/etc/palisade/knot", target: "/config", readOnly: true },
      { kind: "volume", source: "knot-keys", target: "/storage", readOnly: false },
      // The TSIG key for zone transfers: placed on the host by deploy, never in an artifact.
      { kind: "bind", source: "/etc/palisade/secrets/knot-tsig.conf", target: "/etc/palisade/secrets/knot-tsig.conf", readOnly: true },
    ],
    memoryMb: 256,
    healthcheck: { test: ["CMD", "knotc", "status"], intervalS: 30, timeoutS: 5, retries: 3 },
  });
  t.addService({
    id: "edge-mail",
    description: "Mail (docker-mailserver style): Postfix, Dovecot, spam filter, DKIM signing",
    host: edge,
    image: img["edge-mail"],
    listens: [...EDGE_PORTS.mail],
    hostNetwork: { reason: HOST_NET_REASON },
    user: "root",
    rootReason: "Postfix and Dovecot start as root to bind ports below 1024, then drop to their own users",
    capAdd: [
      { cap: "NET_BIND_SERVICE", reason: "binds 25, 465, 587 and 993" },
      { cap: "SETUID", reason: "Postfix and Dovecot drop privileges to their service users" },
      { cap: "SETGID", reason: "Postfix and Dovecot drop privileges to their service groups" },
      { cap: "CHOWN", reason: "the mail spool and maildirs are owned by the mail users" },
      { cap: "DAC_OVERRIDE", reason: "Postfix's master process reads queue files owned by postfix" },
    ],
    tmpfs: ["/tmp", "/var/run"],
    mounts: [
      { kind: "bind", source: "/etc/palisade/mail", target: "/tmp/docker-mailserver", readOnly: true },
      { kind: "volume", source: "mail-data", target: "/var/mail", readOnly: false },
      { kind: "volume", source: "mail-state", target: "/var/mail-state", readOnly: false },
      // DKIM private key, mail TLS key and Dovecot's users: on the host only, read-only here, one
      // file each: the rest of /etc/palisade/secrets (the tunnel's key, TSIG) is not the mail's.
      // A file mount keeps the inode it was started with: restart edge-mail after rotating one.
      ...Object.values(MAIL_SECRETS).map((path) => ({ kind: "bind" as const, source: path, target: path, readOnly: true })),
      { kind: "bind", source: "/etc/palisade/tls", target: "/etc/palisade/tls", readOnly: true },
      { kind: "bind", source: "/dev/log", target: "/dev/log", readOnly: false },
    ],
    memoryMb: 1024,
    healthcheck: { test: ["CMD", "postfix", "status"], intervalS: 30, timeoutS: 5, retries: 3 },
  });
  t.addService({
    id: "edge-ips",
    description: "fail2ban: bans abusive sources into the firewall's nft sets",
    host: edge,
    image: img["edge-ips"],
    listens: [],
    hostNetwork: { reason: "bans into the host's nftables sets, which live in the host network namespace" },
    user: "root",
    rootReason: "fail2ban runs nft in the host's network namespace",
    capAdd: [
      { cap: "NET_ADMIN", reason: "adds source addresses to the nft ban sets" },
      { cap: "NET_RAW", reason: "nft talks to the kernel over netlink" },
    ],
    tmpfs: ["/tmp", "/var/run/fail2ban"],
    mounts: [
      { kind: "bind", source: "/etc/palisade/fail2ban", target: "/etc/fail2ban", readOnly: true },
      { kind: "bind", source: "/var/log", target: "/var/log", readOnly: true },
      // Ban history survives restarts (recidive needs it).
      { kind: "volume", source: "fail2ban-db", target: "/var/lib/fail2ban", readOnly: false },
    ],
    memoryMb: 256,
    healthcheck: { test: ["CMD", "fail2ban-client", "ping"], intervalS: 30, timeoutS: 5, retries: 3 },
  });
}
