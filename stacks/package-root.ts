import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";

// The package's own manifest by name (its `exports` lists it), wherever this file runs from: the
// sources, dist/, or an install under node_modules/.
const MANIFEST = createRequire(import.meta.url).resolve("palisade/package.json");

/** The directory of Palisade's package.json: where palisade.yaml, examples/ and the schema ship. */
export const PACKAGE_ROOT = dirname(MANIFEST);

export const PALISADE_VERSION = (JSON.parse(readFileSync(MANIFEST, "utf8")) as { version: string }).version;
