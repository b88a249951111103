// A private cloud rendered for Kubernetes by both engines (cdktf -> kubernetes_manifest resources,
// Pulumi -> typed resources captured offline under mocks), then read back from those artifacts by the
// verifier and judged by the NetworkPolicy evaluator of `palisade k8s`. No Kubernetes API server can run
// here: the engines' own test helpers stand for `terraform apply`/`pulumi up`, the evaluator for the
// cluster's enforcement. The platform is built through the Topology API, so the test names its own
// services; the reference site's cloud is checked to be refused, with reasons, by the restricted profile.
import { describe, expect, it } from "vitest";
import { App } from "cdktf";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Port, Topology, Zone, loadSite, parseSite } from "../../core/index.js";
import { planArtifacts } from "../../stacks/plan.js";
import { EXAMPLES_DIR } from "../helpers/examples.js";
import { intentOf } from "../../policies/intent.js";
import { checkKubeSegmentation, connectivity, formatList, kubeFromPulumi, kubeFromTerraform, kubeParity, manifestsFromPulumi, manifestsFromTerraform, K8sManifestError } from "../../policies/verifier/k8s/index.js";
import { kubeStackSpec, KubeRenderError, type KubeStackSpec } from "../../stacks/kube-spec.js";
import { KubeSiteStack } from "../../stacks/cdktf/kube-stack.js";
import { KubeSiteComponent } from "../../stacks/pulumi/kube-program.js";
import { capturePulumi } from "../../stacks/pulumi/capture.js";
import { buildTopology } from "../../stacks/platform.js";
import { REFERENCE_SITE } from "../helpers/paths.js";
import { runCli } from "../helpers/cli.js";

const health = { test: ["CMD", "true"], intervalS: 30, timeoutS: 5, retries: 3 };

/** web (published on the tunnel address), api, db; web -> api -> db; web must never reach db. */
function smallCloud(): { t: Topology; spec: KubeStackSpec } {
  const t = new Topology(loadSite(REFERENCE_SITE));
  const cloud = t.addHost({ id: "cloud", zone: Zone.CLOUD, addresses: ["10.99.0.2"], dockerHost: "unused" });
  const edge = t.addAddressPeer("edge-tunnel", Zone.EDGE, ["10.99.0.1/32"]);
  const internet = t.addAddressPeer("internet", Zone.INTERNET, ["0.0.0.0/0", "::/0"]);
  const image = (name: string) => ({ image: `registry.example/${name}:1`, digest: undefined });
  const web = t.addService({ id: "web", description: "web", host: cloud, image: image("web"), listens: [Port.tcp(8443)], publish: [{ hostIp: "10.99.0.2", port: Port.HTTPS, containerPort: 8443 }], tmpfs: ["/tmp"], memoryMb: 128, healthcheck: health });
  const api = t.addService({ id: "api", description: "api", host: cloud, image: image("api"), listens: [Port.tcp(9000)], memoryMb: 128, healthcheck: health, env: { DB: "db" }, secretEnv: { TOKEN: "api-token" } });
  const db = t.addService({ id: "db", description: "db", host: cloud, image: image("db"), listens: [Port.POSTGRES], user: "999:999", memoryMb: 256, healthcheck: health });
  edge.connections.allowTo(web, Port.tcp(8443), "the edge proxy sends the web traffic through the tunnel");
  web.connections.allowTo(api, Port.tcp(9000), "server-side rendering");
  api.connections.allowTo(db, Port.POSTGRES, "data");
  web.connections.neverTo(db, "the web tier never touches data");
  internet.connections.neverTo(db, "nothing from the internet reaches the data");
  return { t, spec: kubeStackSpec(t, "cloud", "palisade-cloud") };
}

