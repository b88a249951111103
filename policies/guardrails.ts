import type { DockerContainerModel, DockerModel } from "./verifier/docker-model.js";
import type { GuardrailFinding } from "./verifier/report-model.js";
import { parseRange } from "./verifier/addr.js";
import { parseWireguard, prefixOwners } from "./verifier/wireguard.js";
import { capabilityReason, DANGEROUS_CAPABILITIES, networkModeProblem, normalizeCapability, runsAsRoot, securityOpts, sensitiveBind } from "./verifier/docker-semantics.js";
import { constructOf, type KubeStackRead } from "./verifier/kube-site.js";
import { parseJsonWithLines } from "./verifier/json-lines.js";

/*
 * Guardrails over the artifacts: container hardening, exposure and secrets. Each rule has an
 * id, a one-line rationale, its source and a level (mandatory fails the run; advisory is
 * reported, and fails under --strict when the rule says so).
 */

export interface GuardrailRule {
  readonly id: string;
  readonly rationale: string;
  readonly source: string;
  readonly level: "advisory" | "mandatory";
  /** Advisory rules that `--strict` turns mandatory. @default false */
  readonly strictMandatory?: boolean;
}

export const GUARDRAILS = {
  privileged: { id: "privileged", level: "mandatory", source: "CIS Docker Benchmark 5.4", rationale: "a privileged container has every capability and every device: it is root on the host" },
  hostNamespace: {
    id: "host-namespace",
    level: "mandatory",
    source: "CIS Docker Benchmark 5.9, 5.15, 5.16",
    rationale: "sharing the host's network, PID, IPC, user or cgroup namespace (or another container's network) removes the container's isolation; only the host network may be a declared exception (label palisade.host-network-reason), and it excuses nothing else",
  },
  networkIdentity: {
    id: "network-identity",
    level: "mandatory",
    source: "Docker's embedded DNS (a user-defined network resolves its containers' names and aliases)",
    rationale: "a container answers only to its own name and service name on its networks: an alias naming anything else takes that name's traffic (another service's, with the credentials sent to it)",
  },
  sensitiveMount: { id: "sensitive-mount", level: "mandatory", source: "CIS Docker Benchmark 5.5, 5.31", rationale: "mounting docker.sock or a system directory hands the container the host" },
  devices: { id: "devices", level: "mandatory", source: "CIS Docker Benchmark 5.17", rationale: "a host device passed into a container bypasses its confinement (a disk, /dev/mem, /dev/kmsg...)" },
  capabilityReason: {
    id: "capability-reason",
    level: "mandatory",
    source: "CIS Docker Benchmark 5.3",
    rationale: "every capability added back after cap_drop ALL says why (label palisade.cap.<CAP>); the dangerous ones (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, DAC_READ_SEARCH, NET_RAW, SYS_RAWIO, SYS_TIME, MKNOD...) are listed among the exceptions for review; ALL never",
  },
  unconfined: { id: "unconfined", level: "mandatory", source: "CIS Docker Benchmark 5.1, 5.2, 5.21", rationale: "seccomp, AppArmor and SELinux confinement stay on (no `unconfined`, no `label=disable`, no unmasked system paths)" },
  capDropAll: { id: "cap-drop-all", level: "mandatory", source: "CIS Docker Benchmark 5.3", rationale: "containers start from no capability and add back only what they need, each with its reason" },
  noNewPrivileges: { id: "no-new-privileges", level: "mandatory", source: "CIS Docker Benchmark 5.25", rationale: "setuid binaries must not regain privileges inside the container" },
  readOnlyRootfs: { id: "read-only-rootfs", level: "mandatory", source: "CIS Docker Benchmark 5.12", rationale: "a read-only root filesystem keeps an intruder from changing the image; writable paths are explicit tmpfs or volumes" },
  nonRootUser: { id: "non-root-user", level: "mandatory", source: "CIS Docker Benchmark 4.1", rationale: "processes run as an unprivileged user; a service that must start as root says why (label palisade.root-reason)" },
  memoryLimit: { id: "memory-limit", level: "mandatory", source: "CIS Docker Benchmark 5.10", rationale: "a memory limit keeps one service from starving the host" },
  pidsLimit: {
    id: "pids-limit",
    level: "mandatory",
    source: "CIS Docker Benchmark 5.28",
    rationale: "a process limit stops fork bombs; the Docker providers have no pids_limit, so it is ulimit nproc (soft and hard)",
  },
  healthcheck: { id: "healthcheck", level: "advisory", source: "CIS Docker Benchmark 4.6", rationale: "a health check lets the engine and the operator see a wedged service" },
  publishedWildcard: {
    id: "published-wildcard",
    level: "mandatory",
    source: "CIS Docker Benchmark 5.13",
    rationale: "a port published on 0.0.0.0, :: or without an address is open on every interface, public ones included",
  },
  imageDigest: { id: "image-digest", level: "advisory", strictMandatory: true, source: "seed design (images.<service>.digest); CIS Docker Benchmark 4.x", rationale: "a tag can be moved; a digest names exactly the image that was reviewed" },
  wireguardAllowedIps: {
    id: "wireguard-allowed-ips",
    level: "mandatory",
    source: "docs/architecture.md (the tunnel carries the two hosts' traffic only; the edge reaches the cloud only at the ingress ports)",
    rationale: "a site-to-site peer's AllowedIPs are host routes inside the tunnel's own subnet; anything wider routes (and accepts) whole networks through the tunnel",
  },
  wireguardPeers: {
    id: "wireguard-peers",
    level: "mandatory",
    source: "wg(8) cryptokey routing",
    rationale: "each peer of a tunnel is one of the other hosts, and each address belongs to one peer: a prefix claimed twice is routed to the last peer that claims it",
  },
  secretMaterial: {
    id: "secret-material",
    level: "mandatory",
    source: "docs/architecture.md (no secret in an artifact); CIS Docker Benchmark 4.10",
    rationale: "no private key, password or token in any artifact: engines get them as sensitive variables, hosts read them from /etc/palisade/secrets/",
  },
  exceptionGovernance: {
    id: "exception-governance",
    level: "advisory",
    source: "SOC 2 CC3.4; ISO/IEC 27001:2022 A.5.36 (exceptions to policy are approved, owned and reviewed)",
    rationale: "every hardening exception has an owner, an approval ticket and an expiry, so that it is reviewed instead of forgotten",
  },
} as const satisfies Record<string, GuardrailRule>;

