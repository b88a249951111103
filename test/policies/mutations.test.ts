import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostInCidr4 } from "../../core/index.js";
import { bridgeName } from "../../tunnel/index.js";
import { runCli } from "../helpers/cli.js";
import { copyOut, editJson, editText, problemLines, pulumiContainer, tfContainer, verifyDirInProcess } from "./support.js";
import { dockerSiteFiles, planSite } from "./planned-sites.js";
import { anyOf, esc, plannedReport, siteFacts, type SiteFacts } from "./site-facts.js";

/*
 * Mutations of a good plan's artifacts, each ending in the finding or guardrail that names what it
 * broke. Run on every example: each mutation is aimed by the site's own plan (a must-never pair
 * between two containers, a declared flow, a route, an OpenBao identity, a shared or dedicated
 * tenant), never by the reference's names; a mutation the site has nothing for (no path route, no
 * dedicated tenant) is not in that site's table, and one of a platform piece that is the same on
 * every site runs on the first site only.
 */

const TF_CLOUD = "cdktf/stacks/cloud/cdk.tf.json";
const TF_EDGE = "cdktf/stacks/edge/cdk.tf.json";
const PU_CLOUD = "pulumi/cloud.json";
const NFT_CLOUD = "hosts/cloud/nftables.conf";
const NFT_EDGE = "hosts/edge/nftables.conf";
const WG_EDGE = "hosts/edge/wireguard/wg-edge.conf";
const HAP_INGRESS = "hosts/cloud/ingress/haproxy.cfg";
const HAP_EDGE = "hosts/edge/haproxy/haproxy.cfg";
const WG_KEY = "eKx0yJrZ3vM1k7S7q7o7kX0h1F3Y4Z1n6yQ8R0pX9Wk=";
const tfNetworkRef = (dockerName: string) => `\${docker_network.network_${dockerName.replace(/-/g, "_")}.name}`;

type Mutation = readonly [name: string, mutate: (dir: string) => void, expected: RegExp];

