import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseIntent } from "../../policies/intent.js";
import { runCli } from "../helpers/cli.js";
import { planOnce } from "../helpers/plan-once.js";
import { verifyDirInProcess } from "./support.js";

const planned = await planOnce();
const intent = parseIntent(planned.text("intent.json"));
const report = verifyDirInProcess(planned.dir);

describe("the verifier on the reference plan", () => {
  it("GIVEN the internet's HTTPS to the edge WHEN its exposure is explained THEN each SNI leads only to the ingress routes for that same host", () => {
    const chain = report.exposed.find((e) => e.line === "internet => edge-proxy : tcp/443")!.chain.map((c) => c.trim());
    const afterApp = chain.slice(chain.findIndex((c) => c.includes("sni app.example.com")) + 1, chain.findIndex((c) => c.includes("sni blog.example.com")));
    expect(afterApp.map((c) => c.split(" -[")[1]!.split("]-> ")[1]!.split(" ")[0])).toEqual(["api", "frontend"]);
    expect(chain.filter((c) => c.includes("-> gitea "))).toHaveLength(1);
  });

  it("GIVEN the reference plan WHEN verified from its artifacts THEN the verdict is pass with no violation and no mandatory guardrail", () => {
    expect(report.summary.verdict).toBe("pass");
    expect(report.findings.filter((f) => f.severity === "violation")).toEqual([]);
    expect(report.guardrails.filter((g) => g.level === "mandatory")).toEqual([]);
  });

  it("GIVEN the reference plan WHEN planned THEN the report files are written next to the artifacts", () => {
    for (const f of ["index.html", "segmentation.md", "matrix.csv", "graph.svg", "report.json", "findings.sarif", "junit.xml"]) {
      expect(readFileSync(join(planned.dir, "report", f), "utf8").length).toBeGreaterThan(100);
    }
    expect(planned.result.stdout).toMatch(/^verify: PASS/m);
  });

  it.each(intent.flows.map((f) => [`${f.from} => ${f.to} : ${f.port}`] as const))("GIVEN the intended flow %s WHEN derived from the artifacts THEN it is allowed", (line) => {
    const flow = report.flows.find((f) => f.line === line);
    expect(flow?.verdict).toBe("allowed");
    expect(flow?.intended).toBe(true);
    expect(flow?.layers.every((l) => l.verdict === "allow")).toBe(true);
  });

  it.each(intent.nevers.map((n) => [`${n.from} => ${n.to}`, n.from, n.to] as const))("GIVEN the must-never pair %s WHEN derived THEN it is blocked by at least two layers, or said to be impossible with the reason", (_pair, from, to) => {
    const never = report.nevers.find((n) => n.source === from && n.destination === to)!;
    if (never.status === "impossible") {
      expect(never.portsTried).toEqual([]);
      expect(never.impossible).toMatch(/listens on no port|host networking|in no artifact/);
    } else {
      expect(never.status).toBe("blocked");
      expect(never.layers.length).toBeGreaterThanOrEqual(2);
    }
    expect(report.flows.some((f) => f.source === from && f.destination === to && f.verdict === "allowed")).toBe(false);
  });

  it("GIVEN the reference plan WHEN verified THEN every allowed flow is intended (no unexpected exposure)", () => {
    expect(report.flows.filter((f) => f.verdict === "allowed" && !f.intended).map((f) => f.line)).toEqual([]);
  });

  it("GIVEN the reference plan WHEN verified twice THEN report.json is byte-identical and has no timestamp", () => {
    const again = verifyDirInProcess(planned.dir);
    expect(JSON.stringify(again)).toBe(JSON.stringify(report));
    expect(planned.text("report/report.json")).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
  });

  it("GIVEN the reference plan WHEN verified THEN the flows of report.json match the snapshot", () => {
    expect(report.flows.map((f) => `${f.line} [${f.verdict}${f.intended ? ", intended" : ""}] ${f.layers.map((l) => `${l.layer}:${l.verdict}`).join(" ")}`)).toMatchSnapshot();
  });

  it("GIVEN the reference plan WHEN planned THEN segmentation.md matches the snapshot", async () => {
    // The provenance hashes change with every byte of every artifact: masked, so that the snapshot
    // follows what the report says, not each renderer's change (provenance has its own tests).
    await expect(planned.text("report/segmentation.md").replace(/\b[0-9a-f]{64}\b/g, "<sha256>")).toMatchFileSnapshot("__snapshots__/segmentation.md");
  });

  it("GIVEN the Pulumi capture and the cdktf output WHEN both verified THEN no engine drift is reported", () => {
    expect(report.engines).toEqual(["cdktf", "pulumi"]);
    expect(report.findings.filter((f) => f.kind === "engine-drift")).toEqual([]);
  });

  it("GIVEN the planned directory WHEN palisade verify runs THEN it exits 0 and prints a pass verdict", async () => {
    const r = await runCli(["verify", "--out", planned.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^verify: PASS/m);
  });
});
