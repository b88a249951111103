import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import type { Artifact, Topology } from "../../core/index.js";
import { dockerStacks, stackSpec } from "../docker-spec.js";
import { DockerHostStack } from "./docker-stack.js";
import { KubeSiteStack } from "./kube-stack.js";
import { siteKubeSpec, isKubeStack } from "../kube-spec.js";
import { SecretsStack } from "./secrets-stack.js";
import { secretsStackSpec } from "../secrets-spec.js";

/** Builds the cdktf App: one stack per Docker host (the edge, each site), or the cloud's cluster when its engine is kubernetes. `cdktf synth` (main.ts) and `plan` share it. */
export function buildCdktfApp(t: Topology, outdir: string): App {
  const app = new App({ outdir, skipValidation: false });
  for (const host of dockerStacks(t)) {
    if (isKubeStack(t, host)) new KubeSiteStack(app, siteKubeSpec(t, host));
    else new DockerHostStack(app, stackSpec(t, host));
  }
  new SecretsStack(app, secretsStackSpec(t.site));
  return app;
}

/** Synthesizes every stack and returns `cdktf/stacks/<stack>/cdk.tf.json` artifacts. */
export function synthCdktf(t: Topology): Artifact[] {
  const dir = mkdtempSync(join(tmpdir(), "palisade-cdktf-"));
  try {
    buildCdktfApp(t, dir).synth();
    return [...dockerStacks(t), "secrets"].map((s) => ({
      path: `cdktf/stacks/${s}/cdk.tf.json`,
      content: normalizeTfJson(readFileSync(join(dir, "stacks", s, "cdk.tf.json"), "utf8")),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sorted keys, two-space indent: stable bytes whatever order cdktf emits in. */
export function normalizeTfJson(text: string): string {
  return `${JSON.stringify(sortKeys(JSON.parse(text)), null, 2)}\n`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}
