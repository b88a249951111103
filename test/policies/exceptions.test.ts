import { describe, expect, it } from "vitest";
import { dockerSiteFiles, planSite } from "./planned-sites.js";
import { plannedReport, siteFacts } from "./site-facts.js";
import { copyOut, editJson, tfContainer, verifyDirInProcess } from "./support.js";

/* Declared exceptions in the report, read back from the engine output, on every example. */

const sites: { name: string; dir: string; facts: ReturnType<typeof siteFacts> }[] = [];
for (const s of dockerSiteFiles()) sites.push({ name: s.name, dir: await planSite(s.file), facts: siteFacts(s.file) });

describe.each(sites)("declared exceptions in the report of $name, read back from the engine output", ({ dir, facts }) => {
  const report = plannedReport(dir);
  const hostNetworked = [...facts.topology.services.values()].filter((s) => s.props.hostNetwork).map((s) => s.id).sort();

  it("GIVEN the site WHEN its host-networked services are listed THEN there are some (the edge daemons, the failover agent)", () => {
    expect(hostNetworked).toEqual(expect.arrayContaining(["edge-proxy", "failover"]));
  });

  it.each(hostNetworked)("GIVEN the plan WHEN verified THEN %s's host networking is listed with its reason", (service) => {
    const e = report.exceptions.find((x) => x.subject === service && x.kind === "host-network");
    expect(e?.reason.length).toBeGreaterThan(20);
    expect(e?.reason).not.toBe("(no reason declared)");
  });

  it("GIVEN the plan WHEN verified THEN no cloud container is an exception to host networking or root", () => {
    const containers = facts.containers.map((c) => c.id);
    expect(report.exceptions.filter((e) => containers.includes(e.subject) && e.kind !== "capability")).toEqual([]);
  });

  it("GIVEN the plan WHEN verified THEN only the ACME client's network masquerades to the internet", () => {
    const egress = report.exceptions.filter((e) => e.kind === "egress-network" && e.detail.includes("masquerade on"));
    expect(egress.map((e) => e.subject)).toEqual(["cloud-acme-egress"]);
  });

  it("GIVEN host networking without its reason label WHEN verified THEN the exception says so and the guardrail fails the run", () => {
    const out = copyOut(dir, "exceptions");
    editJson(out, "cdktf/stacks/edge/cdk.tf.json", (j) => {
      const c = tfContainer(j, "edge-edge-proxy");
      c.labels = c.labels.filter((l: { label: string }) => l.label !== "palisade.host-network-reason");
    });
    const r = verifyDirInProcess(out);
    expect(r.exceptions.find((e) => e.subject === "edge-proxy" && e.kind === "host-network")?.reason).toBe("(no reason declared)");
    expect(r.guardrails.some((g) => g.rule === "host-namespace" && g.subject.includes("edge-proxy"))).toBe(true);
    expect(r.summary.verdict).toBe("fail");
  });
});
