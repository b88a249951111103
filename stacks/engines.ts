import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { Artifact, Site, Topology } from "../core/index.js";
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
 * `--engine cdktf` need not pay for them. With both engines, the Pulumi capture runs in a worker
 * thread (stacks/engine-worker.ts) while this thread synthesizes cdktf, when running compiled
 * (dist/); run from the TypeScript sources, both run here, one after the other.
 */
export async function renderEngines(t: Topology, engine: EngineChoice): Promise<Artifact[]> {
  const worker = engine === "both" ? pulumiInWorker(t) : undefined;
  // The worker's failure is reported when awaited below, not as an unhandled rejection meanwhile.
  worker?.catch(() => undefined);
  const out: Artifact[] = [];
  if (engine !== "pulumi") {
    const { synthCdktf } = await import("./cdktf/synth.js");
    out.push(...synthCdktf(t));
  }
  if (worker) out.push(...(await worker));
  else if (engine !== "cdktf") out.push(...(await renderPulumi(t)));
  return out;
}

/** The Pulumi capture of every stack, in this thread. */
export async function renderPulumi(t: Topology): Promise<Artifact[]> {
  const out: Artifact[] = [];
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
  return out;
}

/**
 * renderPulumi in a worker thread, which builds the same Topology from the same site (buildTopology
 * is deterministic); undefined when not running compiled (a worker cannot load the .ts sources).
 */
function pulumiInWorker(t: Topology): Promise<Artifact[]> | undefined {
  const script = new URL("./engine-worker.js", import.meta.url);
  if (!import.meta.url.endsWith(".js") || !existsSync(script)) return undefined;
  return new Promise<Artifact[]>((resolve, reject) => {
    const w = new Worker(script, { workerData: { site: t.site } satisfies EngineWorkerInput });
    let settled = false;
    w.once("message", (m: EngineWorkerOutput) => {
      settled = true;
      void w.terminate();
      if ("artifacts" in m) resolve(m.artifacts);
      else reject(Object.assign(new Error(m.error.message), { name: m.error.name, stack: m.error.stack }));
    });
    w.once("error", (e) => {
      settled = true;
      reject(e);
    });
    w.once("exit", (code) => {
      if (!settled) reject(new Error(`the Pulumi capture's worker thread exited (${code}) without its result`));
    });
  });
}

/** What stacks/engine-worker.ts receives and answers. */
export interface EngineWorkerInput {
  readonly site: Site;
}
export type EngineWorkerOutput = { readonly artifacts: Artifact[] } | { readonly error: { readonly name: string; readonly message: string; readonly stack?: string } };
