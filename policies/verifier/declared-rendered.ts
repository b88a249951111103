import { openbaoDir } from "../../core/index.js";
import type { Intent, IntentIdentity, IntentRoute } from "../intent.js";
import type { DockerModel } from "./docker-model.js";
import { parseHaproxy, type HaproxyConfig, type HaproxyFrontend } from "./haproxy.js";
import { parseJsonWithLines } from "./json-lines.js";
import type { Finding } from "./report-model.js";

/*
 * What is declared is rendered: every route of the intent must be served by the edge (an SNI
 * route to the cloud's tunnel address on 443) and by the ingress (the first matching host/path
 * rule leads to a server at one of the routed container's addresses, on the routed port); every
 * OpenBao identity must be defined in the rendered OpenBao files and in each engine's secrets
 * stack, with the policies it names. Read from the artifacts alone; a missing piece is a violation.
 */

export const EDGE_PROXY_PATH = "hosts/edge/haproxy/haproxy.cfg";
export const INGRESS_PATH = "hosts/cloud/ingress/haproxy.cfg";
/** The ingress's config on the host that runs it (the first site; `cloud` in the one-site form). */
export const ingressPathOn = (host: string) => `hosts/${host}/ingress/haproxy.cfg`;

function finding(subject: string, message: string, artifact: string): Finding {
  return { id: `declared-not-rendered:${subject}`, kind: "declared-not-rendered", severity: "violation", subject, message, artifact };
}

function parse(files: ReadonlyMap<string, string>, path: string, out: Finding[], subject: string): HaproxyConfig | undefined {
  const text = files.get(path);
  if (text === undefined) {
    out.push(finding(subject, `${path} is missing: nothing serves the declared routes`, path));
    return undefined;
  }
  try {
    return parseHaproxy(path, text);
  } catch (e) {
    out.push(finding(subject, `cannot read ${path}: ${(e as Error).message}`, path));
    return undefined;
  }
}

const binds443 = (fe: HaproxyFrontend) => fe.binds.some((b) => b.port === 443);
const words = (condition: string) => condition.split(/\s+/);

