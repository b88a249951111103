import type { DockerContainerModel, DockerModel } from "./verifier/docker-model.js";
import type { GuardrailFinding } from "./verifier/report-model.js";
import { parseRange } from "./verifier/addr.js";
import { parseWireguard } from "./verifier/wireguard.js";

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
    rationale: "sharing the host's network, PID or IPC namespace removes the container's isolation; only declared exceptions (label palisade.host-network-reason) may",
  },
  sensitiveMount: { id: "sensitive-mount", level: "mandatory", source: "CIS Docker Benchmark 5.5, 5.31", rationale: "mounting docker.sock or a system directory hands the container the host" },
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

const SENSITIVE_PATHS = new Set(["/", "/etc", "/proc", "/sys", "/root", "/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run", "/boot", "/dev", "/var/lib/docker"]);

function finding(rule: GuardrailRule, subject: string, message: string, artifact: string, construct?: string, line?: number, strict = false): GuardrailFinding {
  const level = rule.strictMandatory && strict ? "mandatory" : rule.level;
  return { rule: rule.id, level, subject, message, rationale: rule.rationale, source: rule.source, artifact, ...(line ? { line } : {}), ...(construct ? { construct } : {}) };
}

function containerChecks(c: DockerContainerModel, host: string, artifact: string, strict: boolean): GuardrailFinding[] {
  const out: GuardrailFinding[] = [];
  const subject = `${host}/${c.service}`;
  const at = (field: string) => `${c.construct} ${field}`;
  const G = GUARDRAILS;
  if (c.privileged) out.push(finding(G.privileged, subject, `${c.name} is privileged`, artifact, at("privileged")));
  const reason = c.labels["palisade.host-network-reason"];
  for (const [field, mode] of [["network_mode", c.networkMode], ["pid_mode", c.pidMode], ["ipc_mode", c.ipcMode]] as const) {
    if (mode === "host" && !reason) out.push(finding(G.hostNamespace, subject, `${c.name} uses the host's ${field.replace("_mode", "")} namespace without a palisade.host-network-reason label`, artifact, at(field)));
  }
  for (const m of c.mounts) {
    const src = m.source.replace(/\/+$/, "") || "/";
    if (m.type === "bind" && (SENSITIVE_PATHS.has(src) || src.endsWith("docker.sock"))) {
      out.push(finding(G.sensitiveMount, subject, `${c.name} mounts ${m.source} at ${m.target}${m.readOnly ? " (read-only)" : ""}`, artifact, at(`mounts ${m.source}`)));
    }
  }
  if (!c.capDrop.map((x) => x.toUpperCase()).includes("ALL")) out.push(finding(G.capDropAll, subject, `${c.name} does not drop ALL capabilities (drops: ${c.capDrop.join(", ") || "none"})`, artifact, at("capabilities.drop")));
  if (!c.securityOpts.some((o) => /^no-new-privileges(:true|=true)?$/.test(o))) out.push(finding(G.noNewPrivileges, subject, `${c.name} has no no-new-privileges security option`, artifact, at("security_opts")));
  if (!c.readOnly) out.push(finding(G.readOnlyRootfs, subject, `${c.name} has a writable root filesystem`, artifact, at("read_only")));
  const user = c.user.trim();
  const isRoot = user === "" || user === "root" || user === "0" || /^(0|root)(:|$)/.test(user);
  if (isRoot && !c.labels["palisade.root-reason"]) {
    out.push(finding(G.nonRootUser, subject, user ? `${c.name} runs as ${user} without a palisade.root-reason label` : `${c.name} sets no user (the image's default, often root)`, artifact, at("user")));
  }
  if (!(c.memory > 0)) out.push(finding(G.memoryLimit, subject, `${c.name} has no memory limit`, artifact, at("memory")));
  const nproc = c.ulimits.find((u) => u.name === "nproc");
  if (!nproc || !(nproc.soft > 0) || !(nproc.hard > 0)) out.push(finding(G.pidsLimit, subject, `${c.name} has no ulimit nproc (soft and hard)`, artifact, at("ulimit")));
  if (!c.hasHealthcheck) out.push(finding(G.healthcheck, subject, `${c.name} has no health check`, artifact, at("healthcheck")));
  for (const p of c.ports) {
    if (p.ip === "" || p.ip === "0.0.0.0" || p.ip === "::" || p.ip === "[::]") {
      out.push(finding(G.publishedWildcard, subject, `${c.name} publishes ${p.protocol}/${p.external} on ${p.ip || "every address (no ip)"}`, artifact, at(`ports ${p.ip || "*"}:${p.external}`)));
    }
  }
  if (!/@sha256:[a-f0-9]{64}$/.test(c.image)) out.push(finding(G.imageDigest, subject, `${c.name} uses image ${c.image} without a digest`, artifact, at("image"), undefined, strict));
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

const PLACEHOLDER = /^(\$\{[^}]*\}|\[secret\]|\$[A-Za-z_]\w*|%\{?\w+\}?|<[^>]*>|\*+|REDACTED|redacted|null|none|true|false|file:.*|\/.*|@.*)$/;

