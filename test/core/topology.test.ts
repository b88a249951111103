import { describe, expect, it } from "vitest";
import { Port, Topology, Zone, type ServiceProps } from "../../core/index.js";
import { parseSite } from "../../core/index.js";
import { referenceText } from "../helpers/sites.js";

const site = parseSite(referenceText);
const healthcheck = { test: ["CMD", "true"], intervalS: 30, timeoutS: 5, retries: 3 };

function base() {
  const t = new Topology(site);
  const cloud = t.addHost({ id: "cloud", zone: Zone.CLOUD, addresses: [], dockerHost: "ssh://deploy@10.77.0.2" });
  const edge = t.addHost({ id: "edge", zone: Zone.EDGE, addresses: [], dockerHost: "ssh://deploy@203.0.113.10" });
  const svc = (props: Partial<ServiceProps> & { id: string }): ServiceProps => ({
    host: cloud,
    image: { image: "x:1" },
    listens: [Port.tcp(80)],
    memoryMb: 64,
    healthcheck,
    description: props.id,
    ...props,
  });
  return { t, cloud, edge, svc };
}

describe("Topology", () => {
  it("GIVEN a host id already used WHEN added again THEN it throws naming the id", () => {
    const { t } = base();
    expect(() => t.addHost({ id: "cloud", zone: Zone.CLOUD, addresses: [], dockerHost: "ssh://x@y" })).toThrow("duplicate id cloud");
  });

  it("GIVEN a service id already used WHEN added again THEN it throws naming the id", () => {
    const { t, svc } = base();
    t.addService(svc({ id: "api" }));
    expect(() => t.addService(svc({ id: "api" }))).toThrow("duplicate id api");
  });

  it("GIVEN a network id already used on a host WHEN added again THEN it throws, but the same id on another host is fine", () => {
    const { t, cloud, edge } = base();
    t.addNetwork({ id: "data", host: cloud, subnet: "172.20.3.0/24" });
    expect(() => t.addNetwork({ id: "data", host: cloud, subnet: "172.20.4.0/24" })).toThrow("duplicate id cloud/data");
    expect(t.addNetwork({ id: "data", host: edge, subnet: "172.30.3.0/24" }).dockerName).toBe("edge-data");
  });

  it("GIVEN a daemon or address peer id already used WHEN added again THEN it throws", () => {
    const { t, edge } = base();
    t.addDaemon(edge, "sshd");
    expect(() => t.addDaemon(edge, "sshd")).toThrow("duplicate id edge:sshd");
    t.addAddressPeer("internet", Zone.INTERNET, ["0.0.0.0/0"]);
    expect(() => t.addAddressPeer("internet", Zone.INTERNET, ["::/0"])).toThrow("duplicate id internet");
  });

  it("GIVEN an unknown id WHEN looked up THEN it throws naming the kind and the id", () => {
    const { t } = base();
    expect(() => t.service("nope")).toThrow("no service named nope");
    expect(() => t.network("cloud", "nope")).toThrow("no network named cloud/nope");
    expect(() => t.peer("nope")).toThrow("no peer named nope");
  });

  it("GIVEN services joining a network WHEN added THEN each gets the next static address in declaration order", () => {
    const { t, cloud, svc } = base();
    const data = t.addNetwork({ id: "data", host: cloud, subnet: "172.20.3.0/24" });
    const pg = t.addService(svc({ id: "postgres", networks: [data] }));
    const api = t.addService(svc({ id: "api", networks: [data] }));
    expect(pg.addresses.get("data")).toBe("172.20.3.10");
    expect(api.addresses.get("data")).toBe("172.20.3.11");
  });

  it("GIVEN a service on one host WHEN it joins another host's network THEN it throws", () => {
    const { t, edge, svc } = base();
    const edgeNet = t.addNetwork({ id: "x", host: edge, subnet: "172.30.0.0/24" });
    expect(() => t.addService(svc({ id: "api", networks: [edgeNet] }))).toThrow("service api cannot join x: it lives on another host");
  });

  it("GIVEN a service running as root WHEN it gives no reason THEN it throws; with a reason it is accepted", () => {
    const { t, svc } = base();
    expect(() => t.addService(svc({ id: "a", user: "root" }))).toThrow("service a runs as root without rootReason");
    expect(() => t.addService(svc({ id: "b", user: "0" }))).toThrow("service b runs as root without rootReason");
    expect(() => t.addService(svc({ id: "b2", user: "0:0" }))).toThrow("service b2 runs as root without rootReason");
    expect(() => t.addService(svc({ id: "b3", user: "root:root" }))).toThrow("service b3 runs as root without rootReason");
    expect(t.addService(svc({ id: "c", user: "root", rootReason: "binds raw sockets" })).id).toBe("c");
  });

  it("GIVEN a uid that merely starts with 0 or root WHEN the service is added THEN it is not taken for root", () => {
    const { t, svc } = base();
    expect(t.addService(svc({ id: "a", user: "0100:0100" })).id).toBe("a");
    expect(t.addService(svc({ id: "b", user: "rootless:1000" })).id).toBe("b");
  });

  it("GIVEN host networking WHEN the service also joins a bridge network THEN it throws", () => {
    const { t, cloud, svc } = base();
    const web = t.addNetwork({ id: "web", host: cloud, subnet: "172.20.1.0/24" });
    expect(() => t.addService(svc({ id: "agent", hostNetwork: { reason: "routes" }, networks: [web] }))).toThrow(
      "service agent uses host networking and cannot also join bridge networks",
    );
  });

  it("GIVEN an image without a digest WHEN the service is added THEN a plan warning names the service and the fix; with a digest there is none", () => {
    const { t, svc } = base();
    t.addService(svc({ id: "api" }));
    t.addService(svc({ id: "pinned", image: { image: "x:1", digest: `sha256:${"a".repeat(64)}` } }));
    expect(t.warnings).toEqual([{ id: "image-digest", subject: "api", message: "image x:1 of api has no digest; pin it in images.api.digest" }]);
  });

  it("GIVEN services added in any order WHEN listed per host THEN they are sorted by id", () => {
    const { t, svc, edge } = base();
    for (const id of ["postgres", "api", "blog"]) t.addService(svc({ id }));
    t.addService(svc({ id: "edge-proxy", host: edge }));
    expect(t.servicesOn("cloud").map((s) => s.id)).toEqual(["api", "blog", "postgres"]);
    expect(t.servicesOn("edge").map((s) => s.id)).toEqual(["edge-proxy"]);
  });
});
