import type { ExceptionRecord } from "./exceptions.js";
import type { TenantRecord } from "./tenancy.js";
import type { ResidencyRecord } from "./residency.js";
import type { LayerName, LayerStep } from "./layers.js";

/*
 * The verifier's result: what `report.json` holds and every formatter renders. Deterministic:
 * sorted, no timestamps.
 */

export interface FlowRecord {
  /** Canonical line: `api => postgres : tcp/5432`. */
  readonly line: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  readonly verdict: "allowed" | "denied" | "pending";
  readonly intended: boolean;
  readonly reason?: string;
  /** The explaining path's layers. */
  readonly via?: string;
  readonly layers: readonly LayerStep[];
  /**
   * Every port tried for this source and destination, as merged intervals (`tcp/1-65535`): the
   * verifier tries one port of each class the rulesets and publications tell apart.
   */
  readonly portsTried?: readonly string[];
}

/** One evaluated (source, destination, port): its verdict and each layer of the deciding path as `layer verdict artifact:line`. */
export interface MatrixRow {
  readonly source: string;
  readonly destination: string;
  readonly protocol: "tcp" | "udp";
  /** The first port this row stands for (the lowest of its class). */
  readonly port: number;
  /**
   * The last port this row stands for, when it stands for more than its port's class: every step
   * of the path answered the ports from `port` to `to` alike (one evaluation, the same verdict and
   * layers). @default - the port's class alone
   */
  readonly to?: number;
  readonly verdict: "allowed" | "denied" | "pending";
  readonly via?: string;
  readonly layers: readonly string[];
}

export interface NeverRecord {
  readonly source: string;
  readonly destination: string;
  readonly reason: string;
  /**
   * blocked: every path denied by >= 2 layers; violation: reachable or one layer only; pending:
   * artifacts missing; impossible: no packet can make this pair (the destination listens on
   * nothing, or host networking makes the pair one host talking to itself), not counted as blocked.
   */
  readonly status: "blocked" | "violation" | "pending" | "impossible";
  /** Why the pair cannot happen, when status is impossible. */
  readonly impossible?: string;
  /** Distinct layers blocking the weakest path. */
  readonly layers: readonly LayerName[];
  /** Weakest path over every port tried, with its steps. */
  readonly weakest?: { readonly port: string; readonly via: string; readonly steps: readonly LayerStep[] };
  readonly portsTried: readonly string[];
}

export type FindingKind =
  | "unexpected-exposure"
  | "broken-path"
  | "never-reachable"
  | "single-layer"
  | "pending"
  | "unexpected-route"
  | "nft-unsupported"
  | "nft-rejected"
  | "ips-ban-bypass"
  | "ips-weakened"
  | "tunnel-identity"
  | "dns-weakened"
  | "engine-drift"
  | "unknown-peer"
  | "bad-artifact"
  | "tenant-isolation"
  | "lab-mismatch"
  | "declared-not-rendered"
  | "exception-expired"
  | "intent-tampered"
  | "open-relay"
  | "mail-weakened"
  | "openbao-policy"
  | "openbao-role"
  | "openbao-config"
  | "residency";

export interface Finding {
  /** Stable id: kind + subject. */
  readonly id: string;
  readonly kind: FindingKind;
  readonly severity: "violation" | "pending";
  readonly subject: string;
  readonly message: string;
  readonly layer?: string;
  readonly artifact?: string;
  readonly line?: number;
  readonly construct?: string;
  /** Which engine's model produced it when engines differ. @default both */
  readonly engine?: string;
}

export interface GuardrailFinding {
  readonly rule: string;
  readonly level: "advisory" | "mandatory";
  readonly subject: string;
  readonly message: string;
  readonly rationale: string;
  readonly source: string;
  readonly artifact: string;
  readonly line?: number;
  readonly construct?: string;
}

export interface ExposureRecord {
  /** `internet => edge-proxy : tcp/443`, then relays: `edge-proxy -[sni app.example.com]-> ingress : tcp/443`. */
  readonly line: string;
  readonly chain: readonly string[];
  readonly intended: boolean;
  /** The source's ranges (the internet, or the admin ranges SSH is open to). */
  readonly sourceAddresses?: readonly string[];
}

/** One site's Docker engine as the lab ran it: what was applied, by what, with which images, and what the lab changed. */
export interface LabEngineRecord {
  /** The stand-in for terraform apply / pulumi up that applied the artifact. */
  readonly applier: string;
  /** The site's stack it applied (`cdktf/stacks/<site>/cdk.tf.json` or `pulumi/<site>.json`). */
  readonly artifact: string;
  readonly images: readonly { readonly ref: string; readonly kind: string }[];
  /** Every lab-only change to what the artifact says, with its reason. */
  readonly rewrites: readonly string[];
}

/**
 * What `palisade lab` observed on the real daemons running these artifacts (from
 * `report/lab.json`): probe counts against this report's matrix, each drill's figures, and each
 * site's Docker engine.
 */
