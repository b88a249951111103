import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateSchema, SCHEMA_FILE } from "../../scripts/gen-schema.js";
import { referenceText } from "../helpers/sites.js";

const committed = readFileSync(SCHEMA_FILE, "utf8");
const schema = JSON.parse(committed) as {
  $schema: string;
  additionalProperties: boolean;
  required: string[];
  properties: Record<string, { additionalProperties?: boolean; properties?: Record<string, { pattern?: string; default?: unknown }>; required?: string[] }>;
};

describe("palisade.schema.json", () => {
  it("GIVEN the zod site schema WHEN the JSON Schema is generated afresh THEN it equals the committed file byte for byte (run `npm run schema` after changing core/site-schema.ts)", () => {
    expect(generateSchema()).toBe(committed);
  });

  it("GIVEN two generations WHEN compared THEN they are identical (no ordering or time dependence)", () => {
    expect(generateSchema()).toBe(generateSchema());
  });

  it("GIVEN the committed file WHEN read THEN its keys are sorted and indented with two spaces", () => {
    const resorted = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(resorted) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, resorted((v as Record<string, unknown>)[k])])) : v;
    expect(committed).toBe(`${JSON.stringify(resorted(JSON.parse(committed)), null, 2)}\n`);
  });

  it("GIVEN palisade.yaml WHEN opened in an editor THEN its first line points the YAML language server at the schema", () => {
    expect(referenceText.split("\n")[0]).toBe("# yaml-language-server: $schema=./palisade.schema.json");
  });

  it("GIVEN the schema WHEN read THEN it is JSON Schema 2020-12 and, like the loader, rejects unknown keys at the top and nested", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.edge?.additionalProperties).toBe(false);
    expect(schema.properties.site?.additionalProperties).toBe(false);
  });

  it("GIVEN the schema describes input WHEN a field has a default THEN it is optional there, and the fields without one are required", () => {
    expect(schema.required).toEqual(expect.arrayContaining(["site", "edge", "tunnel", "images", "postgres", "tenants"]));
    expect(schema.required).not.toContain("publicKeys");
    // One of the two forms of the private cloud: the loader says which is missing.
    expect(schema.required).not.toContain("cloud");
    expect(schema.required).not.toContain("sites");
    expect(schema.properties.tunnel?.required ?? []).not.toContain("mtu");
    expect(schema.properties.tunnel?.properties?.mtu?.default).toBe(1380);
    expect(schema.properties.tunnel?.required).toEqual(["port"]);
  });

  it("GIVEN the schema WHEN read THEN it carries the loader's patterns, e.g. the lower-case domain", () => {
    expect(schema.properties.site?.properties?.domain?.pattern).toBe("^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$");
  });
});
