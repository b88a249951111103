import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadSite, type Artifact, type Site, type Topology } from "../../core/index.js";
import { dockerStacks, stackSpec } from "../docker-spec.js";
import { stackArtifactPath, type EngineChoice } from "../engines.js";
import { writeOutAtomic } from "../output.js";
import { buildTopology } from "../platform.js";
import { secretsStackSpec } from "../secrets-spec.js";
import { manifestArtifact, planArtifacts } from "../plan.js";
import type { OpsContext } from "./context.js";
import type { GateResult } from "./verify-gate.js";
import { formatProblems, OpsError, type Problem } from "./errors.js";
import { dkimPublicKey, pendingRotations, PREVIOUS_SUFFIX, readSecret, secretFileFor, siteKeyField, siteKeys, wireguardPublicKey } from "./keys.js";
import {
  passphraseGeneration,
  PREVIOUS_STATE_PASSPHRASE_VARIABLE,
  STATE_PASSPHRASE_VARIABLE,
  stateEncryptionArtifacts,
  type EncryptionGenerations,
} from "./state-encryption.js";
import { which } from "./runner.js";
import { hostInstallScript, hostKeyFiles, REMOTE_INSTALL_COMMAND, renderedHostFiles } from "./host-install.js";

/*
 * `palisade deploy` / `destroy` / `plan --engine-plan`: plan (the same library calls as the plan
 * command), refuse on violations, check every precondition and say the fix, ask, then run the
 * engine stack by stack, streaming its output. Secrets travel only in the child's environment
 * (TF_VAR_*, PULUMI_CONFIG_PASSPHRASE) or on its stdin (`pulumi config set --secret`).
 */

export type DeployEngine = "cdktf" | "pulumi";

/**
 * The platform's stacks in dependency order: the edge, each private-cloud site through its tunnel
 * (in declaration order; `cloud` in the one-site form), then OpenBao's secrets.
 */
export function stackOrder(site: Site): string[] {
  return [...dockerStacks(buildTopology(site)), "secrets"];
}

/** The platform's stacks that out/ holds for the engine, in dependency order. */
function plannedStacks(site: Site, outAbs: string, engine: EngineChoice): string[] {
  return stackOrder(site).filter((s) => existsSync(join(outAbs, stackArtifactPath(s, engine === "pulumi" ? "pulumi" : "cdktf"))));
}

/** Whether `stack` is one of the platform's host (Docker) stacks, named after its host. */
function isHostStack(site: Site, stack: string): boolean {
  return stack !== "secrets" && stackOrder(site).includes(stack);
}

export interface DeployOptions {
  readonly siteFile: string;
  readonly outDir: string;
  readonly engine: DeployEngine;
  /** Only this stack. @default - every stack, in order */
  readonly stack?: string;
  /** Skip the confirmation. @default false: ask on the terminal, refuse without one */
  readonly yes: boolean;
  readonly secretsDir: string;
  /** For CI dry runs with stand-in engines. @default false */
  readonly skipSshCheck: boolean;
  /**
   * Do not install the rendered host files and keys over SSH before each host's stack (the
   * operator puts them there another way). @default false
   */
  readonly skipHostFiles?: boolean;
}

export interface DestroyOptions extends DeployOptions {
  /** With `yes`: must equal the site's name. */
  readonly confirm?: string;
}

export interface EngineBinary {
  readonly name: "tofu" | "terraform" | "pulumi";
  readonly path: string;
}

/** The engine's program on PATH: tofu before terraform for cdktf (state encryption), pulumi for pulumi. */
export function engineBinary(engine: DeployEngine, env: NodeJS.ProcessEnv): EngineBinary | null {
  const candidates = engine === "cdktf" ? (["tofu", "terraform"] as const) : (["pulumi"] as const);
  for (const name of candidates) {
    const path = which(name, env);
    if (path) return { name, path };
  }
  return null;
}

const INSTALL_FIX: Record<DeployEngine, string> = {
  cdktf: "install OpenTofu >= 1.8 (`tofu`, preferred: it encrypts the state; https://opentofu.org/docs/intro/install/) or Terraform (`terraform`) and make sure it is on PATH",
  pulumi: "install the Pulumi CLI (`curl -fsSL https://get.pulumi.com | sh`) and make sure `pulumi` is on PATH",
};

