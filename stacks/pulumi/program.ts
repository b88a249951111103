import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackSpec } from "../docker-spec.js";

/** Pulumi secret config key for a sensitive variable (`palisade:postgres_superuser_password`). */
export function secretConfigKey(variable: string): string {
  return variable;
}

/**
 * One Docker host in Pulumi: an explicit provider per host, every resource parented to a
 * component so the resource tree reads like the architecture. Secrets come from Pulumi secret
 * config (`pulumi config set --secret`), never from literals.
 */
export class DockerHostComponent extends pulumi.ComponentResource {
  constructor(spec: StackSpec, config: pulumi.Config) {
    super("palisade:index:DockerHost", spec.name, {}, {});
    const provider = new docker.Provider(`${spec.name}-docker`, { host: spec.dockerHost }, { parent: this });
    const opts = { parent: this, provider };
    const secrets = new Map(spec.variables.map((v) => [v, config.requireSecret(secretConfigKey(v))]));
    const images = new Map(spec.images.map((ref) => [ref, new docker.RemoteImage(`image-${ref}`, { name: ref, keepLocally: true }, opts)]));
    for (const v of spec.volumes) new docker.Volume(`volume-${v}`, { name: v }, opts);
    const networks = new Map(
      spec.networks.map((n) => [
        n.name,
        new docker.Network(
          `network-${n.name}`,
          {
            name: n.name,
            driver: "bridge",
            internal: n.internal,
            ipamConfigs: [{ subnet: n.subnet, gateway: n.gateway }],
            options: { "com.docker.network.bridge.name": n.bridgeName, "com.docker.network.bridge.enable_ip_masquerade": String(n.masquerade) },
            labels: [{ label: "palisade.segment", value: n.name }, ...(n.egressReason ? [{ label: "palisade.egress-reason", value: n.egressReason }] : [])],
          },
          opts,
        ),
      ]),
    );
    for (const c of spec.containers) {
      const envs = pulumi.all(c.secretEnv.map((s) => pulumi.interpolate`${s.name}=${secrets.get(s.variable)!}`)).apply((secretEnvs) => [...c.env, ...secretEnvs].sort());
      new docker.Container(
        `container-${c.name}`,
        {
          name: c.name,
          image: images.get(c.image)!.imageId,
          networkMode: c.networkMode,
          networksAdvanced: c.networks.map((n) => ({ name: networks.get(n.name)!.name, ipv4Address: n.ipv4, aliases: [c.service] })),
          ports: c.ports.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip, protocol: p.protocol })),
          capabilities: { drops: [...c.capDrop], adds: [...c.capAdd] },
          securityOpts: [...c.securityOpts],
          readOnly: c.readOnly,
          privileged: c.privileged,
          user: c.user,
          tmpfs: { ...c.tmpfs },
          mounts: c.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target, readOnly: m.readOnly })),
          memory: c.memoryMb,
          ulimits: [{ name: "nproc", soft: c.pidsLimit, hard: c.pidsLimit }],
          healthcheck: { tests: [...c.healthcheck.test], interval: c.healthcheck.interval, timeout: c.healthcheck.timeout, retries: c.healthcheck.retries },
          restart: c.restart,
          envs: c.secretEnv.length ? envs : [...c.env],
          command: c.command.length ? [...c.command] : undefined,
          logDriver: "json-file",
          logOpts: { ...c.logOpts },
          labels: Object.entries(c.labels).map(([label, value]) => ({ label, value })),
        },
        { ...opts, dependsOn: c.networks.map((n) => networks.get(n.name)!) },
      );
    }
    this.registerOutputs({});
  }
}
