import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Site } from "../../core/index.js";
import { tsigKeyId } from "../../edge/index.js";
import { CLOUD_WG_IFACE, EDGE_WG_IFACE } from "../../tunnel/index.js";
import { dockerStacks, stackSpec } from "../docker-spec.js";
import { buildTopology } from "../platform.js";
import { secretsStackSpec } from "../secrets-spec.js";
import { OpsError } from "./errors.js";

/*
 * `palisade keys`: every private key and secret the site needs, created once in
 * `.palisade/secrets/` (directory 0700, files 0600), never overwritten except by an explicit
 * rotation, which keeps the old value as `<file>.previous` until a deploy retires it.
 * Only public halves ever leave this module as text meant for a terminal.
 */

/** @default `.palisade/secrets` relative to the working directory */
export const DEFAULT_SECRETS_DIR = join(".palisade", "secrets");
export const PREVIOUS_SUFFIX = ".previous";

export type KeyKind = "wireguard" | "dkim" | "tsig" | "passphrase" | "password";

export interface KeySpec {
  /** What `--rotate NAME` takes. */
  readonly name: string;
  /** File name inside the secrets directory. */
  readonly file: string;
  readonly kind: KeyKind;
  readonly purpose: string;
  /** Host that reads it from /etc/palisade/secrets/; absent for engine-only secrets. */
  readonly host?: string;
  /** Engine variable (Terraform `TF_VAR_<variable>`, Pulumi `palisade:<variable>`). */
  readonly variable?: string;
}

export interface PublicKeys {
  readonly wireguardEdge: string;
  readonly wireguardCloud: string;
  readonly dkim: string;
}

/** The secret file that holds engine variable `v` (`postgres_superuser_password` -> `postgres-superuser-password`). */
export function secretFileFor(variable: string): string {
  return variable.replace(/_/g, "-");
}

