import type { Artifact } from "../../core/index.js";
import { dockerGuardrails, kubeGuardrails, secretGuardrails, sortGuardrails, wireguardGuardrails } from "../guardrails.js";
import { INTENT_PATH, parseIntent, type Intent } from "../intent.js";
import { checkSegmentation, probePorts, type CheckOptions } from "./checks.js";
import { nftHostFindings } from "./nft-host-checks.js";
import { provenSemantics } from "./proven.js";
import { dockerSemanticsKey, type DockerHostModel, type DockerModel } from "./docker-model.js";
import { engineParity, formatDifference } from "./parity.js";
import { dockerFromPulumi } from "./docker-pulumi.js";
import { dockerFromTerraform } from "./docker-tf.js";
import { compareText, type PortSpec } from "./layers.js";
import { checkResidency } from "./residency.js";
import { checkCrossSiteForwarding } from "./cross-site.js";
import type { Finding, FlowRecord, LabSection, MatrixRow, NeverRecord, PeerRecord, Provenance, Report } from "./report-model.js";
import { buildSiteModel, type SiteModel } from "./site-model.js";
import { checkTenantIsolation } from "./tenancy.js";
import { declaredExceptions, governExceptions } from "./exceptions.js";
import { lineOfConstruct } from "./locate.js";
import { checkDeclaredRendered } from "./declared-rendered.js";
import { compareIntent, inputFindings, type TrustedInputs, type UntrustedInputs } from "./trusted-inputs.js";
import { checkMailRelay, mailContextOf } from "./postfix.js";
import { checkDns } from "./knot.js";
import { checkDovecot } from "./dovecot.js";
import { checkRspamd } from "./rspamd.js";
import { checkTunnelKeys } from "./wireguard.js";
import { checkIps } from "./fail2ban.js";
import { checkOpenBao } from "./openbao.js";
import { checkTenancyEffect } from "./tenancy-effect.js";
import { clusterIngressProxies, clusterIngressRouteFindings, daemonFindings, malformedJsonFindings, proxyFindings, sysctlFileFindings, wireguardFileFindings } from "./daemon-findings.js";
import { JsonSyntaxError, parseJsonWithLines, type LocatedJson } from "./json-lines.js";
import { checkKubeSites, clusterExternalIps, clusterServiceNames, isKubeStack, readKubeStacks, type KubeStackRead } from "./kube-site.js";
import { clusterFlowRecord, clusterMatrix, clusterPeers, clusterQueries, type ClusterQuery } from "./kube-query.js";

/*
 * The verifier's entry point: artifacts in, Report out. It reads only the artifacts (and the
 * declared intent, to compare with). Each engine's Docker model is verified on its own; any
 * difference between the two models is a finding.
 */

/** Verdicts that wait for artifacts not rendered yet fail the run: every layer of the platform is rendered now. */
export const PENDING_IS_VIOLATION = true;

export interface VerifyOptions extends CheckOptions {
  /** Advisory guardrails marked strict (image digest) become mandatory. @default false */
  readonly strict?: boolean;
  /**
   * What `palisade lab` observed running these same artifacts. A probe mismatch or a failed drill
   * is a violation: the model and reality disagree. @default - no lab run
   */
  readonly lab?: LabSection;
  /** Where the artifacts come from (hashes, versions, commit, date), gathered by the caller. @default - none */
  readonly provenance?: Provenance;
  /** The day (YYYY-MM-DD) declared exceptions' expiry is judged against. @default - expiry not judged */
  readonly asOf?: string;
  /**
   * The site the artifacts were planned from and the intent recomputed from it (stacks/ derives
   * them). Given, the intent and the tenants come from it and intent.json is only compared with
   * it; untrusted (no site anywhere), the run fails. @default - the caller trusts intent.json
   * (library use; `palisade plan` and `palisade verify` always pass inputs)
   */
  readonly inputs?: TrustedInputs | UntrustedInputs;
  /** Measure the verification and write the seconds into the report (`timings`; junit.xml's times). @default false (deterministic output) */
  readonly timings?: boolean;
}

