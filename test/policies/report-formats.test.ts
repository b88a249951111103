import { describe, expect, it } from "vitest";
import { planOnce } from "../helpers/plan-once.js";
import type { Report } from "../../policies/verifier/index.js";

/* matrix.csv, junit.xml and who-is-who, over whatever site was planned. */

const planned = await planOnce();
const report = planned.json<Report>("report/report.json");
const csv = planned.text("report/matrix.csv").trimEnd().split("\n");

describe("matrix.csv", () => {
  it("GIVEN the plan WHEN matrix.csv is read THEN it has one row per evaluated (source, destination, ports), denied ones included, and each flow's and must-never port is in a row", () => {
    expect(csv[0]).toBe("source,destination,protocol,port,to,verdict,intended,via,layers");
    expect(csv.length - 1).toBe(report.matrix.length);
    expect(report.matrix.some((m) => m.verdict === "denied")).toBe(true);
    const rows = new Map<string, [number, number][]>();
    for (const l of csv.slice(1)) {
      const [s, d, proto, port, to] = l.split(",");
      expect(Number(to)).toBeGreaterThanOrEqual(Number(port));
      const k = `${s},${d},${proto}`;
      rows.set(k, [...(rows.get(k) ?? []), [Number(port), Number(to)]]);
    }
    const inRow = (s: string, d: string, proto: string, port: number) => (rows.get(`${s},${d},${proto}`) ?? []).some(([lo, hi]) => lo <= port && port <= hi);
    for (const f of report.flows) expect(inRow(f.source, f.destination, f.protocol, f.port), f.line).toBe(true);
    for (const n of report.nevers) for (const p of n.portsTried) expect(inRow(n.source, n.destination, p.split("/")[0]!, Number(p.split("/")[1])), `${n.source} => ${n.destination} : ${p}`).toBe(true);
  });

  it("GIVEN a row decided by a firewall WHEN read THEN the layer names the artifact and the line", () => {
    const nft = csv.find((l) => / nftables:\S+ (allow|deny) hosts\/[^ ;]+\/nftables\.conf:\d+/.test(l));
    expect(nft).toBeDefined();
  });
});

describe("junit.xml", () => {
  const xml = planned.text("report/junit.xml");
  it("GIVEN the plan WHEN junit.xml is read THEN the root and each suite carry totals and times, and cases name their file", () => {
    const root = /<testsuites [^>]*tests="(\d+)" failures="(\d+)" errors="0" skipped="(\d+)" time="0"/.exec(xml)!;
    expect(root).not.toBeNull();
    const cases = xml.match(/<testcase /g)!.length;
    expect(Number(root[1])).toBe(cases);
    expect(xml.match(/<testsuite [^>]*time="0"/g)!.length).toBeGreaterThan(2);
    expect(xml).toMatch(/<testcase [^>]*file="[^"]+"/);
  });
});

describe("who is who", () => {
  it("GIVEN the plan WHEN read THEN every peer of a flow is listed with addresses, and address peers with their CIDRs", () => {
    const ids = new Set(report.peers.map((p) => p.id));
    for (const f of report.flows) {
      expect(ids).toContain(f.source);
      expect(ids).toContain(f.destination);
    }
    for (const p of report.peers.filter((x) => x.kind === "addresses")) expect(p.addresses.length).toBeGreaterThan(0);
  });

  it("GIVEN an address peer with public ranges that reaches something (the admin SSH ranges) WHEN read THEN its reach is listed as exposure with the ranges", () => {
    const publicPeers = report.peers.filter((p) => p.kind === "addresses" && p.id !== "internet" && p.addresses.some((a) => !/^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.|f[cd])/.test(a)));
    for (const p of publicPeers) {
      const reached = report.flows.filter((f) => f.source === p.id && f.verdict === "allowed");
      for (const f of reached) expect(report.exposed.find((e) => e.line === f.line)?.sourceAddresses).toEqual(p.addresses);
    }
  });
});
