// Generates palisade.schema.json (editor completion and validation for palisade.yaml) from the zod
// site schema. `npm run schema` rewrites it; test/scripts/gen-schema.test.ts fails if it drifts.
import { realpathSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { siteSchema } from "../core/index.js";

/** Where the committed schema lives, next to palisade.yaml (which references it on its first line). */
export const SCHEMA_FILE = fileURLToPath(new URL("../palisade.schema.json", import.meta.url));

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/**
 * The JSON Schema of what an operator may write (`io: "input"`: fields with defaults are
 * optional). Deterministic: keys sorted, two-space indent, trailing newline.
 */
export function generateSchema(): string {
  const schema = {
    ...z.toJSONSchema(siteSchema, { io: "input" }),
    title: "Palisade site file (palisade.yaml)",
    description: "Generated from core/site-schema.ts by scripts/gen-schema.ts; do not edit by hand.",
  };
  return `${JSON.stringify(sortKeys(schema), null, 2)}\n`;
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? "") === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  writeFileSync(SCHEMA_FILE, generateSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
