import * as pulumi from "@pulumi/pulumi";
import type { Artifact } from "../../core/index.js";

/** One resource as the Pulumi program declared it: what `pulumi preview` would send the engine. */
export interface CapturedResource {
  readonly type: string;
  readonly name: string;
  readonly provider?: string;
  readonly parent?: string;
  readonly inputs: Record<string, unknown>;
}

/** Placeholder the capture substitutes for every secret: the real value never reaches `out/`. */
export const SECRET_PLACEHOLDER = "[secret]";

/**
 * Runs the Pulumi program offline under `runtime.setMocks` and records every resource
 * registration. No Pulumi CLI, engine or provider is needed; secrets are placeholders.
 */
export async function capturePulumi(spec: { readonly name: string; readonly variables: readonly string[] }, program: (config: pulumi.Config) => void): Promise<CapturedResource[]> {
  // The SDK takes a stack trace for every promise and resource it makes (leak diagnostics and
  // source positions for the engine); offline under mocks nothing reads them, and collecting and
  // formatting them was a tenth of `plan`. Errors keep their message; both are restored afterwards.
  const format = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.prepareStackTrace = () => "";
  Error.stackTraceLimit = 0;
  try {
    return await captureUnder(spec, program);
  } finally {
    Error.prepareStackTrace = format;
    Error.stackTraceLimit = limit;
  }
}

async function captureUnder(spec: { readonly name: string; readonly variables: readonly string[] }, program: (config: pulumi.Config) => void): Promise<CapturedResource[]> {
  const captured: CapturedResource[] = [];
  const config: Record<string, string> = {};
  for (const v of spec.variables) config[`palisade:${v}`] = SECRET_PLACEHOLDER;
  pulumi.runtime.setAllConfig(config, Object.keys(config));
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        captured.push({ type: args.type, name: args.name, provider: args.provider ? providerName(args.provider) : undefined, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, imageId: args.inputs.name } };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    "palisade",
    spec.name,
    false,
  );
  program(new pulumi.Config("palisade"));
  // Let every registration (and the outputs they wait on) settle.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 10));
  return captured.map(stripSecrets).sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

function providerName(urnAndId: string): string {
  const urn = urnAndId.split("::").slice(0, -1).join("::") || urnAndId;
  return urn.split("::").pop() ?? urn;
}

/** Secret outputs reach mocks wrapped; replace them so only the placeholder is ever written. */
function stripSecrets(r: CapturedResource): CapturedResource {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") return walk(o.value);
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, walk(o[k])]));
    }
    return v;
  };
  return { ...r, inputs: walk(r.inputs) as Record<string, unknown> };
}

export function captureArtifact(stack: string, resources: readonly CapturedResource[]): Artifact {
  return { path: `pulumi/${stack}.json`, content: `${JSON.stringify({ stack, resources }, null, 2)}\n` };
}
