import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalPulumi, canonicalTerraform, engineParity, formatDifference } from "../../stacks/parity.js";
import { planOnce, type PlannedOutput, type PulumiCapture, type TfJson } from "../helpers/plan-once.js";
import { dockerSiteFiles } from "../policies/planned-sites.js";
import { siteFacts, type SiteFacts } from "../policies/site-facts.js";

/*
 * Engine parity on every example: cdktf and Pulumi declare the same resources, and a difference
 * planted in either is reported as exactly that resource and field. The planted differences aim at
 * each site's own containers (its first and last declared service, PostgreSQL, the ingress) and
 * networks, never the reference's names.
 */

const sites: { name: string; plan: PlannedOutput; facts: SiteFacts }[] = [];
for (const s of dockerSiteFiles()) {
  const plan = await planOnce(s.file);
  sites.push({ name: s.name, plan, facts: siteFacts(s.file, plan.dir) });
}

/** Deep copies to plant a difference in without touching the shared plan. */
const tfCopy = (plan: PlannedOutput, stack: string) => structuredClone(plan.tf(stack)) as TfJson & Record<string, any>;
const puCopy = (plan: PlannedOutput, stack: string) => structuredClone(plan.pulumi(stack)) as PulumiCapture;
const puContainer = (cap: PulumiCapture, name: string) => cap.resources.find((r) => r.type === "docker:index/container:Container" && r.inputs.name === name)!.inputs as Record<string, any>;
const puNetwork = (cap: PulumiCapture, name: string) => cap.resources.find((r) => r.inputs.name === name && r.type === "docker:index/network:Network")!.inputs as Record<string, any>;
const tfContainer = (tf: TfJson, name: string) => Object.values(tf.resource.docker_container!).find((c) => c.name === name) as Record<string, any>;
const tfNetwork = (tf: TfJson, name: string) => Object.values(tf.resource.docker_network!).find((n) => n.name === name) as Record<string, any>;

