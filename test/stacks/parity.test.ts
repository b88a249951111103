import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalPulumi, canonicalTerraform, engineParity, formatDifference } from "../../stacks/parity.js";
import { planOnce, type PulumiCapture, type TfJson } from "../helpers/plan-once.js";

const plan = await planOnce();
const STACKS = readdirSync(join(plan.dir, "cdktf/stacks")).sort();
/** The Docker hosts' stacks; the others (the OpenBao `secrets` stack) declare Vault provider resources. */
const DOCKER = STACKS.filter((s) => plan.tf(s).provider?.docker !== undefined);
const OTHER = STACKS.filter((s) => !DOCKER.includes(s));

/** Deep copies to plant a difference in without touching the shared plan. */
const tfCopy = (stack: string) => structuredClone(plan.tf(stack)) as TfJson & Record<string, any>;
const puCopy = (stack: string) => structuredClone(plan.pulumi(stack)) as PulumiCapture;
const puContainer = (cap: PulumiCapture, name: string) => cap.resources.find((r) => r.type === "docker:index/container:Container" && r.inputs.name === name)!.inputs as Record<string, any>;
const tfContainer = (tf: TfJson, name: string) => Object.values(tf.resource.docker_container!).find((c) => c.name === name) as Record<string, any>;

describe("engine parity: cdktf and Pulumi declare the same Docker resources", () => {
  it("GIVEN the reference plan WHEN the stacks are listed THEN both engines rendered the same stacks", () => {
    expect(STACKS).toEqual(expect.arrayContaining(["cloud", "edge"]));
    expect(readdirSync(join(plan.dir, "pulumi")).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort()).toEqual(STACKS);
  });

  it.each(DOCKER)("GIVEN the %s stack of the reference plan WHEN compared THEN there is no difference", (stack) => {
    expect(engineParity(plan.tf(stack), plan.pulumi(stack)).map(formatDifference)).toEqual([]);
  });

  it.each(OTHER)("GIVEN the %s stack (OpenBao through the Vault provider) WHEN compared THEN there is no difference", (stack) => {
    expect(engineParity(plan.tf(stack), plan.pulumi(stack)).map(formatDifference)).toEqual([]);
  });

  it("GIVEN the secrets stack WHEN normalized THEN both sides hold every mount, policy, AppRole and database role, secrets as placeholders", () => {
    const tf = canonicalTerraform(plan.tf("secrets"));
    const pu = canonicalPulumi(plan.pulumi("secrets"));
    for (const key of ["vault_mount database", "vault_policy api", "vault_policy provisioner", "vault_approle_auth_backend_role api", "vault_database_secret_backend_role tenant-globex", "provider vault"]) {
      expect(tf.has(key), `cdktf ${key}`).toBe(true);
      expect(pu.has(key), `pulumi ${key}`).toBe(true);
    }
    expect(JSON.stringify(tf.get("vault_database_secret_backend_connection tenant-acme"))).toContain('"password":"<secret>"');
  });

  it("GIVEN the Pulumi capture's api policy edited alone WHEN compared THEN the difference names the policy and the field", () => {
    const pu = puCopy("secrets");
    const policy = pu.resources.find((r) => r.type === "vault:index/policy:Policy" && r.inputs.name === "api")!;
    policy.inputs.policy = `${String(policy.inputs.policy)}\npath "sys/*" { capabilities = ["sudo"] }\n`;
    expect(engineParity(plan.tf("secrets"), pu).map((d) => `${d.resource} ${d.field}`)).toEqual(["vault_policy api policy"]);
  });

  it("GIVEN the cloud stack WHEN normalized THEN both sides have every network, container, volume and image, not an empty set", () => {
    const tf = [...canonicalTerraform(plan.tf("cloud")).keys()];
    expect(tf.filter((k) => k.startsWith("network ")).length).toBeGreaterThanOrEqual(10);
    expect(tf.filter((k) => k.startsWith("container ")).length).toBeGreaterThanOrEqual(9);
    expect(tf.filter((k) => k.startsWith("volume ")).length).toBeGreaterThanOrEqual(5);
    expect(tf).toContain("provider docker");
    expect([...canonicalPulumi(plan.pulumi("cloud")).keys()].sort()).toEqual([...tf].sort());
  });

  it("GIVEN the engines' naming differences WHEN normalized THEN the image reference and network names resolve to the same values", () => {
    const tf = canonicalTerraform(plan.tf("cloud")).get("container cloud-api")!;
    const pu = canonicalPulumi(plan.pulumi("cloud")).get("container cloud-api")!;
    expect(tf.image).toBe("ghcr.io/example/api:1.4.0");
    expect(pu.image).toBe(tf.image);
    expect(tf.networks).toEqual(
      expect.arrayContaining([
        { name: "cloud-api", ipv4: expect.stringMatching(/^172\.20\.158\./), aliases: ["api"] },
        { name: "cloud-postgres", ipv4: expect.stringMatching(/^172\.20\.124\./), aliases: ["api"] },
        { name: "cloud-openbao", ipv4: expect.stringMatching(/^172\.20\.78\./), aliases: ["api"] },
      ]),
    );
    expect(pu.networks).toEqual(tf.networks);
    expect(tf.env).toContain("BAO_SECRET_ID=<secret>");
  });

  describe("GIVEN one planted difference", () => {
    it.each([
      ["a container's user", "container cloud-api", "user", (tf: any, _pu: any) => (tfContainer(tf, "cloud-api").user = "0:0")],
      ["a network attachment's address", "container cloud-api", "networks", (_tf: any, pu: any) => (puContainer(pu, "cloud-api").networksAdvanced[0].ipv4Address = "172.20.2.99")],
      ["a dropped capability list", "container cloud-postgres", "capDrop", (_tf: any, pu: any) => (puContainer(pu, "cloud-postgres").capabilities.drops = [])],
      ["an added capability", "container cloud-blog", "capAdd", (tf: any) => tfContainer(tf, "cloud-blog").capabilities.add.push("NET_ADMIN")],
      ["a published port", "container cloud-ingress", "ports", (_tf: any, pu: any) => (puContainer(pu, "cloud-ingress").ports[0].ip = "0.0.0.0")],
      ["a mount made writable", "container cloud-postgres", "mounts", (tf: any) => (tfContainer(tf, "cloud-postgres").mounts[1].read_only = false)],
      ["the memory limit", "container cloud-gitea", "memory", (_tf: any, pu: any) => (puContainer(pu, "cloud-gitea").memory = 4096)],
      ["the nproc ulimit", "container cloud-gitea", "ulimits", (tf: any) => (tfContainer(tf, "cloud-gitea").ulimit[0].hard = 100000)],
      ["the read-only root", "container cloud-frontend", "readOnly", (_tf: any, pu: any) => (puContainer(pu, "cloud-frontend").readOnly = false)],
      ["the security options", "container cloud-frontend", "securityOpts", (tf: any) => (tfContainer(tf, "cloud-frontend").security_opts = [])],
      ["the health check", "container cloud-api", "healthcheck", (_tf: any, pu: any) => (puContainer(pu, "cloud-api").healthcheck.tests = ["NONE"])],
      ["an env var name", "container cloud-api", "env", (tf: any) => tfContainer(tf, "cloud-api").env.push("DEBUG=1")],
      ["a host PID namespace", "container cloud-blog", "pidMode", (tf: any) => (tfContainer(tf, "cloud-blog").pid_mode = "host")],
      ["the image", "container cloud-blog", "image", (_tf: any, pu: any) => (puContainer(pu, "cloud-blog").image = "ghost:6")],
      ["a network made non-internal", "network cloud-postgres", "internal", (tf: any) => (tf.resource.docker_network.network_cloud_postgres.internal = false)],
      ["a network's subnet", "network cloud-frontend", "ipam", (_tf: any, pu: any) => (pu.resources.find((r: any) => r.inputs.name === "cloud-frontend" && r.type === "docker:index/network:Network").inputs.ipamConfigs[0].subnet = "172.20.99.0/24")],
      ["a bridge name", "network cloud-gitea", "bridgeName", (tf: any) => (tf.resource.docker_network.network_cloud_gitea.options["com.docker.network.bridge.name"] = "docker0")],
      ["a container field the mapping does not name (dns)", "container cloud-api", "other.dns", (tf: any) => (tfContainer(tf, "cloud-api").dns = ["1.1.1.1"])],
      ["a network's masquerade option", "network cloud-ingress", "options", (_tf: any, pu: any) => (pu.resources.find((r: any) => r.inputs.name === "cloud-ingress" && r.type === "docker:index/network:Network").inputs.options["com.docker.network.bridge.enable_ip_masquerade"] = "true")],
      ["the provider's Docker host", "provider docker", "host", (_tf: any, pu: any) => (pu.resources.find((r: any) => r.type === "pulumi:providers:docker").inputs.host = "ssh://root@203.0.113.10")],
    ])("%s WHEN compared THEN exactly that resource and field are reported", (_what, resource, field, plant) => {
      const tf = tfCopy("cloud");
      const pu = puCopy("cloud");
      plant(tf, pu);
      const diffs = engineParity(tf, pu);
      expect(diffs.map((d) => `${d.resource} / ${d.field}`)).toEqual([`${resource} / ${field}`]);
      expect(formatDifference(diffs[0]!)).toMatch(new RegExp(`^${resource}: ${field} differs \\(cdktf .+, pulumi .+\\)$`));
    });

    it("a volume only Pulumi declares WHEN compared THEN the volume is reported as declared by one engine", () => {
      const pu = puCopy("cloud");
      pu.resources.push({ type: "docker:index/volume:Volume", name: "volume-extra", inputs: { name: "extra" } });
      const diffs = engineParity(plan.tf("cloud"), pu);
      expect(diffs).toEqual([{ resource: "volume extra", field: "(presence)", cdktf: undefined, pulumi: { driver: "(default)", labels: {} } }]);
      expect(formatDifference(diffs[0]!)).toBe("volume extra: declared only by pulumi");
    });

    it("a container missing from cdktf WHEN compared THEN it is reported as declared only by pulumi", () => {
      const tf = tfCopy("cloud");
      delete tf.resource.docker_container!.container_cloud_blog;
      expect(engineParity(tf, plan.pulumi("cloud")).map(formatDifference)).toEqual(["container cloud-blog: declared only by pulumi"]);
    });

    it("a resource type the parity check does not know WHEN compared THEN it is reported, so the check cannot silently miss it", () => {
      const tf = tfCopy("cloud");
      tf.resource.docker_secret = { s: { name: "x" } };
      expect(engineParity(tf, plan.pulumi("cloud")).map((d) => `${d.resource} / ${d.field}`)).toEqual(["docker_secret s / (unmapped)"]);
    });

    it("a cdktf image reference to an image that does not exist WHEN compared THEN the image field differs", () => {
      const tf = tfCopy("cloud");
      tfContainer(tf, "cloud-blog").image = "${docker_image.image_nope.image_id}";
      expect(engineParity(tf, plan.pulumi("cloud")).map((d) => `${d.resource} / ${d.field} / ${String(d.cdktf)}`)).toEqual([
        "container cloud-blog / image / (unresolved) ${docker_image.image_nope.image_id}",
      ]);
    });
  });

  it("GIVEN the same values in a different order WHEN compared THEN order alone is no difference", () => {
    const pu = puCopy("cloud");
    const api = puContainer(pu, "cloud-api");
    api.networksAdvanced.reverse();
    api.envs.reverse();
    pu.resources.reverse();
    expect(engineParity(plan.tf("cloud"), pu)).toEqual([]);
  });
});
