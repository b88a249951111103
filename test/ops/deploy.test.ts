import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deploy, destroy, type DeployOptions } from "../../stacks/ops/deploy.js";
import { OpsError } from "../../stacks/ops/errors.js";
import { ensureKeys } from "../../stacks/ops/keys.js";
import { stackSpec } from "../../stacks/docker-spec.js";
import { buildTopology } from "../../stacks/platform.js";
import { secretsStackSpec } from "../../stacks/secrets-spec.js";
import { runCli } from "../helpers/cli.js";
import { sandbox, TEST_VAULT_TOKEN, type Call, type Sandbox } from "./standins.js";

const SUITE = "(stand-in engines: no providers or Pulumi CLI here)";

/** The cloud stack's sensitive variables, from the same spec the engines render (the model grows). */
const cloudVars = (sb: Sandbox) => [...stackSpec(buildTopology(sb.site), "cloud").variables];

function opts(sb: Sandbox, over: Partial<DeployOptions> = {}): DeployOptions {
  return { siteFile: "palisade.yaml", outDir: "out", engine: "cdktf", yes: true, secretsDir: ".palisade/secrets", skipSshCheck: false, ...over };
}

const engineCalls = (calls: Call[]) => calls.filter((c) => c.tool !== "ssh");
const summary = (calls: Call[]) => engineCalls(calls).map((c) => `${c.tool} ${c.args.filter((a) => !a.startsWith("-backend-config")).join(" ")}`);

