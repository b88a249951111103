import type { Site } from "../core/index.js";
import { secretsStackResources, secretsStackVariables, type SecretsResource } from "../policies/openbao/index.js";

/**
 * The second-phase `secrets` stack (OpenBao through the Vault providers), engine-neutral.
 * Values are plain JSON plus two markers: `{ $var }` (a sensitive variable) and `{ $ref }`
 * (`type.name.attribute` of another resource in the stack).
 */
export interface SecretsStackSpec {
  readonly name: "secrets";
  readonly resources: readonly SecretsResource[];
  readonly variables: readonly string[];
}

/** Where the engines reach OpenBao: through an SSH forward over the tunnel (see docs/runbook.md). */
export const OPENBAO_ADDRESS_VARIABLE = "openbao_address";
export const OPENBAO_DEFAULT_ADDRESS = "https://127.0.0.1:8200";

/** Pulumi type tokens of the Vault provider for the Terraform resource types the spec uses. */
export const VAULT_TYPE_TOKENS: Readonly<Record<string, string>> = {
  vault_mount: "vault:index/mount:Mount",
  vault_policy: "vault:index/policy:Policy",
  vault_auth_backend: "vault:index/authBackend:AuthBackend",
  vault_approle_auth_backend_role: "vault:appRole/authBackendRole:AuthBackendRole",
  vault_database_secret_backend_connection: "vault:database/secretBackendConnection:SecretBackendConnection",
  vault_database_secret_backend_role: "vault:database/secretBackendRole:SecretBackendRole",
};

export function secretsStackSpec(site: Site): SecretsStackSpec {
  return { name: "secrets", resources: secretsStackResources(site), variables: secretsStackVariables(site).map((v) => v.name) };
}

/** Resolves the markers with engine-specific functions; everything else is copied. */
export function mapMarkers(value: unknown, onVar: (name: string) => unknown, onRef: (type: string, name: string, attr: string) => unknown, key: (k: string) => string = (k) => k): unknown {
  if (Array.isArray(value)) return value.map((v) => mapMarkers(v, onVar, onRef, key));
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.$var === "string") return onVar(o.$var);
    if (typeof o.$ref === "string") {
      const [type, name, attr] = o.$ref.split(".") as [string, string, string];
      return onRef(type, name, attr);
    }
    return Object.fromEntries(Object.keys(o).sort().map((k) => [key(k), mapMarkers(o[k], onVar, onRef, key)]));
  }
  return value;
}