/** Does a described condition (`host app.example.com path_beg /api/ or path /api`) match this host and path? */
function matches(condition: string, host: string, path: string): boolean {
  if (condition === "default" || condition === "always") return true;
  if (condition.startsWith("unless ")) return false;
  const w = words(condition);
  const hostAt = w.indexOf("host");
  if (hostAt < 0 || w[hostAt + 1]?.toLowerCase() !== host) return false;
  const exact = [...condition.matchAll(/\bpath ((?:\/\S*\s?)+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/));
  const prefixes = [...condition.matchAll(/\bpath_beg ((?:\/\S*\s?)+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/));
  if (exact.length === 0 && prefixes.length === 0) return true;
  return exact.includes(path) || prefixes.some((p) => path.startsWith(p));
}

function checkEdge(cfg: HaproxyConfig, route: IntentRoute, cloudAddresses: ReadonlySet<string>): string | undefined {
  const fes = cfg.frontends.filter(binds443);
  for (const fe of fes) {
    const r = fe.routes.find((x) => x.condition === `sni ${route.host}` || words(x.condition).some((w, i, all) => all[i - 1] === "sni" && w.toLowerCase() === route.host));
    if (!r) continue;
    const be = cfg.backends.find((b) => b.name === r.backend);
    if (be?.servers.some((s) => cloudAddresses.has(s.host) && s.port === 443)) return undefined;
    return `the edge routes SNI ${route.host} to ${r.backend}, which has no server at the cloud's tunnel address on 443 (${EDGE_PROXY_PATH} line ${r.line})`;
  }
  return `the edge renders no SNI route for ${route.host} on 443 (${EDGE_PROXY_PATH})`;
}

function checkIngress(cfg: HaproxyConfig, route: IntentRoute, addresses: ReadonlySet<string>, INGRESS_PATH: string): string | undefined {
  const port = Number(route.port.split("/")[1]);
  const path = route.path ?? "/";
  for (const fe of cfg.frontends.filter(binds443)) {
    // HAProxy takes the first use_backend whose condition holds, then default_backend.
    const ordered = [...fe.routes.filter((r) => r.condition !== "default"), ...fe.routes.filter((r) => r.condition === "default")];
    const r = ordered.find((x) => matches(x.condition, route.host, path));
    if (!r) return `the ingress renders no rule for ${route.host}${route.path ?? ""} (${INGRESS_PATH}, frontend ${fe.name})`;
    const be = cfg.backends.find((b) => b.name === r.backend);
    if (be?.servers.some((s) => addresses.has(s.host) && s.port === port)) return undefined;
    return `the ingress sends ${route.host}${route.path ?? ""} to ${r.backend} (line ${r.line}), which has no server at ${route.service}'s address on ${port}`;
  }
  return `the ingress has no frontend on 443 (${INGRESS_PATH})`;
}

/** Role names and policy names an engine's secrets stack defines (Terraform JSON or the Pulumi capture). */
function engineRoles(files: ReadonlyMap<string, string>): { artifact: string; roles: Map<string, string[]>; policies: Set<string> }[] {
  const out: { artifact: string; roles: Map<string, string[]>; policies: Set<string> }[] = [];
  for (const [path, text] of files) {
    if (!/^(cdktf\/stacks\/[^/]+\/cdk\.tf\.json|pulumi\/[^/]+\.json)$/.test(path)) continue;
    let doc: Record<string, unknown>;
    try {
      doc = parseJsonWithLines(text).value as Record<string, unknown>;
    } catch {
      continue; // unreadable engine output is reported by the engine readers
    }
    const roles = new Map<string, string[]>();
    const policies = new Set<string>();
    const resource = (doc.resource ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
    for (const r of Object.values(resource.vault_approle_auth_backend_role ?? {})) {
      roles.set(String(r.role_name), ((r.token_policies as unknown[]) ?? []).map(String));
    }
    for (const [key, p] of Object.entries(resource.vault_policy ?? {})) policies.add(String(p.name ?? key));
    for (const r of (doc.resources ?? []) as { type: string; inputs: Record<string, unknown> }[]) {
      if (r.type === "vault:appRole/authBackendRole:AuthBackendRole") roles.set(String(r.inputs.roleName), ((r.inputs.tokenPolicies as unknown[]) ?? []).map(String));
      if (r.type === "vault:index/policy:Policy") policies.add(String(r.inputs.name));
    }
    if (roles.size > 0 || policies.size > 0) out.push({ artifact: path, roles, policies });
  }
  return out;
}

/** A Terraform reference to a policy's name (`${vault_policy.api.name}`) names that policy. */
const policyName = (p: string) => /^\$\{vault_policy\.([^.]+)\.name\}$/.exec(p)?.[1] ?? p;

function checkIdentity(files: ReadonlyMap<string, string>, id: IntentIdentity, engines: ReturnType<typeof engineRoles>, openbaoHost: string): Finding[] {
  const out: Finding[] = [];
  const subject = `openbao identity ${id.name} (${id.service})`;
  const dir = openbaoDir(openbaoHost);
  const file = `${dir}/approle/${id.name}.json`;
  const text = files.get(file);
  let role: { role_name?: unknown; token_policies?: unknown } | undefined;
  try {
    role = text === undefined ? undefined : (JSON.parse(text) as typeof role);
  } catch {
    role = undefined;
  }
  if (!role || role.role_name !== id.name) {
    out.push(finding(subject, `${id.service} logs in to OpenBao as ${id.name}, but ${file} ${text === undefined ? "is missing" : "does not define that role"}`, file));
  } else {
    for (const p of Array.isArray(role.token_policies) ? role.token_policies.map(String) : []) {
      if (!files.has(`${dir}/policies/${p}.hcl`)) out.push(finding(`${subject} policy ${p}`, `the role ${id.name} names the policy ${p}, which ${dir}/policies/${p}.hcl does not define`, file));
    }
  }
  if (engines.length === 0) out.push(finding(`${subject} engines`, `no engine output defines OpenBao roles: ${id.name} would not exist`, "cdktf/stacks/secrets/cdk.tf.json"));
  for (const e of engines) {
    const policies = e.roles.get(id.name);
    if (!policies) {
      out.push(finding(`${subject} in ${e.artifact}`, `${e.artifact} defines no AppRole role ${id.name}`, e.artifact));
      continue;
    }
    for (const p of policies.map(policyName)) {
      if (!e.policies.has(p)) out.push(finding(`${subject} policy ${p} in ${e.artifact}`, `the role ${id.name} in ${e.artifact} names the policy ${p}, which that stack does not define`, e.artifact));
    }
  }
  return out;
}

/** The findings: one per declared route or identity that the artifacts do not implement. */
export function checkDeclaredRendered(files: ReadonlyMap<string, string>, intent: Intent, model: DockerModel, clusterNames: ReadonlyMap<string, readonly string[]> = new Map()): Finding[] {
  const out: Finding[] = [];
  const routes = intent.routes ?? [];
  if (routes.length > 0) {
    const ingressHost = intent.peers.find((p) => p.id === "ingress")?.host ?? "cloud";
    const ingressPath = ingressPathOn(ingressHost);
    const cloud = new Set(intent.peers.find((p) => p.id === ingressHost)?.addresses ?? []);
    const edge = parse(files, EDGE_PROXY_PATH, out, "routes at the edge");
    const ingress = parse(files, ingressPath, out, "routes at the ingress");
    const containers = model.hosts.flatMap((h) => h.containers);
    for (const r of routes) {
      const subject = `route ${r.host}${r.path ?? ""} -> ${r.service} ${r.port}`;
      // A service of a Kubernetes cloud is reached by the DNS names of the Services selecting its pods.
      const addresses = new Set([...containers.filter((c) => c.service === r.service).flatMap((c) => c.networks.map((n) => n.ipv4)), ...(clusterNames.get(r.service) ?? [])]);
      const problems = [edge && checkEdge(edge, r, cloud), ingress && checkIngress(ingress, r, addresses, ingressPath)].filter((p): p is string => Boolean(p));
      for (const p of problems) out.push(finding(subject, p, p.includes(EDGE_PROXY_PATH) || p.startsWith("the edge") ? EDGE_PROXY_PATH : ingressPath));
    }
  }
  const identities = intent.identities ?? [];
  if (identities.length > 0) {
    const engines = engineRoles(files);
    const openbaoHost = intent.peers.find((p) => p.id === "openbao")?.host ?? "cloud";
    for (const id of identities) out.push(...checkIdentity(files, id, engines, openbaoHost));
  }
  return out;
}
