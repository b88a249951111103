import { describe, expect, it } from "vitest";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut, editJson, tfContainer, verifyDirInProcess } from "./support.js";

const planned = await planOnce();
const report = verifyDirInProcess(planned.dir);

describe("declared exceptions in the report, read back from the engine output", () => {
  it.each(["edge-proxy", "edge-dns", "edge-mail", "edge-ips", "failover"])("GIVEN the reference plan WHEN verified THEN %s's host networking is listed with its reason", (service) => {
    const e = report.exceptions.find((x) => x.subject === service && x.kind === "host-network");
    expect(e?.reason.length).toBeGreaterThan(20);
    expect(e?.reason).not.toBe("(no reason declared)");
  });

  it("GIVEN the reference plan WHEN verified THEN no cloud application container is an exception to host networking or root", () => {
    const apps = ["frontend", "api", "postgres", "openbao", "gitea", "gitea-db", "blog", "ingress"];
    expect(report.exceptions.filter((e) => apps.includes(e.subject) && e.kind !== "capability")).toEqual([]);
  });

  it("GIVEN the reference plan WHEN verified THEN only the ACME client's network masquerades to the internet", () => {
    const egress = report.exceptions.filter((e) => e.kind === "egress-network" && e.detail.includes("masquerade on"));
    expect(egress.map((e) => e.subject)).toEqual(["cloud-acme-egress"]);
  });

  it("GIVEN host networking without its reason label WHEN verified THEN the exception says so and the guardrail fails the run", () => {
    const dir = copyOut(planned.dir, "exceptions");
    editJson(dir, "cdktf/stacks/edge/cdk.tf.json", (j) => {
      const c = tfContainer(j, "edge-edge-proxy");
      c.labels = c.labels.filter((l: { label: string }) => l.label !== "palisade.host-network-reason");
    });
    const r = verifyDirInProcess(dir);
    expect(r.exceptions.find((e) => e.subject === "edge-proxy" && e.kind === "host-network")?.reason).toBe("(no reason declared)");
    expect(r.guardrails.some((g) => g.rule === "host-namespace" && g.subject.includes("edge-proxy"))).toBe(true);
    expect(r.summary.verdict).toBe("fail");
  });
});
