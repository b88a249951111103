/**
 * The lab's applier (a stand-in for terraform apply / pulumi up) reading the planned cloud stack:
 * both engines' artifacts give the same plan, and any field it does not map is refused by name.
 * No root needed: this reads artifacts only (the lab test applies them to a real dockerd).
 */
import { describe, expect, it } from "vitest";
import { applyPlanFromPulumi, applyPlanFromTerraform, ApplyError, durationNs, type ApplyPlan } from "../../stacks/lab/docker/apply.js";
import { imageSpecs } from "../../stacks/lab/docker/cloud.js";
import { imageKind } from "../../stacks/lab/docker/images.js";
import { planOnce, type PulumiCapture, type TfJson } from "../helpers/plan-once.js";

const planned = await planOnce();
const tf = () => structuredClone(planned.tf("cloud")) as TfJson;
const pulumi = () => structuredClone(planned.pulumi("cloud")) as PulumiCapture;

/** A plan with variable placeholders made comparable across engines (their names differ by design). */
function comparable(p: ApplyPlan) {
  return p.containers.map((c) => ({
    name: c.name,
    image: c.image,
    create: JSON.parse(JSON.stringify(c.create).replace(/\\u0000var:[^\\]+\\u0000/g, "<var>")),
    networks: c.networks,
    mounts: c.mounts,
  }));
}

describe("the lab's applier (stand-in for terraform apply / pulumi up)", () => {
  it("GIVEN the planned cloud stack WHEN read from cdk.tf.json and from the Pulumi capture THEN both give the same containers, networks, volumes and images", () => {
    const a = applyPlanFromTerraform(tf());
    const b = applyPlanFromPulumi(pulumi());
    expect(comparable(b)).toEqual(comparable(a));
    expect(b.networks.map(({ resource: _r, ...n }) => n)).toEqual(a.networks.map(({ resource: _r, ...n }) => n));
    expect(b.volumes.map((v) => v.name)).toEqual(a.volumes.map((v) => v.name));
    expect(b.images.map((i) => i.name)).toEqual(a.images.map((i) => i.name));
    expect(a.containers.length).toBeGreaterThan(0);
  });

  it("GIVEN a container WHEN read THEN references are resolved (image by name, networks by name) and every variable is collected", () => {
    const a = applyPlanFromTerraform(tf());
    for (const c of a.containers) {
      expect(c.image).not.toMatch(/\$\{/);
      for (const n of c.networks) expect(a.networks.map((x) => x.name)).toContain(n.name);
    }
    const tfVars = Object.keys(tf().variable ?? {});
    for (const v of a.variables) expect(tfVars).toContain(v);
  });

  it("GIVEN a field the applier does not map WHEN read THEN it is refused, naming the resource and the field (both engines)", () => {
    const t = tf();
    const id = Object.keys(t.resource.docker_container!)[0]!;
    (t.resource.docker_container![id] as Record<string, unknown>).sysctls = { "net.ipv4.ip_forward": "1" };
    expect(() => applyPlanFromTerraform(t)).toThrow(ApplyError);
    expect(() => applyPlanFromTerraform(t)).toThrow(new RegExp(`docker_container\\.${id}: field sysctls is not mapped`));
    const p = pulumi();
    const c = p.resources.find((r) => r.type === "docker:index/container:Container")!;
    c.inputs.devices = [{ hostPath: "/dev/kmsg" }];
    expect(() => applyPlanFromPulumi(p)).toThrow(new RegExp(`${c.name}: field devices is not mapped`));
  });

  it("GIVEN an unmapped field nested in a mapped one WHEN read THEN it is refused too (capabilities, networks, mounts, healthcheck)", () => {
    const t = tf();
    const id = Object.keys(t.resource.docker_container!)[0]!;
    const c = t.resource.docker_container![id] as { networks_advanced?: Record<string, unknown>[]; healthcheck?: Record<string, unknown> };
    c.healthcheck = { ...(c.healthcheck ?? {}), test: ["CMD", "true"], shell: true };
    expect(() => applyPlanFromTerraform(t)).toThrow(/healthcheck: field shell is not mapped/);
    const t2 = tf();
    const c2 = t2.resource.docker_container![id] as { networks_advanced?: Record<string, unknown>[] };
    if (c2.networks_advanced?.[0]) c2.networks_advanced[0].ipv6_address = "fd00::5";
    if (c2.networks_advanced?.[0]) expect(() => applyPlanFromTerraform(t2)).toThrow(/networks_advanced\[0\]: field ipv6_address is not mapped/);
  });

  it("GIVEN a resource type or reference the applier does not know WHEN read THEN it is refused", () => {
    const t = tf();
    (t.resource as Record<string, unknown>).docker_plugin = { x: { name: "p" } };
    expect(() => applyPlanFromTerraform(t)).toThrow(/resource type docker_plugin is not mapped/);
    const t2 = tf();
    const id = Object.keys(t2.resource.docker_container!)[0]!;
    (t2.resource.docker_container![id] as Record<string, unknown>).image = "${docker_image.nope.image_id}";
    expect(() => applyPlanFromTerraform(t2)).toThrow(/reference \$\{docker_image\.nope\.image_id\} does not name a docker_image/);
    const t3 = tf();
    (t3.resource.docker_container![id] as { env: string[] }).env = ["X=${local.secret}"];
    expect(() => applyPlanFromTerraform(t3)).toThrow(/interpolation \$\{local\.secret\} is not mapped/);
  });

  it("GIVEN durations as the providers take them WHEN converted THEN they are nanoseconds, and nonsense is refused", () => {
    expect(durationNs("x", "30s")).toBe(30e9);
    expect(durationNs("x", "1m30s")).toBe(90e9);
    expect(durationNs("x", "500ms")).toBe(5e8);
    expect(() => durationNs("x", "30 seconds")).toThrow(/not like 30s/);
    expect(() => durationNs("x", "")).toThrow(/not like 30s/);
  });

  it("GIVEN the plan WHEN the lab picks images THEN HAProxy and PostgreSQL are real, stand-ins know exactly their containers' declared ports", () => {
    expect(imageKind("haproxy:2.8")).toBe("haproxy");
    expect(imageKind("docker.io/library/postgres:15.8")).toBe("postgres");
    expect(imageKind("ghcr.io/example/api:1.4.0")).toBe("standin");
    const a = applyPlanFromTerraform(tf());
    for (const s of imageSpecs(a).filter((x) => x.kind === "standin")) {
      for (const e of s.standins!) {
        const c = a.containers.find((x) => (x.labels["palisade.service"] ?? x.name) === e.service)!;
        expect(e.listens).toEqual((c.labels["palisade.listens"] ?? "").split(",").filter(Boolean));
        expect(e.addresses).toEqual(c.networks.map((n) => n.ipv4));
      }
    }
  });
});