async function failure(p: Promise<unknown>): Promise<OpsError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OpsError) return e;
    throw e;
  }
  throw new Error("expected an OpsError");
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe(`palisade deploy, cdktf ${SUITE}`, () => {
  it("GIVEN tofu and every precondition WHEN deploy --yes runs THEN it checks SSH to both hosts, then inits and applies edge, cloud, then secrets", async () => {
    const sb = sandbox();
    const code = await deploy(opts(sb), sb.ctx());
    expect(code).toBe(0);
    const calls = sb.calls();
    expect(calls.slice(0, 2).map((c) => c.args.join(" "))).toEqual([
      "-o BatchMode=yes -o ConnectTimeout=5 deploy@203.0.113.10 true",
      "-o BatchMode=yes -o ConnectTimeout=5 deploy@10.77.0.2 true",
    ]);
    expect(summary(calls)).toEqual([
      "tofu -chdir=out/cdktf/stacks/edge init -input=false",
      "tofu -chdir=out/cdktf/stacks/edge apply -input=false -auto-approve",
      "tofu -chdir=out/cdktf/stacks/cloud init -input=false",
      "tofu -chdir=out/cdktf/stacks/cloud apply -input=false -auto-approve",
      "tofu -chdir=out/cdktf/stacks/secrets init -input=false",
      "tofu -chdir=out/cdktf/stacks/secrets apply -input=false -auto-approve",
    ]);
    // Two checks, then one install before each host's stack (test/ops/host-install.test.ts).
    expect(calls.filter((c) => c.tool === "ssh").map((c) => c.args.at(-2))).toEqual(["deploy@203.0.113.10", "deploy@10.77.0.2", "deploy@203.0.113.10", "deploy@10.77.0.2"]);
    expect(calls.some((c) => c.tool === "terraform")).toBe(false);
    expect(sb.output()).toContain("deploy: applied edge, cloud, secrets.");
  });

  it("GIVEN a deploy WHEN tofu inits a stack THEN its state goes to .palisade/state/<stack>.tfstate, outside out/ (which every plan replaces)", async () => {
    const sb = sandbox();
    await deploy(opts(sb), sb.ctx());
    const inits = sb.calls().filter((c) => c.args.includes("init"));
    expect(inits.map((c) => c.args.find((a) => a.startsWith("-backend-config=")))).toEqual([
      `-backend-config=path=${join(sb.root, ".palisade/state/edge.tfstate")}`,
      `-backend-config=path=${join(sb.root, ".palisade/state/cloud.tfstate")}`,
      `-backend-config=path=${join(sb.root, ".palisade/state/secrets.tfstate")}`,
    ]);
  });

  it("GIVEN only terraform on PATH WHEN deploy runs THEN terraform applies the stacks, with no state encryption file and no passphrase variable", async () => {
    const sb = sandbox({ tools: ["terraform", "ssh"] });
    expect(await deploy(opts(sb), sb.ctx())).toBe(0);
    expect(summary(sb.calls())[1]).toBe("terraform -chdir=out/cdktf/stacks/edge apply -input=false -auto-approve");
    expect(sb.calls().flatMap((c) => c.envNames)).not.toContain("TF_VAR_state_passphrase");
    expect(existsSync(join(sb.outDir, "cdktf/stacks/edge/encryption.tf.json"))).toBe(false);
    expect(sb.output()).toContain("NOT encrypted");
  });

  it("GIVEN a deploy WHEN the engines run THEN secrets reach them only as TF_VAR_* environment variables: in no argv and in no file under out/", async () => {
    const sb = sandbox();
    expect(await deploy(opts(sb), sb.ctx())).toBe(0);
    const cloudApply = sb.calls().find((c) => c.args.join(" ").includes("stacks/cloud apply"))!;
    expect(cloudVars(sb).length).toBeGreaterThan(0);
    expect(cloudApply.envNames).toEqual(expect.arrayContaining([...cloudVars(sb).map((v) => `TF_VAR_${v}`), "TF_VAR_state_passphrase"]));
    const edgeApply = sb.calls().find((c) => c.args.join(" ").includes("stacks/edge apply"))!;
    for (const v of cloudVars(sb)) expect(edgeApply.envNames).not.toContain(`TF_VAR_${v}`);
    for (const ssh of sb.calls().filter((c) => c.tool === "ssh")) expect(ssh.envNames).toEqual([]);
    const secretsApply = sb.calls().find((c) => c.args.join(" ").includes("stacks/secrets apply"))!;
    expect(secretsApply.envNames).toEqual(expect.arrayContaining(["VAULT_TOKEN", ...secretsStackSpec(sb.site).variables.map((v) => `TF_VAR_${v}`)]));
    expect(edgeApply.envNames).not.toContain("VAULT_TOKEN");
    expect(cloudApply.envNames).not.toContain("VAULT_TOKEN");
    const log = readFileSync(sb.log, "utf8");
    const files = sb.outFiles();
    expect(files.length).toBeGreaterThan(5);
    for (const secret of [...sb.secretValues(), TEST_VAULT_TOKEN]) {
      expect(log).not.toContain(secret);
      for (const f of files) expect(f.content, `${f.path} holds a secret`).not.toContain(secret);
      expect(sb.output()).not.toContain(secret);
    }
  });

  it("GIVEN tofu WHEN deploy runs THEN each stack gets an encryption.tf.json (pbkdf2 + aes_gcm, enforced) that reads the passphrase from var.state_passphrase", async () => {
    const sb = sandbox();
    await deploy(opts(sb), sb.ctx());
    for (const s of ["edge", "cloud", "secrets"]) {
      const json = JSON.parse(readFileSync(join(sb.outDir, "cdktf/stacks", s, "encryption.tf.json"), "utf8"));
      const enc = json.terraform.encryption;
      const [name] = Object.keys(enc.key_provider.pbkdf2);
      expect(enc.key_provider.pbkdf2[name!]).toEqual({ passphrase: "${var.state_passphrase}" });
      expect(enc.method.aes_gcm[name!]).toEqual({ keys: `\${key_provider.pbkdf2.${name}}` });
      expect(enc.state).toEqual({ method: `\${method.aes_gcm.${name}}`, enforced: true });
      expect(enc.plan).toEqual({ method: `\${method.aes_gcm.${name}}`, enforced: true });
      expect(json.variable.state_passphrase).toMatchObject({ sensitive: true });
    }
  });

  it("GIVEN --stack cloud WHEN deploy runs THEN only the cloud stack is applied and only its host is checked", async () => {
    const sb = sandbox();
    expect(await deploy(opts(sb, { stack: "cloud" }), sb.ctx())).toBe(0);
    expect(summary(sb.calls())).toEqual(["tofu -chdir=out/cdktf/stacks/cloud init -input=false", "tofu -chdir=out/cdktf/stacks/cloud apply -input=false -auto-approve"]);
    // The check, then the install of the cloud's files: never the edge.
    expect(sb.calls().filter((c) => c.tool === "ssh").map((c) => c.args.at(-2))).toEqual(["deploy@10.77.0.2", "deploy@10.77.0.2"]);
  });

  it("GIVEN --stack with an unknown name WHEN deploy runs THEN it exits 2 before planning and runs nothing", async () => {
    const sb = sandbox();
    const e = await failure(deploy(opts(sb, { stack: "database" }), sb.ctx()));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("edge, cloud, secrets");
    expect(sb.calls()).toEqual([]);
    expect(existsSync(sb.outDir)).toBe(false);
  });
});

