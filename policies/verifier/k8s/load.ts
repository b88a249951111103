/*
 * A directory of manifests from disk: every .yaml/.yml/.json file under it, sorted. A JSON file that is a
 * rendered stack (Terraform JSON with kubernetes_manifest resources, or a Pulumi capture with
 * kubernetes: resources) contributes the objects it declares, so `palisade k8s list --dir
 * out/cdktf/stacks/<site>` lists a rendered Kubernetes site as the verifier reads it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { manifestsFromPulumi, manifestsFromTerraform } from "./engines.js";
import { K8sManifestError, parseManifests } from "./manifests.js";
import type { K8sResources } from "./model.js";

/** The objects of one file: its text, or the manifests a rendered stack in it declares. */
function filesOf(name: string, text: string): { name: string; text: string }[] {
  if (!/\.json$/i.test(name)) return [{ name, text }];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [{ name, text }]; // the manifest reader reports the syntax error
  }
  const m = typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  if (!m || "kind" in m) return [{ name, text }];
  const items = "resource" in m ? manifestsFromTerraform(name, m) : Array.isArray(m.resources) ? manifestsFromPulumi(name, m) : undefined;
  if (!items) return [{ name, text }];
  return items.map((i) => ({ name: `${name} ${i.source}`, text: JSON.stringify(i.value) }));
}

function manifestFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ya?ml|json)$/i.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Reads every .yaml/.yml/.json file under `dir`; throws K8sManifestError listing every problem. */
export function loadManifestDir(dir: string): K8sResources {
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    files = manifestFiles(dir);
  } catch {
    throw new K8sManifestError(dir, [
      { source: dir, object: "", path: "--dir", given: JSON.stringify(dir), expected: "a directory of Kubernetes manifests", fix: "give the path of a directory that exists" },
    ]);
  }
  return parseManifests(
    dir,
    files.flatMap((f) => filesOf(relative(dir, f) || f, readFileSync(f, "utf8"))),
  );
}

