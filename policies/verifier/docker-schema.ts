/*
 * What the verifier knows of an engine's Docker artifact, field by field. Every resource type and
 * every field is either read into the model (docker-model.ts), known to have no effect on
 * isolation or reachability, or refused: a field the verifier ignores could undo what it checks
 * (`sysctls`, `runtime`, `publish_all_ports`, extra hosts, a provisioner that runs a command).
 * Values the model reads are type-checked: a wrong type is a finding, never a silent default.
 * Names are Terraform's (snake_case); the Pulumi reader converts its camelCase names first.
 */

export interface SchemaProblem {
  /** JSON pointer into the artifact. */
  readonly pointer: readonly (string | number)[];
  readonly message: string;
}

type Kind = "string" | "number" | "boolean" | "array" | "object" | "any";

/** Fields read into the model, with the JSON type they must have. */
const CONTAINER_MODELLED: Record<string, Kind> = {
  name: "string", image: "string", labels: "array", network_mode: "string", networks_advanced: "array", ports: "array", privileged: "boolean",
  pid_mode: "string", ipc_mode: "string", userns_mode: "string", cgroupns_mode: "string", capabilities: "object", security_opts: "array", read_only: "boolean",
  user: "string", memory: "number", ulimit: "array", healthcheck: "object", mounts: "array", volumes: "array", env: "array", devices: "array",
};
/** Fields with no effect on who reaches whom or on the container's confinement. */
const CONTAINER_INERT = new Set([
  "//", "depends_on", "command", "entrypoint", "log_driver", "log_opts", "restart", "tmpfs", "must_run", "destroy_grace_seconds", "stop_signal", "stop_timeout",
  "working_dir", "hostname", "domainname", "memory_swap", "cpu_shares", "cpus", "cpu_set", "cpu_quota", "cpu_period", "shm_size", "init", "attach", "logs", "rm",
  "start", "wait", "wait_timeout", "max_retry_count", "remove_volumes", "container_read_refresh_timeout_milliseconds", "stdin_open", "tty", "dns", "dns_opts",
  "dns_search", "lifecycle", "provider", "upload",
]);
/** The keys of each block the model reads (Terraform's names; networks_advanced and capabilities are checked on their own). */
const CONTAINER_BLOCK_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  volumes: new Set(["host_path", "volume_name", "container_path", "read_only"]),
  mounts: new Set(["type", "source", "target", "read_only"]),
  ports: new Set(["internal", "external", "ip", "protocol"]),
  devices: new Set(["host_path", "container_path", "permissions"]),
  labels: new Set(["label", "value"]),
  ulimit: new Set(["name", "soft", "hard"]),
};
const NETWORK_MODELLED: Record<string, Kind> = { name: "string", driver: "string", ipam_config: "array", internal: "boolean", options: "object", labels: "array" };
const NETWORK_INERT = new Set(["//", "depends_on", "attachable", "check_duplicate", "lifecycle", "provider"]);
/** Bridge driver options: read, or without effect on reachability (icc off only removes paths). */
const NETWORK_OPTIONS = new Set(["com.docker.network.bridge.name", "com.docker.network.bridge.enable_ip_masquerade", "com.docker.network.bridge.enable_icc", "com.docker.network.driver.mtu"]);
const VOLUME_FIELDS = new Set(["//", "name", "labels", "depends_on", "lifecycle", "provider"]);
const IMAGE_FIELDS = new Set(["//", "name", "keep_locally", "depends_on", "lifecycle", "provider", "pull_triggers", "platform"]);

/** Terraform resource types the verifier models; the Vault ones are the secrets stack's, read by the OpenBao checks. */
export const TF_TYPES = new Set(["docker_container", "docker_network", "docker_volume", "docker_image"]);
export const TF_OTHER_STACK_TYPES = /^vault_(mount|policy|auth_backend|approle_auth_backend_role|database_secret_backend_connection|database_secret_backend_role)$/;
export const PULUMI_TYPES = new Map([
  ["docker:index/container:Container", "docker_container"],
  ["docker:index/network:Network", "docker_network"],
  ["docker:index/volume:Volume", "docker_volume"],
  ["docker:index/remoteImage:RemoteImage", "docker_image"],
]);
/** A Kubernetes stack's resources, read by the Kubernetes verifier (policies/verifier/k8s): allowed only in a stack with no Docker resource. */
export const TF_KUBERNETES = /^kubernetes_manifest$/;
export const PULUMI_KUBERNETES = /^(kubernetes:|pulumi:providers:kubernetes$)/;
export const PULUMI_STRUCTURE = /^(pulumi:providers:(docker|vault)|palisade:index:(DockerHost|Secrets)|vault:.*)$/;

const typeOf = (v: unknown): Kind => (Array.isArray(v) ? "array" : v === null ? "any" : (typeof v as Kind));

