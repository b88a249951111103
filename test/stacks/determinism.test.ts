import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { dockerStacks, stackSpec } from "../../stacks/docker-spec.js";
import { SECRET_PLACEHOLDER } from "../../stacks/pulumi/capture.js";
import { isKubeStack, siteKubeSpec } from "../../stacks/kube-spec.js";
import { buildTopology } from "../../stacks/platform.js";
import { hashTree, runCliProcess } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { planInto, planOnce, type PlannedOutput } from "../helpers/plan-once.js";
import { siteFiles } from "../policies/planned-sites.js";

/** Every file of an output directory: path → text. */
function files(dir: string): Map<string, string> {
  return new Map(Object.keys(hashTree(dir)).filter((p) => !p.endsWith("/")).map((p) => [p, readFileSync(join(dir, p), "utf8")]));
}

const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|_KEY)$/;

/*
 * Every example plans to the same bytes twice and writes no secret, timestamp or local path. The
 * first site's second plan is a separate process: the bytes do not depend on the process either.
 */
describe.each(siteFiles())("the plan of %s is deterministic and secret-free", ({ file }) => {
  const topology = buildTopology(loadSite(file));
  let first: PlannedOutput;
  let all: Map<string, string>;
  beforeAll(async () => {
    first = await planOnce(file);
    all = files(first.dir);
  });

  // The first site is planned again by a separate process (below), the others again in this one.
  it.runIf(file !== siteFiles()[0]!.file)("GIVEN the site WHEN planned again in this process into another directory THEN every file is byte-for-byte identical", async () => {
    const second = join(tempDir("det"), "out");
    expect((await planInto(second, [], file)).code).toBe(first.result.code);
    expect(hashTree(second)).toEqual(hashTree(first.dir));
  });

  it.runIf(file === siteFiles()[0]!.file)("GIVEN the site WHEN planned by a separate process THEN its output equals this process's, file for file", () => {
    const third = join(tempDir("det"), "out");
    const r = runCliProcess(["plan", "--site", file, "--out", third]);
    expect(r.code, r.stderr).toBe(first.result.code);
    expect(hashTree(third)).toEqual(hashTree(first.dir));
  }, 180_000);

  it("GIVEN the output WHEN read THEN the manifest lists every artifact (all but itself and the derived report/) with its sha256, and nothing else", () => {
    const manifest = JSON.parse(all.get("manifest.json")!) as { files: { path: string; sha256: string }[] };
    const expected = [...all]
      .filter(([p]) => p !== "manifest.json" && !p.startsWith("report/"))
      .map(([path, text]) => ({ path, sha256: createHash("sha256").update(text).digest("hex") }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    expect(manifest.files).toEqual(expected);
  });

  it("GIVEN every file of the output WHEN scanned THEN none has a timestamp or an epoch time", () => {
    for (const [path, raw] of all) {
      // A zone's SOA serial is a hash of its content (1..2^31-1), and may look like an epoch time.
      const text = raw.replace(/(IN SOA \S+ \S+ \( )\d+ /g, "$1SERIAL ");
      expect(text, path).not.toMatch(/\b(19|20)\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d/);
      expect(text, path).not.toMatch(/\b1[6-9]\d{8}(\d{3})?\b/);
    }
  });

  it("GIVEN every file of the output WHEN scanned THEN none names a temporary directory of the run", () => {
    for (const [path, text] of all) {
      expect(text, path).not.toContain(`${tmpdir()}/palisade-`);
      expect(text, path).not.toContain("palisade-cdktf-");
      expect(text, path).not.toContain(first.dir);
    }
  });

  it("GIVEN every file of the output WHEN scanned THEN none names this checkout's absolute path (the output is the same wherever it is cloned)", () => {
    for (const [path, text] of all) expect(text, path).not.toContain(`${process.cwd()}/`);
  });

  // A site on Kubernetes renders no container: its secrets are secretKeyRefs, checked below.
  const docker = dockerStacks(topology).filter((s) => !isKubeStack(topology, s));
  const kube = dockerStacks(topology).filter((s) => isKubeStack(topology, s));

  it.each(docker)("GIVEN the %s stack's secret env WHEN read from the Pulumi capture THEN each value is the placeholder only", (stack) => {
    const secretNames = stackSpec(topology, stack).containers.flatMap((c) => c.secretEnv.map((s) => [c.name, s.name] as const));
    const capture = first.pulumi(stack);
    for (const [container, name] of secretNames) {
      const envs = capture.resources.find((r) => r.inputs.name === container && r.type.endsWith("container:Container"))!.inputs.envs as string[];
      expect(envs).toContain(`${name}=${SECRET_PLACEHOLDER}`);
    }
    const placeholders = (first.text(`pulumi/${stack}.json`).match(/\[secret\]/g) ?? []).length;
    expect(placeholders).toBe(secretNames.length);
  });

  it.runIf(kube.length > 0).each(kube)("GIVEN the Kubernetes %s stack WHEN read from both engines THEN every secret env is a secretKeyRef and no value or placeholder is there", (stack) => {
    const spec = siteKubeSpec(topology, stack);
    const refs = JSON.stringify(first.tf(stack)).match(/"secretKeyRef":\{[^}]*\}/g) ?? [];
    expect(refs.length).toBe(spec.objects.filter((o) => o.kind === "Deployment").flatMap((d) => JSON.stringify(d).match(/"secretKeyRef"/g) ?? []).length);
    expect(refs.length).toBeGreaterThan(0);
    for (const path of [`cdktf/stacks/${stack}/cdk.tf.json`, `pulumi/${stack}.json`]) expect(first.text(path)).not.toContain(SECRET_PLACEHOLDER);
  });

  it.each(docker)("GIVEN the %s stack's secret env WHEN read from the Terraform JSON THEN each value is a sensitive ${var.…} reference", (stack) => {
    const spec = stackSpec(topology, stack);
    const tf = first.tf(stack);
    for (const c of spec.containers) {
      const env = Object.values(tf.resource.docker_container!).find((r) => r.name === c.name)!.env as string[];
      for (const s of c.secretEnv) {
        expect(env).toContain(`${s.name}=\${var.${s.variable}}`);
        expect(tf.variable?.[s.variable]?.sensitive).toBe(true);
      }
    }
  });

  it.runIf(docker.length > 1)("GIVEN the sites' Docker stacks WHEN planned THEN they have secret env at all (so the two checks above are not vacuous)", () => {
    expect(docker.filter((s) => s !== "edge").flatMap((s) => stackSpec(topology, s).containers.flatMap((c) => c.secretEnv)).length).toBeGreaterThanOrEqual(1);
  });

  it("GIVEN every engine file WHEN scanned THEN no secret-looking env var carries a literal value", () => {
    for (const [path, text] of all) {
      if (!/^(cdktf|pulumi)\//.test(path)) continue;
      for (const m of text.matchAll(/"([A-Z][A-Z0-9_]*)=([^"]*)"/g)) {
        if (SECRET_NAME.test(m[1]!)) expect(`${path}: ${m[1]}=${m[2]}`).toMatch(/=(\$\{var\.[a-z0-9_]+\}|\[secret\])$/);
      }
    }
  });

  it("GIVEN every engine file WHEN scanned THEN every password, secret or token field holds a ${var.…} reference or the placeholder", () => {
    const found: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
      else if (typeof v === "string" && /\.(password|secret|secret_id|secretId|token|private_key|privateKey)$/i.test(path)) found.push(`${path}=${v}`);
    };
    for (const [path, text] of all) if (/^(cdktf|pulumi)\/.*\.json$/.test(path)) walk(JSON.parse(text), path);
    for (const f of found) expect(f).toMatch(/=(\$\{var\.[a-z0-9_]+\}|\[secret\])$/);
  });
});

describe("the secret scan of the engine files", () => {
  it("GIVEN a planted literal password WHEN the scan above runs THEN it would catch it", () => {
    const text = '"env": ["POSTGRES_PASSWORD=hunter2"]';
    const found = [...text.matchAll(/"([A-Z][A-Z0-9_]*)=([^"]*)"/g)].filter((m) => SECRET_NAME.test(m[1]!) && !/^(\$\{var\.[a-z0-9_]+\}|\[secret\])$/.test(m[2]!));
    expect(found.map((m) => m[1])).toEqual(["POSTGRES_PASSWORD"]);
  });
});
