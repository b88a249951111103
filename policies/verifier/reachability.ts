import { familyOf, ipSpec, isFull, parseRange, rangesSpec, specText, subtractRanges, type AddrRange, type AddrSpec } from "./addr.js";
import type { DockerContainerModel, DockerNetworkModel } from "./docker-model.js";
import { evaluateHooks, packetClassId, portSpan, sourceNat, type Hook, type Iface, type Packet, type Ruleset } from "./nftables.js";
import { peerFor } from "./wireguard.js";
import { forwarding } from "./sysctl.js";
import { bridgeIface as bridgeIfaceOf, externalIfaces as externalIfacesOf, tunnelIface as tunnelIfaceOf, type HostInfo, type Node, type SiteModel } from "./site-model.js";
import { pathVerdict, blockingCount, type LayerStep, type Path, type PortSpec, type FlowVerdict, type LayerName } from "./layers.js";

/*
 * The reachability engine: for a source, a destination and a port, every path a first packet
 * can take, and each independent layer's verdict on it (Docker networking, each host's nftables,
 * WireGuard's cryptokey routing, the proxies' routes). Reads only the SiteModel, i.e. artifacts.
 *
 * Docker semantics: containers talk directly only over a network they share; an `internal`
 * network has no egress; a published port is reached on its bound address and goes through the
 * host's FORWARD hook after DNAT (not INPUT); routed access to an unpublished container address
 * from outside its host is refused; `network_mode: host` services are the host (INPUT hook).
 * A host reaches its own containers over the bridges (it holds each network's gateway address),
 * through its OUTPUT hook. Not modelled: a host reaching its own services (the host is the trust
 * root), and host-level egress to the internet.
 */

/** A container's way out through one of its networks (egress). */
interface Egress {
  readonly net?: DockerNetworkModel;
  readonly ip?: string;
  readonly step: Step;
  readonly first?: { readonly net?: DockerNetworkModel; readonly ip: string };
}

export interface FlowEval {
  readonly source: string;
  readonly destination: string;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  /**
   * The last port this evaluation stands for (evaluateSpan): every port from `port` to `to` gets the
   * same verdict on the same paths. @default - the port alone
   */
  readonly to?: number;
  readonly verdict: FlowVerdict;
  readonly paths: readonly Path[];
  /** The path that explains the verdict: the allowing one, else the weakest (fewest blocking layers). */
  readonly explain?: Path;
}

type Step = LayerStep;

const HOOKS_AT: Record<Hook, readonly Hook[]> = { prerouting: ["prerouting"], input: ["prerouting", "input"], forward: ["prerouting", "forward", "postrouting"], output: ["output", "postrouting"], postrouting: ["postrouting"] };

/** The hooks a packet judged at `hook` passes on the host, in the kernel's order (see nftHooks). */
function hooksAt(hook: Hook): readonly Hook[] {
  return HOOKS_AT[hook];
}

/** An address spec as a cache key: an address by its text, any address of a family by a constant, a set of ranges by its identity (texts of ranges may repeat). */
function specKey(s: AddrSpec): unknown {
  if (s.kind === "ip") return s.text;
  if (s.kind === "any") return s.v === 4 ? ANY4 : ANY6;
  return s;
}
const ANY4 = Symbol("any4");
const ANY6 = Symbol("any6");

/*
 * A host's and a network's interfaces, one object each (the walk asks for them on every path; the
 * models never change after they are built): fewer objects, and egressSource's memo keys on them.
 */
const tunnelIfaces = new WeakMap<HostInfo, Iface>();
const externalIfaceLists = new WeakMap<HostInfo, readonly Iface[]>();
const bridgeIfaces = new WeakMap<DockerNetworkModel, Iface>();
const NO_BRIDGE: Iface = bridgeIfaceOf(undefined);

function tunnelIface(h: HostInfo): Iface {
  let i = tunnelIfaces.get(h);
  if (!i) tunnelIfaces.set(h, (i = tunnelIfaceOf(h)));
  return i;
}

function externalIfaces(h: HostInfo): readonly Iface[] {
  let i = externalIfaceLists.get(h);
  if (!i) externalIfaceLists.set(h, (i = externalIfacesOf(h)));
  return i;
}

function bridgeIface(n: DockerNetworkModel | undefined): Iface {
  if (!n) return NO_BRIDGE;
  let i = bridgeIfaces.get(n);
  if (!i) bridgeIfaces.set(n, (i = bridgeIfaceOf(n)));
  return i;
}

/** The hook sourceNat reads (one array: the nftables caches are per hooks array). */
const SNAT_HOOKS: readonly Hook[] = ["postrouting"];

/** Steps by host and hook (`${id}|${nftPath}|${hook}`), then packet class, per parsed ruleset: a ruleset never changes after parsing. */
const classSteps = new WeakMap<Ruleset, Map<string, Map<number, Step>>>();

export class Reachability {
  private readonly nftCache = new Map<string, Step>();
  private readonly spaceCache = new Map<string, AddrSpec | null>();
  /** This model's hosts' entries of classSteps, by host and hook (looked up by their key once). */
  private readonly stepsByHost = new Map<HostInfo, Partial<Record<Hook, Map<number, Step>>>>();

  /**
   * While evaluateSpan measures: the ports around the evaluated one that every step read so far
   * answers alike. Each step that reads the port narrows it (nft, the source NAT, the listening,
   * published and proxied ports); steps that do not read it leave it.
   */
  private span: { lo: number; hi: number } | undefined;

  constructor(readonly m: SiteModel) {}

  private narrow(lo: number, hi: number): void {
    if (!this.span) return;
    if (lo > this.span.lo) this.span.lo = lo;
    if (hi < this.span.hi) this.span.hi = hi;
  }

  /** Narrows the span to the ports that lie in the same of these ranges as `port` (and outside the same others). */
  private narrowByRanges(port: number, ranges: Iterable<readonly [number, number]>): void {
    if (!this.span) return;
    let lo = 0;
    let hi = 65535;
    for (const [a, b] of ranges) {
      if (port >= a && port <= b) {
        lo = Math.max(lo, a);
        hi = Math.min(hi, b);
      } else if (b < port) lo = Math.max(lo, b + 1);
      else hi = Math.min(hi, a - 1);
    }
    this.narrow(lo, hi);
  }

  // ---------- layer steps ----------

  private nft(h: HostInfo, hook: Hook, p: Packet): Step {
    const layer = `nftables:${h.id}` as LayerName;
    if (!h.nft) return { layer, verdict: "pending", artifact: h.nftPath, construct: `not rendered yet (${hook} hook)` };
    if (this.span) {
      const s = portSpan(h.nft, hooksAt(hook), p);
      this.narrow(s.lo, s.hi);
    }
    // Packets of one class get the same step (packetClass): evaluated once per class, for every
    // site model read from the same artifacts (the engines' models share the parsed rulesets).
    const cls = packetClassId(h.nft, hooksAt(hook), p);
    if (cls === undefined) {
      // A translation on the path: the exact packet decides.
      const key = `${h.id}|${hook}|${p.family}|${specText(p.saddr)}|${specText(p.daddr)}|${p.proto}|${p.dport}|${p.iif?.name ?? p.iif?.role ?? ""}|${p.oif?.name ?? p.oif?.role ?? ""}|${p.dnat ? 1 : 0}`;
      const hit = this.nftCache.get(key);
      if (hit) return hit;
      const step = this.nftHooks(h, hook, p);
      this.nftCache.set(key, step);
      return step;
    }
    const shared = this.classStepsOf(h, hook);
    const hit = shared.get(cls);
    if (hit) return hit;
    const step = this.nftHooks(h, hook, p);
    shared.set(cls, step);
    return step;
  }

