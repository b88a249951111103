export { OpsError, formatProblems, type Problem } from "./errors.js";
export { defaultOpsContext, askTerminal, type OpsContext } from "./context.js";
export { spawnRunner, which, type Runner, type RunRequest, type RunResult, type OutputSink } from "./runner.js";
export { defaultVerifyGate, gateFromResult, type VerifyGate, type GateResult } from "./verify-gate.js";
export {
  DEFAULT_SECRETS_DIR,
  PREVIOUS_SUFFIX,
  tsigIds,
  ensureKeys,
  siteKeys,
  publicKeysYaml,
  readPublicKeys,
  readSecret,
  pendingRotations,
  secretFileFor,
  generateWireguardKeyPair,
  wireguardPublicKey,
  generateDkimKey,
  dkimPublicKey,
  knotTsigConf,
  type KeySpec,
  type KeysResult,
  type PublicKeys,
  type PublicKeySet,
  siteKeyField,
  withPublicKeys,
} from "./keys.js";
export { stateEncryptionConfig, stateEncryptionArtifacts, passphraseGeneration, type EncryptionGenerations } from "./state-encryption.js";
export {
  deploy,
  destroy,
  enginePlan,
  engineBinary,
  engineSummary,
  sshCheckArgs,
  sshTarget,
  stackOrder,
  type DeployEngine,
  type DeployOptions,
  type DestroyOptions,
  type EnginePlanOptions,
} from "./deploy.js";
