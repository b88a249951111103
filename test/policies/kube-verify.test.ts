// palisade verify on a private cloud rendered as Kubernetes (every example whose cloud.engine is
// kubernetes): reachability re-derived from both engines' manifests, with the node firewall (the cloud
// host's rendered nftables) as the third layer. No Kubernetes API server can run here: the artifacts are
// the engines' own output (cdktf synth, Pulumi under mocks), the enforcement is the verifier's evaluator.
// One plan per example, shared by the file; each mutation edits the artifacts in memory and verifies in process.
import { describe, expect, it } from "vitest";
import type { Artifact } from "../../core/index.js";
import { planArtifacts, verifyPlan } from "../../stacks/plan.js";
import { examples } from "../helpers/examples.js";

type Json = Record<string, any>;
const kubeExamples = examples.filter((e) => e.site.cloud.engine === "kubernetes");
const TF = "cdktf/stacks/cloud/cdk.tf.json";
const PU = "pulumi/cloud.json";
const NFT = "hosts/cloud/nftables.conf";

function edit(artifacts: readonly Artifact[], path: string, change: (text: string) => string): Artifact[] {
  return artifacts.map((a) => (a.path === path ? { ...a, content: change(a.content) } : a));
}
const editJson = (artifacts: readonly Artifact[], path: string, change: (json: Json) => void) =>
  edit(artifacts, path, (text) => {
    const json = JSON.parse(text) as Json;
    change(json);
    return `${JSON.stringify(json, null, 2)}\n`;
  });
const tfManifests = (tf: Json) => Object.entries(tf.resource.kubernetes_manifest as Record<string, { manifest: Json }>);

it("at least one example runs its private cloud on Kubernetes", () => {
  expect(kubeExamples.map((e) => e.name)).toContain("kubernetes");
});

