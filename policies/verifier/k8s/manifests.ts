/*
 * Reads a directory of Kubernetes manifests (YAML or JSON, many documents per file, `kind: List` too) into
 * the analyzer's model, validating each field the way the API server would before the object could exist:
 * a manifest the cluster would reject, or one whose meaning for connectivity the analyzer does not model,
 * is a problem (file, object, path, value given, what was expected, the fix), never a silent guess.
 *
 * Kinds: the workloads (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
 * ReplicationController), NetworkPolicy (networking.k8s.io/v1), Service, Ingress (networking.k8s.io/v1),
 * Namespace (its labels, for namespaceSelectors). Kinds that change pod connectivity in ways not modelled
 * here (AdminNetworkPolicy, Calico or Cilium policies, OpenShift Routes, Gateway API routes, ...) are
 * problems: a listing without them would claim connectivity the cluster does not have. Every other kind
 * (ConfigMap, Secret, RBAC, ...) cannot change pod-to-pod connectivity and is ignored, with a warning
 * that names it.
 */
import { parseAllDocuments } from "yaml";
import { parseRange } from "../addr.js";
import { MAX_PORT, MIN_PORT, normalizeRanges, type Protocol, type Range } from "./connset.js";
import type {
  ContainerPort,
  Ingress,
  IngressBackend,
  K8sResources,
  LabelSelector,
  Labels,
  Namespace,
  NetworkPolicy,
  PolicyPeer,
  PolicyPort,
  PolicyRule,
  SelectorOperator,
  SelectorRequirement,
  Service,
  ServicePort,
  Workload,
} from "./model.js";
import { NAMESPACE_NAME_LABEL } from "./model.js";

export interface ManifestProblem {
  /** `file.yaml, document 2` */
  readonly source: string;
  /** `NetworkPolicy default/deny-all`, or empty before the object is known */
  readonly object: string;
  readonly path: string;
  readonly given: string;
  readonly expected: string;
  readonly fix: string;
}

export class K8sManifestError extends Error {
  constructor(
    readonly where: string,
    readonly problems: readonly ManifestProblem[],
  ) {
    super(`${where}: ${problems.length} problem(s) in the Kubernetes manifests`);
    this.name = "K8sManifestError";
  }

  format(): string {
    const n = this.problems.length;
    const lines = [`error: the Kubernetes manifests in ${this.where} are not valid (${n} problem${n === 1 ? "" : "s"}):`];
    for (const p of this.problems) {
      const at = [p.source, p.object].filter(Boolean).join(", ");
      lines.push(`  - ${at}: ${p.path}: given ${p.given}; expected ${p.expected}.`, `    fix: ${p.fix}`);
    }
    return lines.join("\n");
  }
}

export const WORKLOAD_KINDS = ["Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"] as const;

/** Kinds that change who can reach a pod, with semantics this analyzer does not model. */
const UNMODELLED_KINDS: Readonly<Record<string, string>> = {
  AdminNetworkPolicy: "AdminNetworkPolicy rules take precedence over NetworkPolicies",
  BaselineAdminNetworkPolicy: "BaselineAdminNetworkPolicy sets the default for pods no NetworkPolicy selects",
  ClusterNetworkPolicy: "ClusterNetworkPolicy rules take precedence over NetworkPolicies",
  MultiNetworkPolicy: "MultiNetworkPolicy governs secondary networks",
  CiliumNetworkPolicy: "Cilium policies add rules (L7, entities, deny) beyond NetworkPolicy",
  CiliumClusterwideNetworkPolicy: "Cilium policies add rules (L7, entities, deny) beyond NetworkPolicy",
  GlobalNetworkPolicy: "Calico policies are ordered and can deny",
  Route: "OpenShift Routes open paths from the router to pods",
  Gateway: "Gateway API objects open paths from a gateway to pods",
  HTTPRoute: "Gateway API routes open paths from a gateway to pods",
  GRPCRoute: "Gateway API routes open paths from a gateway to pods",
  TCPRoute: "Gateway API routes open paths from a gateway to pods",
  TLSRoute: "Gateway API routes open paths from a gateway to pods",
  UDPRoute: "Gateway API routes open paths from a gateway to pods",
};

