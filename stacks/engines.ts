import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { Artifact, Topology } from "../core/index.js";
import { capturePulumiJobs, type PulumiJob } from "./pulumi-jobs.js";
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
 * (dist/); run from the TypeScript sources, both run here, one after the other. A caller that
 * started the worker earlier (startPulumiWorker, so that it loads the SDK while the site is read
 * and the platform built) passes it in; it is closed here either way.
 */
export async function renderEngines(t: Topology, engine: EngineChoice, early?: PulumiWorker): Promise<Artifact[]> {
  const pulumiWorker = engine === "both" ? (early ?? startPulumiWorker()) : undefined;
  if (engine !== "both") early?.close();
  try {
    const worker = pulumiWorker?.capture(pulumiJobs(t));
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
  } finally {
    pulumiWorker?.close();
  }
}

/** The Pulumi capture of every stack, in this thread. */
export function renderPulumi(t: Topology): Promise<Artifact[]> {
  return capturePulumiJobs(pulumiJobs(t));
}

/** What the Pulumi capture needs of the Topology: each stack's engine-neutral spec, in order. */
export function pulumiJobs(t: Topology): PulumiJob[] {
  const jobs: PulumiJob[] = dockerStacks(t).map((stack) => (isKubeStack(t, stack) ? { kind: "kube", stack, spec: siteKubeSpec(t, stack) } : { kind: "docker", stack, spec: stackSpec(t, stack) }));
  return [...jobs, { kind: "secrets", spec: secretsStackSpec(t.site) }];
}

/** A worker thread that loads the Pulumi SDK as soon as it starts and captures the jobs it is given once. */
export interface PulumiWorker {
  capture(jobs: readonly PulumiJob[]): Promise<Artifact[]>;
  /** Ends the thread (done, or not needed: a plan refused for bad input). */
  close(): void;
}

/**
 * Starts the worker of the Pulumi capture; undefined when not running compiled (a worker cannot
 * load the .ts sources). The thread does not keep the process alive: a caller that returns early
 * without capture() or close() still exits.
 */
export function startPulumiWorker(): PulumiWorker | undefined {
  const script = new URL("./engine-worker.js", import.meta.url);
  if (!import.meta.url.endsWith(".js") || !existsSync(script)) return undefined;
  const w = new Worker(script);
  w.unref();
  let settled = false;
  let closed = false;
  const result = new Promise<Artifact[]>((resolve, reject) => {
    w.once("message", (m: EngineWorkerOutput) => {
      settled = true;
      if ("artifacts" in m) resolve(m.artifacts);
      else reject(Object.assign(new Error(m.error.message), { name: m.error.name, stack: m.error.stack }));
    });
    w.once("error", (e) => {
      settled = true;
      reject(e);
    });
    w.once("exit", (code) => {
      if (!settled && !closed) reject(new Error(`the Pulumi capture's worker thread exited (${code}) without its result`));
    });
  });
  result.catch(() => undefined);
  return {
    capture(jobs) {
      // Awaited: the thread keeps the process alive until it answers.
      w.ref();
      w.postMessage({ jobs } satisfies EngineWorkerInput);
      return result;
    },
    close() {
      if (closed) return;
      closed = true;
      void w.terminate();
    },
  };
}

/** What stacks/engine-worker.ts receives and answers. */
export interface EngineWorkerInput {
  readonly jobs: readonly PulumiJob[];
}
export type EngineWorkerOutput = { readonly artifacts: Artifact[] } | { readonly error: { readonly name: string; readonly message: string; readonly stack?: string } };
