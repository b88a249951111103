import { Host, HostDaemon, Service, type FlowIntent, type IPeer, type Port, type Topology } from "../core/index.js";
import { AddressPeer, podPools } from "../core/index.js";
import { SERVICE_LABEL } from "../policies/verifier/k8s/segmentation.js";
import { imageRef, secretVariable } from "./docker-spec.js";

/*
 * The engine-neutral form of one host's resources when its private cloud is a Kubernetes cluster: plain
 * manifests (apiVersion, kind, metadata, spec), which cdktf declares as `kubernetes_manifest` resources
 * and Pulumi as the typed resources of the same kinds, so both engines carry the same objects, field for
 * field, and the verifier reads them back as manifests.
 *
 * - A namespace per service (its segment), with a Deployment, a Service and the namespace's policies,
 *   and its own Calico IP pool (cut from cloud.networkPool), so the node firewall can name its pods.
 * - Deployments to Pod Security `restricted`: non-root, read-only root, every capability dropped (only
 *   NET_BIND_SERVICE may come back), no privilege escalation, seccomp RuntimeDefault, no service-account
 *   token; writable paths are memory emptyDirs; secrets are references to Secrets created out of band;
 *   Docker volumes are PersistentVolumeClaims, host files ConfigMaps or Secrets, all created out of band.
 * - NetworkPolicies: in each namespace a default deny of ingress and egress, DNS egress to kube-dns, and
 *   for each declared flow one allow on each side (the source's egress, the destination's ingress).
 * - Published ports (the ingress on the tunnel address) become the Service's externalIPs.
 */

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec?: Readonly<Record<string, unknown>>;
}

export interface KubeStackSpec {
  readonly name: string;
  /** The kubeconfig context the engines deploy to. */
  readonly kubeContext: string;
  /** Sorted by kind order (namespaces first), then namespace, then name. */
  readonly objects: readonly KubeObject[];
  /** Secrets the workloads reference (created out of band, never rendered), sorted. */
  readonly secretRefs: readonly string[];
  /** Host-network services of the host: node agents that run on the node, not as pods (sorted). */
  readonly nodeAgents: readonly string[];
}