describe(`palisade deploy, pulumi ${SUITE}`, () => {
  it("GIVEN the pulumi engine WHEN deploy runs THEN each stack is selected, its secrets set from stdin, and `pulumi up --yes --stack <s> --non-interactive` runs, edge first", async () => {
    const sb = sandbox();
    const secretsVars = secretsStackSpec(sb.site).variables;
    expect(await deploy(opts(sb, { engine: "pulumi" }), sb.ctx())).toBe(0);
    expect(summary(sb.calls())).toEqual([
      "pulumi stack select --create --stack edge --non-interactive",
      "pulumi up --yes --stack edge --non-interactive",
      "pulumi stack select --create --stack cloud --non-interactive",
      ...cloudVars(sb).map((v) => `pulumi config set --secret palisade:${v} --stack cloud --non-interactive`),
      "pulumi up --yes --stack cloud --non-interactive",
      "pulumi stack select --create --stack secrets --non-interactive",
      ...secretsVars.map((v) => `pulumi config set --secret palisade:${v} --stack secrets --non-interactive`),
      "pulumi up --yes --stack secrets --non-interactive",
    ]);
  });

  it("GIVEN the pulumi engine WHEN a secret is set THEN its value arrives on stdin (never argv) and the passphrase only in PULUMI_CONFIG_PASSPHRASE", async () => {
    const sb = sandbox();
    await deploy(opts(sb, { engine: "pulumi" }), sb.ctx());
    for (const v of cloudVars(sb)) {
      const set = sb.calls().find((c) => c.args.includes(`palisade:${v}`))!;
      const value = readFileSync(join(sb.secretsDir, v.replace(/_/g, "-")), "utf8");
      expect(set.stdin).toBe(`data:${createHash("sha256").update(value).digest("hex")}`);
    }
    for (const c of engineCalls(sb.calls())) {
      expect(c.envNames).toEqual(expect.arrayContaining(["PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL", "PALISADE_SITE"]));
      expect(c.envNames.filter((n) => n.startsWith("TF_VAR_"))).toEqual([]);
    }
    const log = readFileSync(sb.log, "utf8");
    for (const secret of sb.secretValues()) {
      expect(log).not.toContain(secret);
      for (const f of sb.outFiles()) expect(f.content, f.path).not.toContain(secret);
    }
  });
});

