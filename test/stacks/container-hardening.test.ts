import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crossSiteFlows, siteTunnelAddresses, tunnelAddresses, type Site } from "../../core/index.js";
import { examples } from "../helpers/examples.js";
import { planOnce, type PlannedOutput } from "../helpers/plan-once.js";

/*
 * CIS-style hardening, checked on what the engines would apply: every container of every stack in
 * BOTH engines' output (out/cdktf/stacks/<stack>/cdk.tf.json and out/pulumi/<stack>.json), read
 * from the artifacts alone, for every example platform. New stacks and containers are picked up
 * from the output directory.
 */

/** One container as either engine declares it, with the two engines' field names mapped once. */
interface ContainerView {
  readonly engine: "cdktf" | "pulumi";
  readonly stack: string;
  readonly name: string;
  readonly raw: Record<string, unknown>;
  readonly capDrop: unknown;
  readonly capAdd: unknown;
  readonly securityOpts: unknown;
  readonly readOnly: unknown;
  readonly privileged: unknown;
  readonly user: unknown;
  readonly memory: unknown;
  readonly ulimits: { name: string; soft: number; hard: number }[];
  readonly healthcheckTest: unknown;
  readonly restart: unknown;
  readonly pidMode: unknown;
  readonly ipcMode: unknown;
  readonly networkMode: unknown;
  readonly ports: { ip?: string; external?: number; internal?: number }[];
  readonly labels: Record<string, string>;
}

