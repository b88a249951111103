/**
 * The few substitutions that make a rendered config run in the lab: paths that only exist on the
 * real hosts (sockets, certificate directories, key files, state files) and the lab's own WireGuard
 * public keys (the site's private keys never exist here). Everything else runs as rendered.
 * Each function is pure and says what it changes.
 */

/**
 * The edge HAProxy config with its admin socket moved to the lab's run dir and syslog (`/dev/log`,
 * absent in the lab) replaced by stdout in syslog format, which the lab writes to the file the
 * haproxy-sni jail watches.
 */
export function labEdgeHaproxyConfig(cfg: string, adminSocket: string): string {
  return cfg
    .replace(/^(\s*stats socket\s+)(\S+)/m, `$1${adminSocket}`)
    .replace(/^(\s*)log \/dev\/log\b(.*)$/m, "$1log stdout format rfc3164$2");
}

/** A stripped wg config (`wg-quick strip`) with the peer's public key replaced by the lab's. */
export function labWireguardConf(stripped: string, peerPublicKey: string | readonly string[]): string {
  // One key per [Peer], in the file's order (the edge of several sites has one peer per site).
  const keys = typeof peerPublicKey === "string" ? [peerPublicKey] : peerPublicKey;
  let i = 0;
  return stripped.replace(/^PublicKey\s*=.*$/gm, (line) => (i < keys.length ? `PublicKey = ${keys[i++]}` : line));
}

/** `MTU = N` from a wg-quick config, or null. */
export function wgQuickMtu(conf: string): number | null {
  const m = /^MTU\s*=\s*(\d+)/m.exec(conf);
  return m ? Number(m[1]) : null;
}

/** `Address = a, b` from a wg-quick config (every Address line: the edge of several sites has one per site). */
export function wgQuickAddresses(conf: string): string[] {
  return [...conf.matchAll(/^Address\s*=\s*(.+)$/gm)].flatMap((m) => m[1]!.split(",").map((s) => s.trim()).filter(Boolean));
}

/** The failover agent's config with the lab's state file and the lab edge's public key. */
export function labFailoverConfig(json: string, stateFile: string, edgePublicKey: string): string {
  const c = JSON.parse(json) as { stateFile: string; wireguard: { peerPublicKey: string } };
  c.stateFile = stateFile;
  c.wireguard.peerPublicKey = edgePublicKey;
  return `${JSON.stringify(c, null, 2)}\n`;
}

/**
 * A knot.conf with every absolute directory/file moved under `root` (the rendered file names the
 * host's paths: storage, rundir, zone files, keys). Relative paths stay relative to `storage`.
 * `listen:` addresses are kept: the edge namespace owns them.
 */
export function labKnotConfig(conf: string, root: string, mapPath: (p: string) => string = (p) => `${root}${p}`): string {
  return conf.replace(/^(\s*(?:storage|rundir|file|kasp-db|timer-db|journal-db|keystore|config|pidfile|listen-socket|path|socket|include)\s*:\s*)"?(\/[^"\s#]*)"?/gm, (_m, key: string, p: string) => `${key}"${mapPath(p)}"`);
}

/**
 * fail2ban configuration text with every `logpath` moved into the lab (`mapLog` gives the lab path
 * for a host path) and, in fail2ban.conf/.local, the socket, pid file, database and log target
 * moved to the lab's run dir with an in-memory database.
 */
export function labFail2banJail(text: string, mapLog: (p: string) => string): string {
  return text.replace(/^(\s*logpath\s*=\s*)(.+)$/gm, (_m, key: string, paths: string) =>
    `${key}${paths.split(/\s+/).filter(Boolean).map(mapLog).join("\n          ")}`,
  );
}

export function labFail2banLocal(runDir: string, logtarget: string): string {
  return [
    "# written by palisade lab: runtime paths inside the lab, reproducible in-memory database",
    "[Definition]",
    "loglevel = INFO",
    `logtarget = ${logtarget}`,
    `socket = ${runDir}/fail2ban.sock`,
    `pidfile = ${runDir}/fail2ban.pid`,
    "dbfile = :memory:",
    "",
  ].join("\n");
}

/** `wg show IF latest-handshakes` read as public key -> seconds since the epoch (0: none yet). */
export function handshakes(text: string): Map<string, number> {
  return new Map(text.trim().split("\n").filter(Boolean).map((line) => {
    const [key, ts] = line.split("\t");
    return [key!, Number(ts ?? 0)] as const;
  }));
}