describe(`palisade deploy refuses and reports ${SUITE}`, () => {
  it("GIVEN a verifier that finds a violation WHEN deploy runs THEN it exits 1, names the violation, and no engine (nor ssh) runs", async () => {
    const sb = sandbox();
    const gate = { refused: true, lines: ["violation: frontend => postgres : tcp/5432 is reachable"] };
    const code = await deploy(opts(sb), sb.ctx({ gate }));
    expect(code).toBe(1);
    expect(sb.output()).toContain("deploy refused");
    expect(sb.output()).toContain("frontend => postgres");
    expect(sb.calls()).toEqual([]);
  });

  it("GIVEN a verifier WHEN deploy plans THEN its report files are written into out/ with the plan, atomically", async () => {
    const sb = sandbox();
    const ctx = sb.ctx();
    const code = await deploy(opts(sb), { ...ctx, verify: async () => ({ gate: { refused: true, lines: ["violation: x"] }, files: [{ path: "report/report.json", content: "{}\n" }] }) });
    expect(code).toBe(1);
    expect(readFileSync(join(sb.outDir, "report/report.json"), "utf8")).toBe("{}\n");
    expect(existsSync(join(sb.outDir, "manifest.json"))).toBe(true);
  });

  it("GIVEN a verifier with no violations WHEN deploy runs THEN the stacks are applied", async () => {
    const sb = sandbox();
    expect(await deploy(opts(sb), sb.ctx({ gate: { refused: false, lines: [] } }))).toBe(0);
    expect(engineCalls(sb.calls())).toHaveLength(6);
  });

  it("GIVEN the cloud stack fails WHEN deploy runs THEN it exits with tofu's code, names the failed stack and the applied one, and runs nothing after", async () => {
    const sb = sandbox();
    const code = await deploy(opts(sb), sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "stacks/cloud apply", STANDIN_FAIL_CODE: "3" } }));
    expect(code).toBe(3);
    expect(sb.output()).toMatch(/stack cloud failed: `tofu apply` exited 3/);
    expect(sb.output()).toContain("already applied: edge");
    expect(sb.output()).toContain("not attempted: secrets");
    expect(summary(sb.calls()).at(-1)).toBe("tofu -chdir=out/cdktf/stacks/cloud apply -input=false -auto-approve");
  });

  it("GIVEN the edge stack fails WHEN deploy runs THEN the cloud stack is never attempted", async () => {
    const sb = sandbox();
    const code = await deploy(opts(sb), sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "stacks/edge apply", STANDIN_FAIL_CODE: "1" } }));
    expect(code).toBe(1);
    expect(summary(sb.calls()).some((c) => c.includes("stacks/cloud"))).toBe(false);
    expect(sb.output()).toContain("already applied: none");
    expect(sb.output()).toContain("not attempted: cloud, secrets");
  });

  it("GIVEN the pulumi engine and a failing `pulumi up` on edge WHEN deploy runs THEN it exits with pulumi's code and cloud is not attempted", async () => {
    const sb = sandbox();
    const code = await deploy(opts(sb, { engine: "pulumi" }), sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "up --yes --stack edge", STANDIN_FAIL_CODE: "255" } }));
    expect(code).toBe(255);
    expect(sb.output()).toMatch(/stack edge failed: `pulumi up` exited 255/);
    expect(sb.calls().some((c) => c.args.includes("cloud"))).toBe(false);
  });

  it("GIVEN no engine on PATH WHEN deploy runs THEN it exits 2 saying which program is missing and how to install it, and applies nothing", async () => {
    const sb = sandbox({ tools: ["ssh"] });
    const e = await failure(deploy(opts(sb), sb.ctx()));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("neither `tofu` or `terraform` is on PATH");
    expect(e.message).toContain("install OpenTofu");
    expect(engineCalls(sb.calls())).toEqual([]);
  });

  it("GIVEN the pulumi engine and no pulumi CLI WHEN deploy runs THEN it exits 2 with the install command", async () => {
    const sb = sandbox({ tools: ["tofu", "ssh"] });
    const e = await failure(deploy(opts(sb, { engine: "pulumi" }), sb.ctx()));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("get.pulumi.com");
  });

  it("GIVEN no keys WHEN deploy runs THEN it exits 2 listing the missing secret files and telling the operator to run palisade keys", async () => {
    const sb = sandbox({ keys: false });
    const e = await failure(deploy(opts(sb), sb.ctx()));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/secret files in \.palisade\/secrets\/: .*dkim\.key.*state-passphrase.*wireguard-edge\.key/);
    for (const v of cloudVars(sb)) expect(e.message).toContain(v.replace(/_/g, "-"));
    expect(e.message).toContain("run `palisade keys`");
    expect(engineCalls(sb.calls())).toEqual([]);
  });

  it("GIVEN a host that SSH cannot reach WHEN deploy runs THEN it exits 2 naming the host and the fix, and applies nothing", async () => {
    const sb = sandbox();
    const e = await failure(deploy(opts(sb), sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "deploy@10.77.0.2", STANDIN_FAIL_CODE: "255" } })));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("SSH access to deploy@10.77.0.2 (Docker host of stack cloud)");
    expect(e.message).toContain("exited 255");
    expect(e.message).toContain("ProxyJump");
    expect(engineCalls(sb.calls())).toEqual([]);
  });

  it("GIVEN no OpenBao token WHEN a full deploy runs THEN it exits 2 before applying anything, naming VAULT_TOKEN and the --stack way round", async () => {
    const sb = sandbox();
    const ctx = sb.ctx();
    const e = await failure(deploy(opts(sb), { ...ctx, env: { ...ctx.env, VAULT_TOKEN: "" } }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("VAULT_TOKEN is not set");
    expect(e.message).toContain("--stack edge");
    expect(engineCalls(sb.calls())).toEqual([]);
  });

  it("GIVEN the token in .palisade/secrets/openbao-token WHEN deploy runs THEN only the secrets stack receives it, as VAULT_TOKEN", async () => {
    const sb = sandbox();
    writeFileSync(join(sb.secretsDir, "openbao-token"), "s.fromTheFile0123456789", { mode: 0o600 });
    const ctx = sb.ctx();
    const env = { ...ctx.env };
    delete env.VAULT_TOKEN;
    expect(await deploy(opts(sb), { ...ctx, env })).toBe(0);
    const withToken = engineCalls(sb.calls()).filter((c) => c.envNames.includes("VAULT_TOKEN"));
    expect(withToken.map((c) => c.args[0])).toEqual(["-chdir=out/cdktf/stacks/secrets", "-chdir=out/cdktf/stacks/secrets"]);
    expect(readFileSync(sb.log, "utf8")).not.toContain("s.fromTheFile0123456789");
  });

  it("GIVEN --skip-ssh-check and --skip-host-files WHEN deploy runs THEN no ssh is attempted and the stacks are applied", async () => {
    const sb = sandbox({ tools: ["tofu"] });
    expect(await deploy(opts(sb, { skipSshCheck: true, skipHostFiles: true }), sb.ctx())).toBe(0);
    expect(sb.calls().filter((c) => c.tool === "ssh")).toEqual([]);
    expect(engineCalls(sb.calls())).toHaveLength(6);
  });

  it("GIVEN public keys in the site file that do not match the private keys WHEN deploy runs THEN it exits 2 asking to paste the printed section", async () => {
    const sb = sandbox({ pastePublicKeys: false });
    const e = await failure(deploy(opts(sb), sb.ctx()));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("publicKeys.wireguardEdge in palisade.yaml does not match wireguard-edge.key");
    expect(e.message).toContain("paste the public keys that `palisade keys` prints");
    expect(engineCalls(sb.calls())).toEqual([]);
  });

  it("GIVEN no --yes and no terminal WHEN deploy runs THEN it refuses with exit 2 and applies nothing", async () => {
    const sb = sandbox();
    const e = await failure(deploy(opts(sb, { yes: false }), sb.ctx({ answer: null })));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("stdin is not a terminal");
    expect(e.message).toContain("--yes");
    expect(engineCalls(sb.calls())).toEqual([]);
  });

  it("GIVEN no --yes WHEN the operator answers no THEN deploy exits 1 and applies nothing; yes applies", async () => {
    const sb = sandbox();
    expect(await deploy(opts(sb, { yes: false }), sb.ctx({ answer: "no" }))).toBe(1);
    expect(engineCalls(sb.calls())).toEqual([]);
    expect(await deploy(opts(sb, { yes: false }), sb.ctx({ answer: "yes" }))).toBe(0);
    expect(engineCalls(sb.calls())).toHaveLength(6);
  });
});

