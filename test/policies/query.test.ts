import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { planOnce, type PlannedOutput } from "../helpers/plan-once.js";
import type { FlowRecord, NeverRecord, Report } from "../../policies/verifier/index.js";
import { siteFiles } from "./planned-sites.js";
import { verifyDirInProcess } from "./support.js";
import { queryPair, siteModelOf, type QueryAnswer } from "../../policies/verifier/index.js";
import { readArtifacts } from "../../stacks/output.js";

/* palisade query on every example, over whatever the planned site declares: the report's own flows and pairs pick the cases. */

/**
 * Every example (Docker clouds of one site or several, Kubernetes clusters), planned once, with the
 * cases its own report picks.
 */
// One after the other: plans run in this process, and two Pulumi captures at once share the SDK's state.
const sites: { name: string; planned: PlannedOutput; report: Report; allowed: FlowRecord; never: NeverRecord }[] = [];
for (const s of siteFiles()) {
  const planned = await planOnce(s.file);
  const report = verifyDirInProcess(planned.dir);
  const allowed = report.flows.find((f) => f.intended && f.verdict === "allowed" && f.layers.some((l) => l.line))!;
  const never = report.nevers.find((n) => n.status === "blocked" && (n.weakest || n.layers.some((l) => l.startsWith("networkpolicy:"))))!;
  sites.push({ name: s.name, planned, report, allowed, never });
}

/** The answer's first port as the matrix writes a row's layers. */
function rowOf(a: QueryAnswer): { verdict: string; via?: string; layers: string[] } {
  const p = a.ports[0]!;
  return { verdict: p.verdict, ...(p.via ? { via: p.via } : {}), layers: p.steps.map((st) => `${st.layer} ${st.verdict} ${st.artifact}${st.line ? `:${st.line}` : ""}`) };
}

const pods = (r: Report) => new Set((r.peers ?? []).filter((p) => p.kind === "pod").map((p) => p.id));

describe.each(sites)("palisade query agrees with the verifier on $name", ({ planned, report }) => {
  const { site, clusters } = siteModelOf(readArtifacts(planned.dir).filter((a) => !a.path.startsWith("report/")));

  it("GIVEN every (source, destination, port) of the report's matrix WHEN queried THEN the verdict, the deciding path and each layer's artifact and line are the matrix row's", () => {
    expect(report.matrix!.length).toBeGreaterThan(0);
    const disagree = report.matrix!.filter((m) => {
      const got = rowOf(queryPair(site, m.source, m.destination, { protocol: m.protocol, port: m.port }, clusters));
      return JSON.stringify(got) !== JSON.stringify({ verdict: m.verdict, ...(m.via ? { via: m.via } : {}), layers: m.layers });
    });
    expect(disagree.map((m) => `${m.source} => ${m.destination} : ${m.protocol}/${m.port}`)).toEqual([]);
  });

  it("GIVEN a matrix row standing for several ports (port to to) WHEN its last port and ports inside it are queried THEN each answers as the row: one evaluation stands for them all", () => {
    const grouped = report.matrix!.filter((m) => m.to !== undefined);
    if (report.peers?.some((p) => p.kind === "container")) expect(grouped.length).toBeGreaterThan(0);
    const disagree = grouped.filter((m) =>
      [...new Set([m.to!, m.port + 1, Math.floor((m.port + m.to!) / 2)])].some((port) => {
        const got = rowOf(queryPair(site, m.source, m.destination, { protocol: m.protocol, port }, clusters));
        return JSON.stringify(got) !== JSON.stringify({ verdict: m.verdict, ...(m.via ? { via: m.via } : {}), layers: m.layers });
      }),
    );
    expect(disagree.map((m) => `${m.source} => ${m.destination} : ${m.protocol}/${m.port}-${m.to}`)).toEqual([]);
  });

  it("GIVEN every flow of the report WHEN queried on its port THEN the verdict is the report's, and an intended allowed flow's trace is its layers", () => {
    const wrong = report.flows.filter((f) => {
      const a = queryPair(site, f.source, f.destination, { protocol: f.protocol, port: f.port }, clusters);
      if (a.verdict !== f.verdict) return true;
      return f.layers.length > 0 && JSON.stringify(a.ports[0]!.steps) !== JSON.stringify(f.layers);
    });
    expect(wrong.map((f) => f.line)).toEqual([]);
  });

  it("GIVEN every must-never pair the report counts as blocked WHEN queried on every port its destination listens on THEN each is denied and each blocking layer says DENY", () => {
    const blocked = report.nevers.filter((n) => n.status === "blocked");
    expect(blocked.length).toBeGreaterThan(0);
    const open = blocked.filter((n) => {
      const a = queryPair(site, n.source, n.destination, undefined, clusters);
      return a.verdict !== "denied" || a.ports.some((p) => n.layers.some((l) => !p.steps.some((st) => st.layer === l && st.verdict === "deny")));
    });
    expect(open.map((n) => `${n.source} => ${n.destination}`)).toEqual([]);
  });

  it("GIVEN the report's peers WHEN each is asked as a source THEN query knows it (no unknown peer), pods of a cluster included", () => {
    const unknown = (report.peers ?? []).filter((p) => {
      try {
        queryPair(site, p.id, "internet", { protocol: "tcp", port: 443 }, clusters);
        return false;
      } catch {
        return true;
      }
    });
    expect(unknown.map((p) => p.id)).toEqual([]);
    // Every service of the intent is a peer of the report: a pod of a cluster, a container, or the node's own agent.
    const ids = new Set((report.peers ?? []).map((p) => p.id));
    const kubeSite = clusters.length > 0;
    expect(kubeSite).toBe(pods(report).size > 0);
    for (const f of report.flows) {
      expect(ids.has(f.source) || !kubeSite).toBe(true);
      expect(ids.has(f.destination) || !kubeSite).toBe(true);
    }
  });
});

