// The Pulumi capture of `plan --engine both`, in a worker thread (stacks/engines.ts startPulumiWorker):
// it loads the Pulumi SDK as soon as it starts, while the main thread reads the site and builds the
// platform, then captures the specs the main thread derived, sent in one message, while the main
// thread synthesizes cdktf.
import { parentPort } from "node:worker_threads";
import type { EngineWorkerInput, EngineWorkerOutput } from "./engines.js";
import { capturePulumiJobs, loadPulumiPrograms } from "./pulumi-jobs.js";

const answer = (m: EngineWorkerOutput) => parentPort!.postMessage(m);
const fail = (e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  answer({ error: { name: err.name, message: err.message, stack: err.stack } });
};
// Loading starts now; a failure to load is the capture's failure, answered when the jobs come.
loadPulumiPrograms().catch(() => undefined);
parentPort!.once("message", ({ jobs }: EngineWorkerInput) => {
  capturePulumiJobs(jobs).then((artifacts) => answer({ artifacts }), fail);
});