const PROTOCOL_NAMES: readonly Protocol[] = ["TCP", "UDP", "SCTP"];
const OPERATORS: readonly SelectorOperator[] = ["In", "NotIn", "Exists", "DoesNotExist"];
/** IANA_SVC_NAME, what the API server requires of a port name. */
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;
/** RFC 1123 label: namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

type JsonMap = Record<string, unknown>;

function isMap(v: unknown): v is JsonMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Collects the problems of one object; every reader returns undefined when the field is unusable. */
class ObjectReader {
  constructor(
    private readonly problems: ManifestProblem[],
    readonly source: string,
    public object = "",
  ) {}

  problem(path: string, given: unknown, expected: string, fix: string): undefined {
    this.problems.push({ source: this.source, object: this.object, path, given: show(given), expected, fix });
    return undefined;
  }

  map(v: unknown, path: string, required: boolean): JsonMap | undefined {
    if (v === undefined || v === null) return required ? this.problem(path, v, "a mapping", `add ${path}`) : undefined;
    if (!isMap(v)) return this.problem(path, v, "a mapping", `write ${path} as key: value pairs`);
    return v;
  }

  list(v: unknown, path: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.problem(path, v, "a list", `write ${path} as a YAML list (- item)`);
    return v;
  }

  string(v: unknown, path: string, required: boolean): string | undefined {
    if (v === undefined || v === null) return required ? this.problem(path, v, "a string", `add ${path}`) : undefined;
    if (typeof v !== "string" || v === "") return this.problem(path, v, "a non-empty string", `write ${path} as a string (quote it if it looks like a number)`);
    return v;
  }

  /** Fields a typo would silently change the meaning of: anything unknown is a problem. */
  onlyKeys(m: JsonMap, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(m)) {
      if (!allowed.includes(k)) {
        this.problem(`${path ? `${path}.` : ""}${k}`, m[k], `one of the fields ${allowed.join(", ")}`, `remove or correct the field ${JSON.stringify(k)}`);
      }
    }
  }

  labels(v: unknown, path: string): Labels {
    const m = this.map(v, path, false);
    if (!m) return {};
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(m)) {
      if (typeof val !== "string") {
        this.problem(`${path}.${k}`, val, "a string label value", `quote the value: ${k}: "${String(val)}"`);
        continue;
      }
      out[k] = val;
    }
    return out;
  }

  protocol(v: unknown, path: string): Protocol | undefined {
    if (v === undefined || v === null) return "TCP";
    if (typeof v !== "string" || !(PROTOCOL_NAMES as readonly string[]).includes(v)) {
      return this.problem(path, v, "TCP, UDP or SCTP (upper case)", "write the protocol as TCP, UDP or SCTP, or leave it out for TCP");
    }
    return v as Protocol;
  }

  portNumber(v: unknown, path: string): number | undefined {
    if (typeof v !== "number" || !Number.isInteger(v) || v < MIN_PORT || v > MAX_PORT) {
      return this.problem(path, v, `a port number from ${MIN_PORT} to ${MAX_PORT}`, `write ${path} as a number from ${MIN_PORT} to ${MAX_PORT}`);
    }
    return v;
  }

  portName(v: unknown, path: string): string | undefined {
    if (typeof v !== "string" || !PORT_NAME.test(v)) {
      return this.problem(
        path,
        v,
        "a port name (at most 15 lower-case letters, digits and '-', with at least one letter)",
        /^\d+$/.test(String(v)) ? `write the number without quotes: ${String(v)}` : "rename the port, e.g. http or metrics",
      );
    }
    return v;
  }

  /** IntOrString: a port number, or the name of a container port. */
  portRef(v: unknown, path: string): number | string | undefined {
    return typeof v === "number" ? this.portNumber(v, path) : this.portName(v, path);
  }

  selector(v: unknown, path: string): LabelSelector | undefined {
    const m = this.map(v, path, false);
    if (!m) return undefined;
    this.onlyKeys(m, path, ["matchLabels", "matchExpressions"]);
    const matchLabels = this.labels(m.matchLabels, `${path}.matchLabels`);
    const matchExpressions: SelectorRequirement[] = [];
    (this.list(m.matchExpressions, `${path}.matchExpressions`) ?? []).forEach((e, i) => {
      const p = `${path}.matchExpressions[${i}]`;
      const r = this.map(e, p, true);
      if (!r) return;
      this.onlyKeys(r, p, ["key", "operator", "values"]);
      const key = this.string(r.key, `${p}.key`, true);
      const op = r.operator;
      if (typeof op !== "string" || !(OPERATORS as readonly string[]).includes(op)) {
        this.problem(`${p}.operator`, op, "In, NotIn, Exists or DoesNotExist", "use one of the four operators of a label selector");
        return;
      }
      const rawValues = this.list(r.values, `${p}.values`) ?? [];
      const values: string[] = [];
      rawValues.forEach((val, j) => {
        if (typeof val === "string") values.push(val);
        else this.problem(`${p}.values[${j}]`, val, "a string", `quote the value: "${String(val)}"`);
      });
      if ((op === "In" || op === "NotIn") && rawValues.length === 0) {
        this.problem(`${p}.values`, r.values, `at least one value for ${op}`, `list the values, or use ${op === "In" ? "Exists" : "DoesNotExist"}`);
        return;
      }
      if ((op === "Exists" || op === "DoesNotExist") && rawValues.length > 0) {
        this.problem(`${p}.values`, r.values, `no values for ${op}`, `remove values, or use ${op === "Exists" ? "In" : "NotIn"}`);
        return;
      }
      if (key) matchExpressions.push({ key, operator: op as SelectorOperator, values });
    });
    return { matchLabels, matchExpressions };
  }
}

