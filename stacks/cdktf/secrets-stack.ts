import { TerraformProvider, TerraformResource, TerraformStack, TerraformVariable, type App } from "cdktf";
import type { Construct } from "constructs";
import { useLocalState } from "./backend.js";
import { mapMarkers, OPENBAO_ADDRESS_VARIABLE, OPENBAO_DEFAULT_ADDRESS, type SecretsStackSpec } from "../secrets-spec.js";
import { tfId } from "./docker-stack.js";

/** hashicorp/vault as a provider construct (only the two arguments we set). */
class VaultProvider extends TerraformProvider {
  constructor(
    scope: Construct,
    id: string,
    private readonly address: string,
  ) {
    super(scope, id, {
      terraformResourceType: "vault",
      terraformGeneratorMetadata: { providerName: "vault", providerVersionConstraint: "~> 4.4" },
      terraformProviderSource: "hashicorp/vault",
    });
  }
  protected override synthesizeAttributes(): Record<string, unknown> {
    return { address: this.address, skip_child_token: true };
  }
}

/**
 * The second-phase secrets stack: OpenBao configured through the Terraform Vault provider
 * (hashicorp/vault drives OpenBao's Vault-compatible API). Raw resources, so no generated
 * provider package is needed; the token comes from VAULT_TOKEN in the environment at deploy.
 */
export class SecretsStack extends TerraformStack {
  constructor(scope: App, spec: SecretsStackSpec) {
    super(scope, spec.name);
    new TerraformVariable(this, OPENBAO_ADDRESS_VARIABLE, { type: "string", default: OPENBAO_DEFAULT_ADDRESS, description: "OpenBao's API, reached through an SSH forward over the tunnel" });
    useLocalState(this, spec.name);
    new VaultProvider(this, "vault", `\${var.${OPENBAO_ADDRESS_VARIABLE}}`);
    for (const v of spec.variables) new TerraformVariable(this, v, { type: "string", sensitive: true, description: `secret ${v}, from .palisade/secrets/ (TF_VAR_${v})` });
    for (const r of spec.resources) {
      const res = new TerraformResource(this, `${r.type}_${tfId(r.name)}`, { terraformResourceType: r.type, terraformGeneratorMetadata: { providerName: "vault" } });
      // The Terraform address is `<type>.<name>`: names are stable IDs, unique within a type.
      res.overrideLogicalId(tfId(r.name));
      const props = mapMarkers(r.props, (name) => `\${var.${name}}`, (type, name, attr) => `\${${type}.${tfId(name)}.${attr}}`) as Record<string, unknown>;
      for (const [k, v] of Object.entries(props)) res.addOverride(k, v);
    }
  }
}