/** Every key and secret the site needs, in a stable order. */
export function siteKeys(site: Site): KeySpec[] {
  const t = buildTopology(site);
  const variables = [...new Set([...dockerStacks(t).flatMap((s) => stackSpec(t, s).variables), ...secretsStackSpec(site).variables])].sort();
  return [
    { name: "wireguard-edge", file: "wireguard-edge.key", kind: "wireguard", host: "edge", purpose: `WireGuard private key of the edge (${EDGE_WG_IFACE})` },
    // One per private-cloud site (the one-site form's site is `cloud`: wireguard-cloud.key), named
    // as the site's rendered wg-cloud.conf reads it (PostUp: wg set %i private-key .../<keyFile>.key).
    ...site.sites.map((s): KeySpec => ({ name: s.keyFile, file: `${s.keyFile}.key`, kind: "wireguard", host: s.id, purpose: `WireGuard private key of ${site.sites.length === 1 ? "the cloud host" : `site ${s.id}'s host`} (${CLOUD_WG_IFACE})` })),
    { name: "dkim", file: "dkim.key", kind: "dkim", host: "edge", purpose: `DKIM signing key (${site.edge.mail.dkimAlgorithm}, selector ${site.edge.mail.dkimSelector})` },
    {
      name: "tsig",
      file: "knot-tsig.conf",
      kind: "tsig",
      host: "edge",
      purpose: `TSIG keys (hmac-sha256) for zone transfers, one per secondary${site.edge.dns.secondaries.length ? ` (${site.edge.dns.secondaries.map((x) => tsigKeyId(x.id)).join(", ")})` : ": none declared"}, as a Knot include file`,
    },
    { name: "state-passphrase", file: "state-passphrase", kind: "passphrase", variable: "state_passphrase", purpose: "OpenTofu state and plan encryption passphrase (TF_VAR_state_passphrase)" },
    { name: "pulumi-passphrase", file: "pulumi-passphrase", kind: "passphrase", purpose: "Pulumi secrets passphrase for local state (PULUMI_CONFIG_PASSPHRASE)" },
    ...variables.map((v): KeySpec => ({ name: secretFileFor(v), file: secretFileFor(v), kind: "password", variable: v, purpose: `engine secret ${v}` })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Generation and derivation (pure, no files)

const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** A WireGuard key pair in WireGuard's base64 format (what `wg genkey` / `wg pubkey` print). */
export function generateWireguardKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync("x25519");
  const raw = Buffer.from(privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32));
  // Clamp as `wg genkey` does; X25519 clamps anyway, so the public key is unchanged.
  raw[0]! &= 248;
  raw[31] = (raw[31]! & 127) | 64;
  const priv = raw.toString("base64");
  return { privateKey: priv, publicKey: wireguardPublicKey(priv) };
}

/** `echo PRIV | wg pubkey`, in Node. */
export function wireguardPublicKey(privateKeyB64: string): string {
  const raw = Buffer.from(privateKeyB64.trim(), "base64");
  if (raw.length !== 32) throw new OpsError(`not a WireGuard private key (expected 32 bytes of base64, got ${raw.length} bytes)`);
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  return Buffer.from(createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32)).toString("base64");
}

/** A DKIM private key as PEM: PKCS#8 for ed25519, PKCS#1 for rsa-2048 (what OpenDKIM and rspamd read). */
export function generateDkimKey(algorithm: "ed25519" | "rsa"): string {
  if (algorithm === "ed25519") return generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs1" }).toString();
}

/** The `p=` value of the DKIM DNS record: raw 32 bytes for ed25519 (RFC 8463), SubjectPublicKeyInfo for rsa. */
export function dkimPublicKey(pem: string): { algorithm: "ed25519" | "rsa"; publicKey: string } {
  const key = createPrivateKey(pem);
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  if (key.asymmetricKeyType === "ed25519") return { algorithm: "ed25519", publicKey: Buffer.from(spki.subarray(-32)).toString("base64") };
  if (key.asymmetricKeyType === "rsa") return { algorithm: "rsa", publicKey: Buffer.from(spki).toString("base64") };
  throw new OpsError(`dkim.key holds a ${key.asymmetricKeyType ?? "unknown"} key; expected ed25519 or rsa`);
}

function tsigEntry(id: string): string[] {
  return [`  - id: ${id}`, "    algorithm: hmac-sha256", `    secret: ${randomBytes(32).toString("base64")}`];
}

/**
 * Knot `key:` section with one fresh hmac-sha256 key (32 random bytes) per id, included from
 * knot.conf (`include: /etc/palisade/secrets/knot-tsig.conf`). With no ids, only comments.
 */
export function knotTsigConf(ids: readonly string[]): string {
  const head = ["# TSIG keys for zone transfers, created by `palisade keys`. Secret: mode 0600, never commit.", "# Give each secondary's operator its key over a secure channel."];
  return [...head, ...(ids.length ? ["key:", ...ids.flatMap(tsigEntry)] : ["# (no secondaries in the site file: no keys)"]), ""].join("\n");
}

/** Key ids already defined in a knot-tsig.conf. */
export function tsigIds(conf: string): string[] {
  return [...conf.matchAll(/^\s*-\s*id:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}

/** Adds keys for secondaries that have none yet; existing keys are kept byte for byte. */
function addMissingTsigKeys(conf: string, ids: readonly string[]): { conf: string; added: string[] } {
  const have = new Set(tsigIds(conf));
  const added = ids.filter((id) => !have.has(id));
  if (added.length === 0) return { conf, added };
  const base = conf.replace(/^# \(no secondaries.*\n/m, "");
  const withSection = /^key:\s*$/m.test(base) ? base : `${base.replace(/\n?$/, "\n")}key:\n`;
  return { conf: `${withSection.replace(/\n?$/, "\n")}${added.flatMap(tsigEntry).join("\n")}\n`, added };
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 32 alphanumeric characters (~190 bits): safe in URLs, env files and connection strings. */
export function randomPassword(length = 32): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

function newSecretContent(spec: KeySpec, site: Site): string {
  switch (spec.kind) {
    case "wireguard":
      return `${generateWireguardKeyPair().privateKey}\n`;
    case "dkim":
      return generateDkimKey(site.edge.mail.dkimAlgorithm);
    case "tsig":
      return knotTsigConf(site.edge.dns.secondaries.map((x) => tsigKeyId(x.id)));
    case "passphrase":
      return randomBytes(32).toString("base64url");
    case "password":
      return randomPassword();
  }
}

// ---------------------------------------------------------------------------------------------
// The secrets directory

/** Creates (or tightens) the secrets directory: mode 0700, with a `.gitignore` of `*`. */
export function ensureSecretsDir(dir: string): { tightened: boolean } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if (mode !== 0o700) chmodSync(dir, 0o700);
  const ignore = join(dir, ".gitignore");
  if (!existsSync(ignore)) writeFileSync(ignore, "# palisade keys: never commit anything here\n*\n", { mode: 0o600, flag: "wx" });
  return { tightened: mode !== 0o700 };
}

/** The content of a secret, trimmed of the trailing newline; undefined when the file does not exist. */
export function readSecret(dir: string, file: string): string | undefined {
  const p = join(dir, file);
  if (!existsSync(p)) return undefined;
  return readFileSync(p, "utf8").replace(/\n$/, "");
}

/** `<file>.previous` files left by rotations that no deploy has retired yet. */
export function pendingRotations(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(PREVIOUS_SUFFIX)).sort();
}

/** Public halves derived from the private files (so they can be printed again at any time). */
export function readPublicKeys(dir: string, site: Site): PublicKeySet {
  const edge = readSecret(dir, "wireguard-edge.key");
  const dkim = readSecret(dir, "dkim.key");
  const sites: { id: string; field: string; key?: string }[] = site.sites.map((s, i) => {
    const priv = readSecret(dir, `${s.keyFile}.key`);
    return { id: s.id, field: siteKeyField(site, i), ...(priv ? { key: wireguardPublicKey(priv) } : {}) };
  });
  return { ...(edge ? { wireguardEdge: wireguardPublicKey(edge) } : {}), ...(dkim ? { dkim: dkimPublicKey(dkim).publicKey } : {}), sites };
}

/** Where the site file holds site `i`'s WireGuard public key: `publicKeys.wireguardCloud` in the one-site form, else `sites[i].publicKey`. */
export function siteKeyField(site: Site, i: number): string {
  const s = site.sites[i]!;
  return s.path === "cloud" ? "publicKeys.wireguardCloud" : `${s.path}.publicKey`;
}

/** The public halves, as readPublicKeys derives them: the edge's and DKIM's, and each site's with the field it goes in. */
export interface PublicKeySet {
  readonly wireguardEdge?: string;
  readonly dkim?: string;
  readonly sites: readonly { readonly id: string; readonly field: string; readonly key?: string }[];
}

/**
 * The site file's data (as parsed YAML) with the public halves put where publicKeysYaml tells the
 * operator to paste them: what the operator does by hand, for tests and scaffolding.
 */
export function withPublicKeys(data: Record<string, any>, pk: PublicKeySet): Record<string, any> {
  const out = structuredClone(data);
  out.publicKeys = { ...(out.publicKeys ?? {}), ...(pk.wireguardEdge ? { wireguardEdge: pk.wireguardEdge } : {}), ...(pk.dkim ? { dkim: pk.dkim } : {}) };
  for (const s of pk.sites) {
    if (!s.key) continue;
    const m = /^sites\[(\d+)\]\.publicKey$/.exec(s.field);
    if (m) out.sites[Number(m[1])].publicKey = s.key;
    else out.publicKeys[s.field.replace("publicKeys.", "")] = s.key;
  }
  return out;
}

/** The section the operator pastes into the site file. Public halves only. */
export function publicKeysYaml(pk: PublicKeySet): string {
  const inPublicKeys = pk.sites.filter((s) => s.field.startsWith("publicKeys.") && s.key);
  const perSite = pk.sites.filter((s) => !s.field.startsWith("publicKeys.") && s.key);
  return [
    "# paste into the site file (public halves only; the private halves stay in the secrets directory)",
    "publicKeys:",
    ...(pk.wireguardEdge ? [`  wireguardEdge: ${pk.wireguardEdge}`] : []),
    ...inPublicKeys.map((s) => `  ${s.field.replace("publicKeys.", "")}: ${s.key}`),
    ...(pk.dkim ? [`  dkim: ${pk.dkim}`] : []),
    ...(perSite.length ? ["# and each site's key into its entry of sites:", ...perSite.map((s) => `#   ${s.field} (site ${s.id}): ${s.key}`)] : []),
    "",
  ].join("\n");
}

export interface KeysOptions {
  /** Names (KeySpec.name) to replace; the old value is kept as `<file>.previous`. */
  readonly rotate?: readonly string[];
}

export interface KeysResult {
  readonly created: readonly KeySpec[];
  readonly kept: readonly KeySpec[];
  readonly rotated: readonly KeySpec[];
  readonly publicKeys: PublicKeySet;
  /** Things the operator should know (never secret values). */
  readonly notes: readonly string[];
}

/**
 * Creates every missing key in `dir`; rotates the ones named in `rotate`. Never overwrites an
 * existing key otherwise. Refuses to rotate a key whose previous rotation is not retired yet.
 */
export function ensureKeys(site: Site, dir: string, opts: KeysOptions = {}): KeysResult {
  const specs = siteKeys(site);
  const rotate = new Set(opts.rotate ?? []);
  const unknown = [...rotate].filter((n) => !specs.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new OpsError(`palisade keys: --rotate ${unknown.join(", ")}: no such key; the keys of this site are: ${specs.map((s) => s.name).join(", ")}`);
  }
  const notes: string[] = [];
  for (const name of rotate) {
    const spec = specs.find((s) => s.name === name)!;
    if (spec.name === "pulumi-passphrase") {
      throw new OpsError(
        "palisade keys: --rotate pulumi-passphrase is not automatic: Pulumi must re-encrypt its state. Run `pulumi stack change-secrets-provider passphrase --stack <s>` for each stack with the old passphrase, then replace the file (see docs/runbook.md, Rotating a key).",
      );
    }
    if (existsSync(join(dir, spec.file + PREVIOUS_SUFFIX))) {
      throw new OpsError(
        `palisade keys: --rotate ${name}: ${spec.file}${PREVIOUS_SUFFIX} still exists from an earlier rotation; run \`palisade deploy\` first (a successful deploy retires it), then rotate again`,
      );
    }
  }
  const { tightened } = ensureSecretsDir(dir);
  if (tightened) notes.push(`${dir} was readable by others; its mode is now 0700`);
  const created: KeySpec[] = [];
  const kept: KeySpec[] = [];
  const rotated: KeySpec[] = [];
  for (const spec of specs) {
    const path = join(dir, spec.file);
    const exists = existsSync(path);
    if (exists && !rotate.has(spec.name)) {
      const mode = statSync(path).mode & 0o777;
      if (mode !== 0o600) {
        chmodSync(path, 0o600);
        notes.push(`${spec.file} had mode ${mode.toString(8)}; it is now 0600`);
      }
      if (spec.kind === "tsig") {
        const { conf, added } = addMissingTsigKeys(readFileSync(path, "utf8"), site.edge.dns.secondaries.map((x) => tsigKeyId(x.id)));
        if (added.length) {
          writeFileSync(path, conf, { mode: 0o600 });
          notes.push(`${spec.file}: added ${added.join(", ")} for new secondaries (existing keys unchanged)`);
        }
      }
      kept.push(spec);
      continue;
    }
    if (exists) renameSync(path, path + PREVIOUS_SUFFIX);
    writeFileSync(path, newSecretContent(spec, site), { mode: 0o600, flag: "wx" });
    chmodSync(path, 0o600);
    (exists ? rotated : created).push(spec);
  }
  const dkim = readSecret(dir, "dkim.key");
  if (dkim) {
    const { algorithm } = dkimPublicKey(dkim);
    if (algorithm !== site.edge.mail.dkimAlgorithm) {
      notes.push(`dkim.key is ${algorithm} but edge.mail.dkimAlgorithm is ${site.edge.mail.dkimAlgorithm}: run \`palisade keys --rotate dkim\` (and consider a new dkimSelector)`);
    }
  }
  for (const r of rotated) {
    if (r.kind === "password") notes.push(`${r.name}: the engine passes the new value; a database that already exists keeps its old password until you change it there too (docs/runbook.md)`);
    if (r.kind === "wireguard" || r.kind === "dkim") notes.push(`${r.name}: paste the new public key below into palisade.yaml, then plan and deploy`);
  }
  return { created, kept, rotated, publicKeys: readPublicKeys(dir, site), notes };
}