export interface LabSection {
  readonly probe?: {
    readonly expectedFrom: string;
    readonly correct: number;
    readonly incorrect: number;
    readonly mismatches: readonly { readonly line: string; readonly expected: boolean; readonly observed: boolean }[];
    readonly checks: readonly { readonly name: string; readonly pass: boolean; readonly detail: string }[];
  };
  readonly drills: Readonly<Record<string, { readonly pass: boolean; readonly figures: Readonly<Record<string, unknown>>; readonly targets: Readonly<Record<string, string>>; readonly notes: readonly string[] }>>;
  /** Per site id (sorted): the Docker engine the lab ran there. @default - the lab recorded no engine */
  readonly engines?: Readonly<Record<string, LabEngineRecord>>;
}

/** Who a name in the report stands for: its addresses and listening ports as the artifacts give them. */
export interface PeerRecord {
  readonly id: string;
  /** `pod`: a service a Kubernetes cluster runs (its addresses: its namespace's IP pools). */
  readonly kind: "addresses" | "host" | "daemon" | "container" | "host-service" | "pod";
  readonly zone: string;
  readonly host?: string;
  /** CIDRs of an address peer; a host's (and its daemons') public and tunnel addresses; a container's address on each network. */
  readonly addresses: readonly string[];
  /** `tcp/443`, with where that comes from. */
  readonly listens: readonly string[];
  readonly listensFrom?: string;
}

/**
 * Where this report comes from: the inputs' and the manifest's hashes, the tool versions, the git
 * commit of the repository holding the output, and a run date only when one was given (so that
 * two runs of the same inputs stay byte-identical).
 */
export interface Provenance {
  /** sha256 of the site file, as manifest.json records it. */
  readonly siteSha256?: string;
  /** sha256 of manifest.json itself (which lists every artifact's sha256). */
  readonly manifestSha256?: string;
  readonly palisade: string;
  /** Engine packages and their versions, from manifest.json. */
  readonly engines: Readonly<Record<string, string>>;
  readonly git?: { readonly commit: string; readonly dirty: boolean; readonly outDir: string };
  /** `YYYY-MM-DD`, from --date or SOURCE_DATE_EPOCH. @default - none: the report carries no date */
  readonly date?: string;
}

export interface Report {
  readonly version: 1;
  readonly provenance?: Provenance;
  /** Every (source, destination, port) the verifier evaluated, denied ones included: matrix.csv. */
  readonly matrix: readonly MatrixRow[];
  /** Every peer the artifacts name, with its addresses. */
  readonly peers: readonly PeerRecord[];
  readonly engines: readonly string[];
  readonly artifacts: { readonly expected: readonly string[]; readonly missing: readonly string[] };
  readonly pendingIsViolation: boolean;
  readonly flows: readonly FlowRecord[];
  readonly nevers: readonly NeverRecord[];
  readonly exposed: readonly ExposureRecord[];
  readonly findings: readonly Finding[];
  readonly guardrails: readonly GuardrailFinding[];
  /** Per tenant: the isolation layers declared and the artifact statement that implements each. */
  readonly tenants: readonly TenantRecord[];
  /** Per dedicated tenant, when sites hold regions: its data's site, where the artifacts render it, the cross-site paths. @default - one site: no residency claimed */
  readonly residency?: readonly ResidencyRecord[];
  /** Hardening exceptions read from the engine output, each with the reason it declares. */
  readonly exceptions: readonly ExceptionRecord[];
  /** The segmentation diff against the base given with `plan --base` (Markdown). @default - no base given */
  readonly baseDiff?: string;
  /** Present once `palisade lab probe` or a drill ran against these artifacts. */
  readonly lab?: LabSection;
  /**
   * The evaluators' semantics proven against the real program by a differential test (generated
   * cases run through the kernel's nftables, `npm run fuzz:nft`, and through haproxy): what a reader
   * of this report may take as the program's behaviour, not the verifier's reading of it
   * (proven.ts says which test, which program, how many cases).
   */
  readonly proven?: { readonly nftables: readonly string[]; readonly haproxy?: readonly string[]; readonly knot?: readonly string[]; readonly zones?: readonly string[]; readonly dovecot?: readonly string[]; readonly rspamd?: readonly string[]; readonly fail2ban?: readonly string[] };
  /**
   * Measured seconds, only when the caller asked (`--timings`): they differ from run to run, so a
   * report without them stays byte-identical. `cases`: each intended flow (`flow <line>`) and
   * must-never pair (`never <source> => <destination>`) as the checks evaluated it; `guardrails`: the
   * guardrails' pass; `total`: the whole verification. @default - not measured
   */
  readonly timings?: { readonly total: number; readonly guardrails: number; readonly cases: Readonly<Record<string, number>> };
  readonly summary: {
    readonly verdict: "pass" | "fail";
    readonly flowsAllowed: number;
    readonly flowsIntended: number;
    readonly intendedEffective: number;
    readonly intendedPending: number;
    readonly intendedBroken: number;
    readonly unexpected: number;
    readonly neversBlocked: number;
    readonly neversViolated: number;
    readonly neversPending: number;
    readonly neversImpossible: number;
    readonly violations: number;
    readonly pending: number;
    readonly guardrailsMandatory: number;
    readonly guardrailsAdvisory: number;
  };
}