/** The mutation table of one site, aimed by its facts. */
function mutationsOf(f: SiteFacts, firstSite: boolean): Mutation[] {
  const out: Mutation[] = [];
  const add = (name: string, mutate: (dir: string) => void, expected: RegExp) => out.push([name, mutate, expected]);
  // A mutation of a platform piece that is the same on every site (no name of the site in it) runs
  // on the first site only: another site would verify the same edit of the same piece again.
  const platform = (name: string, mutate: (dir: string) => void, expected: RegExp) => firstSite && add(name, mutate, expected);
  const declared = Object.keys(f.site.services).filter((id) => f.containers.some((c) => c.id === id && !c.props.rootReason));
  const [appA, appB = appA] = declared as [string, string?];

  // A must-never pair between two containers that only the Docker networks and the cloud firewall keep apart.
  const pair = f.containerNevers.find(([x, y]) => y.props.listens.length > 0 && f.neverLayers(x.id, y.id).join() === "docker-network,nftables:cloud");
  if (pair) {
    const [x, y] = pair;
    const net = f.attachments(y)[0]!.network;
    const members = f.containers.filter((c) => c.addresses.has(net.id)).map((c) => c.id);
    const port = f.port(y);
    add(`attach ${x.id} to ${y.id}'s network in cdk.tf.json`, (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, x.containerName).networks_advanced.push({ aliases: [x.id], ipv4_address: hostInCidr4(net.subnet, 99), name: tfNetworkRef(net.dockerName) })), new RegExp(`single-layer ${esc(x.id)} => ${esc(y.id)}`));
    add(`drop \`internal\` and masquerade-off from ${net.dockerName}`, (d) => editJson(d, TF_CLOUD, (j) => { const n = j.resource.docker_network[`network_${net.dockerName.replace(/-/g, "_")}`]; n.internal = false; n.options["com.docker.network.bridge.enable_ip_masquerade"] = "true"; }), new RegExp(`single-layer ${anyOf(members)} => internet`));
    add(`publish ${y.id} on 0.0.0.0`, (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, y.containerName).ports = [{ external: Number(port.split("/")[1]), internal: Number(port.split("/")[1]), ip: "0.0.0.0", protocol: port.split("/")[0] }]; }), new RegExp(`published-wildcard cloud/${esc(y.id)}`));
    add(`add a permissive rule for ${port} to the cloud's forward chain`, (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(chain forward \{\n[^\n]*policy drop;\n)/, `$1\t\t${port.replace("/", " dport ")} accept\n`)), new RegExp(`single-layer \\S+ => ${esc(y.id)} `));
    add("turn the cloud's forward policy to accept", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(hook forward priority filter; policy) drop;/, "$1 accept;")), new RegExp(`single-layer ${esc(x.id)} => ${esc(y.id)}`));
    add(`edit the Pulumi capture alone (attach ${appA} to ${net.dockerName})`, (d) => editJson(d, PU_CLOUD, (j) => pulumiContainer(j, `cloud-${appA}`).networksAdvanced.push({ aliases: [appA], ipv4Address: hostInCidr4(net.subnet, 99), name: net.dockerName })), new RegExp(`engine-drift cloud container cloud-${esc(appA)} .*networks`));
  }

  platform("turn the edge's input policy to accept", (d) => editText(d, NFT_EDGE, (t) => t.replace(/(hook input priority filter; policy) drop;/, "$1 accept;")), /unexpected-exposure internet => edge:sshd : tcp\/22/);
  add("widen the edge's AllowedIPs to the cloud's container networks", (d) => editText(d, WG_EDGE, (t) => t.replace(`AllowedIPs = ${f.cloudTunnel4}/32`, `AllowedIPs = ${f.cloudTunnel4}/32, ${f.site.cloud.networkPool}`)), new RegExp(`wireguard-allowed-ips hosts/edge/wireguard/wg-edge\\.conf .*${esc(f.site.cloud.networkPool)}`));

  // The ingress's routes: one pointed at a container nothing routes to, one removed at the edge, a path route shadowed.
  const routed = new Set(f.intent.routes.map((r) => r.service));
  const route = f.intent.routes[0]!;
  const stray = f.containers.find((c) => !routed.has(c.id) && c.props.listens.length > 0 && !["ingress", "acme"].includes(c.id))!;
  const strayPort = f.port(stray);
  add(`point the ingress's ${route.service} route at ${stray.id}`, (d) => editText(d, HAP_INGRESS, (t) => t.replace(new RegExp(`server ${esc(route.service)} \\S+:${route.port.split("/")[1]}`), `server ${route.service} ${f.attachments(stray)[0]!.ip}:${strayPort.split("/")[1]}`)), new RegExp(`unexpected-route ingress => ${esc(stray.id)} : ${esc(strayPort)}`));
  const last = f.intent.routes.at(-1)!;
  add(`remove the edge's SNI route of ${last.host}`, (d) => editText(d, HAP_EDGE, (t) => t.replace(new RegExp(`\\n[^\\n]*use_backend \\S+ if \\{ req\\.ssl_sni -i ${esc(last.host)} \\}[^\\n]*`), "")), new RegExp(`declared-not-rendered route ${esc(last.host)}\\S* -> `));
  const withPath = f.intent.routes.find((r) => r.path);
  if (withPath) {
    add(`shadow the ${withPath.service}'s path route behind its host's catch-all`, (d) => editText(d, HAP_INGRESS, (t) => t.replace(/(\n\s+use_backend \S+ if (host_\w+) path_\w+)(\n\s+use_backend \S+ if \2)\n/, "$3$1\n")), new RegExp(`declared-not-rendered route ${esc(withPath.host)}${esc(withPath.path!)} -> ${esc(withPath.service)} ${esc(withPath.port)}`));
  }
  add("point the edge's first route at the cloud's SSH port", (d) => editText(d, HAP_EDGE, (t) => t.replace(new RegExp(`(backend be_\\S+\\n\\s+mode tcp\\n\\s+server ingress) ${esc(f.cloudTunnel4)}:443`), `$1 ${f.cloudTunnel4}:22`)), /unexpected-route edge-proxy => cloud : tcp\/22/);

  // OpenBao identities: what is declared is rendered.
  const first = f.intent.identities[0];
  if (first) add(`delete ${first.name}'s AppRole role from the secrets stack`, (d) => editJson(d, "cdktf/stacks/secrets/cdk.tf.json", (j) => { delete j.resource.vault_approle_auth_backend_role[first.name.replace(/-/g, "_")]; }), new RegExp(`declared-not-rendered openbao identity ${esc(first.name)} \\(${esc(first.service)}\\) in cdktf`));
  const lastId = f.intent.identities.at(-1);
  if (lastId) add(`delete ${lastId.name}'s AppRole file`, (d) => rmSync(join(d, `hosts/cloud/openbao/approle/${lastId.name}.json`)), new RegExp(`declared-not-rendered openbao identity ${esc(lastId.name)}`));

  // Container hardening, on the operator's own services and the platform's.
  add(`remove cap_drop ALL from ${appA}`, (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, `cloud-${appA}`).capabilities.drop = []; }), new RegExp(`cap-drop-all cloud/${esc(appA)}`));
  add(`make ${appB} privileged`, (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, `cloud-${appB}`).privileged = true; }), new RegExp(`privileged cloud/${esc(appB)}`));
  platform("mount docker.sock into the ingress", (d) => editJson(d, TF_CLOUD, (j) => tfContainer(j, "cloud-ingress").mounts.push({ read_only: true, source: "/var/run/docker.sock", target: "/var/run/docker.sock", type: "bind" })), /sensitive-mount cloud\/ingress/);
  add(`run ${appB} as root without a reason`, (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, `cloud-${appB}`).user = "0:0"; }), new RegExp(`non-root-user cloud/${esc(appB)}`));
  add(`drop ${appA}'s memory limit`, (d) => editJson(d, TF_CLOUD, (j) => { delete tfContainer(j, `cloud-${appA}`).memory; }), new RegExp(`memory-limit cloud/${esc(appA)}`));
  add(`drop ${appA}'s ulimit nproc`, (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, `cloud-${appA}`).ulimit = []; }), new RegExp(`pids-limit cloud/${esc(appA)}`));
  add(`put ${appB} on the host's network without a reason`, (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, `cloud-${appB}`).network_mode = "host"; }), new RegExp(`host-namespace cloud/${esc(appB)}`));
  platform("make the root filesystem of openbao writable", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-openbao").read_only = false; }), /read-only-rootfs cloud\/openbao/);
  platform("remove no-new-privileges from acme", (d) => editJson(d, TF_CLOUD, (j) => { tfContainer(j, "cloud-acme").security_opts = []; }), /no-new-privileges cloud\/acme/);
  platform("give the edge proxy a published port on its public address", (d) => editJson(d, TF_EDGE, (j) => { tfContainer(j, "edge-edge-proxy").ports = [{ external: 8443, internal: 443, ip: "", protocol: "tcp" }]; }), /published-wildcard edge\/edge-proxy/);

  // Secrets in artifacts.
  platform("plant a PEM private key in the knot config", (d) => editText(d, "hosts/edge/knot/knot.conf", (t) => `${t}# -----BEGIN PRIVATE KEY-----\n# MC4CAQAwBQYDK2VwBCIEIA==\n# -----END PRIVATE KEY-----\n`), /secret-material hosts\/edge\/knot\/knot\.conf/);
  platform("put a WireGuard PrivateKey line in wg-edge.conf", (d) => editText(d, WG_EDGE, (t) => t.replace("[Interface]\n", `[Interface]\nPrivateKey = ${WG_KEY}\n`)), /secret-material hosts\/edge\/wireguard\/wg-edge\.conf .*PrivateKey/);
  platform("write a password into the OpenBao config", (d) => editText(d, "hosts/cloud/openbao/config.hcl", (t) => `${t}\n# password = "correct-horse-battery-staple"\n`), /secret-material hosts\/cloud\/openbao\/config\.hcl/);

  // The firewalls' own rules.
  const flow = f.containerFlows[0];
  if (flow) {
    const line = `${flow.from.id} => ${flow.to.id} : ${flow.port}`;
    add(`delete the cloud's rules for ${line}`, (d) => editText(d, NFT_CLOUD, (t) => t.replace(new RegExp(`\\n[^\\n]*${esc(line)}[^\\n]*`, "g"), "")), new RegExp(`broken-path ${esc(line)}`));
  }
  platform("add a rule the evaluator does not understand", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(chain forward \{\n[^\n]*policy drop;\n)/, "$1\t\tmeta mark 0x1 accept\n")), /nft-unsupported hosts\/cloud\/nftables\.conf/);
  platform("open SSH through the edge firewall to everyone", (d) => editText(d, NFT_EDGE, (t) => t.replace(/(\t\ttcp dport \{ 80, 443 \} accept)/, "\t\ttcp dport 22 accept\n$1")), /unexpected-exposure internet => edge:sshd : tcp\/22/);
  platform("delete the cloud host's output rules to OpenBao (the secrets stack's SSH forward)", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/\n[^\n]*cloud => openbao : tcp\/8200[^\n]*/g, "")), /broken-path cloud => openbao : tcp\/8200/);
  const pg = f.attachments(f.topology.service("postgres"))[0]!.network;
  add("let the cloud host reach postgres", (d) => editText(d, NFT_CLOUD, (t) => t.replace(/(chain output \{\n[^\n]*policy drop;\n)/, `$1\t\toifname "${bridgeName(pg)}" tcp dport 5432 accept\n`)), /unexpected-exposure cloud => \S+ : tcp\/5432/);

  // Tenancy in PostgreSQL, for the site's shared and dedicated tenants.
  const shared = f.site.tenants.find((t) => t.mode === "shared");
  if (shared) {
    add(`drop FORCE ROW LEVEL SECURITY from the shared tenants' invoices table (${shared.id})`, (d) => editText(d, "hosts/cloud/postgres/bootstrap.sql", (t) => t.replace("ALTER TABLE app.invoices FORCE ROW LEVEL SECURITY;\n", "")), new RegExp(`tenant-isolation tenant ${esc(shared.id)} .*postgres-rls.*app\\.invoices: no FORCE ROW LEVEL SECURITY`));
    add("weaken the shared tenants' policy to WITH CHECK (true)", (d) => editText(d, "hosts/cloud/postgres/bootstrap.sql", (t) => t.replace(/WITH CHECK \(tenant_id = NULLIF\(current_setting\('app\.tenant_id', true\), ''\)\)/, "WITH CHECK (true)")), new RegExp(`tenant-isolation tenant ${esc(shared.id)} .*postgres-rls`));
    add("let the app role bypass RLS", (d) => editText(d, "hosts/cloud/postgres/bootstrap.sql", (t) => t.replace(/ALTER ROLE palisade_app ([^;]*)NOBYPASSRLS/, "ALTER ROLE palisade_app $1BYPASSRLS")), new RegExp(`tenant-isolation tenant ${esc(shared.id)} .*postgres-role`));
  }
  const dedicated = f.site.tenants.find((t) => t.mode === "dedicated");
  if (dedicated) {
    add(`grant CONNECT on the dedicated tenant ${dedicated.id}'s database back to PUBLIC`, (d) => editText(d, `hosts/cloud/postgres/tenants/${dedicated.id}.sql`, (t) => t.replace(/(GRANT CONNECT ON DATABASE \S+ TO [^;]+);/, "$1, PUBLIC;")), new RegExp(`tenant-isolation tenant ${esc(dedicated.id)} .*postgres-database`));
  }
  return out;
}

