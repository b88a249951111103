import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerFromPulumi } from "../../policies/verifier/docker-pulumi.js";
import { dockerFromTerraform } from "../../policies/verifier/docker-tf.js";
import { dockerSemanticsKey, type DockerHostModel, type DockerModel } from "../../policies/verifier/docker-model.js";
import { planSite, siteFiles } from "./planned-sites.js";
import { readArtifacts } from "../../stacks/output.js";
import { deriveInputs } from "../../stacks/trusted-inputs.js";
import { verifyArtifacts, type Report } from "../../policies/verifier/index.js";
import { copyOut, editJson, verifyDirInProcess, type Json } from "./support.js";

/*
 * The verifier runs the segmentation check of the second engine's Docker model only when that model
 * says something the first's does not (dockerSemanticsKey: every field but where it was read). These
 * tests hold the two ends of that: on every example both engines' models have one key (so the second
 * check is skipped, and the plan's report is what the second check would have added nothing to), and
 * a change to the Pulumi capture alone that breaks a flow changes the key and is reported, as only in
 * the pulumi artifacts.
 */

const isDockerStack = (text: string) => /docker_container|docker_network|docker:index\//.test(text);

function modelsOf(dir: string): DockerModel[] {
  const hosts = (engine: "cdktf" | "pulumi"): DockerHostModel[] => {
    const paths = engine === "cdktf" ? readdirSync(join(dir, "cdktf", "stacks")).map((s) => `cdktf/stacks/${s}/cdk.tf.json`) : readdirSync(join(dir, "pulumi")).map((f) => `pulumi/${f}`);
    return paths
      .sort()
      .map((p) => [p, readFileSync(join(dir, p), "utf8")] as const)
      .filter(([, text]) => isDockerStack(text))
      .map(([p, text]) => (engine === "cdktf" ? dockerFromTerraform(p, text) : dockerFromPulumi(p, text)))
      .filter((h) => h.containers.length > 0 || h.networks.length > 0);
  };
  return [
    { engine: "cdktf", hosts: hosts("cdktf") },
    { engine: "pulumi", hosts: hosts("pulumi") },
  ];
}

/** The first declared flow whose destination is a bridged container of a Pulumi Docker stack: its capture, container and flow line. */
function flowTarget(dir: string): { path: string; name: string; line: string } | undefined {
  const intent = JSON.parse(readFileSync(join(dir, "intent.json"), "utf8")) as { flows: { from: string; to: string; port: string }[] };
  for (const path of readdirSync(join(dir, "pulumi")).map((f) => `pulumi/${f}`).sort()) {
    const json = JSON.parse(readFileSync(join(dir, path), "utf8")) as Json;
    const containers = ((json.resources ?? []) as Json[]).filter((r) => r.type === "docker:index/container:Container" && (r.inputs.networksAdvanced ?? []).length > 0);
    // Labels as the Docker provider takes them: a list of { label, value }.
    const runs = (c: Json, service: string) => ((c.inputs.labels ?? []) as Json[]).some((l) => l.label === "palisade.service" && l.value === service);
    const flow = intent.flows.find((f) => containers.some((c) => runs(c, f.to)));
    if (flow) return { path, name: containers.find((c) => runs(c, flow.to))!.inputs.name as string, line: `${flow.from} => ${flow.to} : ${flow.port}` };
  }
  return undefined;
}

const sites = siteFiles();

it("GIVEN the examples THEN on all but the Kubernetes clouds a declared flow ends at a bridged Docker container (else the Pulumi-only edit below proves nothing there)", async () => {
  const withTarget = [];
  for (const s of sites) if (flowTarget(await planSite(s.file))) withTarget.push(s.name);
  expect(withTarget.length).toBeGreaterThanOrEqual(sites.length - 1);
});

describe.each(sites.map((s) => [s.name, s.file] as const))("the engines' Docker models on %s", (_name, file) => {
  it("GIVEN both engines' artifacts WHEN read THEN their models have one semantics key, and a different one once a container is edited", async () => {
    const dir = await planSite(file);
    const [cdktf, pulumi] = modelsOf(dir);
    if (cdktf!.hosts.length === 0) return; // a Kubernetes cloud with no Docker host: nothing to compare
    expect(dockerSemanticsKey(pulumi!)).toBe(dockerSemanticsKey(cdktf!));
    const first = pulumi!.hosts.find((h) => h.containers.length > 0)!;
    const edited: DockerModel = { ...pulumi!, hosts: pulumi!.hosts.map((h) => (h === first ? { ...h, containers: h.containers.map((c, i) => (i === 0 ? { ...c, capAdd: [...c.capAdd, "NET_ADMIN"] } : c)) } : h)) };
    expect(dockerSemanticsKey(edited)).not.toBe(dockerSemanticsKey(cdktf!));
  });

  it("GIVEN the Pulumi capture verified without the Terraform JSON WHEN compared with the plan's report THEN every verdict and finding id is the same (what the skipped second check would have found)", async () => {
    const dir = await planSite(file);
    const files = readArtifacts(dir).filter((a) => !a.path.startsWith("report/"));
    const verify = (list: typeof files) => verifyArtifacts(list, undefined, { inputs: deriveInputs(new Map(list.map((a) => [a.path, a.content]))) });
    const both = verify(files);
    const pulumiOnly = verify(files.filter((a) => !/^cdktf\/stacks\/[^/]+\/cdk\.tf\.json$/.test(a.path) || !isDockerStack(a.content)));
    const verdicts = (r: Report) => ({
      matrix: r.matrix.map((m) => `${m.source} ${m.destination} ${m.protocol}/${m.port} ${m.verdict}`),
      flows: r.flows.map((f) => `${f.line} ${f.verdict}`),
      nevers: r.nevers.map((n) => `${n.source} ${n.destination} ${n.status}`),
      findings: r.findings.filter((f) => f.kind !== "engine-drift").map((f) => f.id),
    });
    expect(pulumiOnly.engines).not.toContain("cdktf");
    expect(verdicts(pulumiOnly)).toEqual(verdicts(both));
  });

  it("GIVEN the Pulumi capture alone edited so that a flow's destination container has no network WHEN verified THEN that flow is broken, only in the pulumi artifacts", async () => {
    const dir = await planSite(file);
    const target = flowTarget(dir);
    if (!target) return; // no declared flow ends at a Docker container here (a Kubernetes cloud)
    const before = verifyDirInProcess(dir);
    expect(before.findings.filter((f) => f.engine === "pulumi" && f.kind === "broken-path")).toEqual([]);
    const mut = copyOut(dir, "engine-checks");
    editJson(mut, target.path, (json) => {
      const c = (json.resources as Json[]).find((r) => r.type === "docker:index/container:Container" && r.inputs.name === target!.name)!;
      c.inputs.networksAdvanced = [];
    });
    const after = verifyDirInProcess(mut);
    expect(after.summary.verdict).toBe("fail");
    const broken = after.findings.find((f) => f.kind === "broken-path" && f.engine === "pulumi" && f.subject === target!.line);
    expect(broken, `a pulumi-only broken-path for ${target.line}`).toBeDefined();
    expect(broken!.message).toContain("(only in the pulumi artifacts)");
    expect(after.findings.some((f) => f.kind === "broken-path" && !f.engine && f.subject === target!.line)).toBe(false);
  });
});
