import type { Artifact, Topology } from "../core/index.js";
import { dockerStacks, stackSpec } from "./docker-spec.js";
import { secretsStackSpec } from "./secrets-spec.js";
import { siteKubeSpec, isKubeStack } from "./kube-spec.js";

export type EngineChoice = "cdktf" | "pulumi" | "both";

/** Where a stack's engine output is, relative to the output directory: what deploy applies and the lab's applier reads. */
export function stackArtifactPath(stack: string, engine: "cdktf" | "pulumi"): string {
  return engine === "cdktf" ? `cdktf/stacks/${stack}/cdk.tf.json` : `pulumi/${stack}.json`;
}

/**
 * Engine output for every stack: Terraform JSON and/or the Pulumi capture. The engine SDKs are
 * loaded only here, on demand: they take most of a second each, and `--help`, `verify` or
 * `--engine cdktf` need not pay for them.
 */
export async function renderEngines(t: Topology, engine: EngineChoice): Promise<Artifact[]> {
  const out: Artifact[] = [];
  if (engine !== "pulumi") {
    const { synthCdktf } = await import("./cdktf/synth.js");
    out.push(...synthCdktf(t));
  }
  if (engine !== "cdktf") {
    const { deferPulumiClosureModules } = await import("./pulumi/defer-sdk-modules.js");
    deferPulumiClosureModules();
    const [{ captureArtifact, capturePulumi }, { DockerHostComponent }, { SecretsComponent }] = await Promise.all([
      import("./pulumi/capture.js"),
      import("./pulumi/program.js"),
      import("./pulumi/secrets-program.js"),
    ]);
    for (const stack of dockerStacks(t)) {
      if (isKubeStack(t, stack)) {
        const { KubeSiteComponent } = await import("./pulumi/kube-program.js");
        const spec = siteKubeSpec(t, stack);
        out.push(captureArtifact(stack, await capturePulumi({ name: spec.name, variables: [] }, () => new KubeSiteComponent(spec))));
        continue;
      }
      const spec = stackSpec(t, stack);
      out.push(captureArtifact(stack, await capturePulumi(spec, (config) => new DockerHostComponent(spec, config))));
    }
    const secrets = secretsStackSpec(t.site);
    out.push(captureArtifact(secrets.name, await capturePulumi(secrets, (config) => new SecretsComponent(secrets, config))));
  }
  return out;
}