/** `ssh://user@host:port` -> the ssh arguments that reach it. */
export function sshTarget(dockerHost: string): { destination: string; port?: string } {
  const m = /^ssh:\/\/([^@/]+@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(dockerHost);
  if (!m) throw new OpsError(`not an ssh:// Docker host: ${dockerHost}`);
  const host = m[2]!.replace(/^\[|\]$/g, "");
  return { destination: `${m[1] ?? ""}${host}`, port: m[3] };
}

export function sshCheckArgs(dockerHost: string): string[] {
  const t = sshTarget(dockerHost);
  return ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", ...(t.port ? ["-p", t.port] : []), t.destination, "true"];
}

/** `ssh … HOST <run the script on stdin as root>`: how the host files and keys get to a host. */
export function sshInstallArgs(dockerHost: string): string[] {
  const t = sshTarget(dockerHost);
  // ServerAlive: a session whose path goes away (the cloud's, through a tunnel whose keys it just
  // rotated) ends in ~30 s instead of waiting for TCP to give up.
  return ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3", ...(t.port ? ["-p", t.port] : []), t.destination, REMOTE_INSTALL_COMMAND];
}

// ---------------------------------------------------------------------------------------------
// Plan step

interface Planned {
  readonly site: Site;
  readonly topology: Topology;
  readonly artifacts: readonly Artifact[];
  readonly outAbs: string;
  /** Stacks present in out/ for the engine, in dependency order. */
  readonly stacks: readonly string[];
}

function checkStackName(command: string, stack: string | undefined, siteFile: string, ctx: OpsContext): void {
  if (stack === undefined) return;
  const order = stackOrder(loadSite(resolve(ctx.cwd, siteFile)));
  if (!order.includes(stack)) throw new OpsError(`palisade ${command}: --stack ${JSON.stringify(stack)} is not one of this platform's stacks (${order.join(", ")})`);
}

/**
 * Renders, verifies and writes out/ exactly as `palisade plan` does (planArtifacts, the verifier,
 * the report files, the manifest; atomic). Returns the verifier's gate: null when none ran.
 */
export async function planStep(siteFile: string, outDir: string, engine: EngineChoice, ctx: OpsContext): Promise<Planned & { readonly gate: GateResult | null }> {
  const sitePath = resolve(ctx.cwd, siteFile);
  const site = loadSite(sitePath);
  const siteText = readFileSync(sitePath, "utf8");
  const result = await planArtifacts(site, siteText, { engine });
  for (const w of result.warnings) ctx.io.err(`warning: [${w.id}] ${w.message}\n`);
  const artifacts = [...result.artifacts];
  const verification = await ctx.verify(artifacts);
  const outAbs = resolve(ctx.cwd, outDir);
  writeOutAtomic(outAbs, [...artifacts, manifestArtifact(siteText, artifacts, engine), ...(verification?.files ?? [])]);
  const stacks = plannedStacks(site, outAbs, engine);
  ctx.io.err(`plan: ${artifacts.length + 1} files in ${outDir}/ (stacks: ${stacks.join(", ")})\n`);
  if (verification?.summary) ctx.io.err(`${verification.summary}\n`);
  return { site, topology: buildTopology(site), artifacts, outAbs, stacks, gate: verification?.gate ?? null };
}

// ---------------------------------------------------------------------------------------------
// Preconditions

/** Sensitive variables a stack's engine program needs a value for. */
export function stackVariables(engine: DeployEngine, stack: string, p: Planned): string[] {
  if (engine === "cdktf") {
    const json = JSON.parse(readFileSync(join(p.outAbs, stackArtifactPath(stack, "cdktf")), "utf8")) as { variable?: Record<string, { sensitive?: boolean }> };
    return Object.entries(json.variable ?? {})
      .filter(([, v]) => v.sensitive === true)
      .map(([k]) => k)
      .sort();
  }
  if (isHostStack(p.site, stack)) return [...stackSpec(p.topology, stack).variables];
  return stack === "secrets" ? [...secretsStackSpec(p.site).variables] : [];
}

/** The OpenBao token the secrets stack's Vault provider uses: VAULT_TOKEN, or the file `openbao-token`. */
export const OPENBAO_TOKEN_FILE = "openbao-token";

interface Prepared {
  readonly binary: EngineBinary | null;
  readonly problems: Problem[];
  /** variable -> value, per stack. */
  readonly variables: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly passphrase?: string;
  readonly previousPassphrase?: string;
  /** For the secrets stack only (VAULT_TOKEN). */
  readonly vaultToken?: string;
}

function displayPath(ctx: OpsContext, p: string): string {
  return p.startsWith(`${ctx.cwd}/`) ? p.slice(ctx.cwd.length + 1) : p;
}

async function prepare(
  opts: DeployOptions,
  p: Planned,
  stacks: readonly string[],
  ctx: OpsContext,
  checks: { siteKeys: boolean; publicKeys: boolean },
): Promise<Prepared> {
  const problems: Problem[] = [];
  const binary = engineBinary(opts.engine, ctx.env);
  if (!binary) {
    const names = opts.engine === "cdktf" ? "`tofu` or `terraform`" : "`pulumi`";
    problems.push({ missing: `the ${opts.engine} engine: neither ${names} is on PATH`, fix: INSTALL_FIX[opts.engine] });
  }
  const dir = resolve(ctx.cwd, opts.secretsDir);
  const shownDir = displayPath(ctx, dir);
  const missingFiles = new Set<string>();
  const value = (file: string): string | undefined => {
    const v = readSecret(dir, file);
    if (v === undefined || v === "") missingFiles.add(file);
    return v || undefined;
  };
  const variables = new Map<string, Map<string, string>>();
  for (const s of stacks) {
    const m = new Map<string, string>();
    for (const v of stackVariables(opts.engine, s, p)) {
      const val = value(secretFileFor(v));
      if (val !== undefined) m.set(v, val);
    }
    variables.set(s, m);
  }
  let passphrase: string | undefined;
  let previousPassphrase: string | undefined;
  if (opts.engine === "pulumi") passphrase = value("pulumi-passphrase");
  else if (binary?.name !== "terraform") {
    passphrase = value("state-passphrase");
    previousPassphrase = readSecret(dir, `state-passphrase${PREVIOUS_SUFFIX}`) || undefined;
  }
  let vaultToken: string | undefined;
  if (stacks.includes("secrets")) {
    vaultToken = ctx.env.VAULT_TOKEN || readSecret(dir, OPENBAO_TOKEN_FILE) || undefined;
    if (!vaultToken) {
      problems.push({
        missing: `an OpenBao token for the secrets stack: VAULT_TOKEN is not set and ${shownDir}/${OPENBAO_TOKEN_FILE} does not exist`,
        fix: `after \`bao operator init\` on the cloud (docs/runbook.md), export VAULT_TOKEN=<token> for this run, or save it with mode 0600 as ${shownDir}/${OPENBAO_TOKEN_FILE}; or deploy the other stacks first (${stackOrder(p.site).filter((s) => s !== "secrets").map((s) => `--stack ${s}`).join(", ")})`,
      });
    }
  }
  if (checks.siteKeys) for (const k of siteKeys(p.site)) if (k.kind !== "password" && k.name !== "state-passphrase" && k.name !== "pulumi-passphrase") value(k.file);
  if (missingFiles.size > 0) {
    problems.push({
      missing: `secret files in ${shownDir}/: ${[...missingFiles].sort().join(", ")}`,
      fix: `run \`palisade keys${opts.secretsDir === join(".palisade", "secrets") ? "" : ` --dir ${opts.secretsDir}`}\` (it creates only what is missing and never overwrites a key)`,
    });
  }
  if (checks.publicKeys) problems.push(...publicKeyProblems(p.site, dir, opts.siteFile));
  if (!opts.skipSshCheck) problems.push(...(await sshProblems(p, stacks, ctx)));
  return { binary, problems, variables, passphrase, previousPassphrase, vaultToken };
}

/** The site's publicKeys must be the public halves of the private keys deploy ships. */
function publicKeyProblems(site: Site, dir: string, siteFile: string): Problem[] {
  const out: Problem[] = [];
  // The edge's and DKIM's keys in publicKeys; each site's where the site file holds it (siteKeyField).
  const pairs: [field: string, given: string | undefined, file: string, derive: (k: string) => string][] = [
    ["publicKeys.wireguardEdge", site.publicKeys.wireguardEdge, "wireguard-edge.key", (k) => wireguardPublicKey(k)],
    ...site.sites.map((s, i): [string, string | undefined, string, (k: string) => string] => [siteKeyField(site, i), s.publicKey, `${s.keyFile}.key`, (k) => wireguardPublicKey(k)]),
    ["publicKeys.dkim", site.publicKeys.dkim, "dkim.key", (k) => dkimPublicKey(k).publicKey],
  ];
  for (const [field, given, file, derive] of pairs) {
    const priv = readSecret(dir, file);
    if (!priv) continue; // reported as a missing secret file
    const fix = `paste the public keys that \`palisade keys\` prints into ${siteFile}, then run palisade plan`;
    if (!given) out.push({ missing: `${field} in ${siteFile} (plan renders a placeholder without it)`, fix });
    else if (given !== derive(priv)) out.push({ missing: `${field} in ${siteFile} does not match ${file} (was the key rotated?)`, fix });
  }
  return out;
}

/** The caller's environment minus anything that carries a secret: what non-engine children get. */
export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(TF_VAR_|VAULT_TOKEN$|PULUMI_CONFIG_PASSPHRASE$|PULUMI_ACCESS_TOKEN$)/.test(k)));
}

