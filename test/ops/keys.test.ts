import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { parseSite, siteSchema } from "../../core/index.js";
import { ensureKeys, generateWireguardKeyPair, knotTsigConf, readSecret, siteKeys, tsigIds, wireguardPublicKey, withPublicKeys } from "../../stacks/ops/keys.js";
import { OpsError } from "../../stacks/ops/errors.js";
import { stackSpec } from "../../stacks/docker-spec.js";
import { buildTopology } from "../../stacks/platform.js";
import { secretsStackSpec } from "../../stacks/secrets-spec.js";
import { runCli } from "../helpers/cli.js";
import { referenceData } from "../helpers/sites.js";
import { requireTool } from "../helpers/tools.js";

function site(change?: (s: Record<string, any>) => void) {
  const data = referenceData() as Record<string, any>;
  delete data.$schema;
  change?.(data);
  return parseSite(stringify(data), "test-site.yaml");
}

function tempDir(): string {
  return join(mkdtempSync(join(tmpdir(), "palisade-keys-")), "secrets");
}

const mode = (p: string) => statSync(p).mode & 0o777;
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), "utf8")]));

describe("palisade keys: creating the site's keys", () => {
  it("GIVEN an empty secrets directory WHEN keys runs THEN every key the site needs exists as a 0600 file in a 0700 directory", () => {
    const dir = tempDir();
    const s = site();
    const r = ensureKeys(s, dir);
    expect(mode(dir)).toBe(0o700);
    const files = siteKeys(s).map((k) => k.file);
    const engineSecrets = [...new Set([...stackSpec(buildTopology(s), "cloud").variables, ...secretsStackSpec(s).variables])].map((v) => v.replace(/_/g, "-"));
    expect(engineSecrets.length).toBeGreaterThan(0);
    expect(files).toEqual(expect.arrayContaining(["wireguard-edge.key", "wireguard-cloud.key", "dkim.key", "knot-tsig.conf", "state-passphrase", "pulumi-passphrase", ...engineSecrets]));
    for (const f of files) expect(mode(join(dir, f)), f).toBe(0o600);
    expect(r.created.map((k) => k.file).sort()).toEqual([...files].sort());
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toMatch(/^\*$/m);
    // No key file is world- or group-readable, and nothing else was written.
    expect(readdirSync(dir).filter((f) => mode(join(dir, f)) !== 0o600)).toEqual([]);
  });

  it("GIVEN keys already exist WHEN keys runs again THEN no file changes and nothing is reported as created", () => {
    const dir = tempDir();
    const s = site();
    ensureKeys(s, dir);
    const before = snapshot(dir);
    const r = ensureKeys(s, dir);
    expect(snapshot(dir)).toEqual(before);
    expect(r.created).toEqual([]);
    expect(r.rotated).toEqual([]);
  });

  it("GIVEN a secrets directory readable by others WHEN keys runs THEN the directory is tightened to 0700 and a note says so", () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    const r = ensureKeys(site(), dir);
    expect(mode(dir)).toBe(0o700);
    expect(r.notes.join("\n")).toContain("0700");
  });
});