describe.each(kubeExamples)("the $name example, its cloud on Kubernetes", async (ex) => {
  const { artifacts } = await planArtifacts(ex.site, ex.text, { engine: "both" });
  const verify = (arts: readonly Artifact[]) => verifyPlan(arts, { site: ex.site }).report;
  const report = verify(artifacts);
  const tf = JSON.parse(artifacts.find((a) => a.path === TF)!.content) as Json;
  const cluster = new Set(tfManifests(tf).filter(([, r]) => r.manifest.kind === "Deployment").map(([, r]) => r.manifest.metadata.name as string));
  // A cluster service the internet must never reach, with an ingress allow policy in its namespace.
  const allowIn = (svc: string) => tfManifests(tf).find(([, r]) => r.manifest.kind === "NetworkPolicy" && r.manifest.metadata.namespace === svc && r.manifest.spec.ingress?.length);
  const target = report.nevers.find((n) => n.source === "internet" && cluster.has(n.destination) && allowIn(n.destination))!.destination;
  const [allowKey] = allowIn(target)!;
  const podPair = report.nevers.find((n) => cluster.has(n.source) && cluster.has(n.destination));

  it("plans and verifies PASS in both engines, every cluster pair blocked by two layers or more", () => {
    expect(report.engines).toEqual(["cdktf", "pulumi"]);
    expect(report.findings.filter((f) => f.severity === "violation")).toEqual([]);
    expect(report.summary.verdict).toBe("pass");
    const clusterNevers = report.nevers.filter((n) => cluster.has(n.destination) || cluster.has(n.source));
    expect(clusterNevers.length).toBeGreaterThan(0);
    for (const n of clusterNevers) {
      expect(n.status).toBe("blocked");
      expect(n.layers.length).toBeGreaterThanOrEqual(2);
    }
    expect(report.nevers.find((n) => n.source === "internet" && n.destination === target)?.layers).toEqual(["networkpolicy:ingress", "nftables:cloud"]);
  });

  it("the cloud stack holds no Docker resource and the node firewall names each namespace's pool", () => {
    expect(Object.keys(tf.resource)).toEqual(["kubernetes_manifest"]);
    const nft = artifacts.find((a) => a.path === NFT)!.content;
    const pools = tfManifests(tf).filter(([, r]) => r.manifest.kind === "IPPool").map(([, r]) => r.manifest.spec.cidr as string);
    expect(pools.length).toBe(cluster.size);
    for (const cidr of pools) expect(nft).toContain(cidr);
  });

  it("an ipBlock widened to 0.0.0.0/0 on an ingress allow leaves the internet's pair one layer, naming the policy's line", () => {
    const mutated = editJson(artifacts, TF, (j) => {
      j.resource.kubernetes_manifest[allowKey].manifest.spec.ingress[0].from.push({ ipBlock: { cidr: "0.0.0.0/0" } });
    });
    const r = verify(mutated);
    expect(r.summary.verdict).toBe("fail");
    const f = r.findings.find((x) => x.subject === `internet => ${target}`)!;
    expect(f).toMatchObject({ kind: "single-layer", severity: "violation", layer: "networkpolicy:ingress", artifact: TF, construct: `kubernetes_manifest.${allowKey} manifest` });
    const lines = mutated.find((a) => a.path === TF)!.content.split("\n");
    expect(lines[f.line! - 1]).toMatch(/"manifest": \{/);
    expect(lines.slice(0, f.line! - 1).reverse().find((l) => /^ {6}"[a-z0-9_]+": \{$/.test(l))).toContain(allowKey);
  });

  it("the ingress's HAProxy, a pod of the cluster, is read like any proxy: an unknown Host falling back to an application and a construct not modelled are each a violation naming its line", () => {
    const path = artifacts.find((a) => /^hosts\/[^/]+\/ingress\/haproxy\.cfg$/.test(a.path))!.path;
    const route = /^\s*use_backend (\S+) if (host_\w+)$/m.exec(artifacts.find((a) => a.path === path)!.content)!;
    const fallback = edit(artifacts, path, (t) => t.replace(route[0], `    use_backend ${route[1]} unless ${route[2]}`));
    const f = verify(fallback).findings.find((x) => x.kind === "unexpected-route" && x.subject.startsWith("ingress ") && x.message.includes(`lands on backend ${route[1]}`));
    expect(f, JSON.stringify(verify(fallback).findings.map((x) => x.message))).toMatchObject({ severity: "violation", layer: "haproxy:ingress", artifact: path });
    expect(fallback.find((a) => a.path === path)!.content.split("\n")[f!.line! - 1]).toContain(`unless ${route[2]}`);
    const lua = edit(artifacts, path, (t) => t.replace(/^global\n/m, "global\n    lua-load /etc/haproxy/route.lua\n"));
    expect(verify(lua).findings.find((x) => x.kind === "bad-artifact" && x.artifact === path)?.message).toMatch(/lua-load is not modelled/);
  });

  it("the ingress's servers must be cluster Services it may reach: one pointing at another service's Service or outside the platform is an unexpected route naming the server's line", () => {
    const path = artifacts.find((a) => /^hosts\/[^/]+\/ingress\/haproxy\.cfg$/.test(a.path))!.path;
    const text = artifacts.find((a) => a.path === path)!.content;
    const server = /^(\s+server \S+ \S+:\d+.*)$/m.exec(text.slice(text.indexOf("\nbackend ")))![1]!;
    // A cluster service the ingress has no declared flow to, by its Service's DNS name.
    const reached = new Set(report.flows.filter((f) => f.source === "ingress").map((f) => f.destination));
    const other = [...cluster].find((svc) => !reached.has(svc) && svc !== "ingress")!;
    const otherName = tfManifests(tf).find(([, r]) => r.manifest.kind === "Service" && r.manifest.metadata.namespace === other)![1].manifest;
    const dns = `${otherName.metadata.name}.${otherName.metadata.namespace}.svc.cluster.local`;
    const mutated = edit(artifacts, path, (t) => t.replace(server, `${server}\n    server db ${dns}:5432\n    server out 192.0.2.99:22`));
    const lines = mutated.find((a) => a.path === path)!.content.split("\n");
    const found = verify(mutated).findings.filter((f) => f.kind === "unexpected-route" && f.artifact === path);
    expect(found.map((f) => [f.subject, lines[f.line! - 1]!.trim()]).sort()).toEqual([
      [`ingress => ${other} : tcp/5432`, `server db ${dns}:5432`],
      ["ingress => 192.0.2.99 : tcp/22", "server out 192.0.2.99:22"],
    ].sort());
    expect(report.findings.filter((f) => f.kind === "unexpected-route")).toEqual([]);
  });

  it("a cluster stack that cannot be read names its line: a manifest of the wrong shape (each problem, at its resource) and JSON that does not parse (where it breaks)", () => {
    const lines = (arts: readonly Artifact[]) => arts.find((a) => a.path === TF)!.content.split("\n");
    const bad = (arts: readonly Artifact[]) => verify(arts).findings.filter((f) => f.kind === "bad-artifact" && f.artifact === TF);
    const shapeless = editJson(artifacts, TF, (j) => {
      delete j.resource.kubernetes_manifest[allowKey].manifest.spec;
    });
    const [f] = bad(shapeless);
    expect(f?.message).toMatch(new RegExp(`cannot read resource\\.kubernetes_manifest\\.${allowKey}.*: spec: given \\(missing\\); expected a mapping`));
    expect(lines(shapeless)[f!.line! - 1]).toMatch(/"manifest": \{/);
    expect(lines(shapeless).slice(0, f!.line! - 1).reverse().find((l) => /^ {6}"[a-z0-9_]+": \{$/.test(l))).toContain(allowKey);
    const cut = edit(artifacts, TF, (t) => t.slice(0, t.indexOf('"namespace": "') + 16));
    const [g] = bad(cut);
    expect(g?.message).toMatch(/unterminated string at line \d+/);
    expect(lines(cut)[g!.line! - 1]).toContain('"namespace": "');
  });

  it.each([
    ["a privileged container", "privileged", (pod: Json) => { pod.containers[0].securityContext = { ...pod.containers[0].securityContext, privileged: true }; }],
    ["the node's PID namespace", "host-namespace", (pod: Json) => { pod.hostPID = true; }],
    ["a hostPath volume of the node's /", "sensitive-mount", (pod: Json) => { pod.volumes = [...(pod.volumes ?? []), { name: "root", hostPath: { path: "/" } }]; }],
    ["SYS_ADMIN added", "capability-reason", (pod: Json) => { pod.containers[0].securityContext.capabilities.add = ["SYS_ADMIN"]; }],
    ["seccomp Unconfined", "unconfined", (pod: Json) => { pod.securityContext.seccompProfile = { type: "Unconfined" }; }],
    ["allowPrivilegeEscalation", "no-new-privileges", (pod: Json) => { pod.containers[0].securityContext.allowPrivilegeEscalation = true; }],
    ["uid 0", "non-root-user", (pod: Json) => { pod.containers[0].securityContext.runAsUser = 0; }],
  ] as const)("a pod with %s, in both engines' stacks, is a mandatory guardrail naming the workload's manifest line", (_n, rule, change) => {
    expect(report.guardrails.filter((g) => g.level === "mandatory")).toEqual([]);
    const deployment = (m: Json) => m.kind === "Deployment" && m.metadata.namespace === target;
    let mutated = editJson(artifacts, TF, (j) => {
      for (const [, r] of tfManifests(j)) if (deployment(r.manifest)) change(r.manifest.spec.template.spec);
    });
    mutated = editJson(mutated, PU, (j) => {
      for (const r of j.resources as { inputs: Json }[]) if (deployment(r.inputs)) change(r.inputs.spec.template.spec);
    });
    const g = verify(mutated).guardrails.find((x) => x.level === "mandatory" && x.rule === rule);
    expect(g, JSON.stringify(verify(mutated).guardrails.filter((x) => x.level === "mandatory"))).toMatchObject({ subject: `cloud/${target}`, artifact: TF });
    expect(mutated.find((a) => a.path === TF)!.content.split("\n")[g!.line! - 1]).toMatch(/"manifest": \{/);
  });

  it("a deleted default deny is a violation naming the artifact", () => {
    const mutated = editJson(artifacts, TF, (j) => {
      const [key] = tfManifests(j).find(([, r]) => r.manifest.kind === "NetworkPolicy" && r.manifest.metadata.namespace === target && r.manifest.metadata.name === "default-deny")!;
      delete j.resource.kubernetes_manifest[key];
    });
    const r = verify(mutated);
    expect(r.summary.verdict).toBe("fail");
    expect(r.findings).toContainEqual(expect.objectContaining({ kind: "declared-not-rendered", subject: `namespace ${target}`, artifact: TF }));
  });

  it.runIf(podPair)("both sides' policies opened for a pod-to-pod must-never pair leave the node firewall alone: a violation", () => {
    const { source, destination } = podPair!;
    const mutated = editJson(artifacts, TF, (j) => {
      j.resource.kubernetes_manifest[`networkpolicy_${source.replace(/-/g, "_")}_opened`] = {
        manifest: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "opened", namespace: source }, spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{}] } },
      };
      j.resource.kubernetes_manifest[`networkpolicy_${destination.replace(/-/g, "_")}_opened`] = {
        manifest: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "opened", namespace: destination }, spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] } },
      };
    });
    const f = verify(mutated).findings.find((x) => x.subject === `${source} => ${destination}`)!;
    expect(f).toMatchObject({ kind: "single-layer", severity: "violation", artifact: TF });
    expect(f.message).toMatch(/blocked by nftables:cloud only/);
  });

  it("the node firewall's forward chain opened leaves the internet's pair to the NetworkPolicy alone, naming nftables.conf", () => {
    const mutated = edit(artifacts, NFT, (t) => t.replace(/(hook forward priority filter; policy )drop;/, "$1accept;"));
    const f = verify(mutated).findings.find((x) => x.subject === `internet => ${target}`)!;
    expect(f).toMatchObject({ kind: "single-layer", artifact: NFT, layer: "nftables:cloud" });
  });

  it("the same widened ipBlock in the Pulumi capture only is found there, and as engine drift", () => {
    const mutated = editJson(artifacts, PU, (j) => {
      const [, r] = tfManifests(tf).find(([k]) => k === allowKey)!;
      const res = (j.resources as Json[]).find((x) => x.type.endsWith(":NetworkPolicy") && x.inputs.metadata.namespace === target && x.inputs.metadata.name === r.manifest.metadata.name)!;
      res.inputs.spec.ingress[0].from.push({ ipBlock: { cidr: "0.0.0.0/0" } });
    });
    const r = verify(mutated);
    expect(r.findings).toContainEqual(expect.objectContaining({ kind: "single-layer", subject: `internet => ${target}`, engine: "pulumi", artifact: PU }));
    expect(r.findings.some((x) => x.kind === "engine-drift" && x.subject.startsWith("cloud NetworkPolicy"))).toBe(true);
  });

  it("a Docker resource slipped into the cluster's stack is not understood, so a violation", () => {
    const mutated = editJson(artifacts, TF, (j) => {
      j.resource.docker_container = { x: { name: "x", image: "busybox" } };
    });
    expect(verify(mutated).findings).toContainEqual(expect.objectContaining({ kind: "bad-artifact", artifact: TF, construct: "docker_container" }));
  });
});