interface SecretPattern {
  readonly kind: string;
  readonly re: RegExp;
  /** Group holding the value to test against placeholders. @default - none: any match is a finding */
  readonly valueGroup?: number;
}

const SECRET_PATTERNS: readonly SecretPattern[] = [
  { kind: "PEM private key block", re: /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/ },
  { kind: "WireGuard PrivateKey line", re: /^\s*PrivateKey\s*=\s*(\S+)/i, valueGroup: 1 },
  { kind: "WireGuard private key (44-character base64 in a private-key position)", re: /private[_-]?key["']?\s*[:=]\s*["']?([A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=)/i, valueGroup: 1 },
  { kind: "password/secret/token value", re: /(?:^|[^A-Za-z0-9])(?:[A-Za-z0-9]*_)?(password|passwd|pass|secret|token|api[_-]?key|secret[_-]?key|access[_-]?key)["']?\s*[:=]\s*["']?([^\s"',;}{]+)/i, valueGroup: 2 },
  { kind: "AWS access key id", re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { kind: "AWS secret access key", re: /aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}/i },
  { kind: "token", re: /\b(gh[pousr]_[A-Za-z0-9]{36,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{20,})\b/ },
];

/**
 * Scans every artifact's text for secret material. Messages name the file, line and kind only:
 * the value itself is never repeated (the report is an artifact too).
 */
export function secretGuardrails(files: ReadonlyMap<string, string>): GuardrailFinding[] {
  const out: GuardrailFinding[] = [];
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path.startsWith("report/")) continue;
    const lines = text.split("\n");
    lines.forEach((line, idx) => {
      for (const p of SECRET_PATTERNS) {
        const m = p.re.exec(line);
        if (!m) continue;
        if (p.valueGroup !== undefined) {
          const v = (m[p.valueGroup] ?? "").trim();
          if (!v || PLACEHOLDER.test(v) || v.length < 6) continue;
          if (p.kind === "password/secret/token value" && isSecretName(v)) continue; // a name, not a value
        }
        out.push(finding(GUARDRAILS.secretMaterial, path, `${p.kind} at ${path}:${idx + 1} (value not shown)`, path, p.kind, idx + 1));
        break;
      }
    });
    if (path.endsWith("cdk.tf.json")) {
      try {
        const doc = JSON.parse(text) as { variable?: Record<string, { sensitive?: boolean; default?: unknown }> };
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

/** WireGuard configs: every peer's AllowedIPs are host routes (/32, /128) inside the interface's own subnets. */
export function wireguardGuardrails(files: ReadonlyMap<string, string>): GuardrailFinding[] {
  const out: GuardrailFinding[] = [];
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!/^hosts\/[^/]+\/wireguard\/[^/]+\.conf$/.test(path)) continue;
    const cfg = parseWireguard(path, text);
    const subnets = cfg.addresses.map((a) => parseRange(a)).filter((r): r is NonNullable<typeof r> => !!r);
    for (const peer of cfg.peers) {
      for (const allowed of peer.allowedIps) {
        const r = parseRange(allowed);
        const host = !!r && r.lo === r.hi;
        const inside = !!r && subnets.some((sn) => sn.v === r.v && sn.lo <= r.lo && r.hi <= sn.hi);
        if (!host || !inside) {
          out.push(finding(GUARDRAILS.wireguardAllowedIps, path, `${path}: peer ${peer.publicKey.slice(0, 8)}… AllowedIPs ${allowed} is ${!host ? "wider than one address" : "outside the tunnel subnets"} (${cfg.addresses.join(", ")})`, path, `[Peer] AllowedIPs = ${peer.allowedIps.join(", ")}`, peer.allowedIpsLine ?? peer.line));
        }
      }
    }
  }
  return out;
}