function synthTerraform(spec: KubeStackSpec): unknown {
  const dir = mkdtempSync(join(tmpdir(), "palisade-kube-cdktf-"));
  try {
    const app = new App({ outdir: dir });
    new KubeSiteStack(app, spec);
    app.synth();
    return JSON.parse(readFileSync(join(dir, "stacks", spec.name, "cdk.tf.json"), "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function capture(spec: KubeStackSpec): Promise<unknown> {
  const resources = await capturePulumi({ name: spec.name, variables: [] }, () => new KubeSiteComponent(spec));
  return { stack: spec.name, resources };
}


type Json = Record<string, any>;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const tfManifests = (tf: unknown) => (tf as Json).resource.kubernetes_manifest as Record<string, { manifest: Json }>;
/** The Terraform resource name of the manifest `kind ns/name`. */
const tfKey = (tf: unknown, kind: string, ns: string, name: string): string =>
  Object.entries(tfManifests(tf)).find(([, r]) => r.manifest.kind === kind && r.manifest.metadata.namespace === ns && r.manifest.metadata.name === name)![0];
const policyIn = (tf: unknown, ns: string, name: string): Json => tfManifests(tf)[tfKey(tf, "NetworkPolicy", ns, name)]!.manifest;

describe("a Kubernetes site rendered by both engines", async () => {
  const { t, spec } = smallCloud();
  const tf = synthTerraform(spec);
  const pulumi = await capture(spec);

  it("every Deployment runs to Pod Security restricted", () => {
    const deployments = spec.objects.filter((o) => o.kind === "Deployment");
    expect(deployments.map((d) => d.metadata.name)).toEqual(["api", "db", "web"]);
    for (const d of deployments) {
      const pod = (d.spec as Json).template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
      }
    }
  });

  it("secrets are references to Secrets, never values", () => {
    const api = spec.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "api")!;
    expect((api.spec as Json).template.spec.containers[0].env).toContainEqual({ name: "TOKEN", valueFrom: { secretKeyRef: { name: "api-token", key: "value" } } });
    expect(spec.objects.some((o) => o.kind === "Secret")).toBe(false);
  });

  it("each namespace has a default deny both ways and DNS egress to kube-dns", () => {
    for (const ns of ["api", "db", "web"]) {
      const names = spec.objects.filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === ns).map((o) => o.metadata.name);
      expect(names).toContain("default-deny");
      expect(names).toContain("dns-egress");
    }
  });

  it("cdktf and Pulumi declare the same objects, field for field", () => {
    const a = manifestsFromTerraform("cdktf", tf);
    const b = manifestsFromPulumi("pulumi", pulumi);
    expect(a.length).toBe(spec.objects.length);
    expect(kubeParity(a, b)).toEqual([]);
  });

  it("the parity check sees one field changed in one engine", () => {
    const mutated = clone(tf);
    tfManifests(mutated)[tfKey(mutated, "Service", "api", "api")]!.manifest.spec.ports[0].port = 9001;
    expect(kubeParity(manifestsFromTerraform("cdktf", mutated), manifestsFromPulumi("pulumi", pulumi))).toEqual([expect.stringMatching(/^Service api\/api: declared differently/)]);
  });

  it.each([
    ["cdktf", () => kubeFromTerraform("cdktf", tf)],
    ["pulumi", () => kubeFromPulumi("pulumi", pulumi)],
  ])("from the %s artifact: declared flows pass both layers, the must-never pair is blocked by two", (_engine, read) => {
    const result = checkKubeSegmentation(read(), intentOf(t));
    expect(result.violations).toEqual([]);
    expect(result.flows.map((f) => `${f.from} => ${f.to} : ${f.port} ${f.allowed}`)).toEqual(["api => db : tcp/5432 true", "edge-tunnel => web : tcp/8443 true", "web => api : tcp/9000 true"]);
    expect(result.nevers).toContainEqual({ from: "web", to: "db", blockedBy: ["networkpolicy:egress", "networkpolicy:ingress"], ok: true });
    // From outside the cluster one NetworkPolicy layer is on the path; the node firewall is not modelled.
    expect(result.pending).toEqual(["must-never internet => db is blocked by networkpolicy:ingress; its second layer, the node firewall, is not modelled for Kubernetes sites"]);
  });

  it("the analyzer lists exactly the declared flows (and the tunnel into web), nothing else", () => {
    const lines = formatList(connectivity(kubeFromTerraform("cdktf", tf)).connections, "txt").split("\n");
    expect(lines).toEqual([
      "10.99.0.1-10.99.0.1[External] => web/web[Deployment] : TCP 8443",
      "api/api[Deployment] => db/db[Deployment] : TCP 5432",
      "web/web[Deployment] => api/api[Deployment] : TCP 9000",
    ]);
  });

  it.each([
    ["cdk.tf.json", () => tf],
    ["cloud.json", () => pulumi],
  ])("palisade k8s list reads the rendered %s as the verifier does", async (file, artifact) => {
    const dir = mkdtempSync(join(tmpdir(), "palisade-kube-list-"));
    try {
      writeFileSync(join(dir, file), JSON.stringify(artifact()));
      const r = await runCli(["k8s", "list", "--dir", dir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(formatList(connectivity(kubeFromTerraform("cdktf", tf)).connections, "txt"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an artifact edited to open web's egress to everything leaves the must-never pair one layer", () => {
    const mutated = clone(tf);
    policyIn(mutated, "web", "default-deny").spec = { podSelector: {}, policyTypes: ["Ingress"] };
    policyIn(mutated, "web", "egress-to-api-tcp-9000").spec.egress = [{}];
    const result = checkKubeSegmentation(kubeFromTerraform("cdktf", mutated), intentOf(t));
    expect(result.violations).toEqual(["must-never web => db is blocked by networkpolicy:ingress (under two layers: TCP 1-65535,UDP 1-65535; let through by networkpolicy:egress (resource.kubernetes_manifest.networkpolicy_web_egress_to_api_tcp_9000, document 1)); two layers are required"]);
  });

  it("an artifact edited to drop db's ingress isolation opens the pair and breaks the rule", () => {
    const mutated = clone(tf);
    policyIn(mutated, "web", "egress-to-api-tcp-9000").spec.egress[0].to.push({ namespaceSelector: {} });
    const m = tfManifests(mutated);
    delete m[tfKey(mutated, "NetworkPolicy", "db", "default-deny")];
    delete m[tfKey(mutated, "NetworkPolicy", "db", "ingress-from-api-tcp-5432")];
    const result = checkKubeSegmentation(kubeFromTerraform("cdktf", mutated), intentOf(t));
    expect(result.violations).toEqual([
      "must-never internet => db is blocked by no layer (under two layers: TCP 1-65535,UDP 1-65535; let through by networkpolicy:ingress (no policy isolates the pod)); two layers are required",
      "must-never web => db is blocked by no layer (under two layers: TCP 1-65535,UDP 1-65535; let through by networkpolicy:egress (resource.kubernetes_manifest.networkpolicy_web_egress_to_api_tcp_9000, document 1), networkpolicy:ingress (no policy isolates the pod)); two layers are required",
    ]);
  });

  it("an artifact edited to let 0.0.0.0/0 into db breaks the internet's must-never pair", () => {
    const mutated = clone(tf);
    policyIn(mutated, "db", "ingress-from-api-tcp-5432").spec.ingress[0].from.push({ ipBlock: { cidr: "0.0.0.0/0" } });
    const result = checkKubeSegmentation(kubeFromTerraform("cdktf", mutated), intentOf(t));
    expect(result.violations).toEqual(["must-never internet => db is blocked by no layer (under two layers: TCP 1-65535,UDP 1-65535; let through by networkpolicy:ingress (resource.kubernetes_manifest.networkpolicy_db_ingress_from_api_tcp_5432, document 1)); two layers are required"]);
    expect(result.pending).toEqual([]);
  });

  it("an artifact edited to move a port refuses the declared flow, naming the layer", () => {
    const mutated = clone(tf);
    policyIn(mutated, "db", "ingress-from-api-tcp-5432").spec.ingress[0].ports[0].port = 5433;
    const result = checkKubeSegmentation(kubeFromTerraform("cdktf", mutated), intentOf(t));
    expect(result.violations).toEqual(["declared flow api => db : tcp/5432 is refused by networkpolicy:ingress"]);
  });

  it("a Kubernetes resource type the verifier does not read is an error, not a skip", () => {
    const mutated = clone(tf) as Json;
    mutated.resource.kubernetes_network_policy_v1 = { x: { metadata: [{ name: "x" }] } };
    expect(() => kubeFromTerraform("cdktf", mutated)).toThrow(K8sManifestError);
  });
});

describe("the restricted profile refuses what it cannot run", () => {
  it("the reference cloud on Docker keeps OpenBao's IPC_LOCK, which restricted refuses with the fix; mounts and the host-network agent are mapped", () => {
    let error: unknown;
    try {
      kubeStackSpec(buildTopology(loadSite(REFERENCE_SITE)), "cloud", "ctx");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KubeRenderError);
    const problems = (error as KubeRenderError).problems;
    expect(problems).toEqual([expect.stringMatching(/^service openbao: capability IPC_LOCK: restricted allows only NET_BIND_SERVICE back; drop it/)]);
  });
});

describe("a site whose cloud engine is kubernetes", async () => {
  // The smallest example with one field changed: the plan's cloud stack is the cluster, in both engines.
  const text = readFileSync(join(EXAMPLES_DIR, "minimal.yaml"), "utf8").replace(/^cloud:\n/m, "cloud:\n  engine: kubernetes\n");
  const site = parseSite(text, "minimal-on-kubernetes.yaml");
  const { artifacts } = await planArtifacts(site, text, { engine: "both" });
  const file = (path: string) => JSON.parse(artifacts.find((a) => a.path === path)!.content) as Json;

  it("renders the cloud as kubernetes_manifest resources and typed Pulumi resources, no Docker container", () => {
    const tf = file("cdktf/stacks/cloud/cdk.tf.json");
    expect(Object.keys(tf.resource)).toEqual(["kubernetes_manifest"]);
    expect(tf.provider.kubernetes[0].config_context).toBe("palisade-minimal");
    const pu = file("pulumi/cloud.json");
    expect(pu.resources.some((r: Json) => r.type.startsWith("docker:"))).toBe(false);
    expect(kubeParity(manifestsFromTerraform("cdktf", tf), manifestsFromPulumi("pulumi", pu))).toEqual([]);
  });

  it("keeps the edge on Docker and the node agent off the cluster", () => {
    expect(file("cdktf/stacks/edge/cdk.tf.json").resource.docker_container).toBeDefined();
    const names = manifestsFromTerraform("cdktf", file("cdktf/stacks/cloud/cdk.tf.json")).map((m) => `${(m.value as Json).kind} ${(m.value as Json).metadata.name}`);
    expect(names).toContain("Deployment openbao");
    expect(names.some((n) => n.endsWith(" failover"))).toBe(false);
  });

  it("maps volumes to claims and host files to ConfigMaps or Secrets, never a hostPath", () => {
    const objects = manifestsFromTerraform("cdktf", file("cdktf/stacks/cloud/cdk.tf.json")).map((m) => m.value as Json);
    const bao = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "openbao")!;
    const volumes = bao.spec.template.spec.volumes as Json[];
    expect(volumes).toContainEqual({ name: "pvc-openbao-data", persistentVolumeClaim: { claimName: "openbao-data" } });
    expect(volumes).toContainEqual({ name: "cm-openbao", configMap: { name: "palisade-openbao" } });
    expect(volumes).toContainEqual({ name: "secret-secrets-openbao", secret: { secretName: "palisade-secrets-openbao" } });
    expect(JSON.stringify(objects)).not.toContain("hostPath");
    expect(bao.spec.template.spec.containers[0].securityContext.capabilities).toEqual({ drop: ["ALL"] });
    expect(artifacts.find((a) => a.path === "hosts/cloud/openbao/config.hcl")?.content).toMatch(/^disable_mlock = true$/m);
  });
});
