import { describe, expect, it } from "vitest";
import { cidr4Contains, loadSite, tunnelAddresses } from "../../core/index.js";
import { HARDENING } from "../../cluster/index.js";
import { commandHealthcheck, httpHealthcheck } from "../../cluster/hardening.js";
import { buildTopology } from "../../stacks/platform.js";
import { REFERENCE_SITE } from "../helpers/paths.js";
import { oneSiteFiles } from "../policies/planned-sites.js";
import { siteFacts } from "../policies/site-facts.js";

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

describe.each(oneSiteFiles())("the private cloud's declared services and networks of %s", ({ file }) => {
  const site = loadSite(file);
  const f = siteFacts(file);
  const t = f.topology;
  const cloudServices = t.servicesOn("cloud");
  const cloudNets = t.networksOn("cloud");
  const members = (netId: string) => cloudServices.filter((s) => s.addresses.has(netId)).map((s) => s.id).sort();
  const shareANetwork = (a: string, b: string) => [...t.service(a).addresses.keys()].some((n) => t.service(b).addresses.has(n));

  it("GIVEN the site WHEN declared THEN every non-internal cloud network carries its egress reason, and the ingress's and the ACME egress are among them", () => {
    expect(cloudNets.filter((n) => !n.internal).map((n) => n.id)).toEqual(expect.arrayContaining(["acme-egress", "ingress"]));
    for (const n of cloudNets.filter((n) => !n.internal)) expect(n.egressReason?.length ?? 0, n.id).toBeGreaterThan(10);
  });

  it("GIVEN the cloud networks WHEN read THEN only the ACME client's egress network masquerades (the only route to the internet)", () => {
    expect(cloudNets.filter((n) => n.masquerade).map((n) => n.id)).toEqual(["acme-egress"]);
  });

  it("GIVEN the non-internal networks WHEN their members are listed THEN each carries exactly the one service it exists for", () => {
    for (const n of cloudNets.filter((n) => !n.internal)) expect(members(n.id), n.id).toHaveLength(1);
    expect(members("acme-egress")).toEqual(["acme"]);
    expect(members("ingress")).toEqual(["ingress"]);
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
    expect(seen.size).toBeGreaterThanOrEqual(f.containers.length);
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

  it("GIVEN every must-never pair of two containers WHEN their networks are compared THEN they share none (the Docker-network layer)", () => {
    expect(f.containerNevers.filter(([a, b]) => shareANetwork(a.id, b.id)).map(([a, b]) => `${a.id} -> ${b.id}`)).toEqual([]);
  });

  it("GIVEN every intended flow between two containers WHEN their networks are compared THEN they share one", () => {
    expect(f.containerFlows.length).toBeGreaterThan(0);
    expect(f.containerFlows.filter((x) => !shareANetwork(x.from.id, x.to.id)).map((x) => `${x.from.id} -> ${x.to.id}`)).toEqual([]);
  });
});

describe("the reference snapshot: its must-never pairs and flows by name", () => {
  const t = buildTopology(loadSite(REFERENCE_SITE));
  const shareANetwork = (a: string, b: string) => [...t.service(a).addresses.keys()].some((n) => t.service(b).addresses.has(n));
  it("GIVEN the reference WHEN declared THEN its non-internal networks are the ingress's, the ACME egress and the api's mail route", () => {
    expect(t.networksOn("cloud").filter((n) => !n.internal).map((n) => n.id).sort()).toEqual(["acme-egress", "api-egress", "ingress"]);
  });
  it("GIVEN the reference's frontend, blog and gitea WHEN compared with postgres and openbao THEN they share no network, and the frontend shares one with the api", () => {
    for (const [a, b] of [["frontend", "postgres"], ["blog", "api"], ["gitea", "openbao"]] as const) expect(shareANetwork(a, b), `${a} ${b}`).toBe(false);
    expect(shareANetwork("frontend", "api")).toBe(true);
  });
});