function finding(rule: GuardrailRule, subject: string, message: string, artifact: string, construct?: string, line?: number, strict = false): GuardrailFinding {
  const level = rule.strictMandatory && strict ? "mandatory" : rule.level;
  return { rule: rule.id, level, subject, message, rationale: rule.rationale, source: rule.source, artifact, ...(line ? { line } : {}), ...(construct ? { construct } : {}) };
}

/** Namespace modes that keep a namespace of the container's own (empty: Docker's default). */
const OWN_NAMESPACE_MODES: Readonly<Record<string, readonly string[]>> = {
  pid_mode: ["", "private"],
  ipc_mode: ["", "private", "shareable", "none"],
  userns_mode: [""],
  cgroupns_mode: ["", "private"],
};

function containerChecks(c: DockerContainerModel, host: string, artifact: string, strict: boolean): GuardrailFinding[] {
  const out: GuardrailFinding[] = [];
  const subject = `${host}/${c.service}`;
  const at = (field: string) => `${c.construct} ${field}`;
  /** The line of a field in the artifact (Terraform's name), else of the container. */
  const ln = (field: string) => c.lineOf(field);
  const add = (rule: GuardrailRule, message: string, field: string, construct = field, strictLevel = false) => out.push(finding(rule, subject, message, artifact, at(construct), ln(field), strictLevel));
  const G = GUARDRAILS;
  if (c.privileged) add(G.privileged, `${c.name} is privileged`, "privileged");
  const reason = c.labels["palisade.host-network-reason"];
  if (c.networkMode === "host" && !reason) add(G.hostNamespace, `${c.name} uses the host's network namespace without a palisade.host-network-reason label`, "network_mode");
  // The host-network exception excuses the network namespace only.
  for (const [field, mode] of [["pid_mode", c.pidMode], ["ipc_mode", c.ipcMode], ["userns_mode", c.usernsMode], ["cgroupns_mode", c.cgroupnsMode]] as const) {
    const ns = field.replace("_mode", "");
    if (mode === "host") add(G.hostNamespace, `${c.name} uses the host's ${ns} namespace (${field} = "host"): no exception covers it`, field);
    else if (mode.startsWith("container:")) add(G.hostNamespace, `${c.name} joins the ${ns} namespace of container ${mode.slice("container:".length)} (${field} = "${mode}"): it sees${ns === "ipc" ? " and shares the memory of" : " and signals"} that container's processes, across the boundary the networks draw`, field);
    else if (!(OWN_NAMESPACE_MODES[field] ?? []).includes(mode)) add(G.hostNamespace, `${c.name} has ${field} = "${mode}", which the verifier does not model: refused`, field);
  }
  // Docker's embedded DNS answers for a container's name and its aliases on each network it shares.
  for (const a of c.networks) {
    for (const alias of a.aliases) {
      if (alias === c.service || alias === c.name) continue;
      add(G.networkIdentity, `${c.name} answers for ${alias} on network ${a.network} (alias ${alias}): whoever there resolves ${alias} may reach ${c.name} instead, with what it sends there`, "networks_advanced", `networks_advanced ${a.network} aliases ${alias}`);
    }
  }
  const netProblem = networkModeProblem(c);
  if (netProblem) add(G.hostNamespace, `${c.name}: ${netProblem}`, "network_mode");
  for (const m of c.mounts) {
    const why = m.type === "bind" ? sensitiveBind(m.source) : undefined;
    if (why) add(G.sensitiveMount, `${c.name} mounts ${m.source} at ${m.target}${m.readOnly ? " (read-only)" : ""}: ${why}`, c.lineOf("mounts") === c.lineOf("") ? "volumes" : "mounts", `mounts ${m.source}`);
  }
  for (const d of c.devices) add(G.devices, `${c.name} is given host device ${d}`, "devices", `devices ${d}`);
  if (!c.capDrop.map(normalizeCapability).includes("ALL")) add(G.capDropAll, `${c.name} does not drop ALL capabilities (drops: ${c.capDrop.join(", ") || "none"})`, "capabilities", "capabilities.drop");
  for (const cap of c.capAdd) {
    const n = normalizeCapability(cap);
    const dangerous = DANGEROUS_CAPABILITIES.has(n);
    if (n === "ALL") add(G.capabilityReason, `${c.name} adds ALL capabilities: no reason can declare that`, "capabilities", `capabilities.add ${cap}`);
    else if (!capabilityReason(c, cap)) add(G.capabilityReason, `${c.name} adds ${dangerous ? "the dangerous capability " : ""}${n} without a palisade.cap.${n} label saying why`, "capabilities", `capabilities.add ${cap}`);
  }
  const sec = securityOpts(c);
  for (const o of sec.unconfined) add(G.unconfined, `${c.name} turns a confinement off: security_opts ${o}`, "security_opts", `security_opts ${o}`);
  for (const o of sec.unknown) add(G.unconfined, `${c.name} has security_opts ${o}, which the verifier does not model (a profile it cannot read, or a value Docker refuses)`, "security_opts", `security_opts ${o}`);
  if (!sec.noNewPrivileges) {
    const set = c.securityOpts.some((o) => o.trim().startsWith("no-new-privileges"));
    add(G.noNewPrivileges, set ? `${c.name} sets no-new-privileges, then turns it off later in security_opts (${c.securityOpts.join(", ")}): the last entry wins` : `${c.name} has no no-new-privileges security option`, "security_opts");
  }
  if (!c.readOnly) add(G.readOnlyRootfs, `${c.name} has a writable root filesystem`, "read_only");
  const user = c.user.trim();
  if (runsAsRoot(c) && !c.labels["palisade.root-reason"]) {
    add(G.nonRootUser, user ? `${c.name} runs as ${user} (uid 0) without a palisade.root-reason label` : `${c.name} sets no user (the image's default, often root)`, "user");
  }
  if (!(c.memory > 0)) add(G.memoryLimit, `${c.name} has no memory limit`, "memory");
  const nproc = c.ulimits.find((u) => u.name === "nproc");
  if (!nproc || !(nproc.soft > 0) || !(nproc.hard > 0)) add(G.pidsLimit, `${c.name} has no ulimit nproc (soft and hard)`, "ulimit");
  if (!c.hasHealthcheck) add(G.healthcheck, `${c.name} has no health check`, "healthcheck");
  for (const p of c.ports) {
    if (p.ip === "" || p.ip === "0.0.0.0" || p.ip === "::" || p.ip === "[::]") {
      add(G.publishedWildcard, `${c.name} publishes ${p.protocol}/${p.external} on ${p.ip || "every address (no ip)"}`, "ports", `ports ${p.ip || "*"}:${p.external}`);
    }
  }
  if (!/@sha256:[a-f0-9]{64}$/.test(c.image)) add(G.imageDigest, `${c.name} uses image ${c.image} without a digest`, "image", "image", strict);
  return out;
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const mapAt = (v: unknown, ...path: string[]): Json | undefined => path.reduce<unknown>((x, k) => (isMap(x) ? x[k] : undefined), v) as Json | undefined;

/** A workload's pod spec, by kind (a CronJob's is two templates down). */
function podSpecOf(m: Json): Json | undefined {
  const spec = m.kind === "Pod" ? m.spec : m.kind === "CronJob" ? mapAt(m, "spec", "jobTemplate", "spec", "template", "spec") : mapAt(m, "spec", "template", "spec");
  return isMap(spec) ? spec : undefined;
}

/**
 * The same hardening on a Kubernetes cloud's pods, as the kubelet applies their specs (issue 12,
 * class 7, on the cluster's stack in both engines): no privileged container, no host PID, IPC or
 * network namespace, no hostPath volume of a sensitive path (the Docker rule's prefixes), no
 * dangerous capability (a cluster workload declares no reason the verifier reads), seccomp and
 * AppArmor not Unconfined, allowPrivilegeEscalation false and a non-root user in every container.
 * Each finding names the stack's artifact and the workload's manifest (its line, by the construct).
 */
export function kubeGuardrails(stacks: readonly KubeStackRead[]): GuardrailFinding[] {
  const out: GuardrailFinding[] = [];
  const G = GUARDRAILS;
  for (const s of stacks) {
    for (const raw of s.raw) {
      const m = raw.value;
      if (!isMap(m)) continue;
      const pod = podSpecOf(m);
      if (!pod) continue;
      const meta = isMap(m.metadata) ? m.metadata : {};
      const labels = mapAt(m, ...(m.kind === "Pod" ? ["metadata", "labels"] : ["spec", "template", "metadata", "labels"])) ?? (isMap(meta.labels) ? meta.labels : {});
      const name = `${String(m.kind)} ${String(meta.namespace ?? "default")}/${String(meta.name)}`;
      const subject = `${s.stack}/${String(labels["palisade.service"] ?? meta.name)}`;
      const construct = constructOf(raw.source);
      const add = (rule: GuardrailRule, message: string) => out.push(finding(rule, subject, `${name}: ${message}`, s.artifact, construct));
      for (const ns of ["hostPID", "hostIPC", "hostNetwork"] as const) if (pod[ns] === true) add(G.hostNamespace, `${ns}: true shares the node's ${ns.slice(4).toLowerCase()} namespace`);
      for (const v of Array.isArray(pod.volumes) ? pod.volumes : []) {
        const path = mapAt(v, "hostPath")?.path;
        const why = typeof path === "string" ? sensitiveBind(path) : undefined;
        if (why) add(G.sensitiveMount, `volume ${String((v as Json).name)} mounts the node's ${String(path)}: ${why}`);
      }
      const podSec = isMap(pod.securityContext) ? pod.securityContext : {};
      const unconfined = (sc: Json, where: string) => {
        for (const k of ["seccompProfile", "appArmorProfile"]) if (mapAt(sc, k)?.type === "Unconfined") add(G.unconfined, `${where} ${k}.type is Unconfined`);
      };
      unconfined(podSec, "the pod's");
      const containers = [...(Array.isArray(pod.containers) ? pod.containers : []), ...(Array.isArray(pod.initContainers) ? pod.initContainers : [])].filter(isMap);
      for (const c of containers) {
        const sc = isMap(c.securityContext) ? c.securityContext : {};
        const who = `container ${String(c.name)}`;
        if (sc.privileged === true) add(G.privileged, `${who} is privileged`);
        unconfined(sc, `${who}'s`);
        for (const cap of Array.isArray(mapAt(sc, "capabilities")?.add) ? (mapAt(sc, "capabilities")!.add as unknown[]) : []) {
          const n = normalizeCapability(String(cap));
          if (DANGEROUS_CAPABILITIES.has(n)) add(G.capabilityReason, `${who} adds ${n === "ALL" ? "ALL capabilities" : `the dangerous capability ${n}`}: a cluster workload declares no reason the verifier reads`);
        }
        if (sc.allowPrivilegeEscalation !== false) add(G.noNewPrivileges, `${who} does not set allowPrivilegeEscalation: false (setuid binaries may regain privileges)`);
        const user = sc.runAsUser ?? podSec.runAsUser;
        const nonRoot = sc.runAsNonRoot ?? podSec.runAsNonRoot;
        if (user === 0 || user === "0") add(G.nonRootUser, `${who} runs as uid 0 (runAsUser)`);
        else if (nonRoot !== true) add(G.nonRootUser, `${who} does not require a non-root user (runAsNonRoot is ${JSON.stringify(nonRoot ?? null)}): the image's default may be root`);
      }
    }
  }
  return out;
}

/** Hardening and exposure guardrails over one engine's Docker model. */
/**
 * A value that names a secret rather than holding one: a short lower-case word (`postgres`), or a
 * kebab/snake identifier with a secret word as one of its segments (`gitea-db-password`,
 * `api-approle-secret-id`), as the site file's `secrets:` maps and the engines' variables name them.
 */
function isSecretName(v: string): boolean {
  if (/^[a-z_]+$/.test(v) && v.length < 24) return true;
  return v.length < 64 && /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+$/.test(v) && /(?:^|[-_])(?:password|passwd|secret|token|key)(?:$|[-_])/.test(v);
}

export function dockerGuardrails(model: DockerModel, strict = false): GuardrailFinding[] {
  return model.hosts.flatMap((h) => h.containers.flatMap((c) => containerChecks(c, h.host, h.artifact, strict)));
}

// ---------- secrets ----------

const PLACEHOLDER = /^(\{\{[^}]*\}\}|\$\{[^}]*\}|\[secret\]|\$[A-Za-z_]\w*|%\{?\w+\}?|<[^>]*>|\*+|REDACTED|redacted|null|none|true|false|file:.*|\/.*|@.*)$/;