function checkFields(raw: Record<string, unknown>, base: readonly (string | number)[], modelled: Record<string, Kind>, inert: ReadonlySet<string>, what: string): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (k === "provisioner" || k === "connection") {
      out.push({ pointer: [...base, k], message: `${what} has a ${k} block: Terraform would run commands (local-exec, remote-exec) the verifier cannot see` });
      continue;
    }
    if (k === "count" || k === "for_each") {
      out.push({ pointer: [...base, k], message: `${what} uses ${k}: how many resources exist is not modelled` });
      continue;
    }
    const want = modelled[k];
    if (want) {
      const got = typeOf(v);
      // A single block may be an object where a list is expected (Terraform accepts both).
      const ok = got === want || (want === "array" && got === "object") || (want === "string" && got === "number" && k === "user");
      if (!ok) out.push({ pointer: [...base, k], message: `${what} ${k} is ${JSON.stringify(v)?.slice(0, 40)} (${got}); expected ${want === "array" ? "a list" : `a ${want}`}` });
      continue;
    }
    if (!inert.has(k)) out.push({ pointer: [...base, k], message: `${what} sets ${k}, which the verifier does not model (it could change the container's isolation or reachability): refused` });
  }
  return out;
}

/** Problems of one Docker resource, named as in Terraform (`docker_container`, fields snake_case). */
export function resourceProblems(type: string, raw: Record<string, unknown>, base: readonly (string | number)[], what: string): SchemaProblem[] {
  if (typeOf(raw) !== "object") return [{ pointer: base, message: `${what} is not an object` }];
  if (type === "docker_container") {
    const out = checkFields(raw, base, CONTAINER_MODELLED, CONTAINER_INERT, what);
    const nets = Array.isArray(raw.networks_advanced) ? raw.networks_advanced : [];
    nets.forEach((n, i) => {
      const net = (n ?? {}) as Record<string, unknown>;
      if (typeof net.name !== "string" || !net.name) out.push({ pointer: [...base, "networks_advanced", i, "name"], message: `${what} attaches a network without a name` });
      if (typeof net.ipv4_address !== "string" || !net.ipv4_address) out.push({ pointer: [...base, "networks_advanced", i, "name"], message: `${what} attaches network ${String(net.name ?? "?")} without an ipv4_address: the verifier cannot place it (Docker would pick any address in the subnet)` });
      for (const k of Object.keys(net)) if (!["name", "ipv4_address", "aliases"].includes(k)) out.push({ pointer: [...base, "networks_advanced", i, k], message: `${what} network attachment sets ${k}, which the verifier does not model` });
    });
    // The blocks the model reads, key by key: a key it does not read could mount, publish or pass
    // through what it does not see (volumes from another container, a mount's propagation).
    for (const [field, keys] of Object.entries(CONTAINER_BLOCK_KEYS)) {
      const v = raw[field];
      const items = Array.isArray(v) ? v : v && typeof v === "object" ? [v] : [];
      items.forEach((item, i) => {
        if (!item || typeof item !== "object") return;
        for (const k of Object.keys(item as Record<string, unknown>)) {
          if (keys.has(k)) continue;
          const why = field === "volumes" && k === "from_container" ? ` (every volume of container ${String((item as Record<string, unknown>)[k])}, its data included, would be mounted here)` : "";
          out.push({ pointer: [...base, field, ...(Array.isArray(v) ? [i] : []), k], message: `${what} ${field} entry sets ${k}${why}, which the verifier does not model: refused` });
        }
      });
    }
    if (typeof raw.name !== "string" || !raw.name) out.push({ pointer: [...base, "name"], message: `${what} has no name` });
    const caps = (raw.capabilities ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(caps)) if (k !== "add" && k !== "drop") out.push({ pointer: [...base, "capabilities", k], message: `${what} capabilities.${k} is not add or drop` });
    return out;
  }
  if (type === "docker_network") {
    const out = checkFields(raw, base, NETWORK_MODELLED, NETWORK_INERT, what);
    const opts = (raw.options ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(opts)) if (!NETWORK_OPTIONS.has(k)) out.push({ pointer: [...base, "options", k], message: `${what} sets driver option ${k}, which the verifier does not model` });
    if (raw.driver !== undefined && raw.driver !== "bridge") out.push({ pointer: [...base, "driver"], message: `${what} uses driver ${String(raw.driver)}; only bridge networks are modelled` });
    const ipam = Array.isArray(raw.ipam_config) ? raw.ipam_config : raw.ipam_config ? [raw.ipam_config] : [];
    if (ipam.length !== 1) out.push({ pointer: [...base, "ipam_config"], message: `${what} has ${ipam.length} IPAM configs; exactly one (its subnet) is modelled` });
    return out;
  }
  const allowed = type === "docker_volume" ? VOLUME_FIELDS : IMAGE_FIELDS;
  return Object.keys(raw)
    .filter((k) => !allowed.has(k))
    .map((k) => ({ pointer: [...base, k], message: `${what} sets ${k}, which the verifier does not model${k === "driver" || k === "driver_opts" ? " (a volume driver can bind any host path)" : ""}: refused` }));
}

/** snake_case names of a Pulumi input object, with the Docker provider's plural names made singular. */
const PULUMI_RENAMES: Record<string, string> = { envs: "env", ulimits: "ulimit", hosts: "host", ipamConfigs: "ipam_config", networksAdvanced: "networks_advanced", ipv4Address: "ipv4_address", adds: "add", drops: "drop", tests: "test" };
/** The snake_case name snakeKeys gives a Pulumi input key. */
export const snakeName = (k: string): string => PULUMI_RENAMES[k] ?? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => {
        // Labels, options and tmpfs keys are data, not field names.
        const key = snakeName(k);
        return [key, ["labels", "options", "tmpfs", "log_opts", "driver_opts"].includes(key) ? x : snakeKeys(x)];
      }),
    );
  }
  return v;
}
