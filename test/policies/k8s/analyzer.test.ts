// `palisade k8s list|diff` on manifests written for each NetworkPolicy construct. Each fixture's
// expected.txt was derived by hand from the Kubernetes documentation (the derivation is the comment at
// the top of its manifests) before the analyzer ran on it. No Kubernetes API server runs here: these
// tests pin the analyzer's reading of the semantics, not a cluster's behaviour.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { ConnSet, PolicyEngine, connectivity, disjointRanges, parseManifests, peerName } from "../../../policies/verifier/k8s/index.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
const listFixtures = readdirSync(FIXTURES).filter((d) => !d.startsWith("diff-")).sort();
const expected = (dir: string) => readFileSync(join(FIXTURES, dir, "expected.txt"), "utf8").trimEnd();

const tmp = mkdtempSync(join(tmpdir(), "palisade-k8s-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function dirWith(text: string): string {
  const dir = mkdtempSync(join(tmp, "d"));
  writeFileSync(join(dir, "m.yaml"), text);
  return dir;
}

describe("palisade k8s list: each construct, against the hand-derived listing", () => {
  it.each(listFixtures)("%s", async (name) => {
    const r = await runCli(["k8s", "list", "--dir", join(FIXTURES, name)]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected(name));
  });
});

describe("palisade k8s list: output formats", () => {
  const dir = join(FIXTURES, "minimal");
  it("csv has netpol-analyzer's header and one row per connection", async () => {
    const r = await runCli(["k8s", "list", "--dir", dir, "-o", "csv"]);
    expect(r.stdout).toBe(
      [
        "src,dst,conn",
        "0.0.0.0-255.255.255.255[External],default/frontend[Deployment],TCP 8080",
        "default/frontend[Deployment],0.0.0.0-255.255.255.255[External],UDP 53",
        "default/frontend[Deployment],default/backend[Deployment],TCP 9090",
      ].join("\n"),
    );
  });
  it("md is a src | dst | conn table", async () => {
    const r = await runCli(["k8s", "list", "--dir", dir, "--output", "md"]);
    expect(r.stdout.split("\n").slice(0, 3)).toEqual([
      "| src | dst | conn |",
      "|-----|-----|------|",
      "| 0.0.0.0-255.255.255.255[External] | default/frontend[Deployment] | TCP 8080 |",
    ]);
  });
  it("json is an array of {src, dst, conn}", async () => {
    const r = await runCli(["k8s", "list", "--dir", dir, "-o", "json"]);
    expect(JSON.parse(r.stdout)).toEqual([
      { src: "0.0.0.0-255.255.255.255[External]", dst: "default/frontend[Deployment]", conn: "TCP 8080" },
      { src: "default/frontend[Deployment]", dst: "0.0.0.0-255.255.255.255[External]", conn: "UDP 53" },
      { src: "default/frontend[Deployment]", dst: "default/backend[Deployment]", conn: "TCP 9090" },
    ]);
    expect(r.stdout).toContain('\n  {\n    "src": ');
  });
  it("an unknown format is a usage error", async () => {
    const r = await runCli(["k8s", "list", "--dir", dir, "-o", "dot"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output "dot" is not one of txt, csv, md, json/);
  });
});

describe("palisade k8s diff", () => {
  const d1 = join(FIXTURES, "diff-minimal", "dir1");
  const d2 = join(FIXTURES, "diff-minimal", "dir2");
  it("lists changed, then added connections of dir2 against dir1, and exits 1", async () => {
    const r = await runCli(["k8s", "diff", "--dir1", d1, "--dir2", d2]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(expected("diff-minimal"));
  });
  it("the other way round, what was added is removed", async () => {
    const r = await runCli(["k8s", "diff", "--dir1", d2, "--dir2", d1]);
    const lines = r.stdout.split("\n").slice(1);
    expect(lines.filter((l) => l.startsWith("diff-type: removed"))).toHaveLength(5);
    expect(lines).toContain(
      "diff-type: removed, source: default/unicorn[Deployment], destination: default/frontend[Deployment], dir1:  TCP 8443, dir2: No Connections, workloads-diff-info: workload default/unicorn[Deployment] removed",
    );
    expect(lines.some((l) => l.startsWith("diff-type: added"))).toBe(false);
  });
  it("the same manifests on both sides: no output, exit 0", async () => {
    const r = await runCli(["k8s", "diff", "--dir1", d1, "--dir2", d1]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/No connections diff/);
  });
  it("csv quotes a connection list that holds a comma", async () => {
    const r = await runCli(["k8s", "diff", "--dir1", d1, "--dir2", d2, "-o", "csv"]);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("diff-type,source,destination,dir1,dir2,workloads-diff-info");
    expect(lines).toContain('changed,default/frontend[Deployment],default/backend[Deployment],TCP 9090,"TCP 9090,UDP 53",');
  });
  it("md has the six columns, an empty info cell when no workload changed", async () => {
    const r = await runCli(["k8s", "diff", "--dir1", d1, "--dir2", d2, "-o", "md"]);
    expect(r.stdout.split("\n")[0]).toBe("| diff-type | source | destination | dir1 | dir2 | workloads-diff-info |");
    expect(r.stdout).toContain("| changed | default/frontend[Deployment] | default/backend[Deployment] | TCP 9090 | TCP 9090,UDP 53 |  |");
  });
  it("external ranges are cut the same on both sides, so a new ipBlock changes only the ranges it covers", async () => {
    const base = `apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: p}}
spec: {containers: [{name: c, image: c}]}
`;
    const withBlock = `${base}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: in}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]
`;
    const r = await runCli(["k8s", "diff", "--dir1", dirWith(base), "--dir2", dirWith(withBlock)]);
    expect(r.stdout.split("\n").slice(1)).toEqual([
      "diff-type: removed, source: 10.0.0.0-10.255.255.255[External], destination: default/p[Pod], dir1:  All Connections, dir2: No Connections",
    ]);
  });
});

describe("connection sets and external ranges", () => {
  it("writes every port of every protocol as All Connections, one protocol's ports as ranges", () => {
    expect(ConnSet.all().toString()).toBe("All Connections");
    expect(ConnSet.allOf("TCP").toString()).toBe("TCP 1-65535");
    expect(ConnSet.ports("UDP", 53).union(ConnSet.ports("TCP", 81, 90)).union(ConnSet.ports("TCP", 80)).toString()).toBe("TCP 80-90,UDP 53");
    expect(ConnSet.allOf("TCP").union(ConnSet.allOf("UDP")).union(ConnSet.allOf("SCTP")).isAll()).toBe(true);
    expect(ConnSet.ports("TCP", 80).intersect(ConnSet.ports("UDP", 80)).isEmpty()).toBe(true);
  });
  it("cuts the IPv4 space where blocks start and end, joining neighbours in the same blocks", () => {
    expect(disjointRanges([])).toEqual([[0, 2 ** 32 - 1]]);
    // 10.0.0.0/8 and 10.0.0.0/16: three kinds of address (in both, in the /8 only, in neither).
    expect(disjointRanges([[[167772160, 184549375]], [[167772160, 167837695]]])).toEqual([
      [0, 167772159],
      [167772160, 167837695],
      [167837696, 184549375],
      [184549376, 2 ** 32 - 1],
    ]);
  });
});

const deployment = (name: string, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: c, image: c${extra}}]}
`;
const policy = (spec: string) => `${deployment("a")}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
${spec}`;

describe("palisade k8s list: bad manifests exit 2 with file, path, value, expectation and fix", () => {
  const cases: [string, string, RegExp][] = [
    ["not YAML", "kind: [unclosed\n", /m\.yaml, document 1: \(document\): given .*; expected YAML/],
    ["a document that is not an object", "- just\n- a list\n", /expected a Kubernetes object/],
    ["no kind", "apiVersion: v1\nmetadata: {name: x}\n", /kind: given \(missing\); expected a string/],
    ["no metadata.name", "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: [{name: c}]}\n", /metadata\.name: given \(missing\)/],
    ["a kind whose connectivity is not modelled", "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: x}\n", /AdminNetworkPolicy.*kind: given "AdminNetworkPolicy".*\n.*fix: AdminNetworkPolicy rules take precedence/],
    ["a Calico NetworkPolicy", "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {}\n", /apiVersion: given "projectcalico.org\/v3"; expected networking.k8s.io\/v1/],
    ["a NetworkPolicy without podSelector", policy("  ingress: []\n"), /NetworkPolicy default\/p: spec\.podSelector: given \(missing\).*\n.*fix: write podSelector: \{\}/],
    ["a misspelt spec field", policy("  podSelector: {}\n  ingres: [{}]\n"), /spec\.ingres: given \[\{\}\]; expected one of the fields podSelector, policyTypes, ingress, egress/],
    ["an unknown selector operator", policy("  podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}\n"), /spec\.podSelector\.matchExpressions\[0\]\.operator: given "Equals"; expected In, NotIn, Exists or DoesNotExist/],
    ["In without values", policy("  podSelector: {matchExpressions: [{key: app, operator: In, values: []}]}\n"), /matchExpressions\[0\]\.values: given \[\]; expected at least one value for In/],
    ["Exists with values", policy("  podSelector: {matchExpressions: [{key: app, operator: Exists, values: [a]}]}\n"), /expected no values for Exists/],
    ["a misspelt selector field", policy("  podSelector: {matchLabel: {app: a}}\n"), /spec\.podSelector\.matchLabel: given/],
    ["a number as label value", policy("  podSelector: {matchLabels: {version: 2}}\n"), /matchLabels\.version: given 2; expected a string label value.*\n.*fix: quote the value: version: "2"/],
    ["a bad policyType", policy("  podSelector: {}\n  policyTypes: [ingress]\n"), /spec\.policyTypes\[0\]: given "ingress"; expected Ingress or Egress/],
    ["an empty peer", policy("  podSelector: {}\n  ingress: [{from: [{}]}]\n"), /spec\.ingress\[0\]\.from\[0\]: given \{\}; expected a peer/],
    ["ipBlock with a podSelector", policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]\n"), /expected either ipBlock, or podSelector/],
    ["a bad CIDR", policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n"), /ipBlock\.cidr: given "10\.0\.0\.0\/33"; expected a CIDR/],
    ["an address without prefix", policy("  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.1}}]}]\n"), /ipBlock\.cidr: given "10\.0\.0\.1"; expected a CIDR/],
    ["an except outside the cidr", policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]\n"), /except\[0\]: given "10\.1\.0\.0\/24"; expected a CIDR strictly inside 10\.0\.0\.0\/16/],
    ["an IPv6 block", policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: \"fd00::/8\"}}]}]\n"), /expected an IPv4 CIDR.*\n.*fix: IPv6 blocks are not modelled/],
    ["endPort below port", policy("  podSelector: {}\n  ingress: [{ports: [{port: 90, endPort: 80}]}]\n"), /ports\[0\]\.endPort: given 80; expected a number no smaller than port \(90\)/],
    ["endPort with a named port", policy("  podSelector: {}\n  ingress: [{ports: [{port: http, endPort: 80}]}]\n"), /endPort: given 80; expected endPort only with a numeric port/],
    ["a quoted port number", policy("  podSelector: {}\n  ingress: [{ports: [{port: \"80\"}]}]\n"), /ports\[0\]\.port: given "80"; expected a port name.*\n.*fix: write the number without quotes: 80/],
    ["a port out of range", policy("  podSelector: {}\n  ingress: [{ports: [{port: 70000}]}]\n"), /port: given 70000; expected a port number from 1 to 65535/],
    ["a lower-case protocol", policy("  podSelector: {}\n  ingress: [{ports: [{protocol: tcp, port: 80}]}]\n"), /protocol: given "tcp"; expected TCP, UDP or SCTP/],
    ["a workload without containers", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {}}}\n", /spec\.template\.spec\.containers: given \(missing\); expected at least one container/],
    ["a host-network pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: h}\nspec: {hostNetwork: true, containers: [{name: c}]}\n", /spec\.hostNetwork: given true; expected pods on the pod network/],
    ["two ports of one name", deployment("d", ", ports: [{name: web, containerPort: 80}, {name: web, containerPort: 81}]"), /ports\[1\]\.name: given "web"; expected a port name unique within the pod/],
    ["the same object twice", `${deployment("d")}---\n${deployment("d")}`, /Deployment default\/d: metadata\.name: given "d"; expected one Deployment of that name \(the first is in m\.yaml, document 1\)/],
    ["an old Ingress API", "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\nspec: {}\n", /apiVersion: given "extensions\/v1beta1"; expected networking\.k8s\.io\/v1/],
  ];
  it.each(cases)("%s", async (_name, text, message) => {
    const r = await runCli(["k8s", "list", "--dir", dirWith(text)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.stderr).toMatch(/^error: the Kubernetes manifests in .* are not valid/);
    expect(r.stderr).toMatch(message);
  });
  it("lists every problem of every file at once", async () => {
    const r = await runCli(["k8s", "list", "--dir", dirWith(policy("  podSelector: {}\n  policyTypes: [ingress]\n  ingress: [{ports: [{port: 0}]}]\n"))]);
    expect(r.stderr).toMatch(/\(2 problems\)/);
  });
  it("a directory that does not exist is bad input", async () => {
    const r = await runCli(["k8s", "list", "--dir", join(tmp, "nowhere")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dir: given ".*nowhere"; expected a directory of Kubernetes manifests/);
  });
  it("list without --dir, or an unknown action, is a usage error", async () => {
    expect((await runCli(["k8s", "list"])).code).toBe(2);
    const r = await runCli(["k8s", "show"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected list or diff, got "show"/);
  });
});

describe("palisade k8s list: semantics the fixtures do not spell out", () => {
  it("a Service without selector selects no pods, so its Ingress gives no {ingress-controller} line", async () => {
    const text = `${deployment("web", ", ports: [{containerPort: 80}]")}---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i}
