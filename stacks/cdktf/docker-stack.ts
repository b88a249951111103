import { TerraformStack, TerraformVariable, type App } from "cdktf";
import { Container } from "@cdktf/provider-docker/lib/container/index.js";
import { Image } from "@cdktf/provider-docker/lib/image/index.js";
import { Network } from "@cdktf/provider-docker/lib/network/index.js";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider/index.js";
import { Volume } from "@cdktf/provider-docker/lib/volume/index.js";
import type { StackSpec } from "../docker-spec.js";
import { useLocalState } from "./backend.js";

/** Terraform-safe resource name: stable, derived from the Docker name. */
export function tfId(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

/**
 * One Docker host as a TerraformStack. Secrets arrive only as sensitive variables
 * (`TF_VAR_<name>` at deploy time); no secret value is ever a literal here.
 */
export class DockerHostStack extends TerraformStack {
  constructor(scope: App, spec: StackSpec) {
    super(scope, spec.name);
    useLocalState(this, spec.name);
    new DockerProvider(this, "docker", { host: spec.dockerHost });
    const vars = new Map<string, TerraformVariable>();
    for (const v of spec.variables) {
      vars.set(v, new TerraformVariable(this, v, { type: "string", sensitive: true, description: `secret ${v}, from .palisade/secrets/ (TF_VAR_${v})` }));
    }
    const images = new Map<string, Image>();
    for (const ref of spec.images) {
      images.set(ref, new Image(this, `image_${tfId(ref)}`, { name: ref, keepLocally: true }));
    }
    for (const v of spec.volumes) new Volume(this, `volume_${tfId(v)}`, { name: v });
    const networks = new Map<string, Network>();
    for (const n of spec.networks) {
      networks.set(
        n.name,
        new Network(this, `network_${tfId(n.name)}`, {
          name: n.name,
          driver: "bridge",
          internal: n.internal,
          ipamConfig: [{ subnet: n.subnet, gateway: n.gateway }],
          options: { "com.docker.network.bridge.name": n.bridgeName, "com.docker.network.bridge.enable_ip_masquerade": String(n.masquerade) },
          labels: [{ label: "palisade.segment", value: n.name }, ...(n.egressReason ? [{ label: "palisade.egress-reason", value: n.egressReason }] : [])],
        }),
      );
    }
    for (const c of spec.containers) {
      const env = [...c.env, ...c.secretEnv.map((s) => `${s.name}=\${var.${s.variable}}`)].sort();
      new Container(this, `container_${tfId(c.name)}`, {
        name: c.name,
        image: images.get(c.image)!.imageId,
        networkMode: c.networkMode,
        networksAdvanced: c.networks.map((n) => ({ name: networks.get(n.name)!.name, ipv4Address: n.ipv4, aliases: [c.service] })),
        ports: c.ports.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip, protocol: p.protocol })),
        capabilities: { drop: [...c.capDrop], add: [...c.capAdd] },
        securityOpts: [...c.securityOpts],
        readOnly: c.readOnly,
        privileged: c.privileged,
        user: c.user,
        tmpfs: { ...c.tmpfs },
        mounts: c.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target, readOnly: m.readOnly })),
        memory: c.memoryMb,
        ulimit: [{ name: "nproc", soft: c.pidsLimit, hard: c.pidsLimit }],
        healthcheck: { test: [...c.healthcheck.test], interval: c.healthcheck.interval, timeout: c.healthcheck.timeout, retries: c.healthcheck.retries },
        restart: c.restart,
        env,
        command: c.command.length ? [...c.command] : undefined,
        logDriver: "json-file",
        logOpts: { ...c.logOpts },
        labels: Object.entries(c.labels).map(([label, value]) => ({ label, value })),
        dependsOn: c.networks.map((n) => networks.get(n.name)!),
      });
    }
  }
}
