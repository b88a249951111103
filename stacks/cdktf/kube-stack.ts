import { TerraformStack, type App } from "cdktf";
import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest/index.js";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider/index.js";
import { kubeObjectId, type KubeStackSpec } from "../kube-spec.js";
import { useLocalState } from "./backend.js";
import { tfId } from "./docker-stack.js";

/**
 * A Kubernetes site as a TerraformStack: each object of the spec is one `kubernetes_manifest`, the
 * manifest as the API server receives it. Secrets are references to Secrets created out of band.
 */
export class KubeSiteStack extends TerraformStack {
  constructor(scope: App, spec: KubeStackSpec) {
    super(scope, spec.name);
    useLocalState(this, spec.name);
    const provider = new KubernetesProvider(this, "kubernetes", { configPath: "~/.kube/config", configContext: spec.kubeContext });
    for (const o of spec.objects) {
      new Manifest(this, tfId(kubeObjectId(o)), { provider, manifest: JSON.parse(JSON.stringify(o)) as Record<string, unknown> });
    }
  }
}