describe.each(sites)("palisade query on $name", ({ planned, report, allowed, never }) => {
  it("GIVEN an intended flow WHEN queried with its port THEN it exits 0 with a trace of every layer, each with its artifact and the cited line", async () => {
    const r = await runCli(["query", allowed.source, allowed.destination, `${allowed.protocol}/${allowed.port}`, "--out", planned.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${allowed.source} => ${allowed.destination}: ALLOWED`, "m"));
    for (const step of allowed.layers) expect(r.stdout).toContain(`${step.layer} ALLOW  ${step.artifact}${step.line ? `:${step.line}` : ""}`);
  });

  it("GIVEN a must-never pair WHEN queried without a port THEN it exits 1, tries every port the destination listens on and shows the blocking layers", async () => {
    const r = await runCli(["query", never.source, never.destination, "--out", planned.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/: DENIED/);
    for (const layer of never.layers) expect(r.stdout).toContain(`${layer} DENY`);
  });

  it("GIVEN a pod of a Kubernetes cluster (when the site runs one) WHEN an intended flow to or from it is queried THEN it exits 0 with each NetworkPolicy and the node firewall, each at its artifact and line", async () => {
    const inPods = pods(report);
    const flow = report.flows.find((f) => f.intended && f.verdict === "allowed" && (inPods.has(f.source) || inPods.has(f.destination)));
    if (!inPods.size) return expect(flow).toBeUndefined();
    expect(flow).toBeDefined();
    const r = await runCli(["query", flow!.source, flow!.destination, `${flow!.protocol}/${flow!.port}`, "--out", planned.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${flow!.source} => ${flow!.destination}: ALLOWED`, "m"));
    expect(flow!.layers.length).toBeGreaterThan(0);
    for (const step of flow!.layers) expect(r.stdout).toContain(`${step.layer} ALLOW  ${step.artifact}${step.line ? `:${step.line}` : ""}  ${step.construct}`);
    expect(flow!.layers.some((l) => l.layer.startsWith("networkpolicy:") && l.line)).toBe(true);
  });

  it("GIVEN a pod of a Kubernetes cluster WHEN a must-never pair of it is queried without a port THEN it exits 1 and every blocking layer says DENY with its artifact", async () => {
    const inPods = pods(report);
    const n = report.nevers.find((x) => x.status === "blocked" && (inPods.has(x.source) || inPods.has(x.destination)));
    if (!inPods.size) return expect(n).toBeUndefined();
    const r = await runCli(["query", n!.source, n!.destination, "--out", planned.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^${n!.source} => ${n!.destination}: DENIED`, "m"));
    for (const layer of n!.layers) expect(r.stdout).toContain(`${layer} DENY  `);
  });

  it("GIVEN an unknown destination next to a pod WHEN queried THEN it exits 2 naming the value given, the peers known (pods included) and the fix", async () => {
    const peer = [...pods(report)][0] ?? allowed.source;
    const r = await runCli(["query", peer, "no-such-peer", "--out", planned.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown destination "no-such-peer"');
    for (const p of report.peers ?? []) if (p.kind === "pod") expect(r.stderr).toContain(p.id);
    expect(r.stderr).toContain("give one of those");
    expect(r.stdout).toBe("");
  });

  it("GIVEN a service the intent places on a cluster's node but no pod runs (the node's own agent) WHEN queried THEN it exits 2 saying it is the node's, and which peer to ask for", async () => {
    const { clusters } = siteModelOf(readArtifacts(planned.dir).filter((a) => !a.path.startsWith("report/")));
    const agents = clusters.flatMap((c) => c.nodeAgents.map((id) => ({ id, node: c.stack })));
    if (!clusters.length) return expect(agents).toEqual([]);
    expect(agents.length).toBeGreaterThan(0);
    for (const a of agents) {
      const r = await runCli(["query", allowed.source, a.id, "--out", planned.dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`destination "${a.id}" is no pod of the cluster ${a.node}`);
      expect(r.stderr).toContain(`palisade query SRC ${a.node}`);
      expect(report.peers!.some((p) => p.id === a.node)).toBe(true);
    }
  });

  it("GIVEN a bare port number WHEN queried THEN it is read as TCP", async () => {
    const tcp = report.flows.find((f) => f.protocol === "tcp" && f.verdict === "allowed")!;
    const r = await runCli(["query", tcp.source, tcp.destination, String(tcp.port), "--out", planned.dir]);
    expect(r.stdout).toContain(`: tcp/${tcp.port}: allowed`);
  });

  it("GIVEN an unknown peer WHEN queried THEN it exits 2 and lists the peers it knows", async () => {
    const r = await runCli(["query", "no-such-peer", allowed.destination, "--out", planned.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown source "no-such-peer"');
    expect(r.stderr).toContain(allowed.destination);
  });

  it("GIVEN a malformed port WHEN queried THEN it exits 2 saying what a port looks like", async () => {
    const r = await runCli(["query", allowed.source, allowed.destination, "tcp/99999", "--out", planned.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("tcp/N");
  });

  it("GIVEN --from and --to WHEN asked THEN each lists exactly the report's flows out of and into the peer", async () => {
    const from = await runCli(["query", "--from", allowed.source, "--out", planned.dir]);
    const to = await runCli(["query", "--to", allowed.destination, "--out", planned.dir]);
    expect(from.code).toBe(0);
    expect(to.code).toBe(0);
    const out = report.flows.filter((f) => f.verdict !== "denied" && f.source === allowed.source).map((f) => f.line);
    const into = report.flows.filter((f) => f.verdict !== "denied" && f.destination === allowed.destination).map((f) => f.line);
    expect(from.stdout.split("\n").slice(1).map((l) => l.trim().split("  [")[0])).toEqual(out);
    expect(to.stdout.split("\n").slice(1).map((l) => l.trim().split("  [")[0])).toEqual(into);
  });

});

describe("palisade --help", () => {
  it("GIVEN palisade --help WHEN printed THEN query is listed", async () => {
    expect((await runCli(["--help"])).stdout).toMatch(/^\s+query\s+/m);
  });
});