const labels = (list: unknown) => Object.fromEntries(((list ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
type Raw = Record<string, any>;

function containers(plan: PlannedOutput): ContainerView[] {
  const out: ContainerView[] = [];
  const stacksDir = join(plan.dir, "cdktf/stacks");
  for (const stack of readdirSync(stacksDir).sort()) {
    for (const c of Object.values(plan.tf(stack).resource.docker_container ?? {}) as Raw[]) {
      out.push({
        engine: "cdktf", stack, name: c.name, raw: c,
        capDrop: c.capabilities?.drop, capAdd: c.capabilities?.add, securityOpts: c.security_opts, readOnly: c.read_only, privileged: c.privileged,
        user: c.user, memory: c.memory, ulimits: c.ulimit ?? [], healthcheckTest: c.healthcheck?.test, restart: c.restart,
        pidMode: c.pid_mode, ipcMode: c.ipc_mode, networkMode: c.network_mode, ports: c.ports ?? [], labels: labels(c.labels),
      });
    }
  }
  const pulumiDir = join(plan.dir, "pulumi");
  for (const file of existsSync(pulumiDir) ? readdirSync(pulumiDir).filter((f) => f.endsWith(".json")).sort() : []) {
    const stack = file.replace(/\.json$/, "");
    for (const r of plan.pulumi(stack).resources.filter((r) => r.type === "docker:index/container:Container")) {
      const c = r.inputs as Raw;
      out.push({
        engine: "pulumi", stack, name: c.name, raw: c,
        capDrop: c.capabilities?.drops, capAdd: c.capabilities?.adds, securityOpts: c.securityOpts, readOnly: c.readOnly, privileged: c.privileged,
        user: c.user, memory: c.memory, ulimits: c.ulimits ?? [], healthcheckTest: c.healthcheck?.tests, restart: c.restart,
        pidMode: c.pidMode, ipcMode: c.ipcMode, networkMode: c.networkMode, ports: c.ports ?? [], labels: labels(c.labels),
      });
    }
  }
  return out;
}

const isRootUser = (user: unknown) => typeof user === "string" && /^(root|0)(:|$)/.test(user);
const planned: { name: string; plan: PlannedOutput; tunnelCloudIp: string; kube: boolean; site: Site }[] = [];
for (const e of examples) planned.push({ name: e.name, plan: await planOnce(e.file), tunnelCloudIp: tunnelAddresses(e.site).cloud4, kube: e.site.cloud.engine === "kubernetes", site: e.site });

// A cloud on Kubernetes has no container there (its pods are checked in test/stacks/kube-site.test.ts):
// only the edge's containers are read, and the ingress is published by its Service's externalIPs.
describe.each(planned)("the container hardening in both engines' output of the $name example", ({ plan, tunnelCloudIp, kube, site }) => {
  const ALL = containers(plan);
  const cases = ALL.map((c) => [`${c.engine} ${c.stack}/${c.name}`, c] as const);

  it("GIVEN the plan WHEN both engines' outputs are read THEN they declare the same containers, and there are some", () => {
    const names = (engine: string) => ALL.filter((c) => c.engine === engine).map((c) => `${c.stack}/${c.name}`).sort();
    expect(names("cdktf").length).toBeGreaterThanOrEqual(kube ? 4 : 8);
    if (kube) expect(names("cdktf").filter((n) => n.startsWith("cloud/"))).toEqual([]);
    expect(names("pulumi")).toEqual(names("cdktf"));
  });

  it.each(cases)("%s drops every capability and adds back only named ones, each with a reason label", (_n, c) => {
    expect(c.capDrop).toEqual(["ALL"]);
    for (const cap of c.capAdd as string[]) expect(c.labels[`palisade.cap.${cap}`]?.trim().length ?? 0, `reason for ${cap}`).toBeGreaterThanOrEqual(10);
    expect(c.capAdd).not.toContain("SYS_ADMIN");
    expect(c.capAdd).not.toContain("ALL");
  });

  it.each(cases)("%s sets no-new-privileges, a read-only root filesystem, and is not privileged", (_n, c) => {
    expect(c.securityOpts).toContain("no-new-privileges:true");
    expect(c.readOnly).toBe(true);
    expect(c.privileged).toBe(false);
  });

  it.each(cases)("%s runs as a named non-root user, or says why in palisade.root-reason", (_n, c) => {
    expect(c.user).toMatch(/^\S+$/);
    if (isRootUser(c.user)) expect(c.labels["palisade.root-reason"]?.trim().length ?? 0).toBeGreaterThanOrEqual(10);
    else expect(c.labels["palisade.root-reason"]).toBeUndefined();
  });

  it.each(cases)("%s has a memory limit and an nproc ulimit", (_n, c) => {
    expect(c.memory).toBeGreaterThan(0);
    const nproc = c.ulimits.find((u) => u.name === "nproc");
    expect(nproc?.soft).toBeGreaterThan(0);
    expect(nproc?.hard).toBeGreaterThanOrEqual(nproc?.soft ?? Infinity);
  });

  it.each(cases)("%s has a health check and a restart policy", (_n, c) => {
    expect(c.healthcheckTest).toEqual(expect.arrayContaining([expect.stringMatching(/^CMD(-SHELL)?$/)]));
    expect(c.healthcheckTest).not.toEqual(["NONE"]);
    expect(["unless-stopped", "always", "on-failure"]).toContain(c.restart);
  });

  it.each(cases)("%s mounts no Docker socket and shares neither the host's PID nor IPC namespace", (_n, c) => {
    expect(JSON.stringify(c.raw)).not.toMatch(/docker\.sock|containerd\.sock|\/var\/run\/docker/);
    expect(c.pidMode ?? "").not.toBe("host");
    expect(c.ipcMode ?? "").not.toBe("host");
    expect(c.raw.devices ?? []).toEqual([]);
  });

  it.each(cases)("%s mounts no whole secrets directory, and no WireGuard private key", (_n, c) => {
    // Bind mounts (`mounts[].source`) and host-path volumes (`volumes[].host_path` / `hostPath`).
    const entries = [...((c.raw.mounts ?? []) as Record<string, unknown>[]), ...((c.raw.volumes ?? []) as Record<string, unknown>[])];
    const sources = entries.map((m) => String(m.source ?? m.host_path ?? m.hostPath ?? "")).filter(Boolean);
    for (const src of sources) {
      expect(src.replace(/\/$/, "")).not.toBe("/etc/palisade/secrets");
      expect(src).not.toMatch(/wireguard-(edge|cloud)\.key/);
    }
  });

  it.each(cases)("%s uses host networking exactly when it carries a palisade.host-network-reason", (_n, c) => {
    expect(c.networkMode === "host").toBe(c.labels["palisade.host-network-reason"] !== undefined);
  });

  it.each(cases)("%s publishes ports only if it is the ingress or a declared cross-site flow reaches it on that port, and then only on its site's tunnel address", (_n, c) => {
    const primary = site.sites[0]!.id;
    for (const p of c.ports) {
      const service = c.labels["palisade.service"];
      const crossSite = crossSiteFlows(site).some((f) => f.to === service && f.port.from === p.external);
      expect(`${c.stack}/${c.name}` === `${primary}/${primary}-ingress` || crossSite, `${c.stack}/${c.name} publishes ${p.external}`).toBe(true);
      expect(p.ip).toBe(siteTunnelAddresses(site.sites.find((x) => x.id === c.stack)!).cloud4);
      expect(["0.0.0.0", "::", "", undefined]).not.toContain(p.ip);
    }
  });

  it.each(["cdktf", "pulumi"])("GIVEN %s output WHEN the ingress is read THEN it publishes exactly tcp 80 and 443 on the cloud's tunnel address", (engine) => {
    if (kube) {
      const file = engine === "cdktf" ? "cdktf/stacks/cloud/cdk.tf.json" : "pulumi/cloud.json";
      const text = readFileSync(join(plan.dir, file), "utf8");
      const json = JSON.parse(text);
      const services = engine === "cdktf" ? Object.values(json.resource.kubernetes_manifest).map((r: any) => r.manifest) : json.resources.filter((r: any) => r.type === "kubernetes:core/v1:Service").map((r: any) => ({ kind: "Service", ...r.inputs }));
      const published = services.filter((o: any) => o.kind === "Service" && o.spec?.externalIPs);
      expect(published.map((o: any) => o.metadata.name)).toEqual(["ingress"]);
      expect(published[0].spec.externalIPs).toEqual([tunnelCloudIp]);
      expect(published[0].spec.ports.map((p: any) => `${p.protocol}/${p.port}->${p.targetPort}`).sort()).toEqual(["TCP/443->443", "TCP/80->80"]);
      return;
    }
    const ingress = ALL.find((c) => c.engine === engine && c.name === `${site.sites[0]!.id}-ingress`);
    expect(ingress?.ports.map((p) => `${p.ip}:${p.external}->${p.internal}`).sort()).toEqual([`${tunnelCloudIp}:443->443`, `${tunnelCloudIp}:80->80`]);
  });
});
