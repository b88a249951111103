import { describe, expect, it } from "vitest";
import { comparePorts, Port } from "../../core/index.js";

describe("Port", () => {
  it("GIVEN Port.tcp(5432) WHEN printed THEN it reads tcp/5432 and is one port", () => {
    const p = Port.tcp(5432);
    expect(String(p)).toBe("tcp/5432");
    expect(p.protocol).toBe("tcp");
    expect(p.number).toBe(5432);
    expect(p.key).toBe("tcp/5432");
  });

  it("GIVEN Port.udp(53) WHEN printed THEN it reads udp/53 and is not the tcp port of the same number", () => {
    expect(String(Port.udp(53))).toBe("udp/53");
    expect(Port.udp(53).key).not.toBe(Port.tcp(53).key);
    expect(Port.DNS_UDP.key).toBe(Port.udp(53).key);
  });

  it("GIVEN a range WHEN printed THEN it reads tcp/FROM-TO and asking for its single number throws", () => {
    const r = Port.tcpRange(1000, 2000);
    expect(String(r)).toBe("tcp/1000-2000");
    expect(() => r.number).toThrow("tcp/1000-2000 is a range, not a single port");
  });

  it.each(["tcp/443", "udp/51820", "tcp/1000-2000", "tcp/1", "udp/65535"])("GIVEN %s WHEN parsed and printed again THEN the text round-trips", (text) => {
    expect(String(Port.parse(text))).toBe(text);
  });

  it("GIVEN surrounding spaces WHEN parsed THEN they are ignored", () => {
    expect(Port.parse("  tcp/22 ").key).toBe("tcp/22");
  });

  it.each([
    ["443", "not a port: \"443\" (expected tcp/N, udp/N or tcp/N-M)"],
    ["sctp/80", "not a port"],
    ["TCP/80", "not a port"],
    ["tcp/", "not a port"],
    ["tcp/-1", "not a port"],
    ["tcp/80-", "not a port"],
    ["tcp/0", "port 0 is out of range (expected an integer 1-65535)"],
    ["udp/65536", "port 65536 is out of range"],
    ["tcp/2000-1000", "port range 2000-1000 is reversed"],
  ])("GIVEN %j WHEN parsed THEN it throws %j", (text, message) => {
    expect(() => Port.parse(text)).toThrow(message);
  });

  it.each([
    [() => Port.tcp(0), "port 0 is out of range"],
    [() => Port.tcp(65536), "port 65536 is out of range"],
    [() => Port.udp(1.5), "port 1.5 is out of range"],
    [() => Port.tcp(Number.NaN), "port NaN is out of range"],
    [() => Port.tcpRange(10, 9), "port range 10-9 is reversed"],
  ])("GIVEN an out-of-range factory call #%# WHEN made THEN it throws saying so", (make, message) => {
    expect(make).toThrow(message);
  });

  it("GIVEN the boundary ports 1 and 65535 WHEN made THEN they are accepted", () => {
    expect(Port.tcp(1).number).toBe(1);
    expect(Port.udp(65535).number).toBe(65535);
  });

  it("GIVEN a range WHEN asked whether it contains a port THEN it checks both protocol and bounds", () => {
    const r = Port.tcpRange(1000, 2000);
    expect(r.contains("tcp", 1000)).toBe(true);
    expect(r.contains("tcp", 2000)).toBe(true);
    expect(r.contains("tcp", 999)).toBe(false);
    expect(r.contains("tcp", 2001)).toBe(false);
    expect(r.contains("udp", 1500)).toBe(false);
  });

  it("GIVEN ports in any order WHEN sorted with comparePorts THEN tcp comes before udp, then by number", () => {
    const sorted = [Port.udp(53), Port.tcp(443), Port.tcpRange(80, 90), Port.tcp(80), Port.tcp(22)].sort(comparePorts).map(String);
    expect(sorted).toEqual(["tcp/22", "tcp/80", "tcp/80-90", "tcp/443", "udp/53"]);
  });

  it("GIVEN the named constants WHEN printed THEN they are the well-known ports", () => {
    expect([Port.SSH, Port.SMTP, Port.HTTP, Port.HTTPS, Port.SMTPS, Port.SUBMISSION, Port.IMAPS, Port.POSTGRES, Port.VAULT, Port.WIREGUARD].map(String)).toEqual([
      "tcp/22", "tcp/25", "tcp/80", "tcp/443", "tcp/465", "tcp/587", "tcp/993", "tcp/5432", "tcp/8200", "udp/51820",
    ]);
  });
});
