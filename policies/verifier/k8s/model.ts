/*
 * What the analyzer keeps of a directory of Kubernetes manifests: the objects that decide pod
 * connectivity, already validated (manifests.ts) so the evaluator never meets a malformed field.
 */
import type { Protocol, Range } from "./connset.js";

export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** A metav1.LabelSelector: matchLabels AND every matchExpressions requirement; empty selects everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly SelectorRequirement[];
}

/** Where an object came from, for messages: `dir/file.yaml (document 2)`. */
export type Source = string;

export interface ContainerPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** A workload (its pods share the template): the unit netpol-analyzer lists, `ns/name[Kind]`. */
export interface Workload {
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  readonly source: Source;
}

export interface Namespace {
  readonly name: string;
  readonly labels: Labels;
}

export type PolicyPeer =
  | { readonly kind: "ipBlock"; readonly cidr: string; readonly ranges: readonly Range[] }
  | { readonly kind: "selector"; readonly podSelector?: LabelSelector; readonly namespaceSelector?: LabelSelector };

export interface PolicyPort {
  readonly protocol: Protocol;
  /** absent: every port of the protocol; a name: resolved against the destination pod's container ports. */
  readonly port?: number | string;
  readonly endPort?: number;
}

/** One ingress or egress rule; "all" stands for an absent or empty `from`/`to`/`ports`. */
export interface PolicyRule {
  readonly peers: readonly PolicyPeer[] | "all";
  readonly ports: readonly PolicyPort[] | "all";
}

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** The effective policyTypes: explicit, or Ingress plus Egress when spec.egress is non-empty. */
  readonly isolatesIngress: boolean;
  readonly isolatesEgress: boolean;
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
  readonly source: Source;
}

export interface ServicePort {
  readonly name?: string;
  readonly port: number;
  /** absent: the same as `port`. */
  readonly targetPort?: number | string;
  readonly protocol: Protocol;
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  /** undefined or empty: the Service selects no pods (its endpoints are managed elsewhere). */
  readonly selector?: Labels;
  readonly ports: readonly ServicePort[];
  readonly source: Source;
}

export interface IngressBackend {
  readonly service: string;
  /** absent: every port of the Service. */
  readonly port?: number | string;
}

export interface Ingress {
  readonly namespace: string;
  readonly name: string;
  readonly backends: readonly IngressBackend[];
  readonly source: Source;
}

export interface K8sResources {
  readonly workloads: readonly Workload[];
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly policies: readonly NetworkPolicy[];
  readonly services: readonly Service[];
  readonly ingresses: readonly Ingress[];
  /** Non-fatal remarks (ignored kinds, Services without selectors, ...), sorted. */
  readonly warnings: readonly string[];
}

export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
