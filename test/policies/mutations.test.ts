import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut, editJson, editText, problemLines, pulumiContainer, tfContainer, verifyDirInProcess } from "./support.js";

const planned = await planOnce();
const baseline = problemLines(verifyDirInProcess(planned.dir));

const TF_CLOUD = "cdktf/stacks/cloud/cdk.tf.json";
const TF_EDGE = "cdktf/stacks/edge/cdk.tf.json";
const PU_CLOUD = "pulumi/cloud.json";
const NFT_CLOUD = "hosts/cloud/nftables.conf";
const NFT_EDGE = "hosts/edge/nftables.conf";
const WG_EDGE = "hosts/edge/wireguard/wg-edge.conf";
const HAP_INGRESS = "hosts/cloud/ingress/haproxy.cfg";
const HAP_EDGE = "hosts/edge/haproxy/haproxy.cfg";
const WG_KEY = "eKx0yJrZ3vM1k7S7q7o7kX0h1F3Y4Z1n6yQ8R0pX9Wk=";

/** [name, mutate(dir), expected finding or guardrail (regexp over "kind subject message")]. */
const MUTATIONS: readonly [string, (dir: string) => void, RegExp][] = [
  ["attach frontend to the postgres network in cdk.tf.json", (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-frontend").networks_advanced.push({ aliases: ["frontend"], ipv4_address: "172.20.124.99", name: "${docker_network.network_cloud_postgres.name}" })), /single-layer frontend => postgres/],
  ["drop `internal` and masquerade-off from the postgres network", (d) => editJson(d, TF_CLOUD, (j) => { const n = j.resource.docker_network.network_cloud_postgres; n.internal = false; n.options["com.docker.network.bridge.enable_ip_masquerade"] = "true"; }), /single-layer postgres => internet/],
  ["publish postgres on 0.0.0.0", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-postgres").ports = [{ external: 5432, internal: 5432, ip: "0.0.0.0", protocol: "tcp" }]; }), /published-wildcard cloud\/postgres/],
  ["add a permissive nftables rule to the cloud's forward chain", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(chain forward \{\n[^\n]*policy drop;\n)/, '$1\t\ttcp dport 5432 accept\n')), /single-layer (frontend|blog|gitea|ingress) => (postgres|pg-us)/],
  ["turn the cloud's forward policy to accept", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(hook forward priority filter; policy) drop;/, "$1 accept;")), /single-layer blog => api/],
  ["turn the edge's input policy to accept and drop its last rules", (d) => editText(d, NFT_EDGE, (t) => t.replace(/(hook input priority filter; policy) drop;/, "$1 accept;")), /unexpected-exposure internet => edge:sshd : tcp\/22/],
  ["widen the edge's AllowedIPs to the cloud's container networks", (d) => editText(d, WG_EDGE, (t) => t.replace(/AllowedIPs = 10\.77\.0\.2\/32/, "AllowedIPs = 10.77.0.2/32, 172.20.0.0/16")), /wireguard-allowed-ips hosts\/edge\/wireguard\/wg-edge\.conf .*172\.20\.0\.0\/16/],
  ["point the ingress's frontend route at postgres", (d) => editText(d, HAP_INGRESS, (t) => t.replace(/server frontend \S+:3000/, "server frontend 172.20.124.11:5432")), /unexpected-route ingress => postgres : tcp\/5432/],
  ["remove the edge's SNI route of the blog's domain", (d) => editText(d, HAP_EDGE, (t) => t.replace(/\n[^\n]*use_backend be_blog if \{ req\.ssl_sni[^\n]*/, "")), /declared-not-rendered route blog\.example\.com -> blog tcp\/2368/],
  ["shadow the api's path route behind the app host's catch-all", (d) => editText(d, HAP_INGRESS, (t) => t.replace(/(\n\s+use_backend be_api if host_app path_api)(\n\s+use_backend be_frontend if host_app)/, "$2$1")), /declared-not-rendered route app\.example\.com\/api -> api tcp\/8080/],
  ["delete the api's AppRole role from the secrets stack", (d) => editJson(d, "cdktf/stacks/secrets/cdk.tf.json", (j) => { delete j.resource.vault_approle_auth_backend_role.api; }), /declared-not-rendered openbao identity api \(api\) in cdktf/],
  ["delete the provisioner's AppRole file", (d) => { rmSync(join(d, "hosts/cloud/openbao/approle/provisioner.json")); }, /declared-not-rendered openbao identity provisioner/],
  ["point the edge's app route at the cloud's SSH port", (d) => editText(d, HAP_EDGE, (t) => t.replace(/(backend be_app\n\s+mode tcp\n\s+server ingress) 10\.77\.0\.2:443/, "$1 10.77.0.2:22")), /unexpected-route edge-proxy => cloud : tcp\/22/],
  ["remove cap_drop ALL from the api", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-api").capabilities.drop = []; }), /cap-drop-all cloud\/api/],
  ["make the blog privileged", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-blog").privileged = true; }), /privileged cloud\/blog/],
  ["mount docker.sock into the ingress", (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-ingress").mounts.push({ read_only: true, source: "/var/run/docker.sock", target: "/var/run/docker.sock", type: "bind" })), /sensitive-mount cloud\/ingress/],
  ["plant a PEM private key in the knot config", (d) => editText(d, "hosts/edge/knot/knot.conf", (t) => `${t}# -----BEGIN PRIVATE KEY-----\n# MC4CAQAwBQYDK2VwBCIEIA==\n# -----END PRIVATE KEY-----\n`), /secret-material hosts\/edge\/knot\/knot\.conf/],
  ["put a WireGuard PrivateKey line in wg-edge.conf", (d) => editText(d, WG_EDGE, (t) => t.replace("[Interface]\n", `[Interface]\nPrivateKey = ${WG_KEY}\n`)), /secret-material hosts\/edge\/wireguard\/wg-edge\.conf .*PrivateKey/],
  ["write a password into the OpenBao config", (d) => editText(d, "hosts/cloud/openbao/config.hcl", (t) => `${t}\n# password = "correct-horse-battery-staple"\n`), /secret-material hosts\/cloud\/openbao\/config\.hcl/],
  ["edit the Pulumi capture alone (attach blog to the api network)", (d) => editJson(d, PU_CLOUD, (j) => pulumiContainer(j, "cloud-blog").networksAdvanced.push({ aliases: ["blog"], ipv4Address: "172.20.2.99", name: "cloud-api" })), /engine-drift cloud container cloud-blog .*networks/],
  ["run gitea as root without a reason", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-gitea").user = "0:0"; }), /non-root-user cloud\/gitea/],
  ["drop the api's memory limit", (d) => editJson(d, TF_CLOUD, (j) => { delete tfContainer(j, "cloud-api").memory; }), /memory-limit cloud\/api/],
  ["drop the api's ulimit nproc", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-api").ulimit = []; }), /pids-limit cloud\/api/],
  ["put the frontend on the host's network without a reason", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-frontend").network_mode = "host"; }), /host-namespace cloud\/frontend/],
  ["make the root filesystem of openbao writable", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-openbao").read_only = false; }), /read-only-rootfs cloud\/openbao/],
  ["remove no-new-privileges from acme", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-acme").security_opts = []; }), /no-new-privileges cloud\/acme/],
  ["delete the cloud's rule for frontend => api", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/\n[^\n]*frontend => api : tcp\/8080[^\n]*/, "")), /broken-path frontend => api : tcp\/8080/],
  ["add a rule the evaluator does not understand", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(chain forward \{\n[^\n]*policy drop;\n)/, "$1\t\tmeta mark 0x1 accept\n")), /nft-unsupported hosts\/cloud\/nftables\.conf/],
  ["publish the edge proxy's stats port through the edge firewall", (d) => editText(d, NFT_EDGE, (t) => t.replace(/(\t\ttcp dport \{ 80, 443 \} accept)/, "\t\ttcp dport 22 accept\n$1")), /unexpected-exposure internet => edge:sshd : tcp\/22/],
  ["give the edge proxy a published port on its public address", (d) => editJson(d, TF_EDGE, (j) => { tfContainer(j, "edge-edge-proxy").ports = [{ external: 8443, internal: 443, ip: "", protocol: "tcp" }]; }), /published-wildcard edge\/edge-proxy/],
  ["delete the cloud host's output rules to OpenBao (the secrets stack's SSH forward)", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/\n[^\n]*cloud => openbao : tcp\/8200[^\n]*/g, "")), /broken-path cloud => openbao : tcp\/8200/],
  ["let the cloud host reach postgres", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(\n\t\toifname "br-postgres" ip daddr \S+ tcp dport 8200 accept[^\n]*)/, '$1\n\t\toifname "br-postgres" tcp dport 5432 accept')), /unexpected-exposure cloud => (postgres|pg-us) : tcp\/5432/],
  ["drop FORCE ROW LEVEL SECURITY from the shared tenants' invoices table", (d) => editText(d, "hosts/cloud/postgres/bootstrap.sql", (t) => t.replace("ALTER TABLE app.invoices FORCE ROW LEVEL SECURITY;\n", "")), /tenant-isolation tenant acme .*postgres-rls.*app\.invoices: no FORCE ROW LEVEL SECURITY/],
  ["weaken the shared tenants' policy to WITH CHECK (true)", (d) => editText(d, "hosts/cloud/postgres/bootstrap.sql", (t) => t.replace(/WITH CHECK \(tenant_id = NULLIF\(current_setting\('app\.tenant_id', true\), ''\)\)/, "WITH CHECK (true)")), /tenant-isolation tenant acme .*postgres-rls/],
  ["grant CONNECT on a dedicated tenant's database back to PUBLIC", (d) => editText(d, "hosts/cloud/postgres/tenants/globex.sql", (t) => t.replace("GRANT CONNECT ON DATABASE tenant_globex TO tenant_globex_app;", "GRANT CONNECT ON DATABASE tenant_globex TO tenant_globex_app, PUBLIC;")), /tenant-isolation tenant globex .*postgres-database/],
  ["let the app role bypass RLS", (d) => editText(d, "hosts/cloud/postgres/bootstrap.sql", (t) => t.replace(/ALTER ROLE palisade_app ([^;]*)NOBYPASSRLS/, "ALTER ROLE palisade_app $1BYPASSRLS")), /tenant-isolation tenant acme .*postgres-role/],
];

describe("mutating a good plan's artifacts", () => {
  it("GIVEN the good plan WHEN verified THEN it has no violation (so each mutation's finding is its own)", () => {
    expect(baseline).toEqual([]);
  });

  it.each(MUTATIONS)("GIVEN the mutation '%s' WHEN palisade verify runs THEN it exits 1 with the finding naming the pair or guardrail", async (_name, mutate, expected) => {
    const dir = copyOut(planned.dir);
    mutate(dir);
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(1);
    const lines = problemLines(verifyDirInProcess(dir));
    expect(lines.some((l) => expected.test(l)), `expected ${expected} among:\n${lines.join("\n")}`).toBe(true);
    expect(baseline.some((l) => expected.test(l))).toBe(false);
  });

  it("GIVEN at least fifteen kinds of mutation WHEN listed THEN the table has them", () => {
    expect(MUTATIONS.length).toBeGreaterThanOrEqual(15);
  });
});
