/*
 * A private cloud rendered as a Kubernetes cluster, verified from the artifacts: each engine's cloud
 * stack read back as manifests (k8s/engines.ts; the two engines are compared object by object in
 * parity.ts, as every stack is), and the
 * segmentation rules decided by the NetworkPolicy evaluator of `palisade k8s` with the node's own
 * firewall (the cloud host's rendered nftables) as a third layer:
 *
 * - a pod's addresses are its namespace's Calico IP pools (the namespace's `cni.projectcalico.org/ipv4pools`
 *   annotation naming IPPool objects of the same manifests); a namespace without one may get any address,
 *   which the firewall then judges existentially (one address it lets through is enough);
 * - pod to pod crosses the node's forward hook between Calico's cali* veths; the edge and the internet
 *   arrive on the tunnel or an uplink, already DNATed to the pod by kube-proxy; the node itself reaches a
 *   pod through its output hook;
 * - SCTP is never refused by the node layer (the evaluator's packets are TCP or UDP): it counts as open.
 *
 * Every namespace must also hold the default deny of both directions the renderer writes: without it a
 * pod added to the namespace is open, whatever today's pods are.
 */
import { describeOpening } from "./k8s/segmentation.js";
import { ConnSet, K8sManifestError, kubeFromPulumi, kubeFromTerraform, kubeServices, manifestsFromPulumi, manifestsFromTerraform, checkKubeSegmentation, type K8sResources, type KubeIntent, type KubeNodeLayer, type KubeFlowResult, type RawManifest } from "./k8s/index.js";
import type { Endpoint } from "./k8s/evaluate.js";
import type { Protocol, Range } from "./k8s/connset.js";
import { parseRange, type AddrSpec } from "./addr.js";
import { JsonSyntaxError, parseJsonWithLines } from "./json-lines.js";
import { lineOfConstruct } from "./locate.js";
import { evaluateHooks, portClasses, type Hook, type Iface, type Ruleset } from "./nftables.js";
import { externalIfaces, tunnelIface, type HostInfo } from "./site-model.js";
import type { Finding, NeverRecord } from "./report-model.js";
import { compareText, type LayerName } from "./layers.js";

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export interface KubeStackRead {
  readonly engine: "cdktf" | "pulumi";
  readonly stack: string;
  readonly artifact: string;
  readonly raw: readonly RawManifest[];
  readonly resources: K8sResources;
}

/** Whether an engine artifact declares a Kubernetes stack (then the Docker reader leaves it alone). */
export function isKubeStack(path: string, text: string): boolean {
  if (/^cdktf\/stacks\/[^/]+\/cdk\.tf\.json$/.test(path)) return /"kubernetes_[a-z0-9_]+": \{/.test(text);
  if (/^pulumi\/[^/]+\.json$/.test(path)) return /"type": "kubernetes:/.test(text);
  return false;
}

const PULUMI_FRAME = new Set(["pulumi:providers:kubernetes", "palisade:index:KubeSite"]);

/** Every Kubernetes stack of the artifacts; what cannot be read, or is not Kubernetes inside one, is a finding. */
export function readKubeStacks(files: ReadonlyMap<string, string>, bad: Finding[]): KubeStackRead[] {
  const out: KubeStackRead[] = [];
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => compareText(a, b))) {
    if (!isKubeStack(path, text)) continue;
    const cdktf = path.startsWith("cdktf/");
    const stack = cdktf ? path.split("/")[2]! : path.slice("pulumi/".length, -".json".length);
    try {
      const json = JSON.parse(text) as Json;
      // Anything else in a cluster's stack would be applied without being verified.
      const foreign = cdktf
        ? Object.keys(isMap(json.resource) ? json.resource : {}).filter((t) => !t.startsWith("kubernetes_"))
        : (Array.isArray(json.resources) ? json.resources : []).map((r) => (isMap(r) ? String(r.type) : "")).filter((t) => !t.startsWith("kubernetes:") && !PULUMI_FRAME.has(t));
      for (const t of [...new Set(foreign)].sort()) {
        bad.push({ id: `bad-artifact:${path}:${t}`, kind: "bad-artifact", severity: "violation", subject: path, message: `not understood, so not verified: resource type ${t} in a Kubernetes stack`, artifact: path, construct: t });
      }
      const raw = cdktf ? manifestsFromTerraform(path, json) : manifestsFromPulumi(path, json);
      const resources = cdktf ? kubeFromTerraform(path, json) : kubeFromPulumi(path, json);
      out.push({ engine: cdktf ? "cdktf" : "pulumi", stack, artifact: path, raw, resources });
    } catch (e) {
      bad.push(...unreadable(path, text, e));
    }
  }
  return out;
}