describe(`palisade deploy and rotated keys ${SUITE}`, () => {
  it("GIVEN a rotated state passphrase WHEN deploy runs THEN the old one decrypts as a fallback (TF_VAR only) and is retired after success", async () => {
    const sb = sandbox();
    const old = readFileSync(join(sb.secretsDir, "state-passphrase"), "utf8");
    ensureKeys(sb.site, sb.secretsDir, { rotate: ["state-passphrase"] });
    expect(await deploy(opts(sb), sb.ctx())).toBe(0);
    const apply = sb.calls().find((c) => c.args.includes("apply"))!;
    expect(apply.envNames).toEqual(expect.arrayContaining(["TF_VAR_state_passphrase", "TF_VAR_state_passphrase_previous"]));
    const enc = JSON.parse(readFileSync(join(sb.outDir, "cdktf/stacks/edge/encryption.tf.json"), "utf8")).terraform.encryption;
    expect(Object.keys(enc.key_provider.pbkdf2)).toHaveLength(2);
    expect(enc.state.fallback.method).toMatch(/^\$\{method\.aes_gcm\.palisade_[0-9a-f]{8}\}$/);
    expect(JSON.stringify(enc)).not.toContain(old);
    expect(existsSync(join(sb.secretsDir, "state-passphrase.previous"))).toBe(false);
    expect(sb.output()).toContain("retired rotated keys: state-passphrase.previous");
  });

  it("GIVEN a rotated key WHEN only one stack is deployed THEN the .previous file is kept until a full deploy", async () => {
    const sb = sandbox();
    const name = cloudVars(sb)[0]!.replace(/_/g, "-");
    ensureKeys(sb.site, sb.secretsDir, { rotate: [name] });
    expect(await deploy(opts(sb, { stack: "edge" }), sb.ctx())).toBe(0);
    expect(existsSync(join(sb.secretsDir, `${name}.previous`))).toBe(true);
    expect(sb.output()).toContain(`kept ${name}.previous`);
  });

  it("GIVEN a rotated key WHEN the deploy fails THEN the .previous file is kept", async () => {
    const sb = sandbox();
    const name = cloudVars(sb)[0]!.replace(/_/g, "-");
    ensureKeys(sb.site, sb.secretsDir, { rotate: [name] });
    await deploy(opts(sb), sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "stacks/cloud apply", STANDIN_FAIL_CODE: "1" } }));
    expect(existsSync(join(sb.secretsDir, `${name}.previous`))).toBe(true);
  });
});