interface RawObject {
  readonly value: JsonMap;
  readonly source: string;
  readonly path: string;
}

/** Every object of every document, `List` items unwrapped, with where it came from. */
function objectsOf(file: string, text: string, problems: ManifestProblem[]): RawObject[] {
  const out: RawObject[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const source = `${file}, document ${i + 1}`;
    const reader = new ObjectReader(problems, source);
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      reader.problem("(document)", e.message.split("\n")[0], "YAML (or JSON)", "fix the syntax at the line and column given");
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const push = (v: unknown, path: string) => {
      if (!isMap(v)) {
        reader.problem(path || "(document)", v, "a Kubernetes object (a mapping with apiVersion and kind)", "remove this document or make it a manifest");
        return;
      }
      if (v.kind === "List" || (typeof v.kind === "string" && v.kind.endsWith("List") && Array.isArray(v.items))) {
        const items = reader.list(v.items, `${path ? `${path}.` : ""}items`) ?? [];
        items.forEach((item, j) => push(item, `${path ? `${path}.` : ""}items[${j}]`));
        return;
      }
      out.push({ value: v, source, path });
    };
    push(value, "");
  });
  return out;
}

export function parseManifests(where: string, files: readonly { name: string; text: string }[]): K8sResources {
  const problems: ManifestProblem[] = [];
  const raws = files.flatMap((f) => objectsOf(f.name, f.text, problems));
  const parsedWorkloads: ParsedWorkload[] = [];
  const policies: NetworkPolicy[] = [];
  const services: Service[] = [];
  const ingresses: Ingress[] = [];
  const namespaceLabels = new Map<string, Labels>();
  const ignored = new Map<string, number>();
  const warnings: string[] = [];
  const seen = new Map<string, string>();

  for (const raw of raws) {
    const r = new ObjectReader(problems, raw.source);
    const at = (p: string) => (raw.path ? `${raw.path}.${p}` : p);
    const kind = r.string(raw.value.kind, at("kind"), true);
    const apiVersion = r.string(raw.value.apiVersion, at("apiVersion"), true);
    if (!kind || !apiVersion) continue;
    const meta = r.map(raw.value.metadata, at("metadata"), true);
    if (!meta) continue;
    const name = r.string(meta.name, at("metadata.name"), true);
    if (!name) continue;
    const nsGiven = r.string(meta.namespace, at("metadata.namespace"), false);
    const namespace = nsGiven ?? "default";
    if (nsGiven !== undefined && !DNS_LABEL.test(nsGiven)) {
      r.problem(at("metadata.namespace"), nsGiven, "a namespace name (lower-case letters, digits and '-')", "correct the namespace name");
      continue;
    }
    r.object = kind === "Namespace" ? `Namespace ${name}` : `${kind} ${namespace}/${name}`;

    if (UNMODELLED_KINDS[kind]) {
      r.problem(at("kind"), kind, "a kind whose effect on connectivity this analyzer models", `${UNMODELLED_KINDS[kind]}, which this analyzer does not model; analyze the manifests without it and review it separately`);
      continue;
    }
    const key = `${kind}/${kind === "Namespace" ? "" : namespace}/${name}`;
    const first = seen.get(key);
    if (first) {
      r.problem(at("metadata.name"), name, `one ${kind} of that name (the first is in ${first})`, "remove the duplicate or rename it");
      continue;
    }
    seen.set(key, raw.source);

    if ((WORKLOAD_KINDS as readonly string[]).includes(kind)) {
      const w = readWorkload(r, at, kind, namespace, name, meta, raw);
      if (w) parsedWorkloads.push(w);
    } else if (kind === "NetworkPolicy") {
      if (apiVersion !== "networking.k8s.io/v1") {
        r.problem(at("apiVersion"), apiVersion, "networking.k8s.io/v1 (a Kubernetes NetworkPolicy)", "other NetworkPolicy APIs (Calico's projectcalico.org, ...) have other semantics; analyze without them");
        continue;
      }
      const p = readPolicy(r, at, namespace, name, raw);
      if (p) policies.push(p);
    } else if (kind === "Service") {
      const s = readService(r, at, namespace, name, raw, warnings);
      if (s) services.push(s);
    } else if (kind === "Ingress") {
      if (apiVersion !== "networking.k8s.io/v1") {
        r.problem(at("apiVersion"), apiVersion, "networking.k8s.io/v1", "convert the Ingress to networking.k8s.io/v1 (service.name and service.port)");
        continue;
      }
      const ing = readIngress(r, at, namespace, name, raw, warnings);
      if (ing) ingresses.push(ing);
    } else if (kind === "Namespace") {
      if (!DNS_LABEL.test(name)) {
        r.problem(at("metadata.name"), name, "a namespace name (lower-case letters, digits and '-')", "correct the namespace name");
        continue;
      }
      namespaceLabels.set(name, r.labels(meta.labels, at("metadata.labels")));
    } else {
      ignored.set(kind, (ignored.get(kind) ?? 0) + 1);
    }
  }
  if (problems.length) throw new K8sManifestError(where, problems);
  const workloads = resolveOwners(parsedWorkloads);

  if (ignored.size) {
    const kinds = [...ignored].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} (${n})`);
    warnings.push(`ignored objects of kinds that do not change pod connectivity: ${kinds.join(", ")}`);
  }
  // Every namespace an object lives in exists, with the label the API server sets on each namespace.
  const namespaces = new Map<string, Namespace>();
  const names = new Set([...namespaceLabels.keys(), ...workloads.map((w) => w.namespace), ...policies.map((p) => p.namespace)]);
  for (const n of [...names].sort()) namespaces.set(n, { name: n, labels: { ...namespaceLabels.get(n), [NAMESPACE_NAME_LABEL]: n } });
  return { workloads, namespaces, policies, services, ingresses, warnings: warnings.sort() };
}

function readWorkload(r: ObjectReader, at: (p: string) => string, kind: string, namespace: string, name: string, meta: JsonMap, raw: RawObject): ParsedWorkload | undefined {
  const spec = r.map(raw.value.spec, at("spec"), true);
  if (!spec) return undefined;
  let labels: Labels;
  let podSpec: JsonMap | undefined;
  let podPath: string;
  const owners = r.list(meta.ownerReferences, at("metadata.ownerReferences")) ?? [];
  const ownerRef = owners.find((o) => isMap(o) && o.controller === true) ?? owners[0];
  const owner = isMap(ownerRef) && typeof ownerRef.name === "string" && typeof ownerRef.kind === "string" ? { kind: ownerRef.kind, name: ownerRef.name } : undefined;
  if (kind === "Pod") {
    labels = r.labels(meta.labels, at("metadata.labels"));
    podSpec = spec;
    podPath = at("spec");
  } else {
    const templatePath = kind === "CronJob" ? "spec.jobTemplate.spec.template" : "spec.template";
    let template: JsonMap | undefined;
    if (kind === "CronJob") {
      const jobTemplate = r.map(spec.jobTemplate, at("spec.jobTemplate"), true);
      const jobSpec = jobTemplate && r.map(jobTemplate.spec, at("spec.jobTemplate.spec"), true);
      template = jobSpec && r.map(jobSpec.template, at(templatePath), true);
    } else {
      template = r.map(spec.template, at(templatePath), true);
    }
    if (!template) return undefined;
    const tmeta = r.map(template.metadata, at(`${templatePath}.metadata`), false) ?? {};
    labels = r.labels(tmeta.labels, at(`${templatePath}.metadata.labels`));
    podPath = at(`${templatePath}.spec`);
    podSpec = r.map(template.spec, podPath, true);
  }
  if (!podSpec) return undefined;
  if (podSpec.hostNetwork === true) {
    return r.problem(`${podPath}.hostNetwork`, true, "pods on the pod network", "NetworkPolicy does not reliably apply to host-network pods (it is implementation-defined); analyze without this workload");
  }
  const containers = r.list(podSpec.containers, `${podPath}.containers`);
  if (!containers || containers.length === 0) return r.problem(`${podPath}.containers`, podSpec.containers, "at least one container", "add the pod's containers");
  const ports: ContainerPort[] = [];
  const portNames = new Set<string>();
  containers.forEach((c, i) => {
    const cp = `${podPath}.containers[${i}]`;
    const cm = r.map(c, cp, true);
    if (!cm) return;
    (r.list(cm.ports, `${cp}.ports`) ?? []).forEach((p, j) => {
      const pp = `${cp}.ports[${j}]`;
      const pm = r.map(p, pp, true);
      if (!pm) return;
      const port = r.portNumber(pm.containerPort, `${pp}.containerPort`);
      const protocol = r.protocol(pm.protocol, `${pp}.protocol`);
      let portName: string | undefined;
      if (pm.name !== undefined && pm.name !== null) {
        portName = r.portName(pm.name, `${pp}.name`);
        if (portName && portNames.has(portName)) {
          r.problem(`${pp}.name`, portName, "a port name unique within the pod", "rename one of the two ports");
          return;
        }
        if (portName) portNames.add(portName);
      }
      if (port && protocol) ports.push({ ...(portName ? { name: portName } : {}), port, protocol });
    });
  });
  return { namespace, name, kind, labels, ports, source: raw.source, ...(owner ? { owner } : {}) };
}

/** A workload object as read, with the controller that owns it (a cluster's listing has both). */
interface ParsedWorkload extends Workload {
  readonly owner?: { readonly kind: string; readonly name: string };
}

/**
 * One workload per set of pods, as netpol-analyzer lists them: an object whose controller is in the
 * manifests too (a Deployment's ReplicaSet, its Pods, a CronJob's Jobs) is the same pods and is dropped;
 * a Pod whose controller is not there is named after it (`ns/web-5d9f[ReplicaSet]`), once for all its
 * replicas (the first in file order gives the labels and ports).
 */
function resolveOwners(parsed: readonly ParsedWorkload[]): Workload[] {
  const present = new Set(parsed.map((p) => `${p.namespace}/${p.kind}/${p.name}`));
  const out = new Map<string, Workload>();
  for (const p of parsed) {
    const { owner, ...w } = p;
    if (owner && present.has(`${p.namespace}/${owner.kind}/${owner.name}`)) continue;
    const named = owner && p.kind === "Pod" ? { ...w, name: owner.name, kind: owner.kind } : w;
    const key = `${named.namespace}/${named.name}[${named.kind}]`;
    if (!out.has(key)) out.set(key, named);
  }
  return [...out.values()];
}

function readIpBlock(r: ObjectReader, v: unknown, path: string): PolicyPeer | undefined {
  const m = r.map(v, path, true);
  if (!m) return undefined;
  r.onlyKeys(m, path, ["cidr", "except"]);
  const cidr = r.string(m.cidr, `${path}.cidr`, true);
  if (!cidr) return undefined;
  const range = cidrRange(r, cidr, `${path}.cidr`);
  if (!range) return undefined;
  let ranges: Range[] = [range];
  (r.list(m.except, `${path}.except`) ?? []).forEach((e, i) => {
    const ep = `${path}.except[${i}]`;
    const text = r.string(e, ep, true);
    const hole = text && cidrRange(r, text, ep);
    if (!hole) return;
    if (hole[0] < range[0] || hole[1] > range[1] || (hole[0] === range[0] && hole[1] === range[1])) {
      r.problem(ep, text, `a CIDR strictly inside ${cidr}`, "the API server rejects except entries outside the cidr; correct or remove it");
      return;
    }
    ranges = ranges.flatMap(([lo, hi]): Range[] => {
      if (hole[1] < lo || hole[0] > hi) return [[lo, hi]];
      const parts: Range[] = [];
      if (hole[0] > lo) parts.push([lo, hole[0] - 1]);
      if (hole[1] < hi) parts.push([hole[1] + 1, hi]);
      return parts;
    });
  });
  return { kind: "ipBlock", cidr, ranges: normalizeRanges(ranges) };
}

function cidrRange(r: ObjectReader, text: string, path: string): Range | undefined {
  const parsed = text.includes("/") ? parseRange(text) : null;
  if (!parsed) return r.problem(path, text, "a CIDR such as 10.0.0.0/8", "write the block as address/prefix-length");
  if (parsed.v !== 4) {
    return r.problem(path, text, "an IPv4 CIDR", "IPv6 blocks are not modelled (the external world is listed as IPv4 ranges, as netpol-analyzer does); analyze without this rule");
  }
  return [Number(parsed.lo), Number(parsed.hi)];
}

function readPeers(r: ObjectReader, v: unknown, path: string): readonly PolicyPeer[] | "all" {
  const list = r.list(v, path);
  if (!list || list.length === 0) return "all";
  const peers: PolicyPeer[] = [];
  list.forEach((p, i) => {
    const pp = `${path}[${i}]`;
    const m = r.map(p, pp, true);
    if (!m) return;
    r.onlyKeys(m, pp, ["podSelector", "namespaceSelector", "ipBlock"]);
    const hasIp = m.ipBlock !== undefined && m.ipBlock !== null;
    const hasPod = m.podSelector !== undefined && m.podSelector !== null;
    const hasNs = m.namespaceSelector !== undefined && m.namespaceSelector !== null;
    if (hasIp && (hasPod || hasNs)) {
      r.problem(pp, p, "either ipBlock, or podSelector and/or namespaceSelector", "split it into two peers");
      return;
    }
    if (!hasIp && !hasPod && !hasNs) {
      r.problem(pp, p, "a peer with podSelector, namespaceSelector or ipBlock", "name the peer; to allow every pod in every namespace write namespaceSelector: {}");
      return;
    }
    if (hasIp) {
      const peer = readIpBlock(r, m.ipBlock, `${pp}.ipBlock`);
      if (peer) peers.push(peer);
      return;
    }
    const podSelector = hasPod ? r.selector(m.podSelector, `${pp}.podSelector`) : undefined;
    const namespaceSelector = hasNs ? r.selector(m.namespaceSelector, `${pp}.namespaceSelector`) : undefined;
    peers.push({ kind: "selector", ...(podSelector ? { podSelector } : {}), ...(namespaceSelector ? { namespaceSelector } : {}) });
  });
  return peers;
}

function readPorts(r: ObjectReader, v: unknown, path: string): readonly PolicyPort[] | "all" {
  const list = r.list(v, path);
  if (!list || list.length === 0) return "all";
  const ports: PolicyPort[] = [];
  list.forEach((p, i) => {
    const pp = `${path}[${i}]`;
    const m = r.map(p, pp, true);
    if (!m) return;
    r.onlyKeys(m, pp, ["protocol", "port", "endPort"]);
    const protocol = r.protocol(m.protocol, `${pp}.protocol`);
    const hasPort = m.port !== undefined && m.port !== null;
    const port = hasPort ? r.portRef(m.port, `${pp}.port`) : undefined;
    let endPort: number | undefined;
    if (m.endPort !== undefined && m.endPort !== null) {
      endPort = r.portNumber(m.endPort, `${pp}.endPort`);
      if (endPort !== undefined && typeof port !== "number") {
        r.problem(`${pp}.endPort`, m.endPort, "endPort only with a numeric port", "give port as a number, or remove endPort");
        return;
      }
      if (endPort !== undefined && typeof port === "number" && endPort < port) {
        r.problem(`${pp}.endPort`, endPort, `a number no smaller than port (${port})`, "swap port and endPort, or correct endPort");
        return;
      }
    }
    if (!protocol || (hasPort && port === undefined)) return;
    ports.push({ protocol, ...(port !== undefined ? { port } : {}), ...(endPort !== undefined ? { endPort } : {}) });
  });
  return ports;
}

function readRules(r: ObjectReader, v: unknown, path: string, peerKey: "from" | "to"): PolicyRule[] {
  const list = r.list(v, path) ?? [];
  const rules: PolicyRule[] = [];
  list.forEach((rule, i) => {
    const rp = `${path}[${i}]`;
    // `- {}` (or a bare `-`) is the rule that allows everything.
    const m = rule === null ? {} : r.map(rule, rp, true);
    if (!m) return;
    r.onlyKeys(m, rp, [peerKey, "ports"]);
    rules.push({ peers: readPeers(r, m[peerKey], `${rp}.${peerKey}`), ports: readPorts(r, m.ports, `${rp}.ports`) });
  });
  return rules;
}

function readPolicy(r: ObjectReader, at: (p: string) => string, namespace: string, name: string, raw: RawObject): NetworkPolicy | undefined {
  const spec = r.map(raw.value.spec, at("spec"), true);
  if (!spec) return undefined;
  r.onlyKeys(spec, at("spec"), ["podSelector", "policyTypes", "ingress", "egress"]);
  if (spec.podSelector === undefined || spec.podSelector === null) {
    return r.problem(at("spec.podSelector"), spec.podSelector, "a pod selector (required)", "write podSelector: {} to select every pod of the namespace, or give matchLabels");
  }
  const podSelector = r.selector(spec.podSelector, at("spec.podSelector"));
  const types = r.list(spec.policyTypes, at("spec.policyTypes")) ?? [];
  types.forEach((t, i) => {
    if (t !== "Ingress" && t !== "Egress") r.problem(at(`spec.policyTypes[${i}]`), t, "Ingress or Egress", "write Ingress or Egress (capitalised)");
  });
  const ingress = readRules(r, spec.ingress, at("spec.ingress"), "from");
  const egress = readRules(r, spec.egress, at("spec.egress"), "to");
  // API defaulting: without policyTypes a policy is an Ingress policy, and an Egress one too when it has egress rules.
  const explicit = types.length > 0;
  const isolatesIngress = explicit ? types.includes("Ingress") : true;
  const isolatesEgress = explicit ? types.includes("Egress") : egress.length > 0;
  if (!podSelector) return undefined;
  return { namespace, name, podSelector, isolatesIngress, isolatesEgress, ingress: isolatesIngress ? ingress : [], egress: isolatesEgress ? egress : [], source: raw.source };
}

function readService(r: ObjectReader, at: (p: string) => string, namespace: string, name: string, raw: RawObject, warnings: string[]): Service | undefined {
  const spec = r.map(raw.value.spec, at("spec"), false) ?? {};
  const hasSelector = spec.selector !== undefined && spec.selector !== null;
  const selector = hasSelector ? r.labels(spec.selector, at("spec.selector")) : undefined;
  if (!selector || Object.keys(selector).length === 0) warnings.push(`Service ${namespace}/${name} has no selector: it selects no pods here (its endpoints are managed outside the manifests)`);
  const ports: ServicePort[] = [];
  (r.list(spec.ports, at("spec.ports")) ?? []).forEach((p, i) => {
    const pp = at(`spec.ports[${i}]`);
    const m = r.map(p, pp, true);
    if (!m) return;
    const port = r.portNumber(m.port, `${pp}.port`);
    const protocol = r.protocol(m.protocol, `${pp}.protocol`);
    const targetPort = m.targetPort === undefined || m.targetPort === null ? undefined : r.portRef(m.targetPort, `${pp}.targetPort`);
    const portName = m.name === undefined || m.name === null ? undefined : r.string(m.name, `${pp}.name`, true);
    if (port && protocol) ports.push({ port, protocol, ...(portName ? { name: portName } : {}), ...(targetPort !== undefined ? { targetPort } : {}) });
  });
  return { namespace, name, ...(selector && Object.keys(selector).length ? { selector } : {}), ports, source: raw.source };
}

function readBackend(r: ObjectReader, v: unknown, path: string, warnings: string[], object: string): IngressBackend | undefined {
  const m = r.map(v, path, true);
  if (!m) return undefined;
  if (m.service === undefined || m.service === null) {
    warnings.push(`${object}: ${path} has no service backend (a resource backend): ignored`);
    return undefined;
  }
  const s = r.map(m.service, `${path}.service`, true);
  if (!s) return undefined;
  const service = r.string(s.name, `${path}.service.name`, true);
  const portMap = r.map(s.port, `${path}.service.port`, false);
  let port: number | string | undefined;
  if (portMap) {
    r.onlyKeys(portMap, `${path}.service.port`, ["number", "name"]);
    if (portMap.number !== undefined && portMap.name !== undefined) {
      return r.problem(`${path}.service.port`, portMap, "either number or name", "keep one of the two");
    }
    if (portMap.number !== undefined) port = r.portNumber(portMap.number, `${path}.service.port.number`);
    else if (portMap.name !== undefined) port = r.string(portMap.name, `${path}.service.port.name`, true);
  }
  if (!service) return undefined;
  return { service, ...(port !== undefined ? { port } : {}) };
}

function readIngress(r: ObjectReader, at: (p: string) => string, namespace: string, name: string, raw: RawObject, warnings: string[]): Ingress | undefined {
  const spec = r.map(raw.value.spec, at("spec"), true);
  if (!spec) return undefined;
  const object = `Ingress ${namespace}/${name}`;
  const backends: IngressBackend[] = [];
  if (spec.defaultBackend !== undefined && spec.defaultBackend !== null) {
    const b = readBackend(r, spec.defaultBackend, at("spec.defaultBackend"), warnings, object);
    if (b) backends.push(b);
  }
  (r.list(spec.rules, at("spec.rules")) ?? []).forEach((rule, i) => {
    const rp = at(`spec.rules[${i}]`);
    const m = r.map(rule, rp, true);
    if (!m) return;
    const http = r.map(m.http, `${rp}.http`, false);
    if (!http) return;
    (r.list(http.paths, `${rp}.http.paths`) ?? []).forEach((p, j) => {
      const pp = `${rp}.http.paths[${j}]`;
      const pm = r.map(p, pp, true);
      if (!pm) return;
      const b = readBackend(r, pm.backend, `${pp}.backend`, warnings, object);
      if (b) backends.push(b);
    });
  });
  return { namespace, name, backends, source: raw.source };
}