/** Every peer of the site model with the addresses the artifacts give it, sorted by id. */
export function peerRecords(site: SiteModel): PeerRecord[] {
  const out: PeerRecord[] = [];
  for (const n of site.nodes.values()) {
    const h = n.host ? site.hosts.get(n.host) : undefined;
    const hostAddrs = h ? [...h.external, ...h.tunnel] : [];
    const addresses =
      n.kind === "addresses"
        ? [...(n.cidrs ?? [])]
        : n.kind === "container"
          ? n.container!.networks.filter((a) => a.ipv4).map((a) => `${a.ipv4} (${a.network})`)
          : hostAddrs;
    const listens = n.listens.map((l) => `${l.protocol}/${l.port}${l.to !== l.port ? `-${l.to}` : ""}`);
    out.push({ id: n.id, kind: n.kind, zone: n.zone, ...(n.host ? { host: n.host } : {}), addresses, listens, ...(n.listensFrom ? { listensFrom: n.listensFrom } : {}) });
  }
  return out.sort((a, b) => compareText(a.id, b.id));
}

/** The lab's disagreements with this report: each probe mismatch, each failed drill. */
function labFindings(lab: LabSection | undefined): Finding[] {
  if (!lab) return [];
  const out: Finding[] = [];
  for (const m of lab.probe?.mismatches ?? []) {
    out.push({ id: `lab-mismatch:${m.line}`, kind: "lab-mismatch", severity: "violation", subject: m.line, message: `the verifier computed ${m.expected ? "open" : "closed"}, the lab observed ${m.observed ? "open" : "closed"}`, artifact: "report/lab.json" });
  }
  for (const [name, d] of Object.entries(lab.drills)) {
    if (!d.pass) out.push({ id: `lab-drill:${name}`, kind: "lab-mismatch", severity: "violation", subject: `drill ${name}`, message: `the ${name} drill failed: ${d.notes.join("; ") || "see report/lab.json"}`, artifact: "report/lab.json" });
  }
  return out;
}

/** The artifacts were unreadable as a whole (no engine output, no intent): exit 2, not 1. */
export class VerifyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerifyInputError";
  }
}

export function filesOf(artifacts: readonly Artifact[] | ReadonlyMap<string, string>): Map<string, string> {
  if (artifacts instanceof Map) return new Map(artifacts);
  return new Map((artifacts as readonly Artifact[]).map((a) => [a.path, a.content]));
}

function readModels(files: ReadonlyMap<string, string>, bad: Finding[]): DockerModel[] {
  const cdktf: DockerHostModel[] = [];
  const pulumi: DockerHostModel[] = [];
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => compareText(a, b))) {
    const engineFile = /^cdktf\/stacks\/[^/]+\/cdk\.tf\.json$/.test(path) || /^pulumi\/[^/]+\.json$/.test(path);
    try {
      // Every engine file, a cluster's stack too (kube-site reads those with JSON.parse), must be
      // JSON without a repeated key: parseJsonWithLines refuses one, with its line.
      if (engineFile) parseJsonWithLines(text);
    } catch (e) {
      const line = e instanceof JsonSyntaxError ? e.line : undefined;
      bad.push({ id: `bad-artifact:${path}`, kind: "bad-artifact", severity: "violation", subject: path, message: `cannot read: ${(e as Error).message}`, artifact: path, ...(line ? { line } : {}) });
      continue;
    }
    if (isKubeStack(path, text)) continue; // a cluster's stack: policies/verifier/kube-site.ts reads it
    try {
      if (/^cdktf\/stacks\/[^/]+\/cdk\.tf\.json$/.test(path)) cdktf.push(dockerFromTerraform(path, text));
      else if (/^pulumi\/[^/]+\.json$/.test(path)) pulumi.push(dockerFromPulumi(path, text));
    } catch (e) {
      const line = e instanceof JsonSyntaxError ? e.line : undefined;
      bad.push({ id: `bad-artifact:${path}`, kind: "bad-artifact", severity: "violation", subject: path, message: `cannot read: ${(e as Error).message}`, artifact: path, ...(line ? { line } : {}) });
    }
  }
  // Stacks without Docker resources (e.g. the secrets stack) are no host.
  const docker = (h: DockerHostModel) => h.containers.length > 0 || h.networks.length > 0;
  // Their problems (a provisioner, a type the verifier does not model) still count.
  for (const h of [...cdktf, ...pulumi].filter((x) => !docker(x))) {
    for (const p of h.problems) bad.push({ id: `bad-artifact:${h.artifact}:${p.line}`, kind: "bad-artifact", severity: "violation", subject: `${h.artifact}:${p.line}`, message: `not understood, so not verified: ${p.message}`, artifact: h.artifact, line: p.line, construct: p.construct });
  }
  cdktf.splice(0, cdktf.length, ...cdktf.filter(docker));
  pulumi.splice(0, pulumi.length, ...pulumi.filter(docker));
  const out: DockerModel[] = [];
  if (cdktf.length) out.push({ engine: "cdktf", hosts: cdktf });
  if (pulumi.length) out.push({ engine: "pulumi", hosts: pulumi });
  return out;
}

