// The Pulumi capture of `plan --engine both`, in a worker thread (stacks/engines.ts pulumiInWorker):
// it runs while the main thread synthesizes cdktf. The same Topology, built from the same site.
import { parentPort, workerData } from "node:worker_threads";
import { renderPulumi, type EngineWorkerInput, type EngineWorkerOutput } from "./engines.js";
import { buildTopology } from "./platform.js";

const { site } = workerData as EngineWorkerInput;
const answer = (m: EngineWorkerOutput) => parentPort!.postMessage(m);
renderPulumi(buildTopology(site)).then(
  (artifacts) => answer({ artifacts }),
  (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    answer({ error: { name: err.name, message: err.message, stack: err.stack } });
  },
);