describe(`palisade destroy ${SUITE}`, () => {
  it("GIVEN --yes --confirm with the site's name WHEN destroy runs THEN the stacks are destroyed in reverse order: secrets, cloud, then edge", async () => {
    const sb = sandbox();
    expect(await destroy({ ...opts(sb), confirm: "reference" }, sb.ctx())).toBe(0);
    expect(summary(sb.calls())).toEqual([
      "tofu -chdir=out/cdktf/stacks/secrets init -input=false",
      "tofu -chdir=out/cdktf/stacks/secrets destroy -input=false -auto-approve",
      "tofu -chdir=out/cdktf/stacks/cloud init -input=false",
      "tofu -chdir=out/cdktf/stacks/cloud destroy -input=false -auto-approve",
      "tofu -chdir=out/cdktf/stacks/edge init -input=false",
      "tofu -chdir=out/cdktf/stacks/edge destroy -input=false -auto-approve",
    ]);
  });

  it("GIVEN --yes without --confirm WHEN destroy runs THEN it exits 2 asking for --confirm <site-name> and destroys nothing", async () => {
    const sb = sandbox();
    const e = await failure(destroy(opts(sb), sb.ctx()));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("--confirm reference");
    expect(sb.calls()).toEqual([]);
  });

  it("GIVEN --confirm with another name WHEN destroy runs THEN it exits 2 and destroys nothing", async () => {
    const sb = sandbox();
    const e = await failure(destroy({ ...opts(sb), confirm: "production" }, sb.ctx()));
    expect(e.exitCode).toBe(2);
    expect(sb.calls()).toEqual([]);
  });

  it("GIVEN no --yes WHEN the operator types a different name THEN destroy exits 1 and destroys nothing; the right name destroys", async () => {
    const sb = sandbox();
    expect(await destroy(opts(sb, { yes: false }), sb.ctx({ answer: "yes" }))).toBe(1);
    expect(engineCalls(sb.calls())).toEqual([]);
    expect(await destroy(opts(sb, { yes: false }), sb.ctx({ answer: "reference" }))).toBe(0);
    expect(engineCalls(sb.calls()).map((c) => c.args[1])).toEqual(["init", "destroy", "init", "destroy", "init", "destroy"]);
  });

  it("GIVEN the pulumi engine WHEN destroy runs THEN `pulumi destroy --yes --stack <s>` runs secrets, cloud, edge and sets no config", async () => {
    const sb = sandbox();
    expect(await destroy({ ...opts(sb, { engine: "pulumi" }), confirm: "reference" }, sb.ctx())).toBe(0);
    expect(summary(sb.calls())).toEqual([
      "pulumi stack select --stack secrets --non-interactive",
      "pulumi destroy --yes --stack secrets --non-interactive",
      "pulumi stack select --stack cloud --non-interactive",
      "pulumi destroy --yes --stack cloud --non-interactive",
      "pulumi stack select --stack edge --non-interactive",
      "pulumi destroy --yes --stack edge --non-interactive",
    ]);
  });

  it("GIVEN the cloud stack fails to destroy WHEN destroy runs THEN the edge is kept and the report names the failure", async () => {
    const sb = sandbox();
    const code = await destroy({ ...opts(sb), confirm: "reference" }, sb.ctx({ extraEnv: { STANDIN_FAIL_MATCH: "stacks/cloud destroy", STANDIN_FAIL_CODE: "4" } }));
    expect(code).toBe(4);
    expect(sb.output()).toContain("already destroyed: secrets");
    expect(sb.output()).toContain("not attempted: edge");
  });
});