/** A service the restricted profile cannot run, with the fix. */
export class KubeRenderError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`cannot render for Kubernetes (Pod Security restricted):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "KubeRenderError";
  }
}

const NAME_LABEL = "kubernetes.io/metadata.name";
const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
const KIND_ORDER = ["IPPool", "Namespace", "Service", "Deployment", "NetworkPolicy"];
/** Calico's per-namespace IP pool selection: the namespace's pods get addresses from these pools only. */
export const POOL_ANNOTATION = "cni.projectcalico.org/ipv4pools";
const poolName = (namespace: string) => `palisade-${namespace}`;

function portName(p: Port): string {
  return `${p.protocol}-${p.from}${p.to !== p.from ? `-${p.to}` : ""}`;
}

function policyPort(p: Port): Record<string, unknown> {
  return { protocol: p.protocol.toUpperCase(), port: p.from, ...(p.to !== p.from ? { endPort: p.to } : {}) };
}

function ipv4Blocks(cidrs: readonly string[]): Record<string, unknown>[] {
  return cidrs
    .map((c) => c.split("/")[0]!.includes(":") ? null : c.includes("/") ? c : `${c}/32`)
    .filter((c): c is string => c !== null)
    .sort()
    .map((cidr) => ({ ipBlock: { cidr } }));
}

/** The peer of a rule: a service of this host by its namespace and label, anything else by its IPv4 addresses. */
function rulePeers(peer: IPeer, hostId: string): Record<string, unknown>[] {
  if (peer instanceof Service && peer.host.id === hostId) {
    return [{ namespaceSelector: { matchLabels: { [NAME_LABEL]: peer.id } }, podSelector: { matchLabels: { [SERVICE_LABEL]: peer.id } } }];
  }
  if (peer instanceof AddressPeer) return ipv4Blocks(peer.cidrs);
  if (peer instanceof HostDaemon) return ipv4Blocks(peer.host.addresses);
  if (peer instanceof Host) return ipv4Blocks(peer.addresses);
  if (peer instanceof Service) return ipv4Blocks(peer.host.addresses);
  return [];
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 50);

/**
 * A Docker mount as a volume the restricted profile admits (it forbids hostPath): a named volume is
 * the PersistentVolumeClaim of that name; a host path under /etc/palisade/secrets/ the Secret
 * `palisade-<path>`, any other /etc/palisade/ path the ConfigMap `palisade-<path>` (a file is the
 * key of its directory's ConfigMap, mounted by subPath). Claims, ConfigMaps and Secrets are created
 * out of band from the rendered host files and `.palisade/secrets/`: no file content or secret
 * enters the manifests.
 */
function mountVolume(m: { kind: "bind" | "volume"; source: string; target: string; readOnly: boolean }): { volume: Record<string, unknown>; mount: Record<string, unknown> } {
  const readOnly = m.readOnly ? { readOnly: true } : {};
  if (m.kind === "volume") {
    const name = `pvc-${slug(m.source)}`;
    return { volume: { name, persistentVolumeClaim: { claimName: m.source, ...readOnly } }, mount: { name, mountPath: m.target, ...readOnly } };
  }
  const rel = m.source.replace(/^\/etc\/palisade\//, "");
  const file = /\.[a-z0-9]+$/i.test(rel) ? rel.split("/").pop()! : undefined;
  const dir = file ? rel.slice(0, -file.length - 1) : rel;
  const object = `palisade-${slug(dir)}`;
  const secret = dir === "secrets" || dir.startsWith("secrets/");
  const name = `${secret ? "secret" : "cm"}-${slug(dir)}`;
  const volume = secret ? { name, secret: { secretName: object } } : { name, configMap: { name: object } };
  return { volume, mount: { name, mountPath: m.target, ...(file ? { subPath: file } : {}), readOnly: true } };
}

/** A volume mounted at two paths (a directory and one of its files) is declared once. */
function uniqueVolumes(volumes: Record<string, unknown>[]): Record<string, unknown>[] {
  const byName = new Map(volumes.map((v) => [String(v.name), v] as const));
  return [...byName.keys()].sort().map((k) => byName.get(k)!);
}

function uidGid(user: string): { uid: number; gid: number } | null {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  return m ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) } : null;
}

function deployment(svc: Service, problems: string[]): KubeObject {
  const p = svc.props;
  const user = p.user ?? "65534:65534";
  const ids = uidGid(user);
  if (!ids || ids.uid === 0) problems.push(`service ${svc.id}: user ${JSON.stringify(user)}: restricted pods run as a non-root numeric uid; give user "uid:gid" with uid > 0`);
  if (p.hostNetwork) problems.push(`service ${svc.id}: hostNetwork: restricted pods stay on the pod network; remove hostNetwork`);
  for (const c of p.capAdd ?? []) {
    if (c.cap !== "NET_BIND_SERVICE") problems.push(`service ${svc.id}: capability ${c.cap}: restricted allows only NET_BIND_SERVICE back; drop it (${c.reason})`);
  }
  const mounted = (p.mounts ?? []).map(mountVolume);
  const tmpfs = [...(p.tmpfs ?? [])].sort();
  const volumeName = (i: number) => `tmp-${i}`;
  const env = [
    ...Object.entries(p.env ?? {}).map(([name, value]) => ({ name, value })),
    ...Object.entries(p.secretEnv ?? {}).map(([name, id]) => ({ name, valueFrom: { secretKeyRef: { name: id, key: "value" } } })),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  const labels = { [SERVICE_LABEL]: svc.id };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: svc.id, namespace: svc.id, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: ids?.uid ?? 65534, runAsGroup: ids?.gid ?? 65534, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: svc.id,
              image: imageRef(svc),
              ...(p.command?.length ? { command: [...p.command] } : {}),
              ports: p.listens.map((l) => ({ name: portName(l), containerPort: l.from, protocol: l.protocol.toUpperCase() })),
              env,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"], ...(p.capAdd?.some((c) => c.cap === "NET_BIND_SERVICE") ? { add: ["NET_BIND_SERVICE"] } : {}) },
              },
              resources: { limits: { memory: `${p.memoryMb}Mi` }, requests: { memory: `${p.memoryMb}Mi` } },
              volumeMounts: [...tmpfs.map((mountPath, i) => ({ name: volumeName(i), mountPath })), ...mounted.map((m) => m.mount)],
            },
          ],
          volumes: [...tmpfs.map((_, i) => ({ name: volumeName(i), emptyDir: { medium: "Memory", sizeLimit: "64Mi" } })), ...uniqueVolumes(mounted.map((m) => m.volume))],
        },
      },
    },
  };
}

function service(svc: Service): KubeObject {
  const external = [...new Set((svc.props.publish ?? []).map((pp) => pp.hostIp))].sort();
  // A published Service carries only its published ports: externalIPs expose every port of the Service.
  const published = new Set((svc.props.publish ?? []).map((pp) => `${pp.port.protocol}/${pp.containerPort}`));
  const ports = svc.props.listens
    .filter((l) => published.size === 0 || published.has(`${l.protocol}/${l.from}`))
    .map((l) => ({ name: portName(l), port: l.from, targetPort: l.from, protocol: l.protocol.toUpperCase() }));
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: svc.id, namespace: svc.id, labels: { [SERVICE_LABEL]: svc.id } },
    // Local: kube-proxy keeps the edge's source address (the ingress admits PROXY protocol from it only).
    spec: { selector: { [SERVICE_LABEL]: svc.id }, ports, ...(external.length ? { externalIPs: external, externalTrafficPolicy: "Local" } : {}) },
  };
}

function policy(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec };
}

/** One allow per flow and side; a flow whose far end has no address the cluster can name gets none. */
function flowPolicies(flow: FlowIntent, hostId: string, pods: ReadonlySet<string>): KubeObject[] {
  const out: KubeObject[] = [];
  const port = [policyPort(flow.port)];
  const local = (p: IPeer): p is Service => p instanceof Service && p.host.id === hostId && pods.has(p.id);
  if (local(flow.from)) {
    const to = rulePeers(flow.to, hostId);
    if (to.length) {
      out.push(policy(flow.from.id, `egress-to-${flow.to.id.replace(/[^a-z0-9-]/g, "-")}-${portName(flow.port)}`, {
        podSelector: { matchLabels: { [SERVICE_LABEL]: flow.from.id } },
        policyTypes: ["Egress"],
        egress: [{ to, ports: port }],
      }));
    }
  }
  if (local(flow.to)) {
    const from = rulePeers(flow.from, hostId);
    if (from.length) {
      out.push(policy(flow.to.id, `ingress-from-${flow.from.id.replace(/[^a-z0-9-]/g, "-")}-${portName(flow.port)}`, {
        podSelector: { matchLabels: { [SERVICE_LABEL]: flow.to.id } },
        policyTypes: ["Ingress"],
        ingress: [{ from, ports: port }],
      }));
    }
  }
  return out;
}

export function kubeStackSpec(t: Topology, hostId: string, kubeContext: string): KubeStackSpec {
  const problems: string[] = [];
  const objects: KubeObject[] = [];
  // Host-network services are the node's own agents (the uplink failover agent changes the node's
  // routes): they run on the node, not as pods, so the cluster does not declare them.
  const all = t.servicesOn(hostId);
  const services = t.podsOn(hostId);
  const pools = podPools(t.site.sites.find((s) => s.id === hostId) ?? t.site.cloud, services.map((s) => s.id));
  for (const svc of services) {
    // The namespace enforces the profile the Deployments are written to (the API server refuses a pod
    // that breaks it) and draws its pods' addresses from its own pool, which the node firewall names.
    objects.push({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: svc.id, labels: { [SERVICE_LABEL]: svc.id, [ENFORCE_LABEL]: "restricted" }, annotations: { [POOL_ANNOTATION]: JSON.stringify([poolName(svc.id)]) } },
    });
    objects.push({
      apiVersion: "crd.projectcalico.org/v1",
      kind: "IPPool",
      metadata: { name: poolName(svc.id) },
      // No encapsulation and no NAT by Calico: the node routes the pods and its firewall masquerades.
      spec: { cidr: pools.get(svc.id)!, ipipMode: "Never", vxlanMode: "Never", natOutgoing: false, nodeSelector: "all()" },
    });
    objects.push(deployment(svc, problems), service(svc));
    objects.push(policy(svc.id, "default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }));
    objects.push(
      policy(svc.id, "dns-egress", {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { [NAME_LABEL]: "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
            ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
          },
        ],
      }),
    );
  }
  const pods = new Set(services.map((s) => s.id));
  for (const flow of t.ledger.flows) objects.push(...flowPolicies(flow, hostId, pods));
  if (problems.length) throw new KubeRenderError(problems);
  const key = (o: KubeObject) => [KIND_ORDER.indexOf(o.kind), o.metadata.namespace ?? "", o.metadata.name] as const;
  objects.sort((a, b) => {
    const [ka, na, ma] = key(a);
    const [kb, nb, mb] = key(b);
    return ka - kb || (na < nb ? -1 : na > nb ? 1 : 0) || (ma < mb ? -1 : ma > mb ? 1 : 0);
  });
  const secretRefs = [...new Set(services.flatMap((s) => Object.values(s.props.secretEnv ?? {})))].map(secretVariable).sort();
  const nodeAgents = all.filter((s) => s.props.hostNetwork).map((s) => s.id).sort();
  return { name: hostId, kubeContext, objects, secretRefs, nodeAgents };
}

/** A stack rendered as a Kubernetes cluster: a private-cloud site whose `engine` is kubernetes. */
export function isKubeStack(t: Topology, stack: string): boolean {
  return t.site.sites.some((s) => s.id === stack && s.engine === "kubernetes");
}

/** The kubeconfig context both engines deploy a Kubernetes site to. */
export function kubeContextOf(t: Topology): string {
  return `palisade-${t.site.site.name}`;
}

/** A Kubernetes site's spec (the stack named after the site). */
export function siteKubeSpec(t: Topology, stack: string): KubeStackSpec {
  return kubeStackSpec(t, stack, kubeContextOf(t));
}

/** Terraform/Pulumi-safe resource id of a manifest: `networkpolicy-api-default-deny`. */
export function kubeObjectId(o: KubeObject): string {
  return [o.kind.toLowerCase(), o.metadata.namespace, o.metadata.name].filter(Boolean).join("-");
}
