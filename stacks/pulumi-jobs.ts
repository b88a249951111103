// The Pulumi capture of a list of stack specs: what renderPulumi runs in this thread and the
// worker thread of `plan --engine both` runs there (stacks/engine-worker.ts). It takes plain specs,
// not the Topology, so that the worker loads only the Pulumi programs and the SDK.
import type { Artifact } from "../core/index.js";
import type { StackSpec } from "./docker-spec.js";
import type { KubeStackSpec } from "./kube-spec.js";
import type { SecretsStackSpec } from "./secrets-spec.js";

export type PulumiJob =
  | { readonly kind: "docker"; readonly stack: string; readonly spec: StackSpec }
  | { readonly kind: "kube"; readonly stack: string; readonly spec: KubeStackSpec }
  | { readonly kind: "secrets"; readonly spec: SecretsStackSpec };

const importPrograms = () => Promise.all([import("./pulumi/capture.js"), import("./pulumi/program.js"), import("./pulumi/secrets-program.js")]);
let programs: ReturnType<typeof importPrograms> | undefined;

/** The capture and the Docker and secrets programs, with the Pulumi SDK (the bulk of the time). Loaded once. */
export function loadPulumiPrograms(): ReturnType<typeof importPrograms> {
  return (programs ??= (async () => {
    const { deferPulumiClosureModules } = await import("./pulumi/defer-sdk-modules.js");
    deferPulumiClosureModules();
    return importPrograms();
  })());
}

/**
 * The capture in progress in this thread. The Pulumi SDK keeps its runtime settings (the mocks, the
 * stack, the registered resources) in module state, one per thread: two captures that interleave
 * register into each other's stacks. So the captures of one thread take turns; each worker thread
 * has an SDK of its own.
 */
let inProgress: Promise<unknown> = Promise.resolve();

/** Each job's captured resources as its artifact (`pulumi/<stack>.json`), in the jobs' order. */
export function capturePulumiJobs(jobs: readonly PulumiJob[]): Promise<Artifact[]> {
  const turn = inProgress.then(() => captureInTurn(jobs));
  inProgress = turn.catch(() => undefined);
  return turn;
}

async function captureInTurn(jobs: readonly PulumiJob[]): Promise<Artifact[]> {
  const [{ captureArtifact, capturePulumi }, { DockerHostComponent }, { SecretsComponent }] = await loadPulumiPrograms();
  const out: Artifact[] = [];
  for (const job of jobs) {
    if (job.kind === "kube") {
      const { KubeSiteComponent } = await import("./pulumi/kube-program.js");
      const spec = job.spec;
      out.push(captureArtifact(job.stack, await capturePulumi({ name: spec.name, variables: [] }, () => new KubeSiteComponent(spec))));
    } else if (job.kind === "docker") {
      const spec = job.spec;
      out.push(captureArtifact(job.stack, await capturePulumi(spec, (config) => new DockerHostComponent(spec, config))));
    } else {
      const spec = job.spec;
      out.push(captureArtifact(spec.name, await capturePulumi(spec, (config) => new SecretsComponent(spec, config))));
    }
  }
  return out;
}
