import { Testing } from "cdktf";
import { getToHaveProviderWithProperties, getToHaveResourceWithProperties, type TerraformConstructor } from "cdktf/lib/testing/matchers.js";
import { Container } from "@cdktf/provider-docker/lib/container/index.js";
import { Network } from "@cdktf/provider-docker/lib/network/index.js";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider/index.js";
import { describe, expect, it } from "vitest";
import { deriveNetworks, hostInCidr4, loadSite, tunnelAddresses } from "../../core/index.js";
import { DockerHostStack } from "../../stacks/cdktf/docker-stack.js";
import { stackSpec } from "../../stacks/docker-spec.js";
import { buildTopology } from "../../stacks/platform.js";
import { REFERENCE_SITE } from "../helpers/paths.js";
import { oneSiteFiles } from "../policies/planned-sites.js";

/*
 * Engine-level assertions with cdktf's own Testing helpers. `Testing.setupJest()` is jest-only, so
 * the matcher functions of cdktf/lib/testing/matchers are registered with vitest's expect here.
 */
const hasResource = getToHaveResourceWithProperties();
const hasProvider = getToHaveProviderWithProperties();
expect.extend({
  toHaveResourceWithProperties(received: string, type: TerraformConstructor, props: Record<string, unknown>) {
    const r = hasResource(received, type, props);
    return { pass: r.pass, message: () => r.message };
  },
  toHaveProviderWithProperties(received: string, type: TerraformConstructor, props: Record<string, unknown>) {
    const r = hasProvider(received, type, props);
    return { pass: r.pass, message: () => r.message };
  },
});
declare module "vitest" {
  interface Matchers<T = any> {
    toHaveResourceWithProperties(type: TerraformConstructor, props: Record<string, unknown>): T;
    toHaveProviderWithProperties(type: TerraformConstructor, props: Record<string, unknown>): T;
  }
}

