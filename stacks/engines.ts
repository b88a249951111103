import type { Artifact, Topology } from "../core/index.js";
import { synthCdktf } from "./cdktf/synth.js";
import { DOCKER_STACKS, stackSpec } from "./docker-spec.js";
import { captureArtifact, capturePulumi } from "./pulumi/capture.js";
import { DockerHostComponent } from "./pulumi/program.js";
import { SecretsComponent } from "./pulumi/secrets-program.js";
import { secretsStackSpec } from "./secrets-spec.js";

export type EngineChoice = "cdktf" | "pulumi" | "both";

/** Engine output for every stack: Terraform JSON and/or the Pulumi capture. */
export async function renderEngines(t: Topology, engine: EngineChoice): Promise<Artifact[]> {
  const out: Artifact[] = [];
  if (engine !== "pulumi") out.push(...synthCdktf(t));
  if (engine !== "cdktf") {
    for (const stack of DOCKER_STACKS) {
      const spec = stackSpec(t, stack);
      out.push(captureArtifact(stack, await capturePulumi(spec, (config) => new DockerHostComponent(spec, config))));
    }
    const secrets = secretsStackSpec(t.site);
    out.push(captureArtifact(secrets.name, await capturePulumi(secrets, (config) => new SecretsComponent(secrets, config))));
  }
  return out;
}