/**
 * Why a cluster's stack cannot be read, each with the line it is about (issue 12, class 13): JSON
 * that does not parse, with the line where its syntax breaks; each problem of a manifest (a field
 * of the wrong type, a missing spec...) as its own finding, naming the resource and citing its line.
 */
function unreadable(path: string, text: string, e: unknown): Finding[] {
  const base = { kind: "bad-artifact" as const, severity: "violation" as const, subject: path, artifact: path };
  if (e instanceof K8sManifestError) {
    return e.problems.map((p, i) => {
      const construct = constructOf(p.source);
      const at = [p.object, p.path].filter(Boolean).join(": ");
      return { ...base, id: `bad-artifact:${path}:${i}`, message: `cannot read ${p.source}: ${at}: given ${p.given}; expected ${p.expected} (fix: ${p.fix})`, construct, line: lineOfConstruct(text, construct) };
    });
  }
  if (e instanceof SyntaxError) {
    try {
      parseJsonWithLines(text);
    } catch (j) {
      if (j instanceof JsonSyntaxError) return [{ ...base, id: `bad-artifact:${path}`, message: `cannot read ${path}: ${j.message}`, line: j.line }];
    }
  }
  return [{ ...base, id: `bad-artifact:${path}`, message: `cannot read: ${(e as Error).message}`, line: 1 }];
}

/** The construct naming a manifest in its artifact, for line citations (policies/verifier/locate.ts). */
export function constructOf(source: string): string {
  const tf = /^resource\.(kubernetes_[a-z_]+)\.([A-Za-z0-9_-]+)/.exec(source);
  if (tf) return `${tf[1]}.${tf[2]} manifest`;
  const pu = /^resources\[([^\]]+)\]/.exec(source);
  return pu ? `kubernetes::${pu[1]} inputs` : source;
}

/** Each namespace's pod addresses: the CIDRs of the IPPools its annotation names. */
export function podPoolsOf(raw: readonly RawManifest[]): Map<string, string[]> {
  const pools = new Map<string, string>();
  for (const m of raw) {
    const v = m.value as Json;
    const meta = isMap(v?.metadata) ? v.metadata : {};
    if (v?.kind === "IPPool" && isMap(v.spec) && typeof v.spec.cidr === "string") pools.set(String(meta.name), v.spec.cidr);
  }
  const out = new Map<string, string[]>();
  for (const m of raw) {
    const v = m.value as Json;
    const meta = isMap(v?.metadata) ? v.metadata : {};
    if (v?.kind !== "Namespace" || !isMap(meta.annotations)) continue;
    let names: unknown;
    try {
      names = JSON.parse(String(meta.annotations["cni.projectcalico.org/ipv4pools"] ?? "null"));
    } catch {
      names = null;
    }
    const cidrs = Array.isArray(names) ? names.map((n) => pools.get(String(n))).filter((c): c is string => !!c) : [];
    if (cidrs.length) out.set(String(meta.name), cidrs.sort());
  }
  return out;
}

const POD_IFACE: Iface = { name: "cali-pod", role: "bridge" };

function spec(ranges: readonly (readonly [bigint, bigint])[], text: string): AddrSpec {
  return { kind: "ranges", v: 4, ranges: ranges.map(([lo, hi]) => ({ v: 4 as const, lo, hi })), text };
}

