import { describe, expect, it } from "vitest";
import { passphraseGeneration, stateEncryptionArtifacts, stateEncryptionConfig } from "../../stacks/ops/state-encryption.js";
import { sshCheckArgs, sshTarget, withoutSecrets } from "../../stacks/ops/deploy.js";
import { defaultVerifyGate, gateFromResult } from "../../stacks/ops/verify-gate.js";

describe("OpenTofu state encryption config", () => {
  it("GIVEN a passphrase WHEN the config is rendered THEN it is OpenTofu JSON: pbkdf2 key provider from var.state_passphrase, aes_gcm, state and plan enforced", () => {
    const gen = passphraseGeneration("correct-horse-battery-staple-0123456789");
    const cfg = stateEncryptionConfig({ current: gen }) as any;
    expect(cfg.terraform.encryption).toEqual({
      key_provider: { pbkdf2: { [gen]: { passphrase: "${var.state_passphrase}" } } },
      method: { aes_gcm: { [gen]: { keys: `\${key_provider.pbkdf2.${gen}}` } } },
      state: { method: `\${method.aes_gcm.${gen}}`, enforced: true },
      plan: { method: `\${method.aes_gcm.${gen}}`, enforced: true },
    });
    expect(cfg.variable.state_passphrase).toMatchObject({ type: "string", sensitive: true });
    expect(cfg.variable.state_passphrase.default).toBeUndefined();
    expect(JSON.stringify(cfg)).not.toContain("correct-horse");
  });

  it("GIVEN a rotated passphrase WHEN the config is rendered THEN the previous generation keeps its own name and is the fallback of state and plan", () => {
    const current = passphraseGeneration("new-passphrase-0123456789");
    const previous = passphraseGeneration("old-passphrase-0123456789");
    const enc = (stateEncryptionConfig({ current, previous }) as any).terraform.encryption;
    expect(Object.keys(enc.key_provider.pbkdf2).sort()).toEqual([current, previous].sort());
    expect(enc.key_provider.pbkdf2[previous]).toEqual({ passphrase: "${var.state_passphrase_previous}" });
    expect(enc.state.fallback).toEqual({ method: `\${method.aes_gcm.${previous}}` });
    expect(enc.plan.fallback).toEqual({ method: `\${method.aes_gcm.${previous}}` });
  });

  it("GIVEN the same passphrase WHEN named twice THEN the generation name is stable, and different passphrases get different names", () => {
    expect(passphraseGeneration("a-passphrase-0123456789")).toBe(passphraseGeneration("a-passphrase-0123456789"));
    expect(passphraseGeneration("a-passphrase-0123456789")).not.toBe(passphraseGeneration("b-passphrase-0123456789"));
    expect(passphraseGeneration("x")).toMatch(/^palisade_[0-9a-f]{8}$/);
  });

  it("GIVEN stacks WHEN artifacts are rendered THEN each stack directory gets encryption.tf.json", () => {
    expect(stateEncryptionArtifacts(["edge", "cloud"], { current: "palisade_00000000" }).map((a) => a.path)).toEqual([
      "cdktf/stacks/edge/encryption.tf.json",
      "cdktf/stacks/cloud/encryption.tf.json",
    ]);
  });
});

describe("SSH reachability check", () => {
  it.each([
    ["ssh://deploy@203.0.113.10", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "deploy@203.0.113.10", "true"]],
    ["ssh://deploy@10.77.0.2:2222", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", "2222", "deploy@10.77.0.2", "true"]],
    ["ssh://deploy@[2001:db8::10]:22", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", "22", "deploy@2001:db8::10", "true"]],
  ])("GIVEN docker host %s WHEN checked THEN ssh runs in batch mode with a 5 s timeout", (host, args) => {
    expect(sshCheckArgs(host)).toEqual(args);
  });

  it("GIVEN something that is not an ssh URL WHEN parsed THEN it is rejected", () => {
    expect(() => sshTarget("tcp://10.0.0.1:2376")).toThrow(/not an ssh:\/\//);
  });

  it("GIVEN an environment with secrets WHEN ssh is started THEN it receives none of them", () => {
    const env = withoutSecrets({ PATH: "/bin", TF_VAR_x: "s", VAULT_TOKEN: "t", PULUMI_CONFIG_PASSPHRASE: "p", HOME: "/root" });
    expect(env).toEqual({ PATH: "/bin", HOME: "/root" });
  });
});

/* The gate reads a report of any platform: the service names below are placeholders, no example's. */
describe("the verifier gate", () => {
  it("GIVEN violations WHEN gated THEN the deploy is refused with one line each", () => {
    const g = gateFromResult({ violations: [{ line: "web => db : tcp/5432" }], findings: [] });
    expect(g).toEqual({ refused: true, lines: ["violation: web => db : tcp/5432"] });
  });

  it("GIVEN only advisory findings WHEN gated THEN the deploy goes ahead; a mandatory one refuses", () => {
    expect(gateFromResult({ violations: [], findings: [{ id: "image-digest", message: "no digest", severity: "warning" }] }).refused).toBe(false);
    expect(gateFromResult({ violations: [], findings: [{ id: "secret-in-artifact", message: "key material", mandatory: true }] })).toEqual({
      refused: true,
      lines: ["mandatory finding: [secret-in-artifact] key material"],
    });
  });

  it("GIVEN the verifier's report WHEN gated THEN violations and mandatory guardrails refuse, advisory ones and pending findings do not", () => {
    const report = (over: object) => ({ version: 1, pendingIsViolation: false, findings: [], guardrails: [], summary: { verdict: "pass" }, ...over });
    expect(gateFromResult(report({})).refused).toBe(false);
    expect(gateFromResult(report({ guardrails: [{ rule: "image-digest", level: "advisory", subject: "web", message: "no digest" }] })).refused).toBe(false);
    expect(gateFromResult(report({ findings: [{ id: "pending:x", severity: "pending", message: "artifact missing" }] })).refused).toBe(false);
    expect(gateFromResult(report({ pendingIsViolation: true, findings: [{ id: "pending:x", severity: "pending", message: "artifact missing" }] })).refused).toBe(true);
    expect(gateFromResult(report({ findings: [{ id: "single-layer:web->worker", severity: "violation", message: "one layer only" }] })).lines).toEqual([
      "violation: [single-layer:web->worker] one layer only",
    ]);
    expect(gateFromResult(report({ guardrails: [{ rule: "no-privileged", level: "mandatory", subject: "worker", message: "privileged" }] })).lines).toEqual([
      "mandatory guardrail: [no-privileged] worker: privileged",
    ]);
    expect(gateFromResult(report({ summary: { verdict: "fail" } })).refused).toBe(true);
  });

  it("GIVEN artifacts the verifier cannot read (no engine output) WHEN the default gate runs THEN the deploy is refused with the verifier's reason", async () => {
    const v = await defaultVerifyGate([{ path: "hosts/edge/nftables.conf", content: "" }]);
    expect(v?.gate.refused).toBe(true);
    expect(v?.gate.lines.join("\n")).toContain("the verifier cannot check this plan");
    expect(v?.files).toEqual([]);
  });

  it("GIVEN a result of an unknown shape WHEN gated THEN the deploy is refused (fail closed)", () => {
    expect(gateFromResult({ ok: true }).refused).toBe(true);
    expect(gateFromResult(undefined).refused).toBe(true);
  });
});