spec: {defaultBackend: {service: {name: ext, port: {number: 80}}}}
`;
    const r = await runCli(["k8s", "list", "--dir", dirWith(text)]);
    expect(r.stdout).not.toMatch(/ingress-controller/);
    expect(r.stderr).toMatch(/Service default\/ext has no selector/);
  });
  it("with no policy, the ingress controller reaches the Service's target port (not the Service port)", async () => {
    const text = `${deployment("web")}---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}, {port: 443, targetPort: 8443, protocol: UDP}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i}
spec: {rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web}}}]}}]}
`;
    const r = await runCli(["k8s", "list", "--dir", dirWith(text)]);
    expect(r.stdout.split("\n")).toContain("{ingress-controller} => default/web[Deployment] : TCP 8080");
  });
  it("a policy of another namespace does not isolate a pod", async () => {
    const text = `${deployment("a")}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: other}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
`;
    const r = await runCli(["k8s", "list", "--dir", dirWith(text)]);
    expect(r.stdout.split("\n")).toEqual([
      "0.0.0.0-255.255.255.255[External] => default/a[Deployment] : All Connections",
      "default/a[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections",
    ]);
  });
});

describe("the listing's shortcuts agree with evaluating every pair", () => {
  // Seeded generator of small manifest sets: workloads in two namespaces, policies with random
  // selectors, ipBlocks (with excepts), named and numbered ports. The listing skips external ranges
  // no rule can admit; this compares it with PolicyEngine.allowed on every range and workload.
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const CASES = Number(process.env.K8S_DIFFERENTIAL_CASES ?? 150);
  it(`${CASES} generated manifest sets`, () => {
    for (let c = 0; c < CASES; c++) {
      const docs: object[] = [];
      const nss = ["a", "b"];
      for (let i = 0; i < 4; i++) {
        docs.push({ apiVersion: "v1", kind: "Pod", metadata: { name: `p${i}`, namespace: pick(nss), labels: { app: `p${i}`, tier: pick(["x", "y"]) } }, spec: { containers: [{ name: "c", ports: [{ name: "http", containerPort: 80 + i }] }] } });
      }
      const peer = () =>
        pick([
          () => ({ ipBlock: { cidr: pick(["10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0", "192.168.0.0/16"]), ...(rnd(2) ? { except: ["10.1.2.0/24"] } : {}) } }),
          () => ({ podSelector: { matchLabels: { tier: pick(["x", "y"]) } } }),
          () => ({ namespaceSelector: {} }),
        ])();
      const rule = (key: "from" | "to") => ({ ...(rnd(3) ? { [key]: [peer(), ...(rnd(2) ? [peer()] : [])] } : {}), ...(rnd(2) ? { ports: [pick([{ port: "http" }, { port: 80, endPort: 82 }, { protocol: "UDP" }])] } : {}) });
      for (let j = 0; j < 3; j++) {
        const types = pick([["Ingress"], ["Egress"], ["Ingress", "Egress"]]);
        docs.push({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: `n${j}`, namespace: pick(nss) },
          spec: { podSelector: pick([{}, { matchLabels: { tier: "x" } }]), policyTypes: types, ingress: rnd(2) ? [rule("from")] : [], egress: rnd(2) ? [rule("to")] : [] },
        });
      }
      const res = parseManifests("generated", [{ name: "g.yaml", text: docs.map((d) => JSON.stringify(d)).join("\n---\n") }]);
      const fast = connectivity(res).connections.map((x) => `${peerName(x.src)} => ${peerName(x.dst)} : ${x.conns}`);
      const engine = new PolicyEngine(res);
      const blocks = (dir: "ingress" | "egress") => res.policies.flatMap((p) => p[dir].flatMap((r) => (r.peers === "all" ? [] : r.peers.flatMap((x) => (x.kind === "ipBlock" ? [x.ranges] : [])))));
      const ep = (w: (typeof res.workloads)[number]) => ({ kind: "pod" as const, namespace: w.namespace, labels: w.labels, ports: w.ports });
      const slow: string[] = [];
      const line = (s: string, d: string, conns: ConnSet) => void (conns.isEmpty() || slow.push(`${s} => ${d} : ${conns}`));
      for (const w of res.workloads) {
        for (const v of res.workloads) if (w !== v) line(peerName({ kind: "workload", workload: w }), peerName({ kind: "workload", workload: v }), engine.allowed(ep(w), ep(v)));
        for (const range of disjointRanges(blocks("egress"))) line(peerName({ kind: "workload", workload: w }), peerName({ kind: "ip", range }), engine.allowed(ep(w), { kind: "ip", range }));
        for (const range of disjointRanges(blocks("ingress"))) line(peerName({ kind: "ip", range }), peerName({ kind: "workload", workload: w }), engine.allowed({ kind: "ip", range }, ep(w)));
      }
      expect(fast).toEqual(slow.sort((a, b) => (a.split(" : ")[0]! < b.split(" : ")[0]! ? -1 : 1)));
    }
  });
});
