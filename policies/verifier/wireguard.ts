import { siteTunnelAddresses, wireguardKeys, type Site } from "../../core/index.js";
import { ipSpec, parseRange, specInRanges, type AddrRange, type AddrSpec } from "./addr.js";
import type { Finding } from "./report-model.js";

/*
 * WireGuard configuration as wg-quick and `wg setconf` read it. What the verifier needs: the
 * interface's addresses and listen port, and each peer's AllowedIPs, which are both the outbound
 * routing table (cryptokey routing: a packet goes to the peer holding the most specific prefix
 * for its destination; a prefix two peers claim belongs to the last one, as `wg` moves it) and
 * the inbound source filter (a packet from a peer is dropped unless its source routes back to
 * that same peer).
 *
 * Read as wg reads it: keys and section names are case-insensitive, `#` starts a comment, a key
 * may repeat (AllowedIPs and Address add up, the others: the last wins). A key wg does not know,
 * a line that is not `Key = value`, a peer without a public key, two peers with one key, and any
 * PreUp/PostUp/PreDown/PostDown command other than loading the private key from a file are
 * problems: wg-quick runs those commands as root in bash, and one that touches the firewall or
 * the routes would change what the verifier computes.
 */

export interface WgPeer {
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
  readonly ranges: readonly AddrRange[];
  readonly endpoint?: string;
  readonly line: number;
  /** Line of the (last) PublicKey, which wg uses. @default the [Peer] line */
  readonly publicKeyLine?: number;
  /** Line of the (first) AllowedIPs, cited for what the peer routes and accepts. @default the [Peer] line */
  readonly allowedIpsLine?: number;
}

export interface WgProblem {
  readonly line: number;
  readonly message: string;
}

export interface WgConfig {
  readonly path: string;
  /** Interface name from the file name (`wg-edge.conf` → `wg-edge`); the host's tunnel device. */
  readonly name: string;
  readonly addresses: readonly string[];
  readonly listenPort?: number;
  /** Lines that hold a private or preshared key: a finding of the secrets guardrail, recorded here too. */
  readonly privateKeyLines: readonly number[];
  readonly peers: readonly WgPeer[];
  readonly problems: readonly WgProblem[];
}

const INTERFACE_KEYS = new Set(["address", "dns", "mtu", "table", "preup", "postup", "predown", "postdown", "saveconfig", "privatekey", "listenport", "fwmark"]);
const PEER_KEYS = new Set(["publickey", "presharedkey", "allowedips", "endpoint", "persistentkeepalive"]);
const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/;
/** The one hook command the renderer writes: load the private key from a root-only file. */
const KEY_FROM_FILE = /^wg set %i private-key \/etc\/palisade\/secrets\/[A-Za-z0-9._-]+\.key$/;

export function parseWireguard(path: string, text: string): WgConfig {
  const addresses: string[] = [];
  let listenPort: number | undefined;
  const privateKeyLines: number[] = [];
  const problems: WgProblem[] = [];
  const peers: { publicKey: string; allowedIps: string[]; endpoint?: string; line: number; allowedIpsLine?: number; publicKeyLine?: number }[] = [];
  let section = "";
  let interfaces = 0;
  text.split("\n").forEach((raw, idx) => {
    const n = idx + 1;
    const problem = (message: string) => problems.push({ line: n, message });
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) return;
    const sec = /^\[\s*(\w+)\s*\]$/.exec(line);
    if (sec) {
      section = sec[1]!.toLowerCase();
      if (section === "peer") peers.push({ publicKey: "", allowedIps: [], line: n });
      else if (section === "interface") interfaces++;
      else problem(`section [${sec[1]}] is not a WireGuard section`);
      return;
    }
    const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) return problem(`not a Key = value line: ${line.slice(0, 40)}`);
    const key = kv[1]!.toLowerCase();
    const value = kv[2]!.trim();
    const list = value.split(",").map((s) => s.trim()).filter(Boolean);
    if (section === "interface") {
      if (!INTERFACE_KEYS.has(key)) return problem(`${kv[1]} is not a key of [Interface] (wg refuses the file)`);
      if (key === "address") {
        for (const a of list) if (!parseRange(a)) problem(`Address ${a} is not an address`);
        addresses.push(...list);
      }
      if (key === "listenport") {
        if (!/^\d+$/.test(value) || Number(value) > 65535) problem(`ListenPort ${value} is not a port`);
        listenPort = Number(value);
      }
      if (key === "privatekey") privateKeyLines.push(n);
      if (key === "table" && value.toLowerCase() !== "auto") problem(`Table = ${value}: routes other than wg-quick's own for the AllowedIPs are not modelled`);
      if (key === "fwmark" && value !== "0" && value.toLowerCase() !== "off") problem(`FwMark = ${value}: policy routing by mark is not modelled`);
      if (key === "saveconfig" && value.toLowerCase() === "true") problem("SaveConfig = true: wg-quick writes the running state back over this file, which is then no longer the one verified");
      if (["preup", "postup", "predown", "postdown"].includes(key) && !KEY_FROM_FILE.test(value)) {
        problem(`${kv[1]} runs a command as root that this verifier does not model (only \`wg set %i private-key /etc/palisade/secrets/<name>.key\` is read): it could change the firewall, the routes or the peers`);
      }
    } else if (section === "peer") {
      if (!PEER_KEYS.has(key)) return problem(`${kv[1]} is not a key of [Peer] (wg refuses the file)`);
      const peer = peers[peers.length - 1]!;
      if (key === "publickey") {
        if (!KEY.test(value)) problem("PublicKey is not a WireGuard key (44 characters of base64)");
        peer.publicKey = value;
        peer.publicKeyLine = n;
      }
      if (key === "presharedkey") privateKeyLines.push(n);
      if (key === "allowedips") {
        for (const a of list) if (!parseRange(a) || a.includes("-")) problem(`AllowedIPs ${a} is not a CIDR`);
        peer.allowedIps.push(...list);
        peer.allowedIpsLine ??= n;
      }
      if (key === "endpoint") peer.endpoint = value;
    } else problem(`${kv[1]} before any [Interface] or [Peer] section`);
  });
  if (interfaces !== 1) problems.push({ line: 1, message: `${interfaces} [Interface] sections (wg-quick takes exactly one)` });
  const seen = new Map<string, number>();
  for (const p of peers) {
    if (!p.publicKey) problems.push({ line: p.line, message: "a [Peer] without a PublicKey (wg refuses the file)" });
    else if (seen.has(p.publicKey)) problems.push({ line: p.line, message: `this [Peer] repeats the PublicKey of the peer at line ${seen.get(p.publicKey)}: wg merges them and the later AllowedIPs replace the earlier` });
    else seen.set(p.publicKey, p.line);
  }
  const name = /([^/]+)\.conf$/.exec(path)?.[1] ?? "wg0";
  return {
    path,
    name,
    addresses,
    listenPort,
    privateKeyLines,
    problems,
    peers: peers.map((p) => ({ ...p, ranges: p.allowedIps.map(parseRange).filter((r): r is AddrRange => !!r) })),
  };
}