describe("palisade keys: key formats", () => {
  it("GIVEN a generated WireGuard key WHEN its public half is derived THEN it equals what `wg pubkey` prints", (ctx) => {
    const wg = requireTool("wg", "wireguard-tools");
    if (!wg.path) return ctx.skip(wg.skipReason);
    for (let i = 0; i < 5; i++) {
      const pair = generateWireguardKeyPair();
      const fromWg = execFileSync(wg.path, ["pubkey"], { input: `${pair.privateKey}\n`, encoding: "utf8" }).trim();
      expect(pair.publicKey).toBe(fromWg);
      expect(wireguardPublicKey(pair.privateKey)).toBe(fromWg);
    }
  });

  it("GIVEN a key from `wg genkey` WHEN Palisade derives its public half THEN it matches `wg pubkey` (the formats are interchangeable)", (ctx) => {
    const wg = requireTool("wg", "wireguard-tools");
    if (!wg.path) return ctx.skip(wg.skipReason);
    const priv = execFileSync(wg.path, ["genkey"], { encoding: "utf8" }).trim();
    const pub = execFileSync(wg.path, ["pubkey"], { input: `${priv}\n`, encoding: "utf8" }).trim();
    expect(wireguardPublicKey(priv)).toBe(pub);
  });

  it("GIVEN the created WireGuard and DKIM keys WHEN their public halves are printed THEN they satisfy the site schema's publicKeys section", () => {
    const dir = tempDir();
    const r = ensureKeys(site(), dir);
    expect(() => siteSchema.shape.publicKeys.parse(withPublicKeys({}, r.publicKeys).publicKeys)).not.toThrow();
    expect(Buffer.from(r.publicKeys.dkim!, "base64")).toHaveLength(32);
    expect(createPrivateKey(readFileSync(join(dir, "dkim.key"), "utf8")).asymmetricKeyType).toBe("ed25519");
  });

  it("GIVEN dkimAlgorithm rsa WHEN keys runs THEN dkim.key is an RSA-2048 PEM and the public half is the SubjectPublicKeyInfo", () => {
    const dir = tempDir();
    const r = ensureKeys(
      site((s) => (s.edge.mail.dkimAlgorithm = "rsa")),
      dir,
    );
    const key = createPrivateKey(readFileSync(join(dir, "dkim.key"), "utf8"));
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(readFileSync(join(dir, "dkim.key"), "utf8")).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(r.publicKeys.dkim!.length).toBeGreaterThan(300);
    expect(() => siteSchema.shape.publicKeys.parse(withPublicKeys({}, r.publicKeys).publicKeys)).not.toThrow();
  });

  it("GIVEN a site with one secondary WHEN keys runs THEN knot-tsig.conf defines its hmac-sha256 key with a 32-byte secret and knotc accepts it", (ctx) => {
    const dir = tempDir();
    ensureKeys(site(), dir);
    const conf = readFileSync(join(dir, "knot-tsig.conf"), "utf8");
    expect(tsigIds(conf)).toEqual(["tsig-ns2"]);
    expect(conf).toContain("algorithm: hmac-sha256");
    const secret = /secret: (\S+)/.exec(conf)![1]!;
    expect(Buffer.from(secret, "base64")).toHaveLength(32);
    const knotc = requireTool("knotc", "knot");
    if (!knotc.path) return ctx.skip(knotc.skipReason);
    const main = join(dir, "..", "knot.conf");
    writeFileSync(main, `server:\n  listen: 127.0.0.1@53530\ninclude: "${join(dir, "knot-tsig.conf")}"\nacl:\n  - id: xfr-ns2\n    address: 198.51.100.53\n    key: tsig-ns2\n    action: transfer\n`);
    expect(execFileSync(knotc.path, ["-c", main, "conf-check"], { encoding: "utf8" })).toContain("valid");
  });

  it("GIVEN a site without secondaries WHEN keys runs THEN knot-tsig.conf defines no key and is still a valid Knot include", (ctx) => {
    const conf = knotTsigConf([]);
    expect(tsigIds(conf)).toEqual([]);
    expect(conf).not.toMatch(/secret:/);
    const knotc = requireTool("knotc", "knot");
    if (!knotc.path) return ctx.skip(knotc.skipReason);
    const dir = mkdtempSync(join(tmpdir(), "palisade-knot-"));
    writeFileSync(join(dir, "tsig.conf"), conf);
    writeFileSync(join(dir, "knot.conf"), `server:\n  listen: 127.0.0.1@53530\ninclude: "${join(dir, "tsig.conf")}"\n`);
    expect(execFileSync(knotc.path, ["-c", join(dir, "knot.conf"), "conf-check"], { encoding: "utf8" })).toContain("valid");
  });

  it("GIVEN a secondary added to the site WHEN keys runs again THEN its TSIG key is added and the existing key is unchanged", () => {
    const dir = tempDir();
    ensureKeys(site(), dir);
    const before = readFileSync(join(dir, "knot-tsig.conf"), "utf8");
    const r = ensureKeys(
      site((s) => s.edge.dns.secondaries.push({ id: "ns3", address: "198.51.100.54" })),
      dir,
    );
    const after = readFileSync(join(dir, "knot-tsig.conf"), "utf8");
    expect(tsigIds(after)).toEqual(["tsig-ns2", "tsig-ns3"]);
    expect(after.startsWith(before)).toBe(true);
    expect(r.notes.join("\n")).toContain("tsig-ns3");
  });

  it("GIVEN the engine secrets WHEN created THEN each is a 32-character alphanumeric password and the passphrases are distinct", () => {
    const dir = tempDir();
    const s = site();
    ensureKeys(s, dir);
    const passwords = siteKeys(s).filter((k) => k.kind === "password");
    expect(passwords.length).toBeGreaterThan(0);
    for (const k of passwords) expect(readSecret(dir, k.file), k.file).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(readSecret(dir, "state-passphrase")!.length).toBeGreaterThanOrEqual(16);
    expect(readSecret(dir, "state-passphrase")).not.toBe(readSecret(dir, "pulumi-passphrase"));
  });
});

