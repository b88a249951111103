import { describe, expect, it } from "vitest";
import { parseSite, SiteError } from "../../core/index.js";
import { edited, mutated, referenceText } from "../helpers/sites.js";

function problems(text: string) {
  try {
    parseSite(text, "site.yaml");
  } catch (e) {
    if (e instanceof SiteError) return e;
    throw e;
  }
  throw new Error("the site was accepted");
}

describe("the site loader", () => {
  it("GIVEN the reference palisade.yaml WHEN parsed THEN it is accepted", () => {
    expect(parseSite(referenceText).site.name).toBe("reference");
  });

  it("GIVEN optional sections left out WHEN parsed THEN their documented defaults apply", () => {
    const site = parseSite(mutated((s) => {
      delete s.edge.ips;
      delete s.tunnel.mtu;
      delete s.cloud.failover;
      delete s.publicKeys;
    }));
    expect(site.edge.ips).toEqual({ findtime: 600, maxretry: 5, bantime: 3600 });
    expect(site.tunnel.mtu).toBe(1380);
    expect(site.cloud.failover).toEqual({ probeIntervalMs: 500, misses: 3, holdDownS: 10 });
    expect(site.publicKeys).toEqual({});
  });

  it("GIVEN a bad field WHEN rejected THEN the SiteError carries the path, the given value, what was expected and a fix", () => {
    const e = problems(mutated((s) => (s.cloud.uplinks[1].gateway = "198.51.100.333")));
    expect(e.problems).toEqual([
      {
        path: "cloud.uplinks[1].gateway",
        given: '"198.51.100.333"',
        expected: "an IPv4 address such as 203.0.113.10",
        fix: "change cloud.uplinks[1].gateway to an IPv4 address such as 203.0.113.10",
      },
    ]);
  });

  it("GIVEN a rejected file WHEN formatted THEN it is one block per problem and no stack trace", () => {
    const text = problems(mutated((s) => (s.tunnel.port = "x"))).format();
    expect(text).toBe(
      ["error: site.yaml is not a valid site file (1 problem):", '  - tunnel.port: given "x"; expected a port number.', "    fix: change tunnel.port to a port number"].join("\n"),
    );
    expect(text).not.toMatch(/^\s+at /m);
  });

  it("GIVEN a duplicate key WHEN rejected THEN the problem names its dotted path, its line and both values", () => {
    const e = problems(edited("  mtu: 1380\n", "  mtu: 1380\n  mtu: 1500\n"));
    expect(e.problems).toEqual([
      {
        path: "tunnel.mtu",
        given: expect.stringMatching(/^the key "mtu" twice in one mapping \(line \d+\): 1380, then 1500$/),
        expected: "each key at most once per mapping",
        fix: "keep one tunnel.mtu and delete the other",
      },
    ]);
  });

  it("GIVEN a duplicate key inside a list item WHEN rejected THEN the path has the item's index", () => {
    const e = problems(edited("      interface: wwan0\n", "      interface: wwan0\n      interface: wwan1\n"));
    expect(e.problems.map((p) => p.path)).toEqual(["cloud.uplinks[1].interface"]);
  });

  it("GIVEN a misspelt tenant mode WHEN rejected THEN the expected values are listed plainly", () => {
    const e = problems(mutated((s) => (s.tenants[0].mode = "sharde")));
    expect(e.problems[0]).toMatchObject({ path: "tenants[0].mode", expected: 'one of "shared", "dedicated"', fix: 'set tenants[0].mode to one of "shared", "dedicated"' });
  });

  it("GIVEN an unknown top-level key WHEN rejected THEN the fix says 'at the top level', not a placeholder path", () => {
    const e = problems(mutated((s) => (s.tennants = [])));
    expect(e.problems[0]?.fix).toBe('remove or rename "tennants"; see palisade.schema.json for the keys allowed at the top level');
  });

  it("GIVEN text that is not YAML WHEN rejected THEN each parse problem is listed once with its line", () => {
    const e = problems("site: [unclosed\n  name: : :\n");
    const givens = e.problems.map((p) => p.given);
    expect(new Set(givens).size).toBe(givens.length);
    expect(givens[0]).toMatch(/^YAML that does not parse \(line 1: /);
  });

  it("GIVEN two uplinks with the same priority WHEN rejected THEN the second uplink's priority is named", () => {
    const e = problems(mutated((s) => (s.cloud.uplinks[1].priority = 1)));
    expect(e.problems.map((p) => [p.path, p.given])).toEqual([["cloud.uplinks[1].priority", "1"]]);
  });

  it("GIVEN a tunnel subnet too small for two hosts WHEN rejected THEN the fix suggests a /30", () => {
    const e = problems(mutated((s) => (s.tunnel.subnet = "10.77.0.0/31")));
    expect(e.problems).toEqual([expect.objectContaining({ path: "tunnel.subnet", given: '"10.77.0.0/31"', fix: "use a /30 such as 10.77.0.0/30" })]);
  });
});
