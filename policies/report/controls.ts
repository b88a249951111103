import { GUARDRAILS } from "../guardrails.js";
import type { FindingKind } from "../verifier/report-model.js";

/*
 * What each rule of the report evidences, for an auditor mapping the report onto a framework:
 * SOC 2 (2017 Trust Services Criteria, revised 2022), ISO/IEC 27001:2022 Annex A, the CIS Docker
 * Benchmark (v1.6.0) and the CIS Kubernetes Benchmark (v1.8.0, for the same setting on a
 * Kubernetes site), with a text that says what the rule checks and how to fix a finding, and a
 * severity (0-10, GitHub code scanning's security-severity).
 */

export interface RuleDoc {
  /** `segmentation/never-reachable`, `guardrail/privileged`. */
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly fix: string;
  readonly severity: number;
  readonly controls: readonly string[];
}

const SEGMENTATION = ["SOC 2 CC6.1", "SOC 2 CC6.6", "ISO/IEC 27001:2022 A.8.20", "ISO/IEC 27001:2022 A.8.22", "CIS Docker 2.2", "CIS Kubernetes 5.3.2"];
const INTEGRITY = ["SOC 2 CC6.1", "SOC 2 CC8.1", "ISO/IEC 27001:2022 A.8.9", "ISO/IEC 27001:2022 A.8.32"];