describe.each(sites)("engine parity on $name: cdktf and Pulumi declare the same resources", ({ plan, facts }) => {
  const STACKS = readdirSync(join(plan.dir, "cdktf/stacks")).sort();
  /** The Docker hosts' stacks; the others (the OpenBao `secrets` stack) declare Vault provider resources. */
  const DOCKER = STACKS.filter((s) => plan.tf(s).provider?.docker !== undefined);
  const OTHER = STACKS.filter((s) => !DOCKER.includes(s));
  const declared = Object.keys(facts.site.services);
  const appA = `cloud-${declared[0]!}`;
  const appB = `cloud-${declared.at(-1)!}`;
  const inner = facts.attachments(facts.topology.service("postgres"))[0]!.network.dockerName;
  const firstNet = facts.attachments(facts.topology.service(declared[0]!))[0]!;

  it("GIVEN the plan WHEN the stacks are listed THEN both engines rendered the same stacks", () => {
    expect(STACKS).toEqual(expect.arrayContaining(["cloud", "edge"]));
    expect(readdirSync(join(plan.dir, "pulumi")).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort()).toEqual(STACKS);
  });

  it.each(DOCKER)("GIVEN the %s stack WHEN compared THEN there is no difference", (stack) => {
    expect(engineParity(plan.tf(stack), plan.pulumi(stack)).map(formatDifference)).toEqual([]);
  });

  it.each(OTHER)("GIVEN the %s stack (OpenBao through the Vault provider) WHEN compared THEN there is no difference", (stack) => {
    expect(engineParity(plan.tf(stack), plan.pulumi(stack)).map(formatDifference)).toEqual([]);
  });

  it("GIVEN the secrets stack WHEN normalized THEN both sides hold a policy and AppRole per identity, a role and connection per tenant, secrets as placeholders", () => {
    const tf = canonicalTerraform(plan.tf("secrets"));
    const pu = canonicalPulumi(plan.pulumi("secrets"));
    const expected = ["vault_mount database", "vault_mount kv", "provider vault", ...facts.intent.identities.flatMap((i) => [`vault_policy ${i.name}`, `vault_approle_auth_backend_role ${i.name}`]), ...facts.site.tenants.map((t) => `vault_database_secret_backend_role tenant-${t.id}`)];
    for (const key of expected) {
      expect(tf.has(key), `cdktf ${key}`).toBe(true);
      expect(pu.has(key), `pulumi ${key}`).toBe(true);
    }
    for (const t of facts.site.tenants) expect(JSON.stringify(tf.get(`vault_database_secret_backend_connection tenant-${t.id}`)), t.id).toContain('"password":"<secret>"');
  });

  it("GIVEN the Pulumi capture's first identity's policy edited alone WHEN compared THEN the difference names the policy and the field", () => {
    const name = facts.intent.identities[0]!.name;
    const pu = puCopy(plan, "secrets");
    const policy = pu.resources.find((r) => r.type === "vault:index/policy:Policy" && r.inputs.name === name)!;
    policy.inputs.policy = `${String(policy.inputs.policy)}\npath "sys/*" { capabilities = ["sudo"] }\n`;
    expect(engineParity(plan.tf("secrets"), pu).map((d) => `${d.resource} ${d.field}`)).toEqual([`vault_policy ${name} policy`]);
  });

  it("GIVEN the cloud stack WHEN normalized THEN both sides have every network, container, volume and image, not an empty set", () => {
    const tfJson = plan.tf("cloud");
    const tf = [...canonicalTerraform(tfJson).keys()];
    for (const [kind, type] of [["network", "docker_network"], ["container", "docker_container"], ["volume", "docker_volume"]] as const) {
      expect(tf.filter((k) => k.startsWith(`${kind} `)).length, kind).toBe(Object.keys(tfJson.resource[type] ?? {}).length);
      expect(tf.filter((k) => k.startsWith(`${kind} `)).length, kind).toBeGreaterThan(0);
    }
    expect(tf).toContain("provider docker");
    expect([...canonicalPulumi(plan.pulumi("cloud")).keys()].sort()).toEqual([...tf].sort());
  });

  it("GIVEN the engines' naming differences WHEN normalized THEN the image reference and network names resolve to the same values", () => {
    const id = declared[0]!;
    const tf = canonicalTerraform(plan.tf("cloud")).get(`container cloud-${id}`)!;
    const pu = canonicalPulumi(plan.pulumi("cloud")).get(`container cloud-${id}`)!;
    expect(tf.image).toBe(facts.site.services[id]!.image);
    expect(pu.image).toBe(tf.image);
    expect(tf.networks).toEqual(expect.arrayContaining(facts.attachments(facts.topology.service(id)).map((a) => ({ name: a.network.dockerName, ipv4: a.ip, aliases: [id] }))));
    expect(pu.networks).toEqual(tf.networks);
  });

  describe("GIVEN one planted difference", () => {
    it.each([
      ["a container's user", `container ${appA}`, "user", (tf: any, _pu: any) => (tfContainer(tf, appA).user = "0:0")],
      ["a network attachment's address", `container ${appA}`, "networks", (_tf: any, pu: any) => (puContainer(pu, appA).networksAdvanced[0].ipv4Address = firstNet.ip.replace(/\.\d+$/, ".99"))],
      ["a dropped capability list", "container cloud-postgres", "capDrop", (_tf: any, pu: any) => (puContainer(pu, "cloud-postgres").capabilities.drops = [])],
      ["an added capability", `container ${appB}`, "capAdd", (tf: any) => tfContainer(tf, appB).capabilities.add.push("NET_ADMIN")],
      ["a published port", "container cloud-ingress", "ports", (_tf: any, pu: any) => (puContainer(pu, "cloud-ingress").ports[0].ip = "0.0.0.0")],
      ["a mount made writable", "container cloud-postgres", "mounts", (tf: any) => (tfContainer(tf, "cloud-postgres").mounts.find((m: any) => m.read_only === true).read_only = false)],
      ["the memory limit", `container ${appB}`, "memory", (_tf: any, pu: any) => (puContainer(pu, appB).memory = 4096)],
      ["the nproc ulimit", `container ${appB}`, "ulimits", (tf: any) => (tfContainer(tf, appB).ulimit[0].hard = 100000)],
      ["the read-only root", `container ${appA}`, "readOnly", (_tf: any, pu: any) => (puContainer(pu, appA).readOnly = false)],
      ["the security options", `container ${appA}`, "securityOpts", (tf: any) => (tfContainer(tf, appA).security_opts = [])],
      ["the health check", `container ${appA}`, "healthcheck", (_tf: any, pu: any) => (puContainer(pu, appA).healthcheck.tests = ["NONE"])],
      ["an env var name", `container ${appA}`, "env", (tf: any) => tfContainer(tf, appA).env.push("DEBUG=1")],
      ["a host PID namespace", `container ${appB}`, "pidMode", (tf: any) => (tfContainer(tf, appB).pid_mode = "host")],
      ["the image", `container ${appB}`, "image", (_tf: any, pu: any) => (puContainer(pu, appB).image = "ghost:6")],
      ["a network made non-internal", `network ${inner}`, "internal", (tf: any) => (tfNetwork(tf, inner).internal = false)],
      ["a network's subnet", `network ${firstNet.network.dockerName}`, "ipam", (_tf: any, pu: any) => (puNetwork(pu, firstNet.network.dockerName).ipamConfigs[0].subnet = "10.255.99.0/24")],
      ["a bridge name", `network ${inner}`, "bridgeName", (tf: any) => (tfNetwork(tf, inner).options["com.docker.network.bridge.name"] = "docker0")],
      ["a container field the mapping does not name (dns)", `container ${appA}`, "other.dns", (tf: any) => (tfContainer(tf, appA).dns = ["1.1.1.1"])],
      ["a network's masquerade option", "network cloud-ingress", "options", (_tf: any, pu: any) => (puNetwork(pu, "cloud-ingress").options["com.docker.network.bridge.enable_ip_masquerade"] = "true")],
      ["the provider's Docker host", "provider docker", "host", (_tf: any, pu: any) => (pu.resources.find((r: any) => r.type === "pulumi:providers:docker").inputs.host = "ssh://root@192.0.2.99")],
    ])("%s WHEN compared THEN exactly that resource and field are reported", (_what, resource, field, plant) => {
      const tf = tfCopy(plan, "cloud");
      const pu = puCopy(plan, "cloud");
      plant(tf, pu);
      const diffs = engineParity(tf, pu);
      expect(diffs.map((d) => `${d.resource} / ${d.field}`)).toEqual([`${resource} / ${field}`]);
      expect(formatDifference(diffs[0]!)).toMatch(new RegExp(`^${resource}: ${field} differs \\(cdktf .+, pulumi .+\\)$`));
    });

    it("a volume only Pulumi declares WHEN compared THEN the volume is reported as declared by one engine", () => {
      const pu = puCopy(plan, "cloud");
      pu.resources.push({ type: "docker:index/volume:Volume", name: "volume-extra", inputs: { name: "extra" } });
      const diffs = engineParity(plan.tf("cloud"), pu);
      expect(diffs).toEqual([{ resource: "volume extra", field: "(presence)", cdktf: undefined, pulumi: { driver: "(default)", labels: {} } }]);
      expect(formatDifference(diffs[0]!)).toBe("volume extra: declared only by pulumi");
    });

    it("a container missing from cdktf WHEN compared THEN it is reported as declared only by pulumi", () => {
      const tf = tfCopy(plan, "cloud");
      const key = Object.keys(tf.resource.docker_container!).find((k) => tf.resource.docker_container![k]!.name === appB)!;
      delete tf.resource.docker_container![key];
      expect(engineParity(tf, plan.pulumi("cloud")).map(formatDifference)).toEqual([`container ${appB}: declared only by pulumi`]);
    });

    it("a resource type the parity check does not know WHEN compared THEN it is reported, so the check cannot silently miss it", () => {
      const tf = tfCopy(plan, "cloud");
      tf.resource.docker_secret = { s: { name: "x" } };
      expect(engineParity(tf, plan.pulumi("cloud")).map((d) => `${d.resource} / ${d.field}`)).toEqual(["docker_secret s / (unmapped)"]);
    });

    it("a cdktf image reference to an image that does not exist WHEN compared THEN the image field differs", () => {
      const tf = tfCopy(plan, "cloud");
      tfContainer(tf, appB).image = "${docker_image.image_nope.image_id}";
      expect(engineParity(tf, plan.pulumi("cloud")).map((d) => `${d.resource} / ${d.field} / ${String(d.cdktf)}`)).toEqual([
        `container ${appB} / image / (unresolved) \${docker_image.image_nope.image_id}`,
      ]);
    });
  });

  it("GIVEN the same values in a different order WHEN compared THEN order alone is no difference", () => {
    const pu = puCopy(plan, "cloud");
    const a = puContainer(pu, appA);
    a.networksAdvanced.reverse();
    a.envs.reverse();
    pu.resources.reverse();
    expect(engineParity(plan.tf("cloud"), pu)).toEqual([]);
  });
});