  private classStepsOf(h: HostInfo, hook: Hook): Map<number, Step> {
    let byHook = this.stepsByHost.get(h);
    if (!byHook) this.stepsByHost.set(h, (byHook = {}));
    let steps = byHook[hook];
    if (!steps) {
      let shared = classSteps.get(h.nft!);
      if (!shared) classSteps.set(h.nft!, (shared = new Map()));
      const key = `${h.id}|${h.nftPath}|${hook}`;
      steps = shared.get(key);
      if (!steps) shared.set(key, (steps = new Map()));
      byHook[hook] = steps;
    }
    return steps;
  }

  /**
   * The hooks a packet passes on this host, in the kernel's order: a packet from outside passes
   * prerouting before input or forward; a routed or sent one passes postrouting after. A drop at
   * any of them drops. A translation at prerouting that sends it elsewhere leaves this path
   * (the NAT check reports where it goes).
   */
  private nftHooks(h: HostInfo, hook: Hook, p: Packet): Step {
    const layer = `nftables:${h.id}` as LayerName;
    const r = evaluateHooks(h.nft!, hooksAt(hook), p);
    const w = r.witness ? ` [${r.witness}]` : "";
    if (r.diverted) {
      const d = r.diverted.result;
      return { layer, verdict: "deny", artifact: h.nftPath, construct: `${r.diverted.hook}: ${d.nat!.construct} sends it to ${specText(d.packet.daddr)}:${d.packet.dport} instead${w}`, line: d.nat!.line };
    }
    const decided = r.verdict === "drop" ? r.steps[r.steps.length - 1]! : (r.steps.find((x) => x.hook === hook) ?? r.steps[r.steps.length - 1]!);
    const line = decided.result.line || (decided.result.construct.startsWith("no ") ? h.nft!.lastRemoval : undefined);
    return { layer, verdict: r.verdict === "accept" ? "allow" : "deny", artifact: h.nftPath, construct: `${decided.hook}: ${decided.result.construct}${w}`, line: line || undefined };
  }

  /** WireGuard steps by host, direction and address (specKey): the same few addresses are asked for on every path through a tunnel. */
  private readonly wgCache = new Map<HostInfo, { readonly o: Map<unknown, Step>; readonly i: Map<unknown, Step> }>();

  private wgSteps(h: HostInfo): { readonly o: Map<unknown, Step>; readonly i: Map<unknown, Step> } {
    let c = this.wgCache.get(h);
    if (!c) this.wgCache.set(h, (c = { o: new Map(), i: new Map() }));
    return c;
  }

  private wgOut(h: HostInfo, daddr: AddrSpec): Step {
    const byAddr = this.wgSteps(h).o;
    const key = specKey(daddr);
    let step = byAddr.get(key);
    if (!step) byAddr.set(key, (step = this.wgOutUncached(h, daddr)));
    return step;
  }

  private wgIn(h: HostInfo, saddr: AddrSpec): Step {
    const byAddr = this.wgSteps(h).i;
    const key = specKey(saddr);
    let step = byAddr.get(key);
    if (!step) byAddr.set(key, (step = this.wgInUncached(h, saddr)));
    return step;
  }

  private wgOutUncached(h: HostInfo, daddr: AddrSpec): Step {
    if (!h.wg) return { layer: "wireguard", verdict: "pending", artifact: h.wgPath, construct: "not rendered yet (outbound AllowedIPs)" };
    const peer = peerFor(h.wg, daddr);
    return peer
      ? { layer: "wireguard", verdict: "allow", artifact: h.wgPath, construct: `${h.id}: [Peer] AllowedIPs = ${peer.allowedIps.join(", ")} routes ${specText(daddr)} into the tunnel`, line: peer.allowedIpsLine ?? peer.line }
      : { layer: "wireguard", verdict: "deny", artifact: h.wgPath, construct: `${h.id}: no peer's AllowedIPs hold ${specText(daddr)}: not routed into the tunnel` };
  }

  private wgInUncached(h: HostInfo, saddr: AddrSpec): Step {
    if (!h.wg) return { layer: "wireguard", verdict: "pending", artifact: h.wgPath, construct: "not rendered yet (inbound source filter)" };
    const peer = peerFor(h.wg, saddr);
    return peer
      ? { layer: "wireguard", verdict: "allow", artifact: h.wgPath, construct: `${h.id}: [Peer] AllowedIPs = ${peer.allowedIps.join(", ")} accepts source ${specText(saddr)}`, line: peer.allowedIpsLine ?? peer.line }
      : { layer: "wireguard", verdict: "deny", artifact: h.wgPath, construct: `${h.id}: source ${specText(saddr)} is in no peer's AllowedIPs: dropped on receipt` };
  }

  /**
   * The hops between two tunnel ends that are not each other's peer (two sites): the host whose
   * tunnel holds both (the edge) takes the packet from the source's peer, forwards it in its
   * firewall and sends it to the destination's peer. None when the source's tunnel reaches the
   * destination host directly.
   */
  private relaySteps(sh: HostInfo, dh: HostInfo, saddr: AddrSpec, daddr: AddrSpec, port: PortSpec): Step[] {
    const relay = this.relayOf(sh, dh, daddr);
    if (relay === undefined) return [];
    if ("layer" in relay) return [relay];
    return [this.wgIn(relay, saddr), this.forwarding(relay, daddr.v), this.nft(relay, "forward", this.pkt(daddr.v, saddr, daddr, port, tunnelIface(relay), tunnelIface(relay))), this.wgOut(relay, daddr)];
  }

  /** relaySteps' host between the two (undefined: none; a step: the denial that none carries it), by source host, destination host and address. */
  private readonly relays = new Map<HostInfo, Map<HostInfo, Map<unknown, HostInfo | Step | undefined>>>();

  private relayOf(sh: HostInfo, dh: HostInfo, daddr: AddrSpec): HostInfo | Step | undefined {
    let byDst = this.relays.get(sh);
    if (!byDst) this.relays.set(sh, (byDst = new Map()));
    let byAddr = byDst.get(dh);
    if (!byAddr) byDst.set(dh, (byAddr = new Map()));
    const key = specKey(daddr);
    if (byAddr.has(key)) return byAddr.get(key);
    const relay = this.relayUncached(sh, dh, daddr);
    byAddr.set(key, relay);
    return relay;
  }

