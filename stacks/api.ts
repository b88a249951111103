/**
 * Palisade's public API: what `import { ... } from "palisade"` gives another project (package.json's
 * `exports` points here, compiled into dist/). The same pipeline as `palisade plan`, one function
 * per step, and the model's building blocks. docs/api.md walks through it.
 */
import { parseSite, type Site, type SiteInput } from "../core/index.js";

// The building blocks of the model (core/).
export {
  Port,
  comparePorts,
  Zone,
  AddressPeer,
  Connections,
  IntentLedger,
  flowLine,
  Host,
  HostDaemon,
  Network,
  Service,
  Topology,
  sortArtifacts,
  type Protocol,
  type ZoneName,
  type IPeer,
  type FlowIntent,
  type NeverIntent,
  type HostProps,
  type NetworkProps,
  type ServiceProps,
  type CapabilityGrant,
  type Mount,
  type PublishedPort,
  type Healthcheck,
  type PlanWarning,
  type Artifact,
} from "../core/index.js";

// The declarative site model and its loaders.
export { siteSchema, loadSite, parseSite, SiteError, type Site, type SiteInput, type SiteProblem } from "../core/index.js";

// Build, render, verify, write.
export { buildPlatform, buildTopology, type Platform } from "./platform.js";
export { renderEngines, type EngineChoice } from "./engines.js";
export { planArtifacts, manifestArtifact, verifyPlan, verdictLine, type PlanOptions, type PlanResult } from "./plan.js";
export { writeOutAtomic, readArtifacts } from "./output.js";
export { verifyOutDir } from "./verify-dir.js";
export { verifyArtifacts, type Report, type FlowRecord, type NeverRecord, type Finding } from "../policies/verifier/index.js";
export { renderIntent } from "../policies/intent.js";

/**
 * A site declared in TypeScript (the same fields as the site file), validated exactly as the file
 * would be: a mistake throws the same `SiteError`, with the path, the value given, what was
 * expected and the fix. `label` names the declaration in those messages.
 */
export function defineSite(input: SiteInput, label = "(site declared in code)"): Site {
  // JSON is YAML: the object goes through the file's own parser and schema, so both give one model.
  return parseSite(JSON.stringify(input), label);
}
