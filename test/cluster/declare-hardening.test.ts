import { describe, expect, it } from "vitest";
import { cidr4Contains, loadSite, tunnelAddresses } from "../../core/index.js";
import { HARDENING } from "../../cluster/index.js";
import { commandHealthcheck, httpHealthcheck } from "../../cluster/hardening.js";
import { buildTopology } from "../../stacks/platform.js";
import { REFERENCE_SITE } from "../helpers/paths.js";

const site = loadSite(REFERENCE_SITE);
const t = buildTopology(site);
const cloudServices = t.servicesOn("cloud");
const cloudNets = t.networksOn("cloud");
const members = (netId: string) => cloudServices.filter((s) => s.addresses.has(netId)).map((s) => s.id).sort();
const shareANetwork = (a: string, b: string) => [...t.service(a).addresses.keys()].some((n) => t.service(b).addresses.has(n));

describe("the hardening defaults", () => {
  it("GIVEN HARDENING WHEN read THEN it drops every capability, forbids new privileges, keeps the root filesystem read-only and is never privileged", () => {
    expect(HARDENING.capDrop).toEqual(["ALL"]);
    expect(HARDENING.securityOpt).toEqual(["no-new-privileges:true"]);
    expect(HARDENING.readOnlyRootfs).toBe(true);
    expect(HARDENING.privileged).toBe(false);
  });

  it("GIVEN HARDENING WHEN read THEN the default user is nobody (not root), with a pids limit and a restart policy", () => {
    expect(HARDENING.defaultUser).toBe("65534:65534");
    expect(HARDENING.defaultPidsLimit).toBeGreaterThan(0);
    expect(HARDENING.restart).toBe("unless-stopped");
  });

  it("GIVEN the health check helpers WHEN used THEN they build exec-form CMD checks with bounded timing", () => {
    expect(httpHealthcheck("http://127.0.0.1:8080/healthz")).toEqual({ test: ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/healthz"], intervalS: 30, timeoutS: 5, retries: 3 });
    expect(commandHealthcheck("pg_isready", "-U", "postgres").test).toEqual(["CMD", "pg_isready", "-U", "postgres"]);
  });
});

describe("the private cloud's declared services and networks", () => {
  it("GIVEN the reference site WHEN declared THEN every cloud network is internal except the ingress's, the ACME egress and the api's mail route, each with a reason", () => {
    expect(cloudNets.filter((n) => !n.internal).map((n) => n.id).sort()).toEqual(["acme-egress", "api-egress", "ingress"]);
    for (const n of cloudNets.filter((n) => !n.internal)) expect(n.egressReason?.length ?? 0).toBeGreaterThan(10);
  });

  it("GIVEN the cloud networks WHEN read THEN only the ACME client's egress network masquerades (the only route to the internet)", () => {
    expect(cloudNets.filter((n) => n.masquerade).map((n) => n.id)).toEqual(["acme-egress"]);
  });

  it("GIVEN the non-internal networks WHEN their members are listed THEN each carries exactly the one service it exists for", () => {
    expect(members("acme-egress")).toEqual(["acme"]);
    expect(members("ingress")).toEqual(["ingress"]);
    expect(members("api-egress")).toEqual(["api"]);
  });

  it("GIVEN every cloud service WHEN its addresses are read THEN each lies in its network's subnet and no two services share one", () => {
    const seen = new Set<string>();
    for (const s of cloudServices) {
      for (const [netId, ip] of s.addresses) {
        expect(cidr4Contains(t.network("cloud", netId).subnet, ip), `${s.id} on ${netId}`).toBe(true);
        expect(seen.has(ip), `${ip} given twice`).toBe(false);
        seen.add(ip);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(15);
  });

  it("GIVEN the cloud services WHEN their published ports are read THEN only the ingress publishes, and only on the cloud's tunnel address", () => {
    const publishers = cloudServices.filter((s) => (s.props.publish ?? []).length > 0);
    expect(publishers.map((s) => s.id)).toEqual(["ingress"]);
    expect(publishers[0]!.props.publish!.map((p) => `${p.hostIp} ${p.port}`)).toEqual([`${tunnelAddresses(site).cloud4} tcp/80`, `${tunnelAddresses(site).cloud4} tcp/443`]);
  });

  it("GIVEN every service on every host WHEN read THEN each added capability has a reason, memory is bounded and a health check exists", () => {
    for (const s of [...t.services.values()]) {
      for (const c of s.props.capAdd ?? []) expect(c.reason.length, `${s.id} ${c.cap}`).toBeGreaterThan(10);
      expect(s.props.memoryMb, s.id).toBeGreaterThan(0);
      expect(s.props.healthcheck.test[0], s.id).toBe("CMD");
    }
  });

  it.each([
    ["frontend", "postgres"],
    ["frontend", "openbao"],
    ["blog", "api"],
    ["blog", "postgres"],
    ["blog", "openbao"],
    ["gitea", "postgres"],
    ["gitea", "openbao"],
    ["ingress", "postgres"],
    ["ingress", "openbao"],
  ])("GIVEN the must-never pair %s -> %s WHEN their networks are compared THEN they share none (the Docker-network layer)", (a, b) => {
    expect(shareANetwork(a, b)).toBe(false);
  });

  it.each([
    ["frontend", "api"],
    ["api", "postgres"],
    ["api", "openbao"],
    ["openbao", "postgres"],
    ["gitea", "gitea-db"],
    ["ingress", "acme"],
    ["ingress", "blog"],
  ])("GIVEN the intended flow %s -> %s WHEN their networks are compared THEN they share one", (a, b) => {
    expect(shareANetwork(a, b)).toBe(true);
  });
});
