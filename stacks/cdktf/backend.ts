import { LocalBackend, type TerraformStack } from "cdktf";

/**
 * Local state, kept outside `out/` (which every plan replaces): `.palisade/state/<stack>.tfstate`,
 * relative to the stack's directory so the JSON is the same on every machine.
 */
export function useLocalState(stack: TerraformStack, name: string): void {
  new LocalBackend(stack, { path: `../../../../.palisade/state/${name}.tfstate` });
}
