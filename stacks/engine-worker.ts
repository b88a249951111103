// The Pulumi capture of `plan --engine both`, in a worker thread (stacks/engines.ts pulumiInWorker):
// it runs while the main thread synthesizes cdktf, on the specs the main thread derived.
import { parentPort, workerData } from "node:worker_threads";
import type { EngineWorkerInput, EngineWorkerOutput } from "./engines.js";
import { capturePulumiJobs } from "./pulumi-jobs.js";

const { jobs } = workerData as EngineWorkerInput;
const answer = (m: EngineWorkerOutput) => parentPort!.postMessage(m);
capturePulumiJobs(jobs).then(
  (artifacts) => answer({ artifacts }),
  (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    answer({ error: { name: err.name, message: err.message, stack: err.stack } });
  },
);