/**
 * The first engine's site model and the intent, from the artifacts alone: what `palisade query`
 * evaluates. Throws VerifyInputError like verifyArtifacts.
 */
export function siteModelOf(artifacts: readonly Artifact[] | ReadonlyMap<string, string>): { site: SiteModel; intent: Intent; clusters: ClusterQuery[] } {
  const files = filesOf(artifacts);
  const text = files.get(INTENT_PATH);
  if (text === undefined) throw new VerifyInputError(`${INTENT_PATH} is missing: the declared intent is an artifact of plan; run palisade plan first`);
  let intent: Intent;
  try {
    intent = parseIntent(text);
  } catch (e) {
    throw new VerifyInputError((e as Error).message);
  }
  const models = readModels(files, []);
  if (models.length === 0) throw new VerifyInputError("no engine output found (cdktf/stacks/*/cdk.tf.json or pulumi/*.json): nothing to verify");
  const kubeStacks = readKubeStacks(files, []);
  // The Docker model judges what Docker runs; a cluster's pairs are the cluster's (as verifyArtifacts splits them).
  const site = buildSiteModel(files, models[0]!, (kubeStacks.length ? withoutCluster(intent, kubeStacks) : intent).peers);
  return { site, intent, clusters: kubeStacks.length ? clusterQueries(kubeStacks, files, intent, site.hosts) : [] };
}

/**
 * Engine drift: every field of every resource of each stack both engines rendered, compared
 * raw (stacks' parity form, policies/verifier/parity.ts), not only what the model reads.
 */
function driftFindings(files: ReadonlyMap<string, string>): Finding[] {
  const out: Finding[] = [];
  for (const [path, text] of [...files.entries()].sort(([a], [b]) => compareText(a, b))) {
    const stack = /^cdktf\/stacks\/([^/]+)\/cdk\.tf\.json$/.exec(path)?.[1];
    const puPath = `pulumi/${stack}.json`;
    const puText = stack ? files.get(puPath) : undefined;
    if (!stack || puText === undefined) continue;
    let tf: unknown;
    let pu: LocatedJson;
    try {
      tf = parseJsonWithLines(text).value;
      pu = parseJsonWithLines(puText);
    } catch {
      continue; // reported as bad-artifact by the readers
    }
    const resources = ((pu.value as { resources?: { type?: string; inputs?: { name?: string } & Record<string, unknown> }[] }).resources ?? []);
    for (const d of engineParity(tf, pu.value)) {
      // The Pulumi resource of that kind and name, and the field's line when it has one there.
      const [kind, ...rest] = d.resource.split(" ");
      const type = { container: "container:Container", network: "network:Network", volume: "volume:Volume", image: "remoteImage:RemoteImage" }[kind!];
      const i = resources.findIndex((r) => !!type && r.type === `docker:index/${type}` && r.inputs?.name === rest.join(" "));
      const field = d.field.replace(/^other\./, "");
      const key = i >= 0 ? Object.keys(resources[i]!.inputs ?? {}).find((k) => k === field || k === `${field}s` || (field === "networks" && k === "networksAdvanced") || (field.startsWith("cap") && k === "capabilities")) : undefined;
      const at = i >= 0 ? pu.lineOf(key ? ["resources", i, "inputs", key] : ["resources", i, "type"]) : -1;
      out.push({
        id: `engine-drift:${stack}/${d.resource}/${d.field}`,
        kind: "engine-drift",
        severity: "violation",
        subject: `${stack} ${d.resource}`,
        message: `cdktf and pulumi differ: ${formatDifference(d)}`,
        artifact: puPath,
        ...(at > 0 ? { line: at } : {}),
        construct: `${d.resource} ${d.field}`,
      });
    }
  }
  return out;
}

/**
 * The platform's only host-network service on the cloud: on a Kubernetes node it is the node's own
 * agent, not a pod, so its pairs are the node's (the site schema gives operators no host networking).
 */