/** The node firewall as a layer, and for one packet the rule that decides it (for `palisade query`'s trace). */
export interface KubeNodeFirewall extends KubeNodeLayer {
  trace(a: Endpoint, b: Endpoint, protocol: "tcp" | "udp", port: number): { readonly verdict: "allow" | "deny"; readonly construct: string; readonly line?: number };
}

/** The node firewall between two endpoints, from the cloud host's ruleset. */
export function nodeFirewallLayer(host: HostInfo, rs: Ruleset, pools: ReadonlyMap<string, readonly string[]>, extraPorts: readonly number[]): KubeNodeFirewall {
  const classes = portClasses([rs], extraPorts);
  const own = [...host.external, ...host.tunnel].map(parseRange).filter((r) => r && r.v === 4);
  const self = (r: Range) => own.some((o) => o!.lo <= BigInt(r[0]) && BigInt(r[1]) <= o!.hi);
  const addrOf = (e: Endpoint): AddrSpec => {
    if (e.kind === "ip") return spec([[BigInt(e.range[0]), BigInt(e.range[1])]], `${e.range[0]}-${e.range[1]}`);
    const cidrs = pools.get(e.namespace) ?? ["0.0.0.0/0"];
    return spec(cidrs.map((c) => { const r = parseRange(c)!; return [r.lo, r.hi] as const; }), cidrs.join(","));
  };
  const outside = [tunnelIface(host), ...externalIfaces(host)];
  const cache = new Map<string, ConnSet>();
  const routesOf = (a: Endpoint, b: Endpoint): { hooks: Hook[]; iif?: Iface; oif?: Iface }[] => {
    if (a.kind === "pod" && b.kind === "pod") return [{ hooks: ["prerouting", "forward", "postrouting"], iif: POD_IFACE, oif: POD_IFACE }];
    if (a.kind === "ip" && b.kind === "pod") return self(a.range) ? [{ hooks: ["output", "postrouting"], oif: POD_IFACE }] : outside.map((iif) => ({ hooks: ["prerouting", "forward", "postrouting"] as Hook[], iif, oif: POD_IFACE }));
    if (a.kind === "pod" && b.kind === "ip") return self(b.range) ? [{ hooks: ["prerouting", "input"], iif: POD_IFACE }] : outside.map((oif) => ({ hooks: ["prerouting", "forward", "postrouting"] as Hook[], iif: POD_IFACE, oif }));
    return [];
  };
  return {
    trace(a, b, proto, dport) {
      const routes = routesOf(a, b);
      if (!routes.length) return { verdict: "allow", construct: "no route through the node's hooks between these two" };
      const tried = routes.map((r) => ({ r, res: evaluateHooks(rs, r.hooks, { family: 4, saddr: addrOf(a), daddr: addrOf(b), proto, dport, iif: r.iif, oif: r.oif }) }));
      const { r, res } = tried.find((t) => t.res.verdict === "accept") ?? tried[0]!;
      const decided = res.verdict === "drop" ? res.steps[res.steps.length - 1]! : (res.steps.find((x) => x.hook === (r.hooks.includes("forward") ? "forward" : r.hooks[0])) ?? res.steps[res.steps.length - 1]!);
      const where = [r.iif ? `in ${r.iif.name}` : "", r.oif ? `out ${r.oif.name}` : ""].filter(Boolean).join(", ");
      const w = res.witness ? ` [${res.witness}]` : "";
      return { verdict: res.verdict === "accept" ? "allow" : "deny", construct: `${decided.hook}: ${decided.result.construct}${where ? ` (${where})` : ""}${w}`, ...(decided.result.line ? { line: decided.result.line } : {}) };
    },
    conns(a, b) {
      const key = JSON.stringify([a.kind === "pod" ? a.namespace : a.range, b.kind === "pod" ? b.namespace : b.range]);
      const hit = cache.get(key);
      if (hit) return hit;
      const routes = routesOf(a, b);
      let set = routes.length ? ConnSet.allOf("SCTP") : ConnSet.all();
      for (const proto of ["tcp", "udp"] as const) {
        for (const c of classes) {
          const open = routes.some((r) => evaluateHooks(rs, r.hooks, { family: 4, saddr: addrOf(a), daddr: addrOf(b), proto, dport: c.lo, iif: r.iif, oif: r.oif }).verdict === "accept");
          if (open) set = set.union(ConnSet.ports(proto.toUpperCase() as Protocol, c.lo, c.hi));
        }
      }
      cache.set(key, set);
      return set;
    },
  };
}

