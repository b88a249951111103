#!/usr/bin/env node
// `palisade` on PATH (npm bin) and `npm run plan`: runs the CLI compiled into dist/. When the
// TypeScript sources are newer than that build (an edit, a checkout), it runs them through tsx
// instead and says so: slower, never stale. `npm run build` makes it fast again.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { distIsCurrent, ROOT } from "./dist.mjs";

if (distIsCurrent()) {
  await import(pathToFileURL(join(ROOT, "dist", "scripts", "palisade.js")).href);
} else {
  console.error("palisade: dist/ is missing or older than the sources; running them through tsx (npm run build makes this faster)");
  const { register } = await import("tsx/esm/api");
  register();
  await import("./palisade.ts");
}
