export { ConnSet, PROTOCOLS, type Protocol, type Range } from "./connset.js";
export type { K8sResources, Workload, NetworkPolicy, Service, Ingress, Namespace, LabelSelector, PolicyRule, PolicyPeer, PolicyPort } from "./model.js";
export { loadManifestDir, parseManifests, K8sManifestError, WORKLOAD_KINDS, type ManifestProblem } from "./manifests.js";
export { selectorMatches } from "./selectors.js";
export { connectivity, PolicyEngine, peerName, workloadName, disjointRanges, type Connection, type Connectivity, type Endpoint, type Peer } from "./evaluate.js";
export { diffConnectivity, diffIsEmpty, type ConnectivityDiff, type DiffLine, type DiffType } from "./diff.js";
export { formatList, formatDiff, LIST_FORMATS, DIFF_FORMATS, type ListFormat, type DiffFormat } from "./format.js";
export { kubeFromTerraform, kubeFromPulumi, manifestsFromTerraform, manifestsFromPulumi, kubeParity, type RawManifest } from "./engines.js";
export { checkKubeSegmentation, SERVICE_LABEL, type KubeSegmentation, type KubeFlowResult, type KubeNeverResult, type KubeLayer } from "./segmentation.js";