/** Per service, the cluster DNS names of the Services selecting its pods (`web.web.svc.cluster.local`). */
export function clusterServiceNames(stacks: readonly KubeStackRead[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const res = stacks[0]?.resources;
  if (!res) return out;
  for (const [id, w] of kubeServices(res)) {
    const names = res.services
      .filter((svc) => svc.namespace === w.namespace && svc.selector && Object.keys(svc.selector).length > 0 && Object.entries(svc.selector).every(([k, v]) => w.labels[k] === v))
      .map((svc) => `${svc.name}.${svc.namespace}.svc.cluster.local`);
    out.set(id, names.sort());
  }
  return out;
}

/**
 * Per `address:port`, the services a cluster Service publishes there through `externalIPs` (kube-proxy
 * sends what arrives at that address and port to the pods it selects).
 */
export function clusterExternalIps(stacks: readonly KubeStackRead[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const first = stacks[0];
  if (!first) return out;
  const pods = kubeServices(first.resources);
  for (const m of first.raw) {
    const v = m.value as Json;
    if (v?.kind !== "Service" || !isMap(v.spec) || !Array.isArray(v.spec.externalIPs) || !isMap(v.spec.selector)) continue;
    const meta = isMap(v.metadata) ? v.metadata : {};
    const selector = v.spec.selector as Json;
    const selected = [...pods].filter(([, w]) => w.namespace === (meta.namespace ?? "default") && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, x]) => w.labels[k] === x)).map(([id]) => id);
    for (const ip of v.spec.externalIPs.map(String)) {
      for (const port of Array.isArray(v.spec.ports) ? v.spec.ports : []) {
        if (!isMap(port) || (port.protocol ?? "TCP") !== "TCP") continue;
        const key = `${ip}:${String(port.port)}`;
        out.set(key, [...new Set([...(out.get(key) ?? []), ...selected])].sort());
      }
    }
  }
  return out;
}

/** The node firewall layer of a cluster's stack, from its host's ruleset (none when the ruleset is missing). */
export function nodeLayerOf(s: KubeStackRead, intent: KubeIntent, host: HostInfo | undefined): KubeNodeFirewall | undefined {
  if (!host?.nft) return undefined;
  return nodeFirewallLayer(host, host.nft, podPoolsOf(s.raw), [53, ...s.resources.workloads.flatMap((w) => w.ports.map((p) => p.port)), ...intent.flows.map((f) => Number(f.port.split("/")[1]))]);
}

export interface KubeSiteIntent extends KubeIntent {
  readonly flows: readonly { readonly from: string; readonly to: string; readonly port: string; readonly reason?: string }[];
  readonly nevers: readonly { readonly from: string; readonly to: string; readonly reason: string }[];
}

export interface KubeSiteResult {
  readonly findings: Finding[];
  /** The services the cluster runs (the Docker checks leave their pairs to this one). */
  readonly services: ReadonlySet<string>;
  readonly nevers: NeverRecord[];
  /** The declared flows with an end in the cluster, as the first engine's artifacts decide them. */
  readonly flows: readonly (KubeFlowResult & { readonly reason?: string })[];
}

/**
 * Isolation and segmentation of every Kubernetes stack. Findings of the second engine that the
 * first does not have are marked with it, as the Docker checks do.
 */
