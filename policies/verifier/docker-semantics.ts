import { posix } from "node:path";
import type { DockerContainerModel } from "./docker-model.js";

/*
 * How the Docker engine reads a container's settings, in the spellings it accepts: capabilities
 * with or without `CAP_` in any case, `--security-opt` entries where the last one of a key wins,
 * a user whose uid may be `0`, `00`, `root` or absent (the image's default, root unless the image
 * says otherwise), bind sources Docker normalizes (`/etc/../etc//`). The guardrails and the
 * exceptions list read containers through these, so one spelling cannot slip past another.
 */

/** CIS Docker Benchmark 5.3 and the capabilities that give the host away. */
export const DANGEROUS_CAPABILITIES = new Set([
  "ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "NET_RAW", "SYS_RAWIO", "SYS_TIME", "MKNOD", "SYS_BOOT", "SYS_CHROOT",
  "BPF", "PERFMON", "SYSLOG", "MAC_ADMIN", "MAC_OVERRIDE", "LINUX_IMMUTABLE", "SYS_RESOURCE", "AUDIT_CONTROL", "SETFCAP", "DAC_OVERRIDE", "SYS_NICE", "WAKE_ALARM", "BLOCK_SUSPEND", "CHECKPOINT_RESTORE",
]);

/** `cap_sys_admin`, `CAP_SYS_ADMIN`, `sys_admin` → `SYS_ADMIN` (Docker accepts all three). */
export function normalizeCapability(cap: string): string {
  return cap.trim().toUpperCase().replace(/^CAP_/, "");
}

/** The label that declares why a capability is added (by its normalized name). */
export function capabilityReason(c: DockerContainerModel, cap: string): string | undefined {
  const n = normalizeCapability(cap);
  const key = Object.keys(c.labels).find((k) => k.startsWith("palisade.cap.") && normalizeCapability(k.slice("palisade.cap.".length)) === n);
  const v = key ? c.labels[key]?.trim() : undefined;
  return v ? v : undefined;
}

/** Go's strconv.ParseBool, which Docker uses for security-opt values. */
function parseBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

export interface SecurityOpts {
  /** In effect after the whole list (the last entry wins). */
  readonly noNewPrivileges: boolean;
  /** `seccomp=unconfined`, `apparmor=unconfined`, `label=disable`, `systempaths=unconfined`... */
  readonly unconfined: readonly string[];
  /** Entries the engine would refuse or this verifier does not model. */
  readonly unknown: readonly string[];
}

export function securityOpts(c: DockerContainerModel): SecurityOpts {
  let nnp = false;
  const unconfined: string[] = [];
  const unknown: string[] = [];
  for (const raw of c.securityOpts) {
    const o = raw.trim();
    const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(o);
    if (!m) {
      unknown.push(o);
      continue;
    }
    const [, key, value = ""] = m;
    if (key === "no-new-privileges") {
      const b = value === "" ? true : parseBool(value);
      if (b === undefined) unknown.push(o);
      else nnp = b;
    } else if (key === "seccomp" || key === "apparmor") {
      if (value === "unconfined" || value === "") unconfined.push(o);
      else if (!(key === "apparmor" && value === "docker-default")) unknown.push(o); // a profile file is not read
    } else if (key === "label") {
      if (value === "disable" || value === "type:spc_t" || value.startsWith("type:unconfined")) unconfined.push(o);
      else unknown.push(o);
    } else if (key === "systempaths" || key === "writable-cgroups") {
      if (value === "unconfined" || parseBool(value) === true) unconfined.push(o);
      else unknown.push(o);
    } else unknown.push(o);
  }
  return { noNewPrivileges: nnp, unconfined, unknown };
}

/**
 * Whether the container's processes start as uid 0: `0`, `00`, `+0`, `root`, `0:0`, `root:1000`,
 * or no user at all (the image's default, which the verifier cannot see: taken as root).
 */
export function runsAsRoot(c: DockerContainerModel): boolean {
  const user = c.user.trim().split(":")[0]!.trim();
  if (user === "" || user === "root") return true;
  if (/^[+-]?\d+$/.test(user)) return Number(user) === 0;
  return false;
}

/** Host paths whose bind mount hands the container the host (any path under them). */
const SENSITIVE_PREFIXES = ["/etc", "/proc", "/sys", "/var/run", "/run", "/boot", "/root", "/dev", "/var/lib/docker", "/var/lib/containerd", "/var/lib/kubelet", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/home"];
/** Inside those: the host files Palisade renders for its containers, and the syslog socket. */
const ALLOWED_UNDER = ["/etc/palisade/", "/dev/log"];
/** The host keys' directory; each container may mount only named files in it, never the directory or its parents. */
export const SECRETS_DIR = "/etc/palisade/secrets";
const RUNTIME_SOCKET = /(^|\/)(docker|containerd|podman|crio|cri-dockerd|dockershim|buildkitd|containerd-shim[^/]*|kubelet|libpod)\.sock$|(^|\/)(docker|containerd|podman|crio)(\/|$)/;
/** The tunnel's private keys belong to WireGuard on the host only. */
const HOST_ONLY_SECRET = /^wireguard-[^/]*\.key$/;

/** Why a bind mount of `source` is sensitive, or undefined. */
export function sensitiveBind(source: string): string | undefined {
  const src = posix.normalize(source.startsWith("/") ? source : `/${source}`).replace(/\/+$/, "") || "/";
  if (src === "/") return "the host's root filesystem";
  if (RUNTIME_SOCKET.test(src)) return "a container runtime socket (the host's container engine)";
  if (src === SECRETS_DIR || `${SECRETS_DIR}/`.startsWith(`${src}/`)) return `the secrets directory ${SECRETS_DIR} (every host key)`;
  if (src.startsWith(`${SECRETS_DIR}/`) && HOST_ONLY_SECRET.test(src.slice(SECRETS_DIR.length + 1))) return "the tunnel's private key";
  const prefix = SENSITIVE_PREFIXES.find((p) => src === p || src.startsWith(`${p}/`));
  if (prefix && !ALLOWED_UNDER.some((a) => src === a.replace(/\/$/, "") || src.startsWith(a))) return `a system path under ${prefix}`;
  return undefined;
}

/** How the container's network namespace is set: `container:X` joins another container's. */
export function networkModeProblem(c: DockerContainerModel): string | undefined {
  const mode = c.networkMode;
  if (mode.startsWith("container:")) return `network_mode ${mode} joins another container's network namespace (not modelled: its reachability would be that container's)`;
  if (!["bridge", "host", "none", "default", ""].includes(mode)) return `network_mode ${mode} is not modelled`;
  return undefined;
}