/** One rule per finding kind (the compiler holds every kind to have one: SARIF results point at their rule by index). */
const SEG: Record<FindingKind, Omit<RuleDoc, "id">> = {
  "unexpected-exposure": { title: "Unexpected exposure", description: "A flow the rendered artifacts allow that the declared intent does not.", fix: "Remove the rule, route or shared network that allows it, or declare the flow with its reason in the site file.", severity: 8.0, controls: SEGMENTATION },
  "broken-path": { title: "Broken path", description: "A declared flow the rendered artifacts do not allow: the service it serves is down.", fix: "Restore the layer that blocks it (the cited rule) or remove the flow from the intent.", severity: 4.0, controls: ["SOC 2 A1.2", "ISO/IEC 27001:2022 A.8.20"] },
  "never-reachable": { title: "Must-never pair reachable", description: "A must-never pair the rendered artifacts allow.", fix: "Close the cited rule, route or shared network; a must-never pair needs two independent layers that block it.", severity: 9.5, controls: SEGMENTATION },
  "single-layer": { title: "Must-never pair blocked by one layer", description: "A must-never pair blocked by one layer only; two independent layers are required, so that one mistake does not open it.", fix: "Restore the second layer at the cited line (a firewall rule or a separate Docker network).", severity: 6.5, controls: SEGMENTATION },
  pending: { title: "Pending verdict", description: "A verdict that waits for an artifact that is not rendered.", fix: "Render the missing artifact (palisade plan) and verify again.", severity: 3.0, controls: INTEGRITY },
  "unexpected-route": { title: "Unexpected proxy route", description: "A proxy route to a peer the intent does not allow.", fix: "Remove the backend server or declare the flow.", severity: 8.0, controls: SEGMENTATION },
  "nft-unsupported": { title: "nftables rule not understood", description: "An nftables rule the verifier does not understand; it never guesses, so the run fails.", fix: "Rewrite the rule in the supported subset, or extend the evaluator with a differential test against nft.", severity: 7.0, controls: SEGMENTATION },
  "nft-rejected": { title: "nftables file refused by nft", description: "nft -c refuses the host's ruleset file: loading it fails and the host keeps its previous ruleset.", fix: "Fix the cited line (a hand edit broke it) and re-render with palisade plan.", severity: 7.0, controls: SEGMENTATION },
  "ips-ban-bypass": { title: "IPS ban bypassed", description: "A source in an IPS ban set is still accepted: the ban drop was removed, or an accept comes before it.", fix: "Put the ban set's drop before every accept of the chain (the rendered order), or restore the set.", severity: 7.5, controls: SEGMENTATION },
  "ips-weakened": { title: "IPS weakened", description: "A jail of the edge IPS does not run, counts or bans less strictly than the site says, exempts addresses outside the platform's own, reads another log or filter than its own, matches other expressions than the platform's, or bans into no set of the firewall.", fix: "Re-render the fail2ban files with palisade plan (a hand edit weakened them), or change edge.ips in the site file.", severity: 7.0, controls: SEGMENTATION },
  "tunnel-identity": { title: "Tunnel peer not the site's", description: "A WireGuard peer of a tunnel carries another public key than the one the site declares for that end (publicKeys, sites[].publicKey): whoever holds its private key takes that end's tunnel addresses, and everything the firewalls admit from them.", fix: "Re-render the WireGuard files with palisade plan (a hand edit replaced the key), or declare the new key in the site file after palisade keys.", severity: 9.0, controls: [...SEGMENTATION, "ISO/IEC 27001:2022 A.8.24"] },
  "dns-weakened": { title: "DNS weakened", description: "The edge's Knot configuration serves a zone unsigned, walkable (NSEC) or from another file than the rendered one, serves a zone the site does not declare, lets someone other than a declared secondary (by address and TSIG key) transfer a zone, lets anyone update one, drops the response rate limit, or serves records the site does not declare (an MX, address, delegation, alias, sender policy, DMARC, CAA or DKIM key of another) or not those it declares.", fix: "Re-render knot.conf and the zone files with palisade plan (a hand edit weakened them), or declare the secondary in edge.dns.secondaries of the site file.", severity: 7.0, controls: [...SEGMENTATION, "ISO/IEC 27001:2022 A.8.21"] },
  "engine-drift": { title: "Engines differ", description: "The cdktf output and the Pulumi capture declare different infrastructure.", fix: "Make both engines render the same model (one of them was edited or has a bug).", severity: 7.0, controls: INTEGRITY },
  "unknown-peer": { title: "Unknown peer", description: "The intent names a peer that no artifact declares.", fix: "Render the service or remove it from the intent.", severity: 5.0, controls: INTEGRITY },
  "bad-artifact": { title: "Unreadable artifact", description: "An artifact that cannot be read.", fix: "Re-render it with palisade plan; a hand edit broke it.", severity: 7.0, controls: INTEGRITY },
  "lab-mismatch": { title: "Lab disagrees", description: "The lab, running these artifacts on the real daemons, observed something other than the verifier computed, or a drill failed.", fix: "Find which side is wrong: the evaluator (add a differential test) or the daemon's configuration.", severity: 7.0, controls: [...SEGMENTATION, "SOC 2 CC7.1"] },
  "tenant-isolation": { title: "Tenant isolation not implemented", description: "A tenant isolation layer declared but not implemented by the rendered SQL or OpenBao files.", fix: "Render the missing statement (row-level security policy, revoked CONNECT, per-tenant role) again.", severity: 9.0, controls: ["SOC 2 CC6.1", "ISO/IEC 27001:2022 A.8.3", "ISO/IEC 27001:2022 A.8.22"] },
  "declared-not-rendered": { title: "Declared but not rendered", description: "A route or OpenBao identity the site declares that the rendered proxies or OpenBao files do not implement.", fix: "Render the artifacts again with palisade plan; a hand edit removed the route or role.", severity: 7.5, controls: ["SOC 2 CC8.1", "ISO/IEC 27001:2022 A.8.9"] },
  "intent-tampered": { title: "Intent tampered", description: "out/intent.json differs from the intent recomputed from the site the artifacts were planned from (or the site copy's digest differs from the manifest's): the must-never pairs and rules are the site's, never the file's.", fix: "Plan again from the reviewed site file; an edited intent.json or site copy is not evidence.", severity: 9.0, controls: INTEGRITY },
  "open-relay": { title: "Open mail relay", description: "Postfix, as main.cf and master.cf configure it, relays mail from a client outside the trusted ranges, unauthenticated, to a domain that is not the platform's.", fix: "Restore mynetworks and the relay restrictions (reject_unauth_destination after permit_sasl_authenticated) with palisade plan.", severity: 8.5, controls: [...SEGMENTATION, "ISO/IEC 27001:2022 A.8.21"] },
  "mail-weakened": { title: "Mail weakened", description: "Dovecot, as dovecot.conf configures it (filters for some protocols or addresses included), lets a password cross the network in clear (TLS optional or off, plaintext authentication before TLS, TLS below 1.2, a mechanism beyond PLAIN and LOGIN), runs a protocol the platform does not, or logs users in from another password or user database; or rspamd, as its local.d files configure it, signs mail from the internet or for another domain or with another key, signs no mail, lets more spam through than the rendered thresholds, or opens its milter beyond loopback.", fix: "Re-render dovecot.conf and the rspamd files with palisade plan (a hand edit weakened them).", severity: 8.0, controls: ["SOC 2 CC6.1", "SOC 2 CC6.7", "ISO/IEC 27001:2022 A.5.17", "ISO/IEC 27001:2022 A.8.5", "ISO/IEC 27001:2022 A.8.24"] },
  "openbao-policy": { title: "OpenBao policy beyond least privilege", description: "A rendered OpenBao policy or AppRole grants a path or capability the model does not: sudo, a wildcard reaching other tenants' credentials, the provisioner reading credentials, a service beyond its own paths.", fix: "Re-render the OpenBao files with palisade plan (a hand edit widened them).", severity: 9.0, controls: ["SOC 2 CC6.1", "SOC 2 CC6.3", "ISO/IEC 27001:2022 A.5.15", "ISO/IEC 27001:2022 A.8.2"] },
  "openbao-role": { title: "OpenBao database role too strong", description: "A tenant's dynamic database role creates a login that does not expire, is a superuser or may create roles or databases, bypasses row-level security, joins another tenant's role, or connects to another tenant's database.", fix: "Re-render the database roles with palisade plan.", severity: 9.0, controls: ["SOC 2 CC6.1", "ISO/IEC 27001:2022 A.8.2", "ISO/IEC 27001:2022 A.8.3"] },
  "openbao-config": { title: "OpenBao server weakened", description: "OpenBao's server configuration lets a listener speak plaintext or TLS below 1.2, turns the UI on or memory locking off, advertises a plaintext address, changes the storage, drops an audit device or logs secrets raw, or sets what the verifier does not model.", fix: "Re-render config.hcl with palisade plan (a hand edit weakened it).", severity: 8.0, controls: ["SOC 2 CC6.1", "SOC 2 CC6.7", "SOC 2 CC7.2", "ISO/IEC 27001:2022 A.8.15", "ISO/IEC 27001:2022 A.8.24"] },
  residency: { title: "Data residency", description: "A dedicated tenant's database rendered off its region's site, or a path from it to another site.", fix: "Move the tenant's database to its region's site (the site file's regions and tenants), or close the cross-site path.", severity: 8.0, controls: ["SOC 2 C1.1", "ISO/IEC 27001:2022 A.5.34", "ISO/IEC 27001:2022 A.8.20"] },
  "exception-expired": { title: "Exception expired", description: "A hardening exception whose declared expiry has passed.", fix: "Remove the exception, or renew it in the site file's exceptions section with its owner's approval and a new ticket.", severity: 6.0, controls: ["SOC 2 CC6.1", "SOC 2 CC3.4", "ISO/IEC 27001:2022 A.5.36", "ISO/IEC 27001:2022 A.8.9"] },
};

