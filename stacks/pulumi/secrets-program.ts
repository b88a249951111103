import * as pulumi from "@pulumi/pulumi";
import { mapMarkers, OPENBAO_ADDRESS_VARIABLE, OPENBAO_DEFAULT_ADDRESS, VAULT_TYPE_TOKENS, type SecretsStackSpec } from "../secrets-spec.js";


/** Declaration order: a resource is declared after everything it refers to. */
const ORDER = ["vault_mount", "vault_auth_backend", "vault_policy", "vault_database_secret_backend_connection", "vault_database_secret_backend_role", "vault_approle_auth_backend_role"];

class VaultProvider extends pulumi.ProviderResource {
  constructor(name: string, args: pulumi.Inputs, opts: pulumi.ResourceOptions) {
    super("vault", name, args, opts);
  }
}

class VaultResource extends pulumi.CustomResource {
  constructor(token: string, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super(token, name, props, opts);
  }
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The secrets stack in Pulumi: the Vault provider's resources declared by type token (the
 * `@pulumi/vault` package would only add typings). Secrets from Pulumi secret config.
 */
export class SecretsComponent extends pulumi.ComponentResource {
  constructor(spec: SecretsStackSpec, config: pulumi.Config) {
    super("palisade:index:Secrets", spec.name, {}, {});
    const provider = new VaultProvider("openbao", { address: config.get(OPENBAO_ADDRESS_VARIABLE) ?? OPENBAO_DEFAULT_ADDRESS, skipChildToken: true }, { parent: this });
    const created = new Map<string, pulumi.CustomResource>();
    const ordered = [...spec.resources].sort((a, b) => ORDER.indexOf(a.type) - ORDER.indexOf(b.type));
    for (const r of ordered) {
      const token = VAULT_TYPE_TOKENS[r.type];
      if (!token) throw new Error(`secrets stack: no Pulumi type token for ${r.type}`);
      const deps: pulumi.Resource[] = [];
      const props = mapMarkers(
        r.props,
        (name) => config.requireSecret(name),
        (type, name, attr) => {
          const dep = created.get(`${type}.${name}`);
          if (!dep) throw new Error(`secrets stack: ${r.type}.${r.name} refers to ${type}.${name}, declared later or missing`);
          deps.push(dep);
          return (dep as unknown as Record<string, pulumi.Output<unknown>>)[camel(attr)] ?? pulumi.output(attr === "path" || attr === "name" ? name : undefined);
        },
        camel,
      ) as pulumi.Inputs;
      created.set(`${r.type}.${r.name}`, new VaultResource(token, `${r.type}-${r.name}`, props, { parent: this, provider, dependsOn: deps }));
    }
    this.registerOutputs({});
  }
}
