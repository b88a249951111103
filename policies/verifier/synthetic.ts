import type { Intent, IntentFlow, IntentNever, IntentPeer } from "../intent.js";

/*
 * A generated site for the verifier's benchmark: N services on N/10 networks of one Docker host,
 * written directly as Terraform JSON, an nftables ruleset and intent.json (no site schema).
 * Each service talks to the next member of its network (one accept rule each); every tenth
 * service also sits on a second network; must-never pairs join neighbours on other networks.
 */

export interface SyntheticOptions {
  readonly services: number;
  /** @default services / 10 */
  readonly networks?: number;
}

export function syntheticSite(opts: SyntheticOptions): Map<string, string> {
  const n = opts.services;
  const nets = Math.max(1, opts.networks ?? Math.floor(n / 10));
  const subnet = (k: number) => `10.${100 + (k >> 8)}.${k & 255}.0/24`;
  const ipOf = (k: number, host: number) => `10.${100 + (k >> 8)}.${k & 255}.${host}`;
  const networkRes: Record<string, unknown> = {};
  for (let k = 0; k < nets; k++) {
    networkRes[`network_n${k}`] = {
      name: `cloud-n${k}`,
      driver: "bridge",
      internal: true,
      ipam_config: [{ subnet: subnet(k), gateway: ipOf(k, 1) }],
      options: { "com.docker.network.bridge.name": `br-n${k}` },
    };
  }
  const members: { svc: number; ip: string }[][] = Array.from({ length: nets }, () => []);
  const containers: Record<string, unknown> = {};
  const hostNo = new Array<number>(nets).fill(10);
  for (let i = 0; i < n; i++) {
    const primary = i % nets;
    const attach = [primary, ...(i % 10 === 0 && nets > 1 ? [(primary + 1) % nets] : [])];
    const networks = attach.map((k) => {
      const ip = ipOf(k, hostNo[k]!++ % 250 + 2);
      members[k]!.push({ svc: i, ip });
      return { name: `\${docker_network.network_n${k}.name}`, ipv4_address: ip, aliases: [`s${i}`] };
    });
    containers[`container_s${i}`] = {
      name: `cloud-s${i}`,
      image: "registry.example/app@sha256:" + "0".repeat(64),
      network_mode: "bridge",
      networks_advanced: networks,
      ports: [],
      capabilities: { add: [], drop: ["ALL"] },
      security_opts: ["no-new-privileges:true"],
      read_only: true,
      privileged: false,
      user: "65534:65534",
      memory: 128,
      ulimit: [{ name: "nproc", soft: 256, hard: 256 }],
      healthcheck: { test: ["CMD", "true"], interval: "30s", timeout: "5s", retries: 3 },
      labels: [
        { label: "palisade.service", value: `s${i}` },
        { label: "palisade.listens", value: `tcp/${8000 + (i % 50)}` },
      ],
    };
  }
  const flows: IntentFlow[] = [];
  const rules: string[] = [];
  for (let k = 0; k < nets; k++) {
    const m = members[k]!;
    for (let j = 0; j + 1 < m.length; j++) {
      const a = m[j]!;
      const b = m[j + 1]!;
      if (a.svc === b.svc) continue;
      const port = 8000 + (b.svc % 50);
      flows.push({ from: `s${a.svc}`, to: `s${b.svc}`, port: `tcp/${port}`, reason: "synthetic" });
      rules.push(`\t\tiifname "br-n${k}" oifname "br-n${k}" ip saddr ${a.ip} ip daddr ${b.ip} tcp dport ${port} accept`);
    }
  }
  const nevers: IntentNever[] = [];
  for (let i = 3; i + 1 < n; i += 7) if (i % 10 !== 0 && i % nets !== (i + 1) % nets) nevers.push({ from: `s${i}`, to: `s${i + 1}`, reason: "synthetic" });
  const seen = new Set<string>();
  const uniqueFlows = flows.filter((f) => {
    const key = `${f.from}|${f.to}|${f.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const peers: IntentPeer[] = [
    { id: "cloud", kind: "host", zone: "cloud", addresses: ["198.51.100.20"] },
    { id: "internet", kind: "addresses", zone: "internet", addresses: ["0.0.0.0/0", "::/0"] },
    ...Array.from({ length: n }, (_, i) => ({ id: `s${i}`, kind: "service" as const, zone: "cloud", host: "cloud" })),
  ];
  const intent: Intent = { version: 1, peers, flows: uniqueFlows, nevers };
  const tf = { resource: { docker_network: networkRes, docker_container: containers } };
  const nft = [
    "table inet palisade_cloud {",
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy drop;",
    '\t\tiifname "lo" accept',
    "\t}",
    "\tchain forward {",
    "\t\ttype filter hook forward priority filter; policy drop;",
    "\t\tct state established,related accept",
    ...rules,
    "\t}",
    "\tchain output {",
    "\t\ttype filter hook output priority filter; policy drop;",
    "\t}",
    "}",
  ].join("\n");
  return new Map([
    ["cdktf/stacks/cloud/cdk.tf.json", JSON.stringify(tf)],
    ["hosts/cloud/nftables.conf", `${nft}\n`],
    ["intent.json", JSON.stringify(intent)],
  ]);
}