async function sshProblems(p: Planned, stacks: readonly string[], ctx: OpsContext): Promise<Problem[]> {
  const hosts = stacks.filter((s) => isHostStack(p.site, s)).map((s) => ({ stack: s, dockerHost: stackSpec(p.topology, s).dockerHost }));
  if (hosts.length === 0) return [];
  const ssh = which("ssh", ctx.env);
  if (!ssh) return [{ missing: "the OpenSSH client (`ssh`) on PATH: the Docker providers reach the hosts over SSH", fix: "apt-get install openssh-client" }];
  const out: Problem[] = [];
  for (const h of hosts) {
    const args = sshCheckArgs(h.dockerHost);
    const r = await ctx.run({ cmd: ssh, args, env: withoutSecrets(ctx.env), cwd: ctx.cwd, stream: false });
    if (r.code !== 0) {
      const dest = sshTarget(h.dockerHost).destination;
      const why = r.output.trim().split("\n").pop() ?? "";
      out.push({
        missing: `SSH access to ${dest} (Docker host of stack ${h.stack}): \`ssh ${args.join(" ")}\` exited ${r.code}${why ? `: ${why}` : ""}`,
        fix:
          `make \`ssh ${dest} true\` work without a prompt: load the deploy key into ssh-agent, accept the host key into known_hosts` +
          (h.stack !== "edge" ? ", and reach the site's host through its tunnel (ProxyJump via the edge, see docs/runbook.md)" : "") +
          "; for a CI dry run pass --skip-ssh-check",
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Engine invocations

interface Step {
  readonly args: readonly string[];
  readonly stdin?: string;
  /** What the operator reads if it fails: `tofu apply`. */
  readonly label: string;
}

function cdktfDir(opts: DeployOptions, stack: string): string {
  return join(opts.outDir, "cdktf", "stacks", stack);
}

function stateDir(opts: DeployOptions, ctx: OpsContext): string {
  return resolve(ctx.cwd, dirname(opts.secretsDir), "state");
}

type Action = "apply" | "destroy" | "plan";

function cdktfSteps(opts: DeployOptions, stack: string, action: Action, ctx: OpsContext, bin: EngineBinary): Step[] {
  const chdir = `-chdir=${cdktfDir(opts, stack)}`;
  const init: Step = { args: [chdir, "init", "-input=false", `-backend-config=path=${join(stateDir(opts, ctx), `${stack}.tfstate`)}`], label: `${bin.name} init` };
  const main: Step =
    action === "plan"
      ? { args: [chdir, "plan", "-input=false", "-lock=false"], label: `${bin.name} plan` }
      : { args: [chdir, action, "-input=false", "-auto-approve"], label: `${bin.name} ${action}` };
  return [init, main];
}

function pulumiSteps(stack: string, action: Action, vars: ReadonlyMap<string, string>): Step[] {
  const create = action === "destroy" ? [] : ["--create"];
  const steps: Step[] = [{ args: ["stack", "select", ...create, "--stack", stack, "--non-interactive"], label: "pulumi stack select" }];
  if (action !== "destroy") {
    for (const [v, value] of vars) {
      steps.push({ args: ["config", "set", "--secret", `palisade:${v}`, "--stack", stack, "--non-interactive"], stdin: value, label: `pulumi config set palisade:${v}` });
    }
  }
  if (action === "apply") steps.push({ args: ["up", "--yes", "--stack", stack, "--non-interactive"], label: "pulumi up" });
  if (action === "destroy") steps.push({ args: ["destroy", "--yes", "--stack", stack, "--non-interactive"], label: "pulumi destroy" });
  if (action === "plan") steps.push({ args: ["preview", "--stack", stack, "--non-interactive"], label: "pulumi preview" });
  return steps;
}

/** The child's environment: the caller's, plus the secrets of this stack. Nothing else carries them. */
function engineEnv(opts: DeployOptions, prep: Prepared, stack: string, ctx: OpsContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  // Least privilege: only the secrets stack talks to OpenBao.
  if (stack === "secrets" && prep.vaultToken) env.VAULT_TOKEN = prep.vaultToken;
  else delete env.VAULT_TOKEN;
  if (opts.engine === "cdktf") {
    env.TF_IN_AUTOMATION = "1";
    for (const [v, value] of prep.variables.get(stack) ?? []) env[`TF_VAR_${v}`] = value;
    if (prep.binary?.name === "tofu" && prep.passphrase) {
      env[`TF_VAR_${STATE_PASSPHRASE_VARIABLE}`] = prep.passphrase;
      if (prep.previousPassphrase) env[`TF_VAR_${PREVIOUS_STATE_PASSPHRASE_VARIABLE}`] = prep.previousPassphrase;
    }
  } else {
    env.PULUMI_CONFIG_PASSPHRASE = prep.passphrase;
    env.PULUMI_SKIP_UPDATE_CHECK = "true";
    env.PULUMI_BACKEND_URL = ctx.env.PULUMI_BACKEND_URL ?? `file://${join(stateDir(opts, ctx), "pulumi")}`;
    env.PALISADE_SITE = resolve(ctx.cwd, opts.siteFile);
  }
  return env;
}

/** OpenTofu only: encryption.tf.json next to each stack's cdk.tf.json (names, never the passphrase). */
function writeStateEncryption(opts: DeployOptions, prep: Prepared, stacks: readonly string[], ctx: OpsContext): void {
  if (opts.engine !== "cdktf" || prep.binary?.name !== "tofu" || !prep.passphrase) return;
  const gen: EncryptionGenerations = {
    current: passphraseGeneration(prep.passphrase),
    previous: prep.previousPassphrase ? passphraseGeneration(prep.previousPassphrase) : undefined,
  };
  for (const a of stateEncryptionArtifacts(stacks, gen)) writeFileSync(join(resolve(ctx.cwd, opts.outDir), a.path), a.content, { mode: 0o644 });
}

interface StackRun {
  readonly done: readonly string[];
  readonly failed?: { readonly stack: string; readonly label: string; readonly code: number };
  readonly outputs: ReadonlyMap<string, string>;
}

/**
 * Before a host's stack is applied: its rendered files and keys onto the host, its firewall and
 * tunnel reloaded (host-install.ts). The script, keys included, goes to ssh on stdin only.
 */
async function installHostFiles(opts: DeployOptions, planned: Planned, stack: string, ctx: OpsContext): Promise<{ code: number; label: string } | null> {
  if (opts.skipHostFiles || !isHostStack(planned.site, stack)) return null;
  const host = stack; // a Docker stack is named after its host
  const dockerHost = stackSpec(planned.topology, stack).dockerHost;
  const rendered = renderedHostFiles(planned.artifacts, host);
  const keys = hostKeyFiles(planned.site, resolve(ctx.cwd, opts.secretsDir), host);
  const ssh = which("ssh", ctx.env);
  if (!ssh) return { code: 127, label: "host files: no `ssh` on PATH" };
  ctx.io.err(`host files: ${rendered.length} rendered file(s) and ${keys.length} key(s) -> ${sshTarget(dockerHost).destination}:/etc/palisade/ (over ssh, on stdin)\n`);
  const siteOfHost = planned.site.sites.find((s) => s.id === host);
  const script = hostInstallScript({ host, rendered, keys, reload: true, ...(siteOfHost ? { wireguardKeyFile: `${siteOfHost.keyFile}.key` } : {}) });
  const r = await ctx.run({ cmd: ssh, args: sshInstallArgs(dockerHost), env: withoutSecrets(ctx.env), cwd: ctx.cwd, stdin: script, stream: false });
  ctx.io.err(r.output);
  return r.code === 0 ? null : { code: r.code, label: `host files over ssh to ${sshTarget(dockerHost).destination}` };
}

async function runStacks(opts: DeployOptions, prep: Prepared, stacks: readonly string[], action: Action, ctx: OpsContext, planned?: Planned): Promise<StackRun> {
  const bin = prep.binary!;
  const done: string[] = [];
  const outputs = new Map<string, string>();
  mkdirSync(stateDir(opts, ctx), { recursive: true, mode: 0o700 });
  for (const stack of stacks) {
    ctx.io.err(`\n== ${action === "plan" ? "planning" : action === "apply" ? "applying" : "destroying"} stack ${stack} (${bin.name}) ==\n`);
    if (action === "apply" && planned) {
      const failed = await installHostFiles(opts, planned, stack, ctx);
      if (failed) return { done, failed: { stack, label: failed.label, code: failed.code }, outputs };
    }
    const env = engineEnv(opts, prep, stack, ctx);
    const steps = opts.engine === "cdktf" ? cdktfSteps(opts, stack, action, ctx, bin) : pulumiSteps(stack, action, prep.variables.get(stack) ?? new Map());
    let output = "";
    for (const step of steps) {
      const r = await ctx.run({ cmd: bin.path, args: step.args, env, cwd: ctx.cwd, stdin: step.stdin, stream: step.stdin === undefined });
      output += r.output;
      if (r.code !== 0) return { done, failed: { stack, label: step.label, code: r.code }, outputs };
    }
    outputs.set(stack, output);
    done.push(stack);
  }
  return { done, outputs };
}

function failureReport(command: string, stacks: readonly string[], run: StackRun, verbPast: string): string {
  const f = run.failed!;
  const rest = stacks.slice(stacks.indexOf(f.stack) + 1);
  return [
    `\n${command}: stack ${f.stack} failed: \`${f.label}\` exited ${f.code} (its output is above).`,
    `  already ${verbPast}: ${run.done.length ? run.done.join(", ") : "none"}`,
    `  not attempted: ${rest.length ? rest.join(", ") : "none"}`,
    `  fix the cause and run \`palisade ${command}\` again: stacks that are already ${verbPast} are no-ops the second time.`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Commands

export async function deploy(opts: DeployOptions, ctx: OpsContext): Promise<number> {
  checkStackName("deploy", opts.stack, opts.siteFile, ctx);
  const planned = await planStep(opts.siteFile, opts.outDir, opts.engine, ctx);
  const gate = planned.gate;
  if (gate === null) ctx.io.err("note: no verifier ran: the plan was rendered but not verified.\n");
  else if (gate.refused) {
    ctx.io.err(["deploy refused: the verifier found problems in the plan; no engine ran.", ...gate.lines.map((l) => `  - ${l}`), ""].join("\n"));
    return 1;
  }
  const stacks = selectStacks("deploy", planned, opts.stack);
  const prep = await prepare(opts, planned, stacks, ctx, { siteKeys: true, publicKeys: true });
  if (prep.problems.length > 0) throw new OpsError(formatProblems("deploy", prep.problems));
  const bin = prep.binary!;
  const stateNote =
    opts.engine === "pulumi"
      ? `state: ${ctx.env.PULUMI_BACKEND_URL ?? displayPath(ctx, join(stateDir(opts, ctx), "pulumi"))}, secrets encrypted with pulumi-passphrase`
      : bin.name === "tofu"
        ? `state: ${displayPath(ctx, stateDir(opts, ctx))}/<stack>.tfstate, encrypted (aes_gcm, pbkdf2)`
        : `state: ${displayPath(ctx, stateDir(opts, ctx))}/<stack>.tfstate, NOT encrypted (terraform has no state encryption; install OpenTofu)`;
  ctx.io.err(`\ndeploy: site ${planned.site.site.name}: stacks ${stacks.join(" -> ")} with ${bin.name} (${stateNote})\n`);
  if (!opts.yes) {
    const answer = await ctx.ask("Apply these stacks now? Type yes to continue: ");
    if (answer === null) throw new OpsError("deploy: refusing to apply without confirmation: stdin is not a terminal. Pass --yes to confirm non-interactively.");
    if (!/^\s*y(es)?\s*$/i.test(answer)) {
      ctx.io.err("deploy: aborted by the operator; nothing was applied.\n");
      return 1;
    }
  }
  writeStateEncryption(opts, prep, stacks, ctx);
  const run = await runStacks(opts, prep, stacks, "apply", ctx, planned);
  if (run.failed) {
    ctx.io.err(failureReport("deploy", stacks, run, "applied"));
    return run.failed.code;
  }
  ctx.io.err(`\ndeploy: applied ${stacks.join(", ")}.\n`);
  retireRotations(opts, prep, ctx);
  return 0;
}

function selectStacks(command: string, p: Planned, stack: string | undefined): string[] {
  if (stack === undefined) return [...p.stacks];
  if (!p.stacks.includes(stack)) throw new OpsError(`palisade ${command}: --stack ${stack}: the plan has no such stack for this engine (it has ${p.stacks.join(", ")})`);
  return [stack];
}

/** After a full successful deploy the rotated-out values are no longer needed anywhere. */
function retireRotations(opts: DeployOptions, prep: Prepared, ctx: OpsContext): void {
  const dir = resolve(ctx.cwd, opts.secretsDir);
  const pending = pendingRotations(dir);
  if (pending.length === 0) return;
  if (opts.stack !== undefined) {
    ctx.io.err(`kept ${pending.join(", ")}: only stack ${opts.stack} was deployed; a full \`palisade deploy\` retires them.\n`);
    return;
  }
  // The old state passphrase still decrypts OpenTofu state until tofu itself has re-encrypted it.
  const keep = prep.binary?.name === "tofu" ? [] : [`state-passphrase${PREVIOUS_SUFFIX}`];
  const retired = pending.filter((f) => !keep.includes(f));
  for (const f of retired) rmSync(join(dir, f));
  if (retired.length) ctx.io.err(`retired rotated keys: ${retired.join(", ")}\n`);
}

export async function destroy(opts: DestroyOptions, ctx: OpsContext): Promise<number> {
  checkStackName("destroy", opts.stack, opts.siteFile, ctx);
  const planned = await planStep(opts.siteFile, opts.outDir, opts.engine, ctx);
  const name = planned.site.site.name;
  if (opts.yes && opts.confirm !== name) {
    throw new OpsError(
      opts.confirm === undefined
        ? `destroy: --yes also needs --confirm ${name} (the site's name) so that a destroy is never one flag away`
        : `destroy: --confirm ${JSON.stringify(opts.confirm)} is not this site's name (${name}); nothing was destroyed`,
    );
  }
  const stacks = selectStacks("destroy", planned, opts.stack).reverse();
  const prep = await prepare(opts, planned, stacks, ctx, { siteKeys: false, publicKeys: false });
  if (prep.problems.length > 0) throw new OpsError(formatProblems("destroy", prep.problems));
  ctx.io.err(`\ndestroy: site ${name}: stacks ${stacks.join(" -> ")} with ${prep.binary!.name}. Every container, network and volume they manage will be removed.\n`);
  if (!opts.yes) {
    const answer = await ctx.ask(`Type the site's name (${name}) to destroy it: `);
    if (answer === null) throw new OpsError(`destroy: refusing without confirmation: stdin is not a terminal. Pass --yes --confirm ${name}.`);
    if (answer.trim() !== name) {
      ctx.io.err(`destroy: you typed ${JSON.stringify(answer.trim())}, not ${JSON.stringify(name)}; nothing was destroyed.\n`);
      return 1;
    }
  }
  writeStateEncryption(opts, prep, stacks, ctx);
  const run = await runStacks(opts, prep, stacks, "destroy", ctx);
  if (run.failed) {
    ctx.io.err(failureReport("destroy", stacks, run, "destroyed"));
    return run.failed.code;
  }
  ctx.io.err(`\ndestroy: destroyed ${stacks.join(", ")}.\n`);
  return 0;
}

export interface EnginePlanOptions {
  readonly siteFile: string;
  readonly outDir: string;
  readonly engine: EngineChoice;
  readonly secretsDir: string;
}

/** The engine's own summary line(s): `Plan: 3 to add, …` / `No changes.` / Pulumi's `Resources:` block. */
export function engineSummary(output: string): string {
  const tf = /^.*(Plan: \d+ to add.*|No changes\..*)$/m.exec(output);
  if (tf) return tf[1]!.trim();
  const pu = /^Resources:\s*\n((?:[ \t]+\S.*\n?)+)/m.exec(output);
  if (pu) return pu[1]!.split("\n").map((l) => l.trim()).filter(Boolean).join("; ");
  return "(no summary line in the engine's output)";
}

/**
 * `plan --engine-plan`: after the plan command wrote out/, ask the engine what it would change.
 * Unreachable engine or hosts are a note, not a failure; an engine that fails is exit 1.
 */
export async function enginePlan(opts: EnginePlanOptions, ctx: OpsContext): Promise<number> {
  const candidates: DeployEngine[] = opts.engine === "both" ? ["cdktf", "pulumi"] : [opts.engine];
  const engine = candidates.find((e) => engineBinary(e, ctx.env) !== null);
  if (!engine) {
    ctx.io.err(`note: engine plan skipped: ${candidates.map((e) => (e === "cdktf" ? "tofu/terraform" : "pulumi")).join(" and ")} not on PATH (${candidates.map((e) => INSTALL_FIX[e]).join("; ")}).\n`);
    return 0;
  }
  const dOpts: DeployOptions = { siteFile: opts.siteFile, outDir: opts.outDir, engine, yes: true, secretsDir: opts.secretsDir, skipSshCheck: false };
  const sitePath = resolve(ctx.cwd, opts.siteFile);
  const site = loadSite(sitePath);
  const outAbs = resolve(ctx.cwd, opts.outDir);
  const stacks = plannedStacks(site, outAbs, engine);
  const planned: Planned = { site, topology: buildTopology(site), artifacts: [], outAbs, stacks };
  const prep = await prepare(dOpts, planned, stacks, ctx, { siteKeys: false, publicKeys: false });
  if (prep.problems.length > 0) {
    ctx.io.err(
      [`note: engine plan skipped (the artifact plan above stands): ${prep.problems.length} precondition(s) not met:`, ...prep.problems.map((p) => `  - ${p.missing}\n    fix: ${p.fix}`), ""].join("\n"),
    );
    return 0;
  }
  writeStateEncryption(dOpts, prep, stacks, ctx);
  const run = await runStacks(dOpts, prep, stacks, "plan", ctx);
  ctx.io.out("\nengine plan:\n");
  for (const s of run.done) ctx.io.out(`  ${s}: ${engineSummary(run.outputs.get(s) ?? "")}\n`);
  if (run.failed) {
    ctx.io.err(`engine plan: stack ${run.failed.stack} failed: \`${run.failed.label}\` exited ${run.failed.code} (its output is above).\n`);
    return 1;
  }
  return 0;
}