const NODE_AGENTS: ReadonlySet<string> = new Set(["failover"]);

/** Every service of the cluster's host, by the intent. */
function clusterHosted(intent: Intent, stacks: readonly KubeStackRead[]): Set<string> {
  const hosts = new Set(stacks.map((s) => s.stack));
  return new Set(intent.peers.filter((p) => p.kind === "service" && p.host && hosts.has(p.host)).map((p) => p.id));
}

/** The intent the Docker checks judge: without the cluster's services (node agents included). */
function withoutCluster(intent: Intent, stacks: readonly KubeStackRead[]): Intent {
  const hosted = clusterHosted(intent, stacks);
  const keep = (from: string, to: string) => !hosted.has(from) && !hosted.has(to);
  return { ...intent, peers: intent.peers.filter((p) => !hosted.has(p.id)), flows: intent.flows.filter((f) => keep(f.from, f.to)), nevers: intent.nevers.filter((n) => keep(n.from, n.to)) };
}

/**
 * A must-never pair ending at a node agent cannot happen: the agent shares the node's addresses and
 * listens on no port (the failover agent only sends probes; tunnel/failover). Its pairs from the agent
 * are the node's own traffic, outside the cluster's policies.
 */
function nodeAgentNevers(intent: Intent, stacks: readonly KubeStackRead[]): NeverRecord[] {
  const hosted = clusterHosted(intent, stacks);
  const agent = (id: string) => NODE_AGENTS.has(id) && hosted.has(id);
  return intent.nevers
    .filter((n) => agent(n.to) || agent(n.from))
    .map((n) => ({ source: n.from, destination: n.to, reason: n.reason, status: "impossible" as const, impossible: `${agent(n.to) ? n.to : n.from} is the node's own agent (host network, not a pod of the cluster) and listens on no port`, layers: [], portsTried: [] }));
}

/** A cloud service the intent names that the cluster does not run (and that is no node agent). */
function clusterPeerFindings(intent: Intent, stacks: readonly KubeStackRead[], running: ReadonlySet<string>): Finding[] {
  return [...clusterHosted(intent, stacks)]
    .filter((id) => !running.has(id) && !NODE_AGENTS.has(id))
    .sort()
    .map((id) => ({ id: `unknown-peer:${id}`, kind: "unknown-peer" as const, severity: "violation" as const, subject: id, message: `the intent names service ${id}, which no workload of the cluster's manifests runs (label palisade.service)`, artifact: stacks[0]!.artifact }));
}

