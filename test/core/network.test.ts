import { describe, expect, it } from "vitest";
import { Host, IntentLedger, Network, Zone } from "../../core/index.js";

const host = (id = "cloud") => new Host({ id, zone: Zone.CLOUD, addresses: [], dockerHost: "ssh://deploy@10.77.0.2" }, new IntentLedger());

describe("Network", () => {
  it("GIVEN a network WHEN addresses are allocated THEN they start at .10 and follow declaration order", () => {
    const n = new Network({ id: "data", host: host(), subnet: "172.20.3.0/24" });
    expect([n.allocate(), n.allocate(), n.allocate()]).toEqual(["172.20.3.10", "172.20.3.11", "172.20.3.12"]);
  });

  it("GIVEN two networks built the same way WHEN allocated in the same order THEN they hand out the same addresses (stable between plans)", () => {
    const run = () => {
      const n = new Network({ id: "api", host: host(), subnet: "172.20.2.0/24" });
      return ["frontend", "api", "ingress"].map(() => n.allocate());
    };
    expect(run()).toEqual(run());
  });

  it("GIVEN two networks WHEN one allocates THEN the other's sequence is unaffected", () => {
    const h = host();
    const a = new Network({ id: "a", host: h, subnet: "172.20.1.0/24" });
    const b = new Network({ id: "b", host: h, subnet: "172.20.2.0/24" });
    a.allocate();
    a.allocate();
    expect(b.allocate()).toBe("172.20.2.10");
  });

  it("GIVEN a network WHEN its gateway is asked THEN it is the subnet's first host address, never an allocated one", () => {
    const n = new Network({ id: "web", host: host(), subnet: "172.20.1.0/24" });
    expect(n.gateway).toBe("172.20.1.1");
    expect(n.allocate()).not.toBe(n.gateway);
  });

  it("GIVEN a small subnet WHEN allocation runs past its end THEN it throws rather than leaving the subnet", () => {
    const n = new Network({ id: "tiny", host: host(), subnet: "172.20.9.0/28" });
    for (let i = 10; i < 16; i++) n.allocate();
    expect(() => n.allocate()).toThrow("172.20.9.0/28 has no host number 16");
  });

  it("GIVEN no internal flag WHEN built THEN the network is internal (no route out)", () => {
    expect(new Network({ id: "data", host: host(), subnet: "172.20.3.0/24" }).internal).toBe(true);
  });

  it("GIVEN internal: false without a reason WHEN built THEN it throws asking for the egress reason", () => {
    expect(() => new Network({ id: "egress", host: host(), subnet: "172.20.8.0/24", internal: false })).toThrow("network egress is not internal but gives no egressReason");
  });

  it("GIVEN internal: false with a reason WHEN built THEN it keeps the reason", () => {
    const n = new Network({ id: "egress", host: host(), subnet: "172.20.8.0/24", internal: false, egressReason: "ACME" });
    expect(n.internal).toBe(false);
    expect(n.egressReason).toBe("ACME");
  });

  it("GIVEN a network on host cloud WHEN its Docker name is asked THEN it is prefixed with the host", () => {
    expect(new Network({ id: "data", host: host("cloud"), subnet: "172.20.3.0/24" }).dockerName).toBe("cloud-data");
  });
});
