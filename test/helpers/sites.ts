import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import type { SiteInput } from "../../core/index.js";
import { REFERENCE_SITE } from "./paths.js";

/** The reference site file's text (palisade.yaml). */
export const referenceText = readFileSync(REFERENCE_SITE, "utf8");

/** The reference site as plain data, to be changed by a test. */
export function referenceData(): SiteInput & Record<string, unknown> {
  return parse(referenceText) as SiteInput & Record<string, unknown>;
}

/**
 * The reference site with one change, as YAML text. `change` edits a fresh copy in place; it is
 * untyped on purpose, since the point is usually to write what the schema forbids.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function mutated(change: (site: any) => void): string {
  const data = referenceData();
  change(data);
  return stringify(data);
}

/** The reference text with one literal edit (for faults that only exist in text, like a duplicate key). */
export function edited(find: string, replace: string): string {
  if (!referenceText.includes(find)) throw new Error(`the reference palisade.yaml no longer contains ${JSON.stringify(find)}`);
  return referenceText.replace(find, replace);
}