export function checkKubeSites(stacks: readonly KubeStackRead[], intent: KubeSiteIntent, hosts: ReadonlyMap<string, HostInfo>, timings?: Map<string, number>): KubeSiteResult {
  const findings: Finding[] = [];
  const services = new Set<string>();
  const nevers = new Map<string, NeverRecord>();
  const flows: (KubeFlowResult & { reason?: string })[] = [];
  const seen = new Set<string>();
  for (const s of stacks) {
    const first = s === stacks.find((x) => x.stack === s.stack);
    const out: Finding[] = [];
    const byService = kubeServices(s.resources);
    for (const id of byService.keys()) services.add(id);
    // The default deny of both directions, in every namespace that runs a service.
    for (const ns of [...new Set([...byService.values()].map((w) => w.namespace))].sort()) {
      const deny = s.resources.policies.some((p) => p.namespace === ns && Object.keys(p.podSelector.matchLabels).length === 0 && p.podSelector.matchExpressions.length === 0 && p.isolatesIngress && p.isolatesEgress && p.ingress.length === 0 && p.egress.length === 0);
      if (!deny) out.push({ id: `declared-not-rendered:${s.stack}/${ns}/default-deny`, kind: "declared-not-rendered", severity: "violation", subject: `namespace ${ns}`, message: `no NetworkPolicy of namespace ${ns} denies ingress and egress to all its pods (podSelector {}, both policyTypes, no rules): a pod added there would be open`, artifact: s.artifact });
    }
    const host = hosts.get(s.stack);
    const layer = nodeLayerOf(s, intent, host);
    if (!host?.nft) out.push({ id: `pending:${s.stack}/node-firewall`, kind: "pending", severity: "violation", subject: `${s.stack} node firewall`, message: `hosts/${s.stack}/nftables.conf is missing: the node firewall layer of the cluster cannot be judged`, artifact: `hosts/${s.stack}/nftables.conf` });
    const result = checkKubeSegmentation(s.resources, intent, layer, first ? timings : undefined);
    for (const f of result.flows) {
      if (f.allowed) continue;
      const line = `${f.from} => ${f.to} : ${f.port}`;
      out.push({ id: `broken-path:${line}`, kind: "broken-path", severity: "violation", subject: line, message: `intended but refused by ${f.blockedBy.join(" and ") || "no path"} in ${s.artifact}`, layer: f.blockedBy[0], artifact: f.blockedBy[0] === "nftables:cloud" ? `hosts/${s.stack}/nftables.conf` : s.artifact });
    }
    for (const n of result.nevers) {
      const line = `${n.from} => ${n.to}`;
      const reason = intent.nevers.find((x) => x.from === n.from && x.to === n.to)?.reason ?? "";
      if (first) {
        nevers.set(line, { source: n.from, destination: n.to, reason, status: n.ok ? "blocked" : "violation", layers: [...n.blockedBy] as LayerName[], portsTried: ["tcp/1-65535", "udp/1-65535", "sctp/1-65535"] });
      }
      if (n.ok) continue;
      const policy = n.openedBy?.flatMap((o) => o.policies)[0];
      const node = n.openedBy?.some((o) => o.layer === "nftables:cloud");
      out.push({
        id: `${n.blockedBy.length ? "single-layer" : "never-reachable"}:${line}`,
        kind: n.blockedBy.length ? "single-layer" : "never-reachable",
        severity: "violation",
        subject: line,
        message: `must-never (${reason}) ${n.blockedBy.length ? `blocked by ${n.blockedBy.join(" and ")} only` : "reachable"}: fewer than two layers refuse ${n.open}, let through by ${describeOpening(n.openedBy)}; two layers are required`,
        layer: policy ? n.openedBy!.find((o) => o.policies.length)!.layer : node ? "nftables:cloud" : undefined,
        artifact: policy || !node ? s.artifact : `hosts/${s.stack}/nftables.conf`,
        ...(policy ? { construct: constructOf(policy) } : {}),
      });
    }
    for (const f of out) {
      if (first) findings.push(f);
      else if (!seen.has(f.id)) findings.push({ ...f, id: `${f.id}@${s.engine}`, engine: s.engine, message: `${f.message} (only in the ${s.engine} artifacts)` });
      seen.add(f.id);
    }
    if (first) flows.push(...result.flows.map((f) => ({ ...f, reason: intent.flows.find((x) => x.from === f.from && x.to === f.to && x.port === f.port)?.reason })));
  }
  return { findings, services, nevers: [...nevers.values()], flows };
}