describe("palisade keys: rotation", () => {
  it("GIVEN an existing key WHEN rotated THEN a new key replaces it and the old one is kept as .previous (0600); the others are untouched", () => {
    const dir = tempDir();
    const s = site();
    ensureKeys(s, dir);
    const before = snapshot(dir);
    const r = ensureKeys(s, dir, { rotate: ["wireguard-edge"] });
    expect(r.rotated.map((k) => k.name)).toEqual(["wireguard-edge"]);
    expect(readFileSync(join(dir, "wireguard-edge.key.previous"), "utf8")).toBe(before["wireguard-edge.key"]);
    expect(readFileSync(join(dir, "wireguard-edge.key"), "utf8")).not.toBe(before["wireguard-edge.key"]);
    expect(mode(join(dir, "wireguard-edge.key.previous"))).toBe(0o600);
    for (const f of Object.keys(before).filter((f) => f !== "wireguard-edge.key")) expect(readFileSync(join(dir, f), "utf8")).toBe(before[f]);
    expect(r.publicKeys.wireguardEdge).not.toBe(wireguardPublicKey(before["wireguard-edge.key"]!));
  });

  it("GIVEN a rotation not yet retired by a deploy WHEN the same key is rotated again THEN keys refuses and keeps both files", () => {
    const dir = tempDir();
    const s = site();
    ensureKeys(s, dir, {});
    ensureKeys(s, dir, { rotate: ["dkim"] });
    const before = snapshot(dir);
    expect(() => ensureKeys(s, dir, { rotate: ["dkim"] })).toThrow(/dkim\.key\.previous still exists.*palisade deploy/);
    expect(snapshot(dir)).toEqual(before);
  });

  it("GIVEN an unknown key name WHEN rotated THEN keys fails with exit code 2, lists the valid names and changes nothing", () => {
    const dir = tempDir();
    const s = site();
    ensureKeys(s, dir);
    const before = snapshot(dir);
    let err: unknown;
    try {
      ensureKeys(s, dir, { rotate: ["wireguard-egde"] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).exitCode).toBe(2);
    expect((err as OpsError).message).toContain("wireguard-edge, wireguard-cloud, dkim, tsig");
    expect(snapshot(dir)).toEqual(before);
  });
});

describe("palisade keys (command line)", () => {
  it("GIVEN a site WHEN `palisade keys` runs THEN it prints the publicKeys section and no private value", async () => {
    const root = mkdtempSync(join(tmpdir(), "palisade-keys-cli-"));
    const data = referenceData() as Record<string, any>;
    delete data.$schema;
    writeFileSync(join(root, "site.yaml"), stringify(data));
    const dir = join(root, "secrets");
    const r = await runCli(["keys", "--site", join(root, "site.yaml"), "--dir", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^publicKeys:\n  wireguardEdge: \S{44}\n  wireguardCloud: \S{44}\n  dkim: \S+$/m);
    const printed = r.stdout + r.stderr;
    for (const f of readdirSync(dir).filter((f) => f !== ".gitignore")) {
      const text = readFileSync(join(dir, f), "utf8");
      const secrets = [text.trim(), ...[...text.matchAll(/secret: (\S+)/g)].map((m) => m[1]!), ...text.split("\n").filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l))];
      for (const s of secrets) expect(printed, `${f} leaked`).not.toContain(s);
    }
    expect(r.stderr).toContain("created");
  });

  it("GIVEN existing keys WHEN `palisade keys` runs again THEN it overwrites nothing and prints the same public keys", async () => {
    const root = mkdtempSync(join(tmpdir(), "palisade-keys-cli-"));
    const data = referenceData() as Record<string, any>;
    delete data.$schema;
    writeFileSync(join(root, "site.yaml"), stringify(data));
    const dir = join(root, "secrets");
    const first = await runCli(["keys", "--site", join(root, "site.yaml"), "--dir", dir]);
    const before = snapshot(dir);
    const second = await runCli(["keys", "--site", join(root, "site.yaml"), "--dir", dir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(snapshot(dir)).toEqual(before);
    expect(second.stderr).toContain("nothing overwritten");
    expect(existsSync(join(dir, "wireguard-edge.key.previous"))).toBe(false);
  });

  it("GIVEN --rotate with an unknown name WHEN run THEN the command exits 2", async () => {
    const root = mkdtempSync(join(tmpdir(), "palisade-keys-cli-"));
    const data = referenceData() as Record<string, any>;
    delete data.$schema;
    writeFileSync(join(root, "site.yaml"), stringify(data));
    const r = await runCli(["keys", "--site", join(root, "site.yaml"), "--dir", join(root, "secrets"), "--rotate", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--rotate nope: no such key");
  });
});