describe(`palisade deploy on the command line ${SUITE}`, () => {
  function stub(sb: Sandbox, extra: Record<string, string> = {}) {
    vi.stubEnv("PATH", sb.bin);
    vi.stubEnv("STANDIN_LOG", sb.log);
    vi.stubEnv("VAULT_TOKEN", TEST_VAULT_TOKEN);
    for (const [k, v] of Object.entries(extra)) vi.stubEnv(k, v);
  }
  const args = (sb: Sandbox) => ["--site", sb.siteFile, "--out", sb.outDir, "--secrets", sb.secretsDir];

  // deploy runs the real verifier first (its verdict on the reference site belongs to the verifier's
  // tests); destroy shares deploy's precondition checks without that gate, so the exit codes of the
  // precondition paths are asserted through it.
  it("GIVEN no engine on PATH WHEN `palisade destroy --yes --confirm` runs THEN the exit code is 2 and stderr says what is missing and the fix", async () => {
    const sb = sandbox({ tools: ["ssh"] });
    stub(sb);
    const r = await runCli(["destroy", ...args(sb), "--yes", "--confirm", "reference"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing: the cdktf engine");
    expect(r.stderr).toContain("fix: install OpenTofu");
  });

  it("GIVEN a missing secret file WHEN the command runs THEN the exit code is 2 and the file is named", async () => {
    const sb = sandbox();
    rmSync(join(sb.secretsDir, "state-passphrase"));
    stub(sb);
    const r = await runCli(["destroy", ...args(sb), "--yes", "--confirm", "reference"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("state-passphrase");
  });

  it("GIVEN an unreachable host WHEN the command runs THEN the exit code is 2 and no engine ran", async () => {
    const sb = sandbox();
    stub(sb, { STANDIN_FAIL_MATCH: "deploy@203.0.113.10", STANDIN_FAIL_CODE: "255" });
    const r = await runCli(["destroy", ...args(sb), "--yes", "--confirm", "reference"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SSH access to deploy@203.0.113.10");
    expect(engineCalls(sb.calls())).toEqual([]);
  });

  it("GIVEN a failing engine WHEN the command runs THEN the exit code is the engine's", async () => {
    const sb = sandbox();
    stub(sb, { STANDIN_FAIL_MATCH: "stacks/secrets init", STANDIN_FAIL_CODE: "7" });
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const r = await runCli(["destroy", ...args(sb), "--yes", "--confirm", "reference"]);
      expect(r.code).toBe(7);
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
  });

  it("GIVEN `palisade deploy --yes` WHEN the real verifier runs THEN either it refuses with exit 1 and no engine runs, or the deploy goes on to the preconditions", async () => {
    const sb = sandbox({ tools: ["ssh"] });
    stub(sb);
    const err: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((t: string | Uint8Array) => (err.push(String(t)), true));
    let r;
    try {
      r = await runCli(["deploy", ...args(sb), "--yes"]);
    } finally {
      spy.mockRestore();
    }
    // Like `palisade plan`, deploy writes the report next to the artifacts; neither holds a secret.
    expect(existsSync(join(sb.outDir, "report", "report.json"))).toBe(true);
    for (const secret of sb.secretValues()) for (const f of sb.outFiles()) expect(f.content, f.path).not.toContain(secret);
    if (r.code === 1) {
      expect(err.join("")).toContain("deploy refused: the verifier found problems in the plan; no engine ran.");
      expect(sb.calls()).toEqual([]);
    } else {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("missing: the cdktf engine");
    }
  });

  it("GIVEN an unknown engine WHEN `palisade deploy --engine ansible` runs THEN the exit code is 2", async () => {
    const sb = sandbox();
    const r = await runCli(["deploy", ...args(sb), "--engine", "ansible"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--engine");
  });

  it("GIVEN `palisade deploy --stack nope` WHEN run THEN the exit code is 2 and nothing is planned", async () => {
    const sb = sandbox();
    stub(sb);
    const r = await runCli(["deploy", ...args(sb), "--yes", "--stack", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--stack \"nope\" is not one of this platform's stacks (edge, cloud, secrets)");
    expect(existsSync(sb.outDir)).toBe(false);
  });

  it("GIVEN `palisade destroy --yes` without --confirm WHEN run THEN the exit code is 2", async () => {
    const sb = sandbox();
    stub(sb);
    const r = await runCli(["destroy", ...args(sb), "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--confirm reference");
    expect(sb.calls()).toEqual([]);
  });

  it("GIVEN a site file that is not valid WHEN deploy runs THEN it exits 2 and runs nothing", async () => {
    const sb = sandbox();
    writeFileSync(sb.siteFile, "site: 3\n");
    stub(sb);
    const r = await runCli(["deploy", ...args(sb), "--yes"]);
    expect(r.code).toBe(2);
    expect(sb.calls()).toEqual([]);
  });
});