/** Every site, planned once (shared by the run), with its own mutation table. */
const sites: { name: string; dir: string; mutations: Mutation[] }[] = [];
for (const s of dockerSiteFiles()) {
  const dir = await planSite(s.file);
  sites.push({ name: s.name, dir, mutations: mutationsOf(siteFacts(s.file, dir), sites.length === 0) });
}

describe.each(sites)("mutating the artifacts of a good plan of $name", ({ dir: planned, mutations }) => {
  const baseline = problemLines(plannedReport(planned));

  it("GIVEN the good plan WHEN verified THEN it has no violation (so each mutation's finding is its own)", () => {
    expect(baseline).toEqual([]);
  });

  it.each(mutations)("GIVEN the mutation '%s' WHEN verified THEN the finding names the pair or guardrail", (_name, mutate, expected) => {
    const dir = copyOut(planned);
    mutate(dir);
    const lines = problemLines(verifyDirInProcess(dir));
    expect(lines.some((l) => expected.test(l)), `expected ${expected} among:\n${lines.join("\n")}`).toBe(true);
    expect(baseline.some((l) => expected.test(l))).toBe(false);
  });

  it("GIVEN this site's table WHEN counted THEN it has at least fifteen kinds of mutation aimed at its own names", () => {
    expect(mutations.length).toBeGreaterThanOrEqual(15);
  });
});

describe("a mutated plan through the real CLI", () => {
  it("GIVEN the reference with a privileged container WHEN palisade verify runs THEN it exits 1 naming the guardrail", async () => {
    const dir = copyOut(sites[0]!.dir);
    editJson(dir, TF_CLOUD, (j) => { tfContainer(j, "cloud-acme").privileged = true; });
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/privileged/);
  });
});
