import { describe, expect, it } from "vitest";
import { addressingProblems, type AddressedAttachment, type AddressedNetwork } from "../../policies/verifier/docker-addressing.js";

/* How Docker places a stack's networks and fixed addresses: each rule named, with a clean case beside it. */

const net = (name: string, subnet: string, gateway = ""): AddressedNetwork => ({ name, subnet, gateway, subnetAt: [name, "subnet"], gatewayAt: [name, "gateway"] });
const at = (container: string, network: string, ipv4: string): AddressedAttachment => ({ container, network, ipv4, at: [container, network] });
const messages = (n: AddressedNetwork[], a: AddressedAttachment[]) => addressingProblems(n, a).map((p) => `${p.pointer.join("/")}: ${p.message}`);

describe("Docker addressing as the engine applies it", () => {
  const a = net("a", "10.1.0.0/24", "10.1.0.1");
  const b = net("b", "10.2.0.0/24", "10.2.0.1");

  it("GIVEN disjoint subnets, gateways inside, distinct addresses WHEN checked THEN nothing is reported", () => {
    expect(messages([a, b], [at("x", "a", "10.1.0.10"), at("y", "a", "10.1.0.11"), at("x", "b", "10.2.0.10")])).toEqual([]);
  });

  it("GIVEN a network whose subnet lies inside another's WHEN checked THEN the second one's subnet is reported as an overlap", () => {
    expect(messages([a, net("c", "10.1.0.128/25")], [])).toEqual([expect.stringMatching(/^c\/subnet: .*overlaps network a's 10\.1\.0\.0\/24/)]);
  });

  it("GIVEN pools declared out of address order, one overlapping only a pool that itself overlapped WHEN checked THEN every overlap is reported, naming the first pool it overlaps", () => {
    const pools = [net("d", "10.4.0.0/24"), net("b", "10.2.0.0/24"), net("e", "10.2.0.0/15"), net("f", "10.3.0.128/25"), net("g", "10.5.0.0/24"), net("h", "10.0.0.0/8")];
    expect(messages(pools, [])).toEqual([expect.stringMatching(/^e\/subnet: .*overlaps network b's/), expect.stringMatching(/^f\/subnet: .*overlaps network e's/), expect.stringMatching(/^h\/subnet: .*overlaps network d's/)]);
  });

  it("GIVEN a thousand disjoint pools in scattered order WHEN checked THEN none is reported an overlap", () => {
    const pools = Array.from({ length: 1000 }, (_, i) => (i * 379) % 1000).map((k) => net(`n${k}`, `10.${k >> 2}.${(k & 3) * 64}.0/26`));
    expect(messages(pools, [])).toEqual([]);
  });

  it("GIVEN a gateway outside the subnet WHEN checked THEN the gateway's place is reported", () => {
    expect(messages([net("a", "10.1.0.0/24", "10.9.0.1")], [])).toEqual([expect.stringMatching(/^a\/gateway: .*gateway 10\.9\.0\.1 outside its subnet/)]);
  });

  it("GIVEN a subnet that is not an IPv4 CIDR WHEN checked THEN it is reported, and its attachments are not judged against it", () => {
    expect(messages([net("a", "10.1.0.0")], [at("x", "a", "10.1.0.10")])).toEqual([expect.stringMatching(/^a\/subnet: .*not an IPv4 CIDR/)]);
  });

  it("GIVEN an address outside, the gateway's, or one taken twice WHEN checked THEN each is reported at its attachment", () => {
    expect(messages([a], [at("x", "a", "10.1.1.10"), at("y", "a", "10.1.0.1"), at("z", "a", "10.1.0.20"), at("w", "a", "10.1.0.20")])).toEqual([
      expect.stringMatching(/^x\/a: .*outside a's subnet/),
      expect.stringMatching(/^y\/a: .*the gateway of a/),
      expect.stringMatching(/^w\/a: .*which z has already/),
    ]);
  });

  it("GIVEN the same address on two different networks WHEN checked THEN it is not a clash", () => {
    expect(messages([a, net("b", "10.2.0.0/24")], [at("x", "a", "10.1.0.10"), at("y", "b", "10.1.0.10")])).toEqual([expect.stringMatching(/^y\/b: .*outside b's subnet/)]);
  });

  it("GIVEN a network the stack does not declare (the default bridge) WHEN attached THEN it is refused, with or without an address", () => {
    expect(messages([a], [at("x", "bridge", "172.17.0.5"), at("y", "bridge", "")])).toEqual([expect.stringMatching(/^x\/bridge: .*attaches network bridge, which this stack does not declare/), expect.stringMatching(/^y\/bridge: .*does not declare/)]);
  });

  it("GIVEN a fixed address on a network without a configured subnet WHEN checked THEN Docker's refusal is reported", () => {
    expect(messages([net("a", "")], [at("x", "a", "10.1.0.10")])).toEqual([expect.stringMatching(/fixed address 10\.1\.0\.10 on a, which configures no subnet/)]);
  });
});
