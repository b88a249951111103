import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { kubeObjectId, type KubeObject, type KubeStackSpec } from "../kube-spec.js";

type Args = { apiVersion?: string; kind?: string; metadata: KubeObject["metadata"]; spec?: KubeObject["spec"] };
type Ctor = new (name: string, args: Args, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** The typed resource of each kind the spec holds; a kind missing here is a bug, not a skip. */
const KINDS: Readonly<Record<string, Ctor>> = {
  Namespace: k8s.core.v1.Namespace as unknown as Ctor,
  Service: k8s.core.v1.Service as unknown as Ctor,
  Deployment: k8s.apps.v1.Deployment as unknown as Ctor,
  NetworkPolicy: k8s.networking.v1.NetworkPolicy as unknown as Ctor,
  // A custom resource (Calico's), declared with its apiVersion and kind.
  IPPool: k8s.apiextensions.CustomResource as unknown as Ctor,
};
const CUSTOM = new Set(["IPPool"]);

/**
 * A Kubernetes site in Pulumi: an explicit provider for the site's kubeconfig context, each object of
 * the spec as the typed resource of its kind (its inputs are the manifest's metadata and spec), all
 * parented to one component.
 */
export class KubeSiteComponent extends pulumi.ComponentResource {
  constructor(spec: KubeStackSpec) {
    super("palisade:index:KubeSite", spec.name, {}, {});
    const provider = new k8s.Provider(`${spec.name}-kubernetes`, { context: spec.kubeContext }, { parent: this });
    for (const o of spec.objects) {
      const ctor = KINDS[o.kind];
      if (!ctor) throw new Error(`no Pulumi resource for Kubernetes kind ${o.kind} (extend stacks/pulumi/kube-program.ts)`);
      const args: Args = JSON.parse(JSON.stringify({ ...(CUSTOM.has(o.kind) ? { apiVersion: o.apiVersion, kind: o.kind } : {}), metadata: o.metadata, ...(o.spec ? { spec: o.spec } : {}) })) as Args;
      new ctor(kubeObjectId(o), args, { parent: this, provider });
    }
    this.registerOutputs({});
  }
}