/** Verifies a set of artifacts against the intent (from `intent.json` when not given). */
export function verifyArtifacts(artifacts: readonly Artifact[] | ReadonlyMap<string, string>, intentArg?: Intent, opts: VerifyOptions = {}): Report {
  const started = opts.timings ? performance.now() : 0;
  const caseTimes = opts.timings ? new Map<string, number>() : undefined;
  const files = filesOf(artifacts);
  const pendingIsViolation = opts.pendingIsViolation ?? PENDING_IS_VIOLATION;
  const trusted = opts.inputs && !("reason" in opts.inputs) ? opts.inputs : undefined;
  let intent = intentArg ?? trusted?.intent;
  if (!intent) {
    const text = files.get(INTENT_PATH);
    if (text === undefined) throw new VerifyInputError(`${INTENT_PATH} is missing: the declared intent is an artifact of plan; run palisade plan first`);
    try {
      intent = parseIntent(text);
    } catch (e) {
      throw new VerifyInputError((e as Error).message);
    }
  }
  const bad: Finding[] = opts.inputs ? inputFindings(opts.inputs) : [];
  if (trusted && !intentArg) bad.push(...compareIntent(files.get(INTENT_PATH), trusted.intent, trusted.source));
  const models = readModels(files, bad);
  if (models.length === 0) throw new VerifyInputError("no engine output found (cdktf/stacks/*/cdk.tf.json or pulumi/*.json): nothing to verify");
  const kubeStacks = readKubeStacks(files, bad);
  const full = intent;
  // The Docker checks judge what Docker runs; a cluster's pairs are judged from its manifests below.
  const dockerIntent = kubeStacks.length ? withoutCluster(intent, kubeStacks) : intent;

  // The report is the first engine's: its checks are the ones measured. An engine's segmentation
  // check runs only when its Docker model differs from one already checked by more than where things
  // were read: the same model gives the same verdicts and finding ids (no id cites an engine
  // artifact), and only findings with new ids are taken from the second engine.
  const keys = models.map(dockerSemanticsKey);
  const results: { model: DockerModel; site: SiteModel; check: ReturnType<typeof checkSegmentation> }[] = [];
  for (const [i, model] of models.entries()) {
    const site = buildSiteModel(files, model, dockerIntent.peers);
    const same = results.find((_, j) => keys[j] === keys[i]);
    results.push({ model, site, check: same ? same.check : checkSegmentation(site, dockerIntent, { pendingIsViolation, ...(i === 0 && caseTimes ? { caseTimes } : {}) }) });
  }
  const primary = results[0]!;
  const findings: Finding[] = [...bad, ...primary.check.findings];
  const ids = new Set(findings.map((f) => f.id));
  for (const other of results.slice(1)) {
    for (const f of other.check.findings) {
      if (!ids.has(f.id)) {
        findings.push({ ...f, id: `${f.id}@${other.model.engine}`, engine: other.model.engine, message: `${f.message} (only in the ${other.model.engine} artifacts)` });
        ids.add(f.id);
      }
    }
  }
  findings.push(...driftFindings(files));
  const kube = kubeStacks.length ? checkKubeSites(kubeStacks, full, primary.site.hosts, caseTimes) : undefined;
  if (kube) {
    // A proxy route to a cluster Service's externalIP is a route to the pods it selects: intended when the flow to them is.
    const published = clusterExternalIps(kubeStacks);
    const toCluster = (f: Finding) => {
      const m = /^(\S+) => \S+ : tcp\/(\d+)$/.exec(f.subject);
      const server = / (\S+:\d+)$/.exec(f.construct ?? "")?.[1];
      return !!m && !!server && (published.get(server) ?? []).some((svc) => full.flows.some((x) => x.from === m[1] && x.to === svc && x.port === `tcp/${m[2]}`));
    };
    findings.splice(0, findings.length, ...findings.filter((f) => f.kind !== "unexpected-route" || !toCluster(f)));
    for (const f of [...kube.findings, ...clusterPeerFindings(full, kubeStacks, kube.services)]) {
      if (ids.has(f.id)) continue;
      findings.push(f);
      ids.add(f.id);
    }
  }
  const located = <T extends { artifact?: string; line?: number; construct?: string }>(x: T): T => {
    if (x.line || !x.artifact || !x.construct || !x.artifact.endsWith(".json")) return x;
    const text = files.get(x.artifact);
    const line = text === undefined ? undefined : lineOfConstruct(text, x.construct);
    return line ? { ...x, line } : x;
  };
  const tenancy = checkTenantIsolation(files, intent);
  const governed = governExceptions(declaredExceptions(primary.model).map(located), intent.exceptions ?? [], opts.asOf);
  findings.push(...nftHostFindings(files, primary.site, probePorts(primary.site)));
  findings.push(...tenancy.findings, ...checkDeclaredRendered(files, intent, primary.model, clusterServiceNames(kubeStacks)), ...labFindings(opts.lab), ...governed.findings);
  if (trusted) findings.push(...checkMailRelay(files, mailContextOf(trusted.site)), ...checkDovecot(files), ...checkRspamd(files, trusted.site), ...checkIps(files, trusted.site, primary.site), ...checkTunnelKeys(files, trusted.site), ...checkDns(files, trusted.site), ...checkOpenBao(files, trusted.site), ...checkTenancyEffect(files, trusted.site));
  const residency = trusted ? checkResidency(models, trusted.site, primary.site) : { records: [], findings: [] };
  findings.push(...residency.findings, ...checkCrossSiteForwarding(primary.site, intent));
  // A Kubernetes cloud's ingress runs in a pod: no Docker model lists its proxy, it is read all the same.
  const clusterProxies = kube ? clusterIngressProxies(files, full.peers, new Set(results.flatMap((r) => r.site.proxies.map((p) => p.path)))) : [];
  for (const f of [...results.flatMap((r) => daemonFindings(r.site, intent!.peers)), ...clusterProxies.flatMap(proxyFindings), ...clusterProxies.flatMap((p) => clusterIngressRouteFindings(p, clusterServiceNames(kubeStacks), full)), ...malformedJsonFindings(files), ...wireguardFileFindings(files), ...sysctlFileFindings(primary.site)]) {
    if (ids.has(f.id)) continue;
    findings.push(f);
    ids.add(f.id);
  }
  findings.sort((a, b) => compareText(a.kind, b.kind) || compareText(a.subject, b.subject) || compareText(a.id, b.id));

  findings.splice(0, findings.length, ...findings.map(located));
  const guardrailsStarted = opts.timings ? performance.now() : 0;
  const guardrails = sortGuardrails([...models.flatMap((m) => dockerGuardrails(m, opts.strict)), ...kubeGuardrails(kubeStacks), ...secretGuardrails(files), ...wireguardGuardrails(files), ...governed.guardrails]).map(located);

  const guardrailSeconds = opts.timings ? (performance.now() - guardrailsStarted) / 1000 : 0;
  const { exposed } = primary.check;
  const clusters = kube ? clusterQueries(kubeStacks, files, full, primary.site.hosts) : [];
  const byPair = (a: MatrixRow, b: MatrixRow) => compareText(a.source, b.source) || compareText(a.destination, b.destination) || compareText(a.protocol, b.protocol) || a.port - b.port;
  const peerPorts = (id: string): PortSpec[] => (primary.site.nodes.get(id)?.listens ?? []).map((l) => ({ protocol: l.protocol, port: l.port }));
  const matrix = kube ? [...primary.check.matrix, ...clusterMatrix(clusters, full, peerPorts, probePorts(primary.site))].sort(byPair) : primary.check.matrix;
  // A cluster's flows and pairs join the Docker checks' (a Docker-only site keeps their order untouched).
  const flows = kube ? [...primary.check.flows, ...kube.flows.map((f) => clusterFlowRecord(clusters, f))].sort((a, b) => compareText(a.line, b.line)) : primary.check.flows;
  const nevers = kube ? [...primary.check.nevers, ...kube.nevers, ...nodeAgentNevers(full, kubeStacks)].sort((a, b) => compareText(a.source, b.source) || compareText(a.destination, b.destination)) : primary.check.nevers;
  const declaredLines = new Set(intent.flows.map((f) => `${f.from} => ${f.to} : ${f.port}`));
  const declared = flows.filter((f) => declaredLines.has(f.line));
  const violations = findings.filter((f) => f.severity === "violation").length;
  const mandatory = guardrails.filter((g) => g.level === "mandatory").length;
  const summary = {
    verdict: violations + mandatory > 0 ? ("fail" as const) : ("pass" as const),
    flowsAllowed: flows.filter((f) => f.verdict === "allowed").length,
    flowsIntended: intent.flows.length,
    intendedEffective: declared.filter((f) => f.verdict === "allowed").length,
    intendedPending: declared.filter((f) => f.verdict === "pending").length,
    intendedBroken: findings.filter((f) => f.kind === "broken-path" && !f.engine).length,
    unexpected: findings.filter((f) => f.kind === "unexpected-exposure" && !f.engine).length,
    neversBlocked: nevers.filter((n) => n.status === "blocked").length,
    neversViolated: nevers.filter((n) => n.status === "violation").length,
    neversPending: nevers.filter((n) => n.status === "pending").length,
    neversImpossible: nevers.filter((n) => n.status === "impossible").length,
    violations,
    pending: findings.filter((f) => f.kind === "pending").length,
    guardrailsMandatory: mandatory,
    guardrailsAdvisory: guardrails.length - mandatory,
  };
  return {
    version: 1,
    ...(opts.provenance ? { provenance: opts.provenance } : {}),
    peers: clusters.length ? [...peerRecords(primary.site), ...clusterPeers(clusters, full)].sort((a, b) => compareText(a.id, b.id)) : peerRecords(primary.site),
    matrix,
    engines: models.map((m) => m.engine),
    artifacts: { expected: primary.site.expected, missing: primary.site.missing },
    pendingIsViolation,
    flows,
    nevers,
    exposed,
    findings,
    guardrails,
    tenants: tenancy.tenants,
    ...(residency.records.length ? { residency: residency.records } : {}),
    ...(opts.lab ? { lab: opts.lab } : {}),
    exceptions: governed.records,
    proven: provenSemantics(),
    summary,
    ...(caseTimes ? { timings: { total: (performance.now() - started) / 1000, guardrails: guardrailSeconds, cases: Object.fromEntries([...caseTimes].sort(([a], [b]) => compareText(a, b))) } } : {}),
  };
}
