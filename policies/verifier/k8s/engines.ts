/*
 * A Kubernetes site's rendered stacks read back as manifests, from the artifacts alone: the Terraform
 * JSON's `kubernetes_manifest` resources (their `manifest` is the object the provider applies) and the
 * Pulumi capture's `kubernetes:<group>/<version>:<Kind>` resources (their inputs are the object's fields;
 * the type token gives apiVersion and kind). Both go through the one manifest reader and NetworkPolicy
 * evaluator of `palisade k8s`, so the verifier and the analyzer cannot disagree on what a policy means.
 * A Kubernetes resource type the reader does not map is an error, never skipped.
 */
import { K8sManifestError, parseManifests } from "./manifests.js";
import type { K8sResources } from "./model.js";

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function fromManifests(where: string, items: { value: unknown; source: string }[]): K8sResources {
  // One file per source, so a problem names the resource it came from.
  return parseManifests(
    where,
    items.map((i) => ({ name: i.source, text: JSON.stringify(i.value) })),
  );
}

function unmapped(where: string, source: string, type: string): never {
  throw new K8sManifestError(where, [
    { source, object: "", path: "(type)", given: JSON.stringify(type), expected: "a Kubernetes resource type the verifier reads (kubernetes_manifest)", fix: "declare Kubernetes objects as kubernetes_manifest resources, or extend policies/verifier/k8s/engines.ts" },
  ]);
}

export interface RawManifest {
  readonly value: unknown;
  /** Where in the artifact: `resource.kubernetes_manifest.x` or `resources[x]`. */
  readonly source: string;
}

/** The manifests of a cdktf stack (`cdk.tf.json`), as written. */
export function manifestsFromTerraform(where: string, tf: unknown): RawManifest[] {
  const resources = isMap(tf) && isMap(tf.resource) ? tf.resource : {};
  const items: { value: unknown; source: string }[] = [];
  for (const type of Object.keys(resources).sort()) {
    if (!type.startsWith("kubernetes_")) continue;
    const byName = resources[type];
    if (type !== "kubernetes_manifest") unmapped(where, `resource.${type}`, type);
    for (const name of Object.keys(isMap(byName) ? byName : {}).sort()) {
      const r = (byName as Json)[name];
      items.push({ value: isMap(r) ? r.manifest : r, source: `resource.kubernetes_manifest.${name}` });
    }
  }
  return items;
}

/** The manifests of a Pulumi capture (`pulumi/<stack>.json`), apiVersion and kind from the type token. */
export function manifestsFromPulumi(where: string, capture: unknown): RawManifest[] {
  const list = isMap(capture) && Array.isArray(capture.resources) ? capture.resources : [];
  const items: { value: unknown; source: string }[] = [];
  for (const r of list) {
    if (!isMap(r) || typeof r.type !== "string" || !r.type.startsWith("kubernetes:")) continue;
    const source = `resources[${String(r.name)}]`;
    const m = /^kubernetes:([a-z0-9.]+)\/(v[0-9a-z]+):([A-Za-z]+)$/.exec(r.type);
    if (!m) {
      if (r.type === "pulumi:providers:kubernetes") continue;
      unmapped(where, source, r.type);
    }
    const [, group, version, kind] = m;
    const inputs = isMap(r.inputs) ? r.inputs : {};
    items.push({ value: { ...inputs, apiVersion: group === "core" ? version : `${group}/${version}`, kind }, source });
  }
  return items;
}

export function kubeFromTerraform(where: string, tf: unknown): K8sResources {
  return fromManifests(where, manifestsFromTerraform(where, tf));
}

export function kubeFromPulumi(where: string, capture: unknown): K8sResources {
  return fromManifests(where, manifestsFromPulumi(where, capture));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isMap(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

function keyOf(v: unknown): string {
  const m = isMap(v) ? v : {};
  const meta = isMap(m.metadata) ? m.metadata : {};
  return `${String(m.kind)} ${meta.namespace === undefined ? "" : `${String(meta.namespace)}/`}${String(meta.name)}`;
}

/**
 * Engine parity of a Kubernetes site: the same objects, field for field, in both engines' artifacts.
 * One line per object declared by one engine only or declared differently.
 */
export function kubeParity(cdktf: readonly RawManifest[], pulumi: readonly RawManifest[]): string[] {
  const index = (ms: readonly RawManifest[]) => new Map(ms.map((m) => [keyOf(m.value), JSON.stringify(canonical(m.value))] as const));
  const a = index(cdktf);
  const b = index(pulumi);
  const out: string[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (!b.has(k)) out.push(`${k}: declared only by cdktf`);
    else if (!a.has(k)) out.push(`${k}: declared only by pulumi`);
    else if (a.get(k) !== b.get(k)) out.push(`${k}: declared differently (cdktf ${a.get(k)}, pulumi ${b.get(k)})`);
  }
  return out;
}
