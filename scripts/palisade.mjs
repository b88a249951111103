#!/usr/bin/env node
// `palisade` on PATH (npm bin): runs the TypeScript CLI through tsx, no build step.
import { register } from "tsx/esm/api";
register();
await import("./palisade.ts");
