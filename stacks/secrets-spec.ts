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

export { VAULT_TYPE_TOKENS } from "../policies/verifier/parity.js";

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
