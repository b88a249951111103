import { parseRange, specInRanges, type AddrRange, type AddrSpec } from "./addr.js";

/*
 * WireGuard configuration (wg-quick format). What the verifier needs: the interface's addresses
 * and listen port, and each peer's AllowedIPs, which are both the outbound routing table
 * (cryptokey routing: a packet goes to the peer whose AllowedIPs hold its destination) and the
 * inbound source filter (a packet from the peer is dropped unless its source is in them).
 */

export interface WgPeer {
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
  readonly ranges: readonly AddrRange[];
  readonly endpoint?: string;
  readonly line: number;
  /** Line of the (first) AllowedIPs, cited for what the peer routes and accepts. @default the [Peer] line */
  readonly allowedIpsLine?: number;
}

export interface WgConfig {
  readonly path: string;
  /** Interface name from the file name (`wg-edge.conf` → `wg-edge`); the host's tunnel device. */
  readonly name: string;
  readonly addresses: readonly string[];
  readonly listenPort?: number;
  /** Lines that hold a private key: a finding of the secrets guardrail, recorded here too. */
  readonly privateKeyLines: readonly number[];
  readonly peers: readonly WgPeer[];
}

export function parseWireguard(path: string, text: string): WgConfig {
  const addresses: string[] = [];
  let listenPort: number | undefined;
  const privateKeyLines: number[] = [];
  const peers: { publicKey: string; allowedIps: string[]; endpoint?: string; line: number; allowedIpsLine?: number }[] = [];
  let section = "";
  text.split("\n").forEach((raw, idx) => {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (!line) return;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!.toLowerCase();
      if (section === "peer") peers.push({ publicKey: "", allowedIps: [], line: idx + 1 });
      return;
    }
    const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) return;
    const key = kv[1]!.toLowerCase();
    const value = kv[2]!.trim();
    const list = value.split(",").map((s) => s.trim()).filter(Boolean);
    if (section === "interface") {
      if (key === "address") addresses.push(...list);
      if (key === "listenport") listenPort = Number(value);
      if (key === "privatekey") privateKeyLines.push(idx + 1);
    } else if (section === "peer") {
      const peer = peers[peers.length - 1]!;
      if (key === "publickey") peer.publicKey = value;
      if (key === "allowedips") {
        peer.allowedIps.push(...list);
        peer.allowedIpsLine ??= idx + 1;
      }
      if (key === "endpoint") peer.endpoint = value;
    }
  });
  const name = /([^/]+)\.conf$/.exec(path)?.[1] ?? "wg0";
  return {
    path,
    name,
    addresses,
    listenPort,
    privateKeyLines,
    peers: peers.map((p) => ({ ...p, ranges: p.allowedIps.map(parseRange).filter((r): r is AddrRange => !!r) })),
  };
}

/** The peer a packet to `daddr` is routed to (cryptokey routing), or undefined. */
export function peerFor(cfg: WgConfig, daddr: AddrSpec): WgPeer | undefined {
  return cfg.peers.find((p) => specInRanges(daddr, p.ranges));
}

/** The tunnel addresses of the interface, without prefix. */
export function tunnelIps(cfg: WgConfig): string[] {
  return cfg.addresses.map((a) => a.split("/")[0]!);
}