  private relayUncached(sh: HostInfo, dh: HostInfo, daddr: AddrSpec): HostInfo | Step | undefined {
    if (!sh.wg || !dh.wg) return undefined;
    const peer = peerFor(sh.wg, daddr);
    if (!peer) return undefined;
    // The peer is the host its Endpoint names (an initiator's peer); a responder's peers have none and are reached directly.
    const endpoint = peer.endpoint?.replace(/^\[?([^\]]*?)\]?:\d+$/, "$1");
    if (!endpoint) return undefined;
    const relay = [...this.m.hosts.values()].find((h) => h.external.includes(endpoint));
    if (relay === dh) return undefined;
    if (!relay || relay === sh || !relay.wg) return { layer: "wireguard", verdict: "deny", artifact: sh.wgPath, construct: `${sh.id}: the peer routing ${specText(daddr)} has Endpoint ${peer.endpoint}, no host of the artifacts: nothing carries it to ${dh.id}`, line: peer.line };
    return relay;
  }

  /** The relay's kernel forwards the family between its tunnel's peers only when its sysctl drop-ins turn it on. */
  private forwarding(h: HostInfo, family: 4 | 6): Step {
    const f = forwarding(h.sysctl, h.id, family, h.wg?.name ?? "the tunnel interface");
    return { layer: `sysctl:${h.id}`, verdict: f.on ? "allow" : "deny", artifact: f.artifact, construct: f.construct, ...(f.line ? { line: f.line } : {}) };
  }

  private docker(h: HostInfo, verdict: "allow" | "deny", construct: string): Step {
    return { layer: "docker-network", verdict, artifact: h.docker?.artifact ?? `(no docker stack for ${h.id})`, construct };
  }

  private proxyStep(src: Node, dst: Node, port: PortSpec): Step | undefined {
    const proxy = this.m.proxies.find((p) => p.node === src.id);
    if (!proxy) return undefined;
    if (!proxy.config) return { layer: proxy.layer, verdict: "pending", artifact: proxy.path, construct: "not rendered yet (routes)" };
    if (this.span) this.narrowByRanges(port.port, proxy.config.backends.flatMap((be) => be.servers.map((s) => [s.port, s.port] as const)));
    for (const be of proxy.config.backends) {
      for (const s of be.servers) {
        if (s.port !== port.port || port.protocol !== "tcp") continue;
        if (this.resolveServer(src, s.host, s.port) === dst.id) {
          const routes = proxy.config.frontends.flatMap((f) => f.routes.filter((r) => r.backend === be.name).map((r) => `${f.name} ${r.condition}`));
          return { layer: proxy.layer, verdict: "allow", artifact: proxy.path, construct: `backend ${be.name} server ${s.name} ${s.host}:${s.port}${routes.length ? ` ← ${routes.join("; ")}` : " (no frontend routes to it)"}`, line: s.line };
        }
      }
    }
    return { layer: proxy.layer, verdict: "deny", artifact: proxy.path, construct: `no backend server routes to ${dst.id} ${port.protocol}/${port.port}` };
  }

  /** A proxy's server address → node id: container alias or name on a shared network, container IP, published address. */
  resolveServer(proxyNode: Node, host: string, port: number): string | undefined {
    const ip = familyOf(host) === 4 && /^\d/.test(host) ? host : undefined;
    if (ip) {
      const owner = this.m.ipOwner.get(ip);
      if (owner) return owner;
      for (const n of this.m.nodes.values()) {
        if (n.container?.ports.some((p) => p.external === port && (p.ip === ip || p.ip === "" || p.ip === "0.0.0.0") && this.hostOwns(n.host!, ip))) return n.id;
      }
      for (const h of this.m.hosts.values()) if (h.tunnel.includes(ip) || h.external.includes(ip)) return h.id;
      return undefined;
    }
    const mine = proxyNode.container?.networks.map((a) => a.network) ?? [];
    for (const n of this.m.nodes.values()) {
      const c = n.container;
      if (!c || n.host !== proxyNode.host) continue;
      if (c.name === host || c.networks.some((a) => mine.includes(a.network) && a.aliases.includes(host))) return n.id;
    }
    return this.m.nodes.has(host) ? host : undefined;
  }

  private hostOwns(hostId: string, ip: string): boolean {
    const h = this.m.hosts.get(hostId);
    return !!h && (h.tunnel.includes(ip) || h.external.includes(ip));
  }

  // ---------- helpers ----------

  private hostOf(n: Node): HostInfo | undefined {
    return n.host ? this.m.hosts.get(n.host) : undefined;
  }

  private net(name: string): DockerNetworkModel | undefined {
    return this.m.networks.get(name);
  }

  /**
   * The source address of a container's packet once it leaves its host through `oif`: an
   * nftables snat/masquerade rule if one matches, else Docker's masquerade (the host's address on
   * that interface), else, with masquerading disabled on the network, the container's own private
   * address: not routable on the internet (a docker-network denial), judged by the peer's
   * AllowedIPs in the tunnel.
   */
  private egressSource(h: HostInfo, net: DockerNetworkModel, ip: string, daddr: AddrSpec, port: PortSpec, oif: Iface): { saddr: AddrSpec; deny?: Step } {
    // What does not read the destination or port is the same on every path out of this network and interface: kept.
    const memo = this.egressMemo(h, net, ip, oif);
    const hostAddr = (): AddrSpec => {
      if (memo.host) return memo.host;
      if (oif.role === "tunnel") {
        const t = h.tunnel.find((a) => familyOf(a) === 4);
        return (memo.host = t ? ipSpec(t) : ipSpec(ip));
      }
      const up = h.uplinks.find((u) => u.iface === oif.name)?.address;
      return (memo.host = up ? ipSpec(up) : (rangesSpec(h.external, 4) ?? ipSpec(ip)));
    };
    if (h.nft) {
      const pkt = this.pkt(4, ipSpec(ip), daddr, port, bridgeIface(net), oif);
      if (this.span) {
        // Every postrouting rule's ports count: the nat chain is on that hook (portSpan prunes none there).
        const s = portSpan(h.nft, SNAT_HOOKS, pkt);
        this.narrow(s.lo, s.hi);
      }
      const nat = sourceNat(h.nft, pkt);
      if (nat) return { saddr: nat.to === "masquerade" ? hostAddr() : ipSpec(nat.to) };
    }
    if (memo.docker) return memo.docker;
    if (net.masquerade) return (memo.docker = { saddr: hostAddr() });
    if (oif.role === "external") {
      return (memo.docker = { saddr: ipSpec(ip), deny: this.docker(h, "deny", `${net.name} has enable_ip_masquerade=false (${net.construct}): ${ip} leaves unNATed and is not routable on the internet`) });
    }
    return (memo.docker = { saddr: ipSpec(ip) });
  }

  /** egressSource's answers that read neither the destination nor the port, by host, network, address and interface. */
  private readonly egressMemos = new Map<HostInfo, Map<DockerNetworkModel, Map<string, Map<Iface, { host?: AddrSpec; docker?: { saddr: AddrSpec; deny?: Step } }>>>>();

  private egressMemo(h: HostInfo, net: DockerNetworkModel, ip: string, oif: Iface): { host?: AddrSpec; docker?: { saddr: AddrSpec; deny?: Step } } {
    let byNet = this.egressMemos.get(h);
    if (!byNet) this.egressMemos.set(h, (byNet = new Map()));
    let byIp = byNet.get(net);
    if (!byIp) byNet.set(net, (byIp = new Map()));
    let byOif = byIp.get(ip);
    if (!byOif) byIp.set(ip, (byOif = new Map()));
    // By the interface's object (one per host's interface: tunnelIface, externalIfaces).
    let memo = byOif.get(oif);
    if (!memo) byOif.set(oif, (memo = {}));
    return memo;
  }

  /** The network Docker DNATs a published port to: the container's first non-internal network. */
  private pubNet(c: DockerContainerModel) {
    return c.networks.find((a) => this.net(a.network) && !this.net(a.network)!.internal) ?? c.networks[0];
  }

  /**
   * An address peer's own addresses: its ranges without the narrower declared peers inside them
   * (the admin ranges, the hosts' public and tunnel addresses, the Docker subnets). "The internet"
   * is every address outside the declared peers: an accept from 0.0.0.0/1, a /8 or a set of
   * ranges admits part of it, not only 0.0.0.0/0.
   */
  private peerSpace(n: Node, v: 4 | 6, existential: boolean): AddrSpec | null {
    const key = `${n.id}|${v}|${existential}`;
    if (this.spaceCache.has(key)) return this.spaceCache.get(key)!;
    const own = (n.cidrs ?? []).map(parseRange).filter((r): r is AddrRange => !!r && r.v === v);
    const inside = (x: AddrRange) => own.some((r) => r.lo <= x.lo && x.hi <= r.hi) && !own.some((r) => r.lo === x.lo && r.hi === x.hi);
    const narrower: AddrRange[] = [];
    for (const m of this.m.nodes.values()) {
      if (m.kind !== "addresses" || m.id === n.id) continue;
      const rs = (m.cidrs ?? []).map(parseRange).filter((r): r is AddrRange => !!r && r.v === v);
      if (rs.length && rs.every(inside)) narrower.push(...rs);
    }
    for (const h of this.m.hosts.values()) for (const a of [...h.external, ...h.tunnel]) if (familyOf(a) === v) narrower.push(parseRange(a)!);
    for (const net of this.m.networks.values()) {
      const r = net.subnet ? parseRange(net.subnet) : null;
      if (r && r.v === v) narrower.push(r);
    }
    const ranges = subtractRanges(own, narrower.filter(inside));
    const spec: AddrSpec | null = ranges.length === 0 ? null : !existential && ranges.length === 1 && isFull(ranges[0]!) ? { kind: "any", v } : { kind: "ranges", v, ranges, text: `${(n.cidrs ?? []).filter((c) => familyOf(c) === v).join(",")}${narrower.some(inside) ? " outside the declared peers" : ""}` };
    this.spaceCache.set(key, spec);
    return spec;
  }

  /** An address peer as a destination: some address in its ranges. */
  private destSpecs(n: Node): AddrSpec[] {
    return [this.peerSpace(n, 4, true), this.peerSpace(n, 6, true)].filter((s): s is AddrSpec => !!s);
  }

  private sourceSpecs(n: Node): AddrSpec[] {
    return [this.peerSpace(n, 4, false), this.peerSpace(n, 6, false)].filter((s): s is AddrSpec => !!s);
  }

  private published(c: DockerContainerModel, port: PortSpec, h: HostInfo): { addr: string; construct: string }[] {
    const out: { addr: string; construct: string }[] = [];
    if (this.span) this.narrowByRanges(port.port, c.ports.filter((p) => p.protocol === port.protocol).map((p) => [p.external, p.external] as const));
    for (const p of c.ports) {
      if (p.protocol !== port.protocol || p.external !== port.port) continue;
      const construct = `${c.construct} ports: ${p.ip || "(all addresses)"}:${p.external} -> ${p.internal}/${p.protocol}`;
      const all = p.ip === "" || p.ip === "0.0.0.0" || p.ip === "::";
      const addrs = all ? [...h.external, ...h.tunnel].filter((a) => p.ip !== "0.0.0.0" || familyOf(a) === 4) : [p.ip];
      for (const addr of addrs) out.push({ addr, construct });
    }
    return out;
  }

  // ---------- paths ----------

  paths(src: Node, dst: Node, port: PortSpec): Path[] {
    const out = this.rawPaths(src, dst, port);
    const proxy = dst.kind !== "addresses" ? this.proxyStep(src, dst, port) : undefined;
    return proxy ? out.map((p) => ({ via: p.via, steps: [...p.steps, proxy] })) : out;
  }

  private listenCheck(dst: Node, port: PortSpec): Path | undefined {
    if (dst.kind === "addresses") return undefined;
    const h = this.hostOf(dst);
    if (dst.kind === "daemon" && dst.listens.length === 0 && dst.id.endsWith(":wireguard") && h && !h.wg) {
      return { via: "listener", steps: [{ layer: "wireguard", verdict: "pending", artifact: h.wgPath, construct: "not rendered yet (ListenPort)" }] };
    }
    // A host is judged on every port its firewall admits, whatever its labels say listens there.
    if (dst.kind === "host") return undefined;
    if (this.span) this.narrowByRanges(port.port, dst.listens.filter((l) => l.protocol === port.protocol).map((l) => [l.port, l.to] as const));
    if (dst.listens.some((l) => l.protocol === port.protocol && port.port >= l.port && port.port <= l.to)) return undefined;
    const layer: LayerName = dst.id.endsWith(":wireguard") ? "wireguard" : "docker-network";
    return {
      via: "listener",
      steps: [{ layer, verdict: "deny", artifact: dst.container ? (h?.docker?.artifact ?? "") : (h?.wgPath ?? ""), construct: `${dst.id} does not listen on ${port.protocol}/${port.port} (${dst.listensFrom || "no listening ports known"})` }],
    };
  }

  private rawPaths(src: Node, dst: Node, port: PortSpec): Path[] {
    const notListening = this.listenCheck(dst, port);
    if (notListening) return [notListening];
    const sh = this.hostOf(src);
    const dh = this.hostOf(dst);
    const local = (n: Node) => n.kind === "host" || n.kind === "daemon" || n.kind === "host-service";
    if (src.kind === "container" && sh) {
      if (dst.kind === "container" && dh) return sh === dh ? this.ctrToCtrSameHost(src, dst, port, sh) : this.ctrToRemoteCtr(src, dst, port, sh, dh);
      if (local(dst) && dh) return sh === dh ? this.ctrToLocal(src, port, sh) : this.ctrToRemoteLocal(src, port, sh, dh);
      if (dst.kind === "addresses") return this.ctrToExternal(src, dst, port, sh);
    }
    if (local(src) && sh) {
      if (dh && dh === sh) return dst.kind === "container" ? this.localToOwnCtr(dst, port, sh) : [];
      if (local(dst) && dh) return this.localToRemoteLocal(port, sh, dh);
      if (dst.kind === "container" && dh) return this.localToRemoteCtr(dst, port, sh, dh);
      if (dst.kind === "addresses") return this.localToExternal(dst, port, sh);
      return [];
    }
    if (src.kind === "addresses") {
      if (local(dst) && dh) return this.externalToLocal(src, port, dh);
      if (dst.kind === "container" && dh) return this.externalToCtr(src, dst, port, dh);
    }
    return [];
  }

  private pkt(family: 4 | 6, saddr: AddrSpec, daddr: AddrSpec, port: PortSpec, iif?: Iface, oif?: Iface, dnat = false): Packet {
    return { family, saddr, daddr, proto: port.protocol, dport: port.port, iif, oif, dnat };
  }

  private ctrToCtrSameHost(src: Node, dst: Node, port: PortSpec, h: HostInfo): Path[] {
    const a = src.container!;
    const b = dst.container!;
    const shared = a.networks.filter((x) => b.networks.some((y) => y.network === x.network));
    if (shared.length) {
      return shared.map((x) => {
        const y = b.networks.find((n) => n.network === x.network)!;
        const net = this.net(x.network);
        const iface = bridgeIface(net);
        return {
          via: `network ${x.network}`,
          steps: [
            this.docker(h, "allow", `shared network ${x.network} (${net?.construct ?? "?"}): ${a.name} ${x.ipv4} and ${b.name} ${y.ipv4}`),
            this.nft(h, "forward", this.pkt(4, ipSpec(x.ipv4), ipSpec(y.ipv4), port, iface, iface)),
          ],
        };
      });
    }
    // Every network of each: a multi-network container sends from each of its addresses, and an
    // accept between any two of their bridges is a hole in this layer even where Docker routes none.
    const deny = this.docker(h, "deny", `no shared network: ${a.name} on [${a.networks.map((n) => n.network).join(", ") || "none"}], ${b.name} on [${b.networks.map((n) => n.network).join(", ") || "none"}]`);
    const out: Path[] = [];
    for (const x of a.networks) {
      for (const y of b.networks) {
        if (!x.ipv4 || !y.ipv4) continue;
        out.push({ via: `routed from ${x.network} to ${y.network}`, steps: [deny, this.nft(h, "forward", this.pkt(4, ipSpec(x.ipv4), ipSpec(y.ipv4), port, bridgeIface(this.net(x.network)), bridgeIface(this.net(y.network))))] });
      }
    }
    return out.length ? out : [{ via: "routed between networks", steps: [deny] }];
  }

  /**
   * Egress networks of a container: each of its networks, allowed by Docker where it is not
   * internal, denied where it is (no route out), but each evaluated by the firewall on its own.
   */
  private egress(c: DockerContainerModel, h: HostInfo): readonly Egress[] {
    // The same for every destination and port: built once per container and host.
    let byHost = this.egressCache.get(c);
    if (!byHost) this.egressCache.set(c, (byHost = new Map()));
    let out = byHost.get(h);
    if (!out) byHost.set(h, (out = this.egressUncached(c, h)));
    return out;
  }

  private readonly egressCache = new Map<DockerContainerModel, Map<HostInfo, readonly Egress[]>>();

  private egressUncached(c: DockerContainerModel, h: HostInfo): readonly Egress[] {
    const out: Egress[] = [];
    for (const a of c.networks) {
      const net = this.net(a.network);
      if (!net || !a.ipv4) continue;
      out.push({
        net,
        ip: a.ipv4,
        step: net.internal ? this.docker(h, "deny", `${a.network} is internal (${net.construct} internal): no egress from ${c.name} through it`) : this.docker(h, "allow", `${a.network} is not internal (${net.construct}): egress through the host`),
      });
    }
    if (out.length === 0) return [{ step: this.docker(h, "deny", `${c.name} has no network address: no egress`) }];
    return out;
  }

  private ctrToLocal(src: Node, port: PortSpec, h: HostInfo): Path[] {
    const c = src.container!;
    return c.networks.map((a) => {
      const net = this.net(a.network);
      return {
        via: `gateway of ${a.network}`,
        steps: [
          this.docker(h, "allow", `${c.name} reaches its host at the gateway ${net?.gateway ?? "?"} of ${a.network}`),
          this.nft(h, "input", this.pkt(4, ipSpec(a.ipv4), ipSpec(net?.gateway || a.ipv4), port, bridgeIface(net))),
        ],
      };
    });
  }

  private ctrToRemoteLocal(src: Node, port: PortSpec, sh: HostInfo, dh: HostInfo): Path[] {
    const out: Path[] = [];
    for (const e of this.egress(src.container!, sh)) {
      if (!e.net) {
        const steps: Step[] = [e.step];
        const t = dh.tunnel.find((a) => familyOf(a) === 4);
        if (e.first && t) steps.push(this.nft(sh, "forward", this.pkt(4, ipSpec(e.first.ip), ipSpec(t), port, bridgeIface(e.first.net), tunnelIface(sh))));
        out.push({ via: "egress", steps });
        continue;
      }
      const bi = bridgeIface(e.net);
      for (const t of dh.tunnel.filter((a) => familyOf(a) === 4)) {
        const src = this.egressSource(sh, e.net, e.ip!, ipSpec(t), port, tunnelIface(sh));
        const steps: Step[] = [e.step, this.nft(sh, "forward", this.pkt(4, ipSpec(e.ip!), ipSpec(t), port, bi, tunnelIface(sh))), this.wgOut(sh, ipSpec(t)), ...this.relaySteps(sh, dh, src.saddr, ipSpec(t), port)];
        if (sh.wg) steps.push(this.wgIn(dh, src.saddr), this.nft(dh, "input", this.pkt(4, src.saddr, ipSpec(t), port, tunnelIface(dh))));
        else steps.push({ layer: "wireguard", verdict: "pending", artifact: sh.wgPath, construct: `${sh.id} has no tunnel address yet` });
        out.push({ via: `tunnel to ${t}`, steps });
      }
      for (const x of dh.external.filter((a) => familyOf(a) === 4)) {
        for (const oif of externalIfaces(sh)) {
          const src = this.egressSource(sh, e.net, e.ip!, ipSpec(x), port, oif);
          out.push({
            via: `uplink ${oif.name ?? "external"} to ${x}`,
            steps: [e.step, ...(src.deny ? [src.deny] : []), this.nft(sh, "forward", this.pkt(4, ipSpec(e.ip!), ipSpec(x), port, bi, oif)), this.nft(dh, "input", this.pkt(4, src.saddr, ipSpec(x), port, externalIfaces(dh)[0]))],
          });
        }
      }
    }
    return out;
  }

  private ctrToExternal(src: Node, dst: Node, port: PortSpec, sh: HostInfo): Path[] {
    const out: Path[] = [];
    const daddr = this.destSpecs(dst).find((s) => s.v === 4) ?? ({ kind: "any", v: 4 } as AddrSpec);
    for (const e of this.egress(src.container!, sh)) {
      if (!e.net) {
        const steps: Step[] = [e.step];
        if (e.first) steps.push(this.nft(sh, "forward", this.pkt(4, ipSpec(e.first.ip), daddr, port, bridgeIface(e.first.net), externalIfaces(sh)[0])));
        out.push({ via: "egress", steps });
        continue;
      }
      for (const oif of externalIfaces(sh)) {
        const src = this.egressSource(sh, e.net, e.ip!, daddr, port, oif);
        out.push({ via: `egress via ${e.net.name} and ${oif.name ?? "the external interface"}`, steps: [e.step, ...(src.deny ? [src.deny] : []), this.nft(sh, "forward", this.pkt(4, ipSpec(e.ip!), daddr, port, bridgeIface(e.net), oif))] });
      }
    }
    return out;
  }

  private ctrToRemoteCtr(src: Node, dst: Node, port: PortSpec, sh: HostInfo, dh: HostInfo): Path[] {
    const out: Path[] = [];
    const d = dst.container!;
    const pubs = this.published(d, port, dh);
    const dnet = this.pubNet(d);
    for (const e of this.egress(src.container!, sh)) {
      if (!e.net) {
        const steps: Step[] = [e.step];
        if (e.first && dnet?.ipv4) steps.push(this.nft(sh, "forward", this.pkt(4, ipSpec(e.first.ip), ipSpec(dnet.ipv4), port, bridgeIface(e.first.net), tunnelIface(sh))));
        out.push({ via: "egress", steps });
        continue;
      }
      for (const pub of pubs.filter((x) => familyOf(x.addr) === 4)) {
        const viaTunnel = dh.tunnel.includes(pub.addr);
        const steps: Step[] = [e.step];
        if (viaTunnel) {
          const src = this.egressSource(sh, e.net, e.ip!, ipSpec(pub.addr), port, tunnelIface(sh));
          steps.push(this.nft(sh, "forward", this.pkt(4, ipSpec(e.ip!), ipSpec(pub.addr), port, bridgeIface(e.net), tunnelIface(sh))), this.wgOut(sh, ipSpec(pub.addr)));
          steps.push(...this.relaySteps(sh, dh, src.saddr, ipSpec(pub.addr), port));
          steps.push(this.wgIn(dh, src.saddr));
          steps.push(this.nft(dh, "forward", this.pkt(4, src.saddr, ipSpec(dnet?.ipv4 || pub.addr), port, tunnelIface(dh), bridgeIface(this.net(dnet?.network ?? "")), true)));
        } else {
          const src = this.egressSource(sh, e.net, e.ip!, ipSpec(pub.addr), port, externalIfaces(sh)[0]!);
          if (src.deny) steps.push(src.deny);
          steps.push(this.nft(sh, "forward", this.pkt(4, ipSpec(e.ip!), ipSpec(pub.addr), port, bridgeIface(e.net), externalIfaces(sh)[0])));
          steps.push(this.nft(dh, "forward", this.pkt(4, src.saddr, ipSpec(dnet?.ipv4 || pub.addr), port, externalIfaces(dh)[0], bridgeIface(this.net(dnet?.network ?? "")), true)));
        }
        steps.push(this.docker(dh, "allow", `published: ${pub.construct}`));
        out.push({ via: `published ${pub.addr}:${port.port}`, steps });
      }
      if (dnet?.ipv4) {
        const src = this.egressSource(sh, e.net, e.ip!, ipSpec(dnet.ipv4), port, tunnelIface(sh));
        const steps: Step[] = [e.step, this.nft(sh, "forward", this.pkt(4, ipSpec(e.ip!), ipSpec(dnet.ipv4), port, bridgeIface(e.net), tunnelIface(sh))), this.wgOut(sh, ipSpec(dnet.ipv4))];
        steps.push(...this.relaySteps(sh, dh, src.saddr, ipSpec(dnet.ipv4), port));
        steps.push(this.wgIn(dh, src.saddr));
        steps.push(this.nft(dh, "forward", this.pkt(4, src.saddr, ipSpec(dnet.ipv4), port, tunnelIface(dh), bridgeIface(this.net(dnet.network)))));
        steps.push(this.docker(dh, "deny", `${d.name} does not publish ${port.protocol}/${port.port}: routed access to ${dnet.ipv4} from outside ${dh.id} is refused`));
        out.push({ via: `routed through the tunnel to ${dnet.ipv4}`, steps });
      }
    }
    return out;
  }

  private localToExternal(dst: Node, port: PortSpec, sh: HostInfo): Path[] {
    const out: Path[] = [];
    for (const daddr of this.destSpecs(dst)) {
      // Without a public address of this family the host may still have one: any address of it.
      const from = rangesSpec(sh.external, daddr.v) ?? ({ kind: "any", v: daddr.v } as AddrSpec);
      for (const oif of externalIfaces(sh)) {
        out.push({ via: `${oif.name ?? "external interface"} (IPv${daddr.v})`, steps: [this.nft(sh, "output", this.pkt(daddr.v, from, daddr, port, undefined, oif))] });
      }
    }
    return out;
  }

  private localToRemoteLocal(port: PortSpec, sh: HostInfo, dh: HostInfo): Path[] {
    const out: Path[] = [];
    for (const t of dh.tunnel) {
      const fam = familyOf(t);
      const s = tunnelSource(sh, t);
      if (!s) continue;
      out.push({
        via: `tunnel to ${t}`,
        steps: [
          this.nft(sh, "output", this.pkt(fam, ipSpec(s), ipSpec(t), port, undefined, tunnelIface(sh))),
          this.wgOut(sh, ipSpec(t)),
          this.wgIn(dh, ipSpec(s)),
          this.nft(dh, "input", this.pkt(fam, ipSpec(s), ipSpec(t), port, tunnelIface(dh))),
        ],
      });
    }
    if (dh.tunnel.length === 0 && sh.tunnel.length === 0 && (!sh.wg || !dh.wg)) {
      out.push({ via: "tunnel", steps: [{ layer: "wireguard", verdict: "pending", artifact: sh.wg ? dh.wgPath : sh.wgPath, construct: "not rendered yet (tunnel addresses)" }] });
    }
    for (const x of dh.external) {
      const fam = familyOf(x);
      const from = rangesSpec(sh.external, fam);
      if (!from) continue;
      for (const oif of externalIfaces(sh)) {
        out.push({
          via: `${oif.name ?? "external"} to ${x}`,
          steps: [this.nft(sh, "output", this.pkt(fam, from, ipSpec(x), port, undefined, oif)), this.nft(dh, "input", this.pkt(fam, from, ipSpec(x), port, externalIfaces(dh)[0]))],
        });
      }
    }
    return out;
  }

  /** The host to one of its own containers: from the bridge's gateway address, out its OUTPUT hook. */
  private localToOwnCtr(dst: Node, port: PortSpec, h: HostInfo): Path[] {
    return dst.container!.networks
      .filter((a) => a.ipv4 && this.net(a.network)?.gateway)
      .map((a) => {
        const net = this.net(a.network)!;
        return {
          via: `bridge ${a.network} from the host`,
          steps: [
            this.docker(h, "allow", `the host holds ${net.gateway} on ${a.network} (${net.construct}); ${dst.id} is ${a.ipv4} there`),
            this.nft(h, "output", this.pkt(4, ipSpec(net.gateway), ipSpec(a.ipv4), port, undefined, bridgeIface(net))),
          ],
        };
      });
  }

  private localToRemoteCtr(dst: Node, port: PortSpec, sh: HostInfo, dh: HostInfo): Path[] {
    const out: Path[] = [];
    const d = dst.container!;
    const dnet = this.pubNet(d);
    const dIface = bridgeIface(this.net(dnet?.network ?? ""));
    for (const pub of this.published(d, port, dh)) {
      const fam = familyOf(pub.addr);
      if (dh.tunnel.includes(pub.addr)) {
        const s = tunnelSource(sh, pub.addr);
        if (!s) continue;
        out.push({
          via: `published ${pub.addr}:${port.port} through the tunnel`,
          steps: [
            this.nft(sh, "output", this.pkt(fam, ipSpec(s), ipSpec(pub.addr), port, undefined, tunnelIface(sh))),
            this.wgOut(sh, ipSpec(pub.addr)),
            this.wgIn(dh, ipSpec(s)),
            this.nft(dh, "forward", this.pkt(4, ipSpec(s.includes(":") ? pub.addr : s), ipSpec(dnet?.ipv4 || pub.addr), port, tunnelIface(dh), dIface, true)),
            this.docker(dh, "allow", `published: ${pub.construct}`),
          ],
        });
      } else {
        const from = rangesSpec(sh.external, fam);
        if (!from) continue;
        out.push({
          via: `published ${pub.addr}:${port.port}`,
          steps: [
            this.nft(sh, "output", this.pkt(fam, from, ipSpec(pub.addr), port, undefined, externalIfaces(sh)[0])),
            this.nft(dh, "forward", this.pkt(4, rangesSpec(sh.external, 4) ?? from, ipSpec(dnet?.ipv4 || pub.addr), port, externalIfaces(dh)[0], dIface, true)),
            this.docker(dh, "allow", `published: ${pub.construct}`),
          ],
        });
      }
    }
    if (dnet?.ipv4) {
      const s = sh.tunnel.find((a) => familyOf(a) === 4);
      const steps: Step[] = [];
      if (s) {
        steps.push(
          this.nft(sh, "output", this.pkt(4, ipSpec(s), ipSpec(dnet.ipv4), port, undefined, tunnelIface(sh))),
          this.wgOut(sh, ipSpec(dnet.ipv4)),
          this.wgIn(dh, ipSpec(s)),
          this.nft(dh, "forward", this.pkt(4, ipSpec(s), ipSpec(dnet.ipv4), port, tunnelIface(dh), dIface)),
        );
      } else steps.push({ layer: "wireguard", verdict: "pending", artifact: sh.wgPath, construct: "not rendered yet (tunnel addresses)" });
      steps.push(this.docker(dh, "deny", `${d.name} does not publish ${port.protocol}/${port.port} there: routed access to ${dnet.ipv4} from outside ${dh.id} is refused`));
      out.push({ via: `routed through the tunnel to ${dnet.ipv4}`, steps });
    }
    return out;
  }

  private externalToLocal(src: Node, port: PortSpec, dh: HostInfo): Path[] {
    const out: Path[] = [];
    for (const spec of this.sourceSpecs(src)) {
      // A host without a public address of this family may still get one (SLAAC, a provider's
      // default): its firewall is judged for some address of that family.
      const xs: AddrSpec[] = dh.external.filter((a) => familyOf(a) === spec.v).map(ipSpec);
      for (const x of xs.length ? xs : [{ kind: "any", v: spec.v } as AddrSpec]) {
        for (const iif of externalIfaces(dh)) {
          out.push({ via: `${iif.name ?? "public interface"} ${x.kind === "ip" ? x.text : `(any IPv${spec.v} address)`}`, steps: [this.nft(dh, "input", this.pkt(spec.v, spec, x, port, iif))] });
        }
      }
      for (const h0 of this.m.hosts.values()) {
        if (h0 === dh || h0.external.length === 0) continue;
        for (const t of dh.tunnel.filter((a) => familyOf(a) === spec.v)) {
          out.push({
            via: `through ${h0.id} into the tunnel to ${t}`,
            steps: [
              this.nft(h0, "forward", this.pkt(spec.v, spec, ipSpec(t), port, externalIfaces(h0)[0], tunnelIface(h0))),
              this.wgOut(h0, ipSpec(t)),
              this.wgIn(dh, spec),
              this.nft(dh, "input", this.pkt(spec.v, spec, ipSpec(t), port, tunnelIface(dh))),
            ],
          });
        }
      }
    }
    return out;
  }

  private externalToCtr(src: Node, dst: Node, port: PortSpec, dh: HostInfo): Path[] {
    const out: Path[] = [];
    const d = dst.container!;
    const dnet = this.pubNet(d);
    const dIface = bridgeIface(this.net(dnet?.network ?? ""));
    const pubs = this.published(d, port, dh);
    for (const spec of this.sourceSpecs(src)) {
      for (const pub of pubs.filter((p) => familyOf(p.addr) === spec.v && dh.external.includes(p.addr))) {
        out.push({
          via: `published ${pub.addr}:${port.port}`,
          steps: [this.nft(dh, "forward", this.pkt(4, spec.v === 4 ? spec : { kind: "any", v: 4 }, ipSpec(dnet?.ipv4 || pub.addr), port, externalIfaces(dh)[0], dIface, true)), this.docker(dh, "allow", `published: ${pub.construct}`)],
        });
      }
      if (spec.v === 4 && dnet?.ipv4) {
        for (const iif of externalIfaces(dh)) {
          out.push({
            via: `routed from ${iif.name ?? "the external interface"} to ${dnet.ipv4}`,
            steps: [
              this.nft(dh, "forward", this.pkt(4, spec, ipSpec(dnet.ipv4), port, iif, dIface)),
              this.docker(dh, "deny", `${d.name} does not publish ${port.protocol}/${port.port} on an external address: routed access to ${dnet.ipv4} is refused`),
            ],
          });
        }
      }
      for (const h0 of this.m.hosts.values()) {
        if (h0 === dh || h0.external.length === 0 || spec.v !== 4) continue;
        for (const pub of pubs.filter((p) => dh.tunnel.includes(p.addr) && familyOf(p.addr) === 4)) {
          out.push({
            via: `through ${h0.id} into the tunnel to published ${pub.addr}:${port.port}`,
            steps: [
              this.nft(h0, "forward", this.pkt(4, spec, ipSpec(pub.addr), port, externalIfaces(h0)[0], tunnelIface(h0))),
              this.wgOut(h0, ipSpec(pub.addr)),
              this.wgIn(dh, spec),
              this.nft(dh, "forward", this.pkt(4, spec, ipSpec(dnet?.ipv4 || pub.addr), port, tunnelIface(dh), dIface, true)),
              this.docker(dh, "allow", `published: ${pub.construct}`),
            ],
          });
        }
        if (dnet?.ipv4) {
          out.push({
            via: `through ${h0.id} into the tunnel to ${dnet.ipv4}`,
            steps: [
              this.nft(h0, "forward", this.pkt(4, spec, ipSpec(dnet.ipv4), port, externalIfaces(h0)[0], tunnelIface(h0))),
              this.wgOut(h0, ipSpec(dnet.ipv4)),
              this.wgIn(dh, spec),
              this.nft(dh, "forward", this.pkt(4, spec, ipSpec(dnet.ipv4), port, tunnelIface(dh), dIface)),
              this.docker(dh, "deny", `${d.name} does not publish ${port.protocol}/${port.port}: routed access to ${dnet.ipv4} from outside ${dh.id} is refused`),
            ],
          });
        }
      }
    }
    return out;
  }

  // ---------- flows ----------

  /** Every (source, destination, port) evaluated so far, in evaluation order: what matrix.csv lists. */
  readonly evaluated = new Map<string, FlowEval>();

  evaluate(src: Node, dst: Node, port: PortSpec): FlowEval {
    return this.evaluateKeyed(`${src.id}\u0000${dst.id}\u0000${port.protocol}/${port.port}`, src, dst, port);
  }

  /** evaluate, with the pair and port's key in `evaluated` made by the caller. */
  private evaluateKeyed(key: string, src: Node, dst: Node, port: PortSpec): FlowEval {
    const seen = this.evaluated.get(key);
    if (seen) return seen;
    const ev = this.evaluateUncached(src, dst, port);
    this.evaluated.set(key, ev);
    return ev;
  }

  /** evaluatePorts' answers per pair and port list (the candidates and the must-never pairs try the same probes). */
  private readonly portsCache = new WeakMap<readonly PortSpec[], Map<string, FlowEval[]>>();

  /**
   * The pair on each of these ports (each standing for its class up to `to`), in order, with the
   * ports every step answers alike grouped: a denied evaluation that every port-reading step
   * (nftables, source NAT, listening, published and proxied ports) answers alike for the next ports
   * stands for them too, and says so in `to` (the last port of the last class it covers). Allowed
   * and pending ones stand for their own port: each is a flow of its own.
   */
  evaluatePorts(src: Node, dst: Node, ports: readonly (PortSpec & { readonly to?: number })[]): FlowEval[] {
    let byPair = this.portsCache.get(ports);
    if (!byPair) this.portsCache.set(ports, (byPair = new Map()));
    const pairKey = `${src.id}\u0000${dst.id}`;
    const hit = byPair.get(pairKey);
    if (hit) return hit;
    const out: FlowEval[] = [];
    for (let i = 0; i < ports.length; ) {
      const p = ports[i]!;
      // The probes after this one that may be grouped with it: same protocol, ascending.
      let end = i + 1;
      while (end < ports.length && ports[end]!.protocol === p.protocol && ports[end]!.port > ports[end - 1]!.port) end++;
      const key = `${pairKey}\u0000${p.protocol}/${p.port}`;
      const span = { lo: p.port, hi: ports[end - 1]!.to ?? ports[end - 1]!.port };
      this.span = span;
      let ev: FlowEval;
      try {
        ev = this.evaluateUncached(src, dst, p);
      } finally {
        this.span = undefined;
      }
      let j = i + 1;
      if (ev.verdict === "denied") while (j < end && (ports[j]!.to ?? ports[j]!.port) <= span.hi) j++;
      if (j > i + 1) ev = { ...ev, to: ports[j - 1]!.to ?? ports[j - 1]!.port };
      this.evaluated.set(key, ev);
      out.push(ev);
      i = j;
    }
    byPair.set(pairKey, out);
    return out;
  }

  private evaluateUncached(src: Node, dst: Node, port: PortSpec): FlowEval {
    const paths = this.paths(src, dst, port);
    const verdicts = paths.map(pathVerdict);
    const verdict: FlowVerdict = verdicts.includes("allowed") ? "allowed" : verdicts.includes("pending") ? "pending" : "denied";
    let explain: Path | undefined;
    if (verdict === "allowed") explain = paths[verdicts.indexOf("allowed")];
    else explain = weakest(paths);
    return { source: src.id, destination: dst.id, protocol: port.protocol, port: port.port, verdict, paths, explain };
  }

  /**
   * Every flow that may be allowed, enumerated without visiting pairs Docker already separates:
   * containers sharing a network (indexed by network), anything to host services and daemons,
   * published ports, container egress. Each candidate is then evaluated on all its paths.
   */
  candidates(probePorts: readonly (PortSpec & { readonly to?: number })[]): FlowEval[] {
    const out: FlowEval[] = [];
    const nodes = [...this.m.nodes.values()];
    const containers = nodes.filter((n) => n.kind === "container");
    const locals = nodes.filter((n) => n.kind === "daemon" || n.kind === "host-service" || n.kind === "host");
    const externals = nodes.filter((n) => n.kind === "addresses");
    const seen = new Set<string>();
    const add = (s: Node, d: Node, p: PortSpec) => {
      if (s.id === d.id) return;
      const key = `${s.id}\u0000${d.id}\u0000${p.protocol}/${p.port}`;
      if (seen.has(key)) return;
      seen.add(key);
      const ev = this.evaluateKeyed(key, s, d, p);
      if (ev.verdict !== "denied") out.push(ev);
    };
    /** Every probe port (grouped where the steps answer alike: evaluatePorts). */
    const addProbes = (s: Node, d: Node) => {
      if (s.id === d.id) return;
      for (const ev of this.evaluatePorts(s, d, probePorts)) {
        const key = `${s.id}\u0000${d.id}\u0000${ev.protocol}/${ev.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (ev.verdict !== "denied") out.push(ev);
      }
    };
    const ports = (n: Node): PortSpec[] => n.listens.flatMap((l) => (l.to - l.port > 16 ? [{ protocol: l.protocol, port: l.port }] : Array.from({ length: l.to - l.port + 1 }, (_, k) => ({ protocol: l.protocol, port: l.port + k }))));
    // Containers sharing a network.
    const byNet = new Map<string, Node[]>();
    for (const c of containers) for (const a of c.container!.networks) byNet.set(a.network, [...(byNet.get(a.network) ?? []), c]);
    for (const members of byNet.values()) for (const s of members) for (const d of members) for (const p of ports(d)) add(s, d, p);
    // Each host to its own containers, on every port they listen on (over the bridges).
    for (const d of containers) for (const s of nodes) if (s.kind === "host" && s.host === d.host) for (const p of ports(d)) add(s, d, p);
    // The hosts themselves, on every class of ports, from the address peers (exposure is what the
    // firewall admits, whatever listens). Between the platform's own hosts, their daemons' ports.
    for (const d of nodes) {
      if (d.kind !== "host") continue;
      for (const s of externals) addProbes(s, d);
    }
    // Host services and daemons: from everyone.
    for (const d of locals) for (const p of ports(d)) for (const s of nodes) if (s.kind !== "host" || s.host !== d.host) add(s, d, p);
    // Published container ports: from everyone outside the container's networks.
    for (const d of containers) {
      for (const pub of d.container!.ports) {
        const p = { protocol: pub.protocol, port: pub.external };
        for (const s of nodes) add(s, d, p);
      }
    }
    // Container egress (non-internal networks only) to the internet and to the other hosts' containers' published ports.
    for (const s of containers) {
      if (!s.container!.networks.some((a) => this.net(a.network) && !this.net(a.network)!.internal)) continue;
      for (const d of externals) addProbes(s, d);
    }
    // Proxy routes: what a proxy is configured to reach.
    for (const proxy of this.m.proxies) {
      const src = this.m.nodes.get(proxy.node);
      if (!src || !proxy.config) continue;
      for (const be of proxy.config.backends) {
        for (const srv of be.servers) {
          const id = this.resolveServer(src, srv.host, srv.port);
          const d = id ? this.m.nodes.get(id) : undefined;
          if (d) add(src, d, { protocol: "tcp", port: srv.port });
        }
      }
    }
    return out;
  }
}

/** The path with the fewest blocking layers (pending paths count their denies only). */
/**
 * The source address a host's packets to `daddr` leave its tunnel with: the kernel picks the
 * interface address whose subnet holds the destination (the edge has one per site's tunnel),
 * else the first of the family.
 */
export function tunnelSource(h: HostInfo, daddr: string): string | undefined {
  const fam = familyOf(daddr);
  const d = parseRange(daddr);
  const onLink = h.wg?.addresses.find((a) => {
    const r = parseRange(a);
    return !!r && !!d && r.v === d.v && r.lo <= d.lo && d.hi <= r.hi;
  });
  return onLink?.split("/")[0] ?? h.tunnel.find((a) => familyOf(a) === fam);
}

export function weakest(paths: readonly Path[]): Path | undefined {
  let best: Path | undefined;
  let bestN = Infinity;
  for (const p of paths) {
    const n = blockingCount(p);
    if (n < bestN) {
      best = p;
      bestN = n;
    }
  }
  return best;
}