/**
 * Cryptokey routing: for each prefix the peer that holds it (a prefix claimed again moves to the
 * later peer), and each prefix's claims in order (for the findings).
 */
export function prefixOwners(cfg: WgConfig): { range: AddrRange; owner: WgPeer; claims: WgPeer[] }[] {
  const byPrefix = new Map<string, { range: AddrRange; owner: WgPeer; claims: WgPeer[] }>();
  for (const peer of cfg.peers) {
    for (const r of peer.ranges) {
      const key = `${r.v}|${r.lo}|${r.hi}`;
      const cur = byPrefix.get(key);
      if (cur) {
        cur.owner = peer;
        if (!cur.claims.includes(peer)) cur.claims.push(peer);
      } else byPrefix.set(key, { range: r, owner: peer, claims: [peer] });
    }
  }
  return [...byPrefix.values()];
}

/** The peer a packet to `daddr` is routed to (the most specific prefix holding it), or undefined. */
export function peerFor(cfg: WgConfig, daddr: AddrSpec): WgPeer | undefined {
  let best: { size: bigint; owner: WgPeer } | undefined;
  for (const p of prefixOwners(cfg)) {
    if (!specInRanges(daddr, [p.range])) continue;
    const size = p.range.hi - p.range.lo;
    if (!best || size < best.size) best = { size, owner: p.owner };
  }
  return best?.owner;
}

/** The tunnel addresses of the interface, without prefix. */
export function tunnelIps(cfg: WgConfig): string[] {
  return cfg.addresses.map((a) => a.split("/")[0]!);
}

/**
 * Each tunnel's peers carry the keys the site declares (tunnel-identity): on the edge, the peer
 * that holds a site's tunnel address must have that site's key; on a site, every peer is the edge
 * and must have the edge's key. A peer with another key is another party: wg hands it that end's
 * tunnel addresses (the edge learns a responder peer's endpoint from its handshakes, from anywhere).
 * Placeholder keys (no key declared yet) are the expected ones too: plan warns about them.
 */
export function checkTunnelKeys(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  const keys = wireguardKeys(site);
  // Every WireGuard file of a host (hosts/<host>/wireguard/*.conf), as wg reads it.
  const configsOf = (host: string): WgConfig[] =>
    [...files.keys()]
      .filter((p) => p.startsWith(`hosts/${host}/wireguard/`) && p.endsWith(".conf"))
      .sort()
      .map((p) => parseWireguard(p, files.get(p)!));
  const out: Finding[] = [];
  const finding = (path: string, subject: string, message: string, line: number) => out.push({ id: `tunnel-identity:${subject}`, kind: "tunnel-identity", severity: "violation", subject, message, layer: "wireguard", artifact: path, line });
  for (const edge of configsOf("edge")) {
    for (const s of site.sites) {
      const want = keys.sites.find((k) => k.id === s.id)!;
      const a = siteTunnelAddresses(s);
      // The peer wg routes each of the site's tunnel addresses to (most specific prefix, the last claim): the one it accepts them from.
      for (const p of new Set([a.cloud4, a.cloud6].map((addr) => peerFor(edge, ipSpec(addr))))) {
        if (p && p.publicKey !== want.key) finding(edge.path, `${edge.path} peer ${s.id}`, `the edge's peer for ${s.id} (AllowedIPs ${p.allowedIps.join(", ")}) has PublicKey ${p.publicKey}, not ${s.id}'s ${want.declared ? "declared key" : "placeholder (no key declared yet)"} ${want.key}: the holder of that key's private half becomes ${s.id} on the tunnel`, p.publicKeyLine ?? p.line);
      }
    }
  }
  for (const s of site.sites) {
    for (const wg of configsOf(s.id)) {
      for (const p of wg.peers) {
        if (p.publicKey !== keys.edge) finding(wg.path, `${wg.path} peer ${p.line}`, `${s.id}'s tunnel peer at line ${p.line} (AllowedIPs ${p.allowedIps.join(", ")}) has PublicKey ${p.publicKey}, not the edge's ${site.publicKeys.wireguardEdge ? "declared key" : "placeholder (no key declared yet)"} ${keys.edge}: ${s.id} would send the edge's traffic to the holder of that key`, p.publicKeyLine ?? p.line);
      }
    }
  }
  return out;
}
