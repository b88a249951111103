import { describe, expect, it } from "vitest";
import { cidr4Contains, cidr4Overlaps, hostInCidr4, hostInCidr6, intToIpv4, ipv4ToInt, isIpv6, parseCidr4 } from "../../core/index.js";

describe("IPv4 and CIDR helpers", () => {
  it.each([
    ["0.0.0.0", 0],
    ["0.0.0.1", 1],
    ["10.0.0.1", 0x0a000001],
    ["172.20.1.10", 0xac14010a],
    ["255.255.255.255", 0xffffffff],
  ])("GIVEN %s WHEN converted to an integer and back THEN it is %i and round-trips", (ip, n) => {
    expect(ipv4ToInt(ip)).toBe(n);
    expect(intToIpv4(n)).toBe(ip);
  });

  it.each(["256.0.0.1", "1.2.3", "1.2.3.4.5", "a.b.c.d", "", "1.2.3.-1", "1.2.3.4.", "::1", "1..3.4", "0x1.2.3.4", "1e2.0.0.1", " 1.2.3.4", "1.2.3.4 "])("GIVEN %j WHEN converted THEN it throws naming the text", (ip) => {
    expect(() => ipv4ToInt(ip)).toThrow(`not an IPv4 address: ${JSON.stringify(ip)}`);
  });

  it.each([
    ["172.20.1.0/24", 0xac140100, 24],
    ["172.20.1.77/24", 0xac140100, 24],
    ["10.77.0.0/30", 0x0a4d0000, 30],
    ["0.0.0.0/0", 0, 0],
    ["203.0.113.10", 0xcb00710a, 32],
  ])("GIVEN %s WHEN parsed THEN its base (host bits cleared) and prefix are found", (cidr, base, bits) => {
    expect(parseCidr4(cidr)).toEqual({ base, bits });
  });

  it.each(["10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/x", "10.0.0/8", "2001:db8::/32"])(
    "GIVEN the malformed CIDR %j WHEN parsed THEN it throws instead of guessing a prefix",
    (cidr) => {
      expect(() => parseCidr4(cidr)).toThrow(/not an IPv4 (CIDR|address)/);
    },
  );

  it("GIVEN a CIDR with an empty prefix WHEN checked for containment THEN it is an error, not the whole internet", () => {
    expect(() => cidr4Contains("10.0.0.0/", "203.0.113.10")).toThrow('not an IPv4 CIDR: "10.0.0.0/"');
  });

  it.each([
    ["172.20.1.0/24", "172.20.1.0", true],
    ["172.20.1.0/24", "172.20.1.255", true],
    ["172.20.1.0/24", "172.20.2.0", false],
    ["10.77.0.0/30", "10.77.0.3", true],
    ["10.77.0.0/30", "10.77.0.4", false],
    ["0.0.0.0/0", "203.0.113.10", true],
    ["203.0.113.10/32", "203.0.113.10", true],
    ["203.0.113.10/32", "203.0.113.11", false],
  ])("GIVEN %s WHEN asked whether it contains %s THEN the answer is %s", (cidr, ip, expected) => {
    expect(cidr4Contains(cidr, ip)).toBe(expected);
  });

  it.each([
    ["172.20.1.0/24", "172.20.1.128/25", true],
    ["172.20.1.128/25", "172.20.1.0/24", true],
    ["172.20.1.0/24", "172.20.2.0/24", false],
    ["10.0.0.0/8", "10.77.0.0/30", true],
    ["10.77.0.0/30", "10.77.0.4/30", false],
    ["0.0.0.0/0", "192.0.2.0/24", true],
    ["192.0.2.1/32", "192.0.2.1/32", true],
    ["192.0.2.1/32", "192.0.2.2/32", false],
  ])("GIVEN %s and %s WHEN checked for overlap THEN the answer is %s (symmetric)", (a, b, expected) => {
    expect(cidr4Overlaps(a, b)).toBe(expected);
    expect(cidr4Overlaps(b, a)).toBe(expected);
  });

  it.each([
    ["172.20.1.0/24", 1, "172.20.1.1"],
    ["172.20.1.0/24", 10, "172.20.1.10"],
    ["172.20.1.0/24", 255, "172.20.1.255"],
    ["10.77.0.0/30", 2, "10.77.0.2"],
    ["10.0.0.0/16", 256, "10.0.1.0"],
  ])("GIVEN %s WHEN host number %i is asked THEN it is %s", (cidr, n, ip) => {
    expect(hostInCidr4(cidr, n)).toBe(ip);
  });

  it.each([
    ["10.77.0.0/30", 4],
    ["172.20.1.0/24", 256],
    ["203.0.113.10/32", 1],
  ])("GIVEN %s WHEN host number %i (past its end) is asked THEN it throws", (cidr, n) => {
    expect(() => hostInCidr4(cidr, n)).toThrow(`${cidr} has no host number ${n}`);
  });

  it.each([
    ["fd77::/64", 1, "fd77::1"],
    ["fd77::/64", 2, "fd77::2"],
    ["2001:db8::/64", 255, "2001:db8::ff"],
  ])("GIVEN %s WHEN IPv6 host number %i is asked THEN it is %s", (cidr, n, ip) => {
    expect(hostInCidr6(cidr, n)).toBe(ip);
  });

  it.each([
    ["2001:db8::10", true],
    ["::", true],
    ["203.0.113.10", false],
    ["198.51.100.0/24", false],
  ])("GIVEN %s WHEN asked whether it is IPv6 THEN the answer is %s", (text, expected) => {
    expect(isIpv6(text)).toBe(expected);
  });
});