interface SecretPattern {
  readonly kind: string;
  readonly re: RegExp;
  /** Group holding the value to test against placeholders. @default - none: any match is a finding */
  readonly valueGroup?: number;
  /**
   * Leading atoms (after its assertions) the prefilter leaves out because, matched at every
   * position, they make it slow (`\s*`, an optional prefix): any match of the pattern contains a
   * match of the rest. @default - none
   */
  readonly prefilterDrops?: string;
}

const SECRET_PATTERNS: readonly SecretPattern[] = [
  { kind: "PEM private key block", re: /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/ },
  { kind: "WireGuard PrivateKey line", re: /^\s*PrivateKey\s*=\s*(\S+)/i, valueGroup: 1, prefilterDrops: "\\s*" },
  { kind: "WireGuard private key (44-character base64 in a private-key position)", re: /private[_-]?key["']?\s*[:=]\s*["']?([A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=)/i, valueGroup: 1 },
  { kind: "password/secret/token value", re: /(?:^|[^A-Za-z0-9])(?:[A-Za-z0-9]*_)?(password|passwd|pass|secret|token|api[_-]?key|secret[_-]?key|access[_-]?key)["']?\s*[:=]\s*["']?([^\s"',;}{]+)/i, valueGroup: 2, prefilterDrops: "(?:[A-Za-z0-9]*_)?" },
  { kind: "AWS access key id", re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { kind: "AWS secret access key", re: /aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}/i },
  { kind: "token", re: /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|[sr]k_live_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|sk-(?:proj-)?[A-Za-z0-9_-]{32,}|(?:hv[sbr]|s)\.[A-Za-z0-9_-]{24,})\b/ },
  { kind: "JSON web token", re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { kind: "Slack webhook", re: /hooks\.slack\.com\/services\/T[A-Za-z0-9]+\/B[A-Za-z0-9]+\/[A-Za-z0-9]+/ },
  { kind: "password in a URL", re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*:([^\s@/"'<>]+)@/i, valueGroup: 1, prefilterDrops: "[a-z][a-z0-9+.-]*" },
  { kind: "credential in an HTTP header", re: /\b(?:authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token)|x-(?:vault|bao)-token["']?\s*[:=])\s*["']?([A-Za-z0-9._~+/=-]{12,})/i, valueGroup: 1 },
  { kind: "WireGuard key in a key position (private-key, PresharedKey)", re: /(?:private|preshared)[-_ ]?key\b[^\n]*?([A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=)/i },
];

/** A WireGuard-format key (32 bytes, base64). */
const WG_KEY = /(^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=)/;

/**
 * SECRET_PATTERNS with their assertions dropped (`^`, `\b`, the `(?:^|[^A-Za-z0-9])` lead) and
 * their `prefilterDrops` lead, case ignored, as one alternation: whatever line (or `\n` segment
 * of one) a pattern matches, this matches at a position in that line, so a line it does not match
 * cannot hold a finding. It lets secretGuardrails run the twelve patterns only on the few lines
 * that may match instead of on every line of every artifact (at a thousand services, 220,000
 * lines: a quarter second; the prefilter takes 20 ms). A pattern it cannot relax soundly (an end
 * anchor, a lookaround, a backreference, a drop that is not a whole leading part) throws here.
 */
const SECRET_PREFILTER = new RegExp(SECRET_PATTERNS.map((p) => `(?:${relaxedSecretPattern(p)})`).join("|"), "gi");

function relaxedSecretPattern({ re, prefilterDrops = "" }: SecretPattern): string {
  const refuse = (why: string): never => {
    throw new Error(`secret pattern /${re.source}/ cannot be relaxed into the prefilter: ${why}`);
  };
  if (!/^i?$/.test(re.flags)) refuse(`flags ${re.flags}`);
  if (/\\(?:[1-9]|k<|B|\\)/.test(re.source)) refuse("a backreference, \\B or an escaped backslash (the \\b removal would misread it)");
  const relaxed = re.source.replace("(?:^|[^A-Za-z0-9])", "").replace(/^\^/, "").replace(/\\b/g, "");
  // Escapes and character classes out: what is left is the structure.
  const bare = (x: string) => x.replace(/\\[^]/g, "e").replace(/\[(?:[^\]\\]|\\.)*\]/g, "c");
  if (/[\^$\\[]|\(\?<?[=!]/.test(bare(relaxed))) refuse("an assertion left");
  if (!relaxed.startsWith(prefilterDrops)) refuse(`it does not start with ${prefilterDrops}`);
  const rest = relaxed.slice(prefilterDrops.length);
  // The drop is sound when the pattern is one sequence (no top-level |) and it is a whole leading part of it.
  let depth = 0;
  for (const ch of bare(relaxed)) {
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "|" && depth === 0) refuse("a top-level alternation");
  }
  const head = bare(prefilterDrops);
  const cutInside = bare(relaxed) !== head + bare(rest); // inside an escape or a class
  if (cutInside || [...head].filter((c) => c === "(").length !== [...head].filter((c) => c === ")").length || /^[*+?{]/.test(rest) || (prefilterDrops && !rest)) refuse(`${prefilterDrops} is not a whole leading part`);
  return rest;
}

/** Calls `check` with each line of `text` (and its 0-based index) that SECRET_PREFILTER matches, in order. */
function candidateLines(text: string, check: (line: string, idx: number) => void): void {
  let idx = 0;
  let lineStart = 0;
  SECRET_PREFILTER.lastIndex = 0;
  for (let m = SECRET_PREFILTER.exec(text); m; m = SECRET_PREFILTER.exec(text)) {
    // Count the lines up to the match (a match may run on past its line: \s spans line breaks).
    for (let nl = text.indexOf("\n", lineStart); nl !== -1 && nl < m.index; nl = text.indexOf("\n", lineStart)) {
      idx++;
      lineStart = nl + 1;
    }
    const end = text.indexOf("\n", lineStart);
    check(text.slice(lineStart, end === -1 ? text.length : end), idx);
    if (end === -1) break;
    // On from the next line: the leftmost match from there is at or before any in that line.
    idx++;
    lineStart = end + 1;
    SECRET_PREFILTER.lastIndex = lineStart;
  }
}

/**
 * Scans every artifact's text for secret material. Messages name the file, line and kind only:
 * the value itself is never repeated (the report is an artifact too).
 */
export function secretGuardrails(files: ReadonlyMap<string, string>): GuardrailFinding[] {
  const out: GuardrailFinding[] = [];
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path.startsWith("report/")) continue;
    const wgConf = /\/wireguard\/[^/]+\.conf$/.test(path);
    const check = (physical: string, idx: number) => {
      // Text embedded in JSON strings (a file's content, a command) has its own lines: `\n` escapes.
      const segments = physical.includes("\\n") ? [physical, ...physical.split("\\n")] : [physical];
      for (const p of SECRET_PATTERNS) {
        const m = segments.map((seg) => p.re.exec(seg)).find((x) => x);
        if (!m) continue;
        if (p.valueGroup !== undefined) {
          const v = (m[p.valueGroup] ?? "").trim();
          if (!v || PLACEHOLDER.test(v) || v.length < 6) continue;
          if (p.kind === "password/secret/token value" && isSecretName(v)) continue; // a name, not a value
        }
        out.push(finding(GUARDRAILS.secretMaterial, path, `${p.kind} at ${path}:${idx + 1} (value not shown)`, path, p.kind, idx + 1));
        return;
      }
      // In a wg config, any key that is not a peer's public key is a private or preshared one.
      if (wgConf && WG_KEY.test(physical.replace(/#.*$/, "")) && !/^\s*PublicKey\s*=/i.test(physical)) {
        out.push(finding(GUARDRAILS.secretMaterial, path, `WireGuard key outside a PublicKey line at ${path}:${idx + 1} (value not shown)`, path, "WireGuard key", idx + 1));
      }
    };
    if (wgConf) text.split("\n").forEach(check);
    else candidateLines(text, check);
    if (path.endsWith("cdk.tf.json")) {
      try {
        const doc = parseJsonWithLines(text).value as { variable?: Record<string, { sensitive?: boolean; default?: unknown }> };
        for (const [name, v] of Object.entries(doc.variable ?? {})) {
          if (v.sensitive && v.default !== undefined) out.push(finding(GUARDRAILS.secretMaterial, path, `sensitive variable ${name} has a default value in ${path} (value not shown)`, path, `variable.${name}.default`));
        }
      } catch {
        /* reported by the docker reader */
      }
    }
  }
  return out;
}

export function sortGuardrails(list: readonly GuardrailFinding[]): GuardrailFinding[] {
  const seen = new Set<string>();
  return [...list]
    .sort((a, b) => (a.rule + a.subject + a.message < b.rule + b.subject + b.message ? -1 : a.rule + a.subject + a.message > b.rule + b.subject + b.message ? 1 : 0))
    .filter((g) => {
      const key = `${g.rule}|${g.subject}|${g.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/**
 * WireGuard configs: every peer's AllowedIPs are host routes (/32, /128) inside the interface's own
 * subnets; each peer is one of the other hosts (its AllowedIPs are that host's tunnel addresses),
 * and no prefix is claimed by two peers (wg gives it to the last one, silently).
 */
export function wireguardGuardrails(files: ReadonlyMap<string, string>): GuardrailFinding[] {
  const out: GuardrailFinding[] = [];
  const configs = [...files.entries()]
    .filter(([path]) => /^hosts\/[^/]+\/wireguard\/[^/]+\.conf$/.test(path))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, text]) => ({ path, host: path.split("/")[1]!, cfg: parseWireguard(path, text) }));
  for (const { path, host, cfg } of configs) {
    const others = configs.filter((c) => c.host !== host).map((c) => ({ host: c.host, ips: c.cfg.addresses.map((a) => a.split("/")[0]!) }));
    for (const peer of cfg.peers) {
      const hostsClaimed = others.filter((o) => o.ips.some((ip) => peer.ranges.some((r) => { const x = parseRange(ip); return !!x && x.v === r.v && r.lo <= x.lo && x.hi <= r.hi; })));
      if (others.length && hostsClaimed.length === 0) {
        out.push(finding(GUARDRAILS.wireguardPeers, path, `${path}: the [Peer] at line ${peer.line} (${peer.publicKey.slice(0, 8)}…) is none of the other hosts (${others.map((o) => `${o.host} ${o.ips.join(", ")}`).join("; ")}): an extra peer`, path, `[Peer] AllowedIPs = ${peer.allowedIps.join(", ")}`, peer.line));
      }
    }
    for (const p of prefixOwners(cfg)) {
      if (p.claims.length < 2) continue;
      const last = p.claims[p.claims.length - 1]!;
      out.push(finding(GUARDRAILS.wireguardPeers, path, `${path}: ${p.claims.length} peers claim the same AllowedIPs prefix (lines ${p.claims.map((c) => c.line).join(", ")}); wg routes it to the last one, at line ${last.line}`, path, `[Peer] AllowedIPs = ${last.allowedIps.join(", ")}`, last.line));
    }
  }
  for (const { path, host: self, cfg } of configs) {
    const subnets = cfg.addresses.map((a) => parseRange(a)).filter((r): r is NonNullable<typeof r> => !!r);
    // Another host's own tunnel address: a site reaches another site's through the edge, which forwards between the tunnels.
    const otherEnds = configs.filter((c) => c.host !== self).flatMap((c) => c.cfg.addresses.map((a) => parseRange(a.split("/")[0]!))).filter((r): r is NonNullable<typeof r> => !!r);
    for (const peer of cfg.peers) {
      for (const allowed of peer.allowedIps) {
        const r = parseRange(allowed);
        const host = !!r && r.lo === r.hi;
        const inside = !!r && (subnets.some((sn) => sn.v === r.v && sn.lo <= r.lo && r.hi <= sn.hi) || otherEnds.some((o) => o.v === r.v && o.lo === r.lo && o.hi === r.hi));
        if (!host || !inside) {
          out.push(finding(GUARDRAILS.wireguardAllowedIps, path, `${path}: peer ${peer.publicKey.slice(0, 8)}… AllowedIPs ${allowed} is ${!host ? "wider than one address" : "outside the tunnel subnets"} (${cfg.addresses.join(", ")})`, path, `[Peer] AllowedIPs = ${peer.allowedIps.join(", ")}`, peer.allowedIpsLine ?? peer.line));
        }
      }
    }
  }
  return out;
}
