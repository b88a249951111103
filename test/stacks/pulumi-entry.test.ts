import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { loadSite } from "../../core/index.js";
import { stackSpec } from "../../stacks/docker-spec.js";
import { buildTopology } from "../../stacks/platform.js";
import { secretsStackSpec } from "../../stacks/secrets-spec.js";
import { planOnce } from "../helpers/plan-once.js";

const planned = await planOnce();
const site = loadSite("palisade.yaml");
const variablesOf = (stack: string) => (stack === "secrets" ? secretsStackSpec(site).variables : stackSpec(buildTopology(site), stack).variables);

/**
 * The program Pulumi.yaml names (`stacks/pulumi/index.ts`), run as `pulumi up --stack S` would run
 * it, but under `runtime.setMocks` (no Pulumi CLI or engine here): it must declare, for each stack
 * name, what the plan's capture of that stack holds.
 */
describe("the Pulumi program that Pulumi.yaml names (mocked engine: no Pulumi CLI here)", () => {
  it.each(["edge", "cloud", "secrets"])("GIVEN stack %s WHEN the entry program runs THEN it declares the same resources as the plan's capture", async (stack) => {
    const declared: string[] = [];
    const captured = planned.pulumi(stack);
    // The secret config a real stack would hold (`pulumi config set --secret`), as placeholders.
    const config = Object.fromEntries(variablesOf(stack).map((v) => [`palisade:${v}`, "[secret]"]));
    pulumi.runtime.setAllConfig(config, Object.keys(config));
    await pulumi.runtime.setMocks(
      {
        newResource(args) {
          declared.push(`${args.type} ${args.name}`);
          return { id: `${args.name}-id`, state: { ...args.inputs, imageId: args.inputs.name } };
        },
        call(args) {
          return args.inputs;
        },
      },
      "palisade",
      stack,
      false,
    );
    vi.resetModules();
    await import("../../stacks/pulumi/index.js");
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    expect(declared.sort()).toEqual(captured.resources.map((r) => `${r.type} ${r.name}`).sort());
  });
});