describe.each(oneSiteFiles())("the DockerHostStacks of %s, synthesized with cdktf Testing", ({ file }) => {
  const site = loadSite(file);
  const topology = buildTopology(site);
  const tunnelCloudIp = tunnelAddresses(site).cloud4;
  const cloud = Testing.synth(new DockerHostStack(Testing.app(), stackSpec(topology, "cloud")));
  const edge = Testing.synth(new DockerHostStack(Testing.app(), stackSpec(topology, "edge")));
  const first = Object.keys(site.services)[0]!;

  describe("the cloud DockerHostStack", () => {
    it("GIVEN the site WHEN synthesized THEN the stack declares exactly the sensitive variables its secret env needs", () => {
      const json = JSON.parse(cloud) as { variable: Record<string, { sensitive: boolean; type: string }> };
      expect(Object.keys(json.variable).sort()).toEqual([...stackSpec(topology, "cloud").variables]);
      for (const v of Object.values(json.variable)) expect(v).toMatchObject({ sensitive: true, type: "string" });
    });

    it("GIVEN the cloud stack WHEN synthesized THEN its Docker provider targets the cloud daemon through the tunnel", () => {
      expect(cloud).toHaveProviderWithProperties(DockerProvider, { host: site.cloud.docker });
      expect(cloud).not.toHaveProviderWithProperties(DockerProvider, { host: site.edge.docker });
    });

    it("GIVEN the ingress WHEN synthesized THEN it publishes 80 and 443 on the tunnel address only", () => {
      expect(cloud).toHaveResourceWithProperties(Container, {
        name: "cloud-ingress",
        ports: [
          { internal: 80, external: 80, ip: tunnelCloudIp, protocol: "tcp" },
          { internal: 443, external: 443, ip: tunnelCloudIp, protocol: "tcp" },
        ],
      });
      expect(cloud).not.toHaveResourceWithProperties(Container, { name: "cloud-ingress", ports: [{ ip: "0.0.0.0" }, { ip: "0.0.0.0" }] });
    });

    it("GIVEN postgres WHEN synthesized THEN it is hardened and its password is a sensitive variable, not a literal", () => {
      expect(cloud).toHaveResourceWithProperties(Container, {
        name: "cloud-postgres",
        capabilities: { drop: ["ALL"], add: [] },
        read_only: true,
        privileged: false,
        security_opts: ["no-new-privileges:true"],
      });
      expect(Testing.toHaveResourceWithProperties(cloud, "docker_container", { name: "cloud-postgres", privileged: true })).toBe(false);
      const pg = Object.values((JSON.parse(cloud) as { resource: { docker_container: Record<string, { name: string; env: string[] }> } }).resource.docker_container).find((c) => c.name === "cloud-postgres")!;
      const password = pg.env.find((e) => e.startsWith("POSTGRES_PASSWORD="));
      expect(password).toMatch(/^POSTGRES_PASSWORD=\$\{var\.postgres_superuser_password\w*\}$/);
      const variable = /\$\{var\.(\w+)\}/.exec(password!)![1]!;
      expect((JSON.parse(cloud) as { variable: Record<string, { sensitive: boolean }> }).variable[variable]?.sensitive).toBe(true);
    });

    it("GIVEN the postgres network WHEN synthesized THEN it is internal with its derived subnet and bridge name", () => {
      const net = deriveNetworks(site).find((n) => n.id === "postgres")!;
      expect(cloud).toHaveResourceWithProperties(Network, {
        name: "cloud-postgres",
        internal: true,
        ipam_config: [{ subnet: net.subnet, gateway: hostInCidr4(net.subnet, 1) }],
        options: { "com.docker.network.bridge.name": "br-postgres" },
      });
      expect(cloud).not.toHaveResourceWithProperties(Network, { name: "cloud-postgres", internal: false });
    });

    it("GIVEN the cloud networks WHEN synthesized THEN every non-internal one carries its egress reason, and only the ACME egress masquerades", () => {
      type Net = { name: string; internal: boolean; labels: { label: string }[]; options: Record<string, string> };
      const nets = Object.values((JSON.parse(cloud) as { resource: { docker_network: Record<string, Net> } }).resource.docker_network);
      expect(nets.filter((n) => !n.internal).map((n) => n.name)).toEqual(expect.arrayContaining(["cloud-acme-egress", "cloud-ingress"]));
      for (const n of nets.filter((n) => !n.internal)) expect(n.labels.map((l) => l.label)).toContain("palisade.egress-reason");
      expect(nets.filter((n) => n.options["com.docker.network.bridge.enable_ip_masquerade"] !== "false").map((n) => n.name)).toEqual(["cloud-acme-egress"]);
    });

    it("GIVEN the first declared service WHEN synthesized THEN it joins exactly the networks of the model, in its order, under its own alias", () => {
      const c = stackSpec(topology, "cloud").containers.find((x) => x.service === first)!;
      expect(c.networks.map((n) => n.name).sort()).toEqual([...topology.service(first).addresses.keys()].map((id) => topology.network("cloud", id).dockerName).sort());
      expect(cloud).toHaveResourceWithProperties(Container, {
        name: `cloud-${first}`,
        networks_advanced: c.networks.map((n) => ({ name: `\${docker_network.network_${n.name.replace(/-/g, "_")}.name}`, ipv4_address: n.ipv4, aliases: [first] })),
      });
    });
  });

  describe("the edge DockerHostStack", () => {
    it("GIVEN the edge stack WHEN synthesized THEN it declares no Docker network and no published port: its services use host networking", () => {
      expect(Testing.toHaveResource(edge, Network.tfResourceType)).toBe(false);
      expect(edge).toHaveResourceWithProperties(Container, { name: "edge-edge-proxy", network_mode: "host", ports: [] });
    });

    it("GIVEN the edge stack WHEN synthesized THEN its provider targets the edge's Docker daemon", () => {
      expect(edge).toHaveProviderWithProperties(DockerProvider, { host: site.edge.docker });
    });
  });
});

describe("the reference snapshot: the api's networks in palisade.yaml", () => {
  it("GIVEN the reference's api WHEN its stack spec is read THEN it joins exactly the networks its flows need, in the model's order, and not the frontend's", () => {
    const api = stackSpec(buildTopology(loadSite(REFERENCE_SITE)), "cloud").containers.find((c) => c.service === "api")!;
    expect(api.networks.map((n) => n.name)).toEqual(["cloud-api", "cloud-api-egress", "cloud-openbao", "cloud-pg-us", "cloud-postgres"]);
    expect(api.networks.map((n) => n.name)).not.toContain("cloud-frontend");
  });
});