const HARDENING = ["SOC 2 CC6.1", "SOC 2 CC6.8", "ISO/IEC 27001:2022 A.8.9"];
/** Per guardrail: the CIS Kubernetes id of the same setting, and a severity. */
const GUARD: Record<string, { severity: number; k8s: readonly string[]; fix: string; extra?: readonly string[] }> = {
  privileged: { severity: 9.0, k8s: ["5.2.2"], fix: "Drop privileged; add the one capability the service needs, with its reason label." },
  "host-namespace": { severity: 8.0, k8s: ["5.2.3", "5.2.4", "5.2.5"], fix: "Use a Docker network, or declare the exception with its reason (label palisade.host-network-reason) and governance." },
  "sensitive-mount": { severity: 9.0, k8s: ["5.2.12"], fix: "Mount only the files the service reads, read-only." },
  "cap-drop-all": { severity: 6.0, k8s: ["5.2.8", "5.2.9"], fix: "Drop ALL capabilities and add back each one needed, with its reason label." },
  "no-new-privileges": { severity: 6.0, k8s: ["5.2.6"], fix: "Set security_opt no-new-privileges:true." },
  "read-only-rootfs": { severity: 5.0, k8s: [], fix: "Set read_only and give writable paths as tmpfs or volumes." },
  "non-root-user": { severity: 6.0, k8s: ["5.2.7"], fix: "Run as an unprivileged user, or give the reason (label palisade.root-reason)." },
  "memory-limit": { severity: 4.0, k8s: [], fix: "Set a memory limit." },
  "pids-limit": { severity: 4.0, k8s: [], fix: "Set ulimit nproc (soft and hard)." },
  healthcheck: { severity: 2.0, k8s: [], fix: "Declare a health check." },
  "published-wildcard": { severity: 7.0, k8s: [], fix: "Publish the port on one address (the tunnel's or the public one)." },
  "image-digest": { severity: 3.0, k8s: [], fix: "Pin the image by digest (images.<service>.digest)." },
  "wireguard-allowed-ips": { severity: 8.0, k8s: [], fix: "Give each peer its host address in the tunnel subnet only.", extra: ["SOC 2 CC6.6", "ISO/IEC 27001:2022 A.8.20", "ISO/IEC 27001:2022 A.8.22"] },
  "secret-material": { severity: 9.0, k8s: ["5.4.1"], fix: "Move the value to .palisade/secrets/ and pass it as a sensitive variable.", extra: ["ISO/IEC 27001:2022 A.5.17", "ISO/IEC 27001:2022 A.8.24"] },
  "exception-governance": { severity: 3.0, k8s: [], fix: "Declare the exception in the site file's exceptions section with its owner, ticket and expiry.", extra: ["SOC 2 CC3.4", "ISO/IEC 27001:2022 A.5.36"] },
};

