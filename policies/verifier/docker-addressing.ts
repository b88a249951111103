import { parseIp, parseRange, type AddrRange } from "./addr.js";

/*
 * How the Docker engine places a stack's networks and fixed addresses, checked before anything is
 * evaluated: what it refuses (a pool that overlaps another, a gateway or an address outside its
 * subnet, an address taken twice, a fixed address on a network without a configured subnet) never
 * runs as the model says, and a network the stack does not declare (`bridge`, the default docker0
 * with inter-container traffic and masquerade on, or one made outside the stack) has properties
 * the verifier cannot see. Both engine readers call this with their own pointers, for the lines.
 */

type Pointer = readonly (string | number)[];

export interface AddressedNetwork {
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
  /** Where its IPAM configuration's subnet and gateway are (lineOf falls back to the nearest parent present). */
  readonly subnetAt: Pointer;
  readonly gatewayAt: Pointer;
}

export interface AddressedAttachment {
  readonly container: string;
  readonly network: string;
  readonly ipv4: string;
  /** Where the attachment's address is. */
  readonly at: Pointer;
}

export interface AddressingProblem {
  readonly pointer: Pointer;
  readonly message: string;
}

function cidr4(text: string): AddrRange | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(text.trim())) return undefined;
  const r = parseRange(text);
  return r && r.v === 4 ? r : undefined;
}

export function addressingProblems(networks: readonly AddressedNetwork[], attachments: readonly AddressedAttachment[]): AddressingProblem[] {
  const out: AddressingProblem[] = [];
  const subnets = new Map<string, AddrRange | undefined>();
  // Every pool placed so far, in order (the clash a message names is the first of them), and an
  // index to find whether there is one: the pools that overlap none before them, sorted by first
  // address, and the few that do. A linear search of every pool was quadratic: a tenth of a second
  // at a thousand networks, per engine.
  const placed: { name: string; subnet: string; range: AddrRange }[] = [];
  const disjoint: { range: AddrRange }[] = [];
  const overlapping: { range: AddrRange }[] = [];
  const byName = new Map<string, AddressedNetwork>();
  for (const n of networks) {
    if (!byName.has(n.name)) byName.set(n.name, n);
    if (!n.subnet) {
      subnets.set(n.name, undefined);
      continue;
    }
    const range = cidr4(n.subnet);
    subnets.set(n.name, range);
    if (!range) {
      out.push({ pointer: n.subnetAt, message: `network ${n.name} has subnet ${JSON.stringify(n.subnet)}, not an IPv4 CIDR (a.b.c.d/n): Docker refuses it` });
      continue;
    }
    const gw = n.gateway ? parseIp(n.gateway) : undefined;
    if (n.gateway && (!gw || gw.v !== 4 || gw.n < range.lo || gw.n > range.hi)) out.push({ pointer: n.gatewayAt, message: `network ${n.name} has gateway ${n.gateway} outside its subnet ${n.subnet}: Docker refuses it` });
    const overlaps = (p: { range: AddrRange }) => p.range.lo <= range.hi && range.lo <= p.range.hi;
    const next = disjoint[firstNot(disjoint, (p) => p.range.hi < range.lo)];
    if ((next && overlaps(next)) || overlapping.some(overlaps)) {
      const clash = placed.find(overlaps)!;
      out.push({ pointer: n.subnetAt, message: `network ${n.name}'s subnet ${n.subnet} overlaps network ${clash.name}'s ${clash.subnet}: Docker refuses the second pool, and which bridge routes an address of both is not what the model says` });
      overlapping.push({ range });
    } else disjoint.splice(firstNot(disjoint, (p) => p.range.lo <= range.lo), 0, { range });
    placed.push({ name: n.name, subnet: n.subnet, range });
  }
  const taken = new Map<string, string>();
  for (const a of attachments) {
    if (!subnets.has(a.network)) {
      out.push({ pointer: a.at, message: `container ${a.container} attaches network ${a.network}, which this stack does not declare: Docker would join an existing network of that name (the default bridge, or one made outside the stack) whose isolation the verifier cannot see: refused` });
      continue;
    }
    if (!a.ipv4) continue; // no address: docker-schema.ts reports it
    const range = subnets.get(a.network);
    const ip = parseIp(a.ipv4);
    if (!ip || ip.v !== 4) {
      out.push({ pointer: a.at, message: `container ${a.container} has address ${JSON.stringify(a.ipv4)} on ${a.network}, not an IPv4 address` });
      continue;
    }
    const net = byName.get(a.network)!;
    if (!net.subnet) {
      out.push({ pointer: a.at, message: `container ${a.container} has the fixed address ${a.ipv4} on ${a.network}, which configures no subnet: Docker accepts a fixed address only on a network with a configured subnet` });
      continue;
    }
    if (!range) continue; // the subnet itself is reported above
    if (ip.n < range.lo || ip.n > range.hi) out.push({ pointer: a.at, message: `container ${a.container} has address ${a.ipv4} outside ${a.network}'s subnet ${net.subnet}: Docker refuses it` });
    else if (net.gateway && parseIp(net.gateway)?.n === ip.n) out.push({ pointer: a.at, message: `container ${a.container} has address ${a.ipv4}, the gateway of ${a.network}: Docker refuses it (address in use)` });
    else {
      const key = `${a.network}\u0000${ip.n}`;
      const owner = taken.get(key);
      if (owner !== undefined) out.push({ pointer: a.at, message: `container ${a.container} has address ${a.ipv4} on ${a.network}, which ${owner} has already: Docker refuses the second (address in use)` });
      else taken.set(key, a.container);
    }
  }
  return out;
}

/**
 * The first index of a sorted list whose item is not `before` (every item before it is): a
 * bisection. Disjoint pools sorted by first address are sorted by last address too, so the only
 * one that can overlap a range starting at lo is the first that does not end before lo.
 */
function firstNot<T>(xs: readonly T[], before: (x: T) => boolean): number {
  let a = 0;
  let b = xs.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (before(xs[m]!)) a = m + 1;
    else b = m;
  }
  return a;
}