/** CIS Docker ids named by a guardrail's source (`CIS Docker Benchmark 5.9, 5.15`). */
function cisDockerIds(source: string): string[] {
  const m = /CIS Docker Benchmark ([\d., x]+)/.exec(source);
  return m ? m[1]!.split(",").map((s) => s.trim()).filter((s) => /^\d/.test(s)).map((s) => `CIS Docker ${s}`) : [];
}

/** Every rule the report can raise, sorted by id. */
export const RULES: readonly RuleDoc[] = [
  ...Object.entries(SEG).map(([kind, d]) => ({ id: `segmentation/${kind}`, ...d })),
  ...Object.values(GUARDRAILS as Record<string, { id: string; rationale: string; source: string; level: string }>).map((g) => {
    const extra = GUARD[g.id];
    return {
      id: `guardrail/${g.id}`,
      title: `Guardrail ${g.id}`,
      description: `${g.rationale[0]!.toUpperCase()}${g.rationale.slice(1)} (${g.level}; ${g.source}).`,
      fix: extra?.fix ?? "See the rationale.",
      severity: extra?.severity ?? (g.level === "mandatory" ? 6.0 : 3.0),
      controls: [...HARDENING, ...(extra?.extra ?? []), ...cisDockerIds(g.source), ...(extra?.k8s ?? []).map((k) => `CIS Kubernetes ${k}`)],
    };
  }),
].sort((a, b) => (a.id < b.id ? -1 : 1));

export function ruleDoc(id: string): RuleDoc | undefined {
  return RULES.find((r) => r.id === id);
}
