import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hashTree, runCli, runCliProcess, seedOut, stackTraceLines } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { parse, stringify } from "yaml";
import { examples } from "../helpers/examples.js";
import { edited, mutated, twoSites } from "../helpers/sites.js";

/**
 * A bad site file is an operator's mistake, not a crash: `plan` exits 2, names the field (its
 * dotted path) and the value given, prints no stack trace, and leaves the previous output alone.
 */
interface BadSite {
  readonly name: string;
  readonly text: string;
  /** The offending path as the message prints it. */
  readonly path: string;
  /** The given value as the message prints it. */
  readonly given: string;
}

const BAD_SITES: readonly BadSite[] = [
  { name: "an empty file", text: "", path: "(file)", given: "an empty file" },
  { name: "a file that is not YAML", text: "site: [unclosed\n  name: : :\n", path: "(file)", given: "YAML that does not parse (line 1" },
  { name: "a list instead of a mapping", text: "- site\n- edge\n", path: "(file)", given: '["site","edge"]' },
  { name: "a scalar instead of a mapping", text: "palisade\n", path: "(file)", given: '"palisade"' },
  { name: "a string where a number belongs", text: mutated((s) => (s.edge.ips.maxretry = "five")), path: "edge.ips.maxretry", given: '"five"' },
  { name: "a list where a mapping belongs", text: mutated((s) => (s.tunnel = ["10.77.0.0/30"])), path: "tunnel", given: '["10.77.0.0/30"]' },
  { name: "an IPv4 address with an octet above 255", text: mutated((s) => (s.edge.ipv4 = "203.0.113.300")), path: "edge.ipv4", given: '"203.0.113.300"' },
  { name: "a CIDR with a /33 prefix", text: mutated((s) => (s.cloud.networkPool = "172.20.0.0/33")), path: "cloud.networkPool", given: '"172.20.0.0/33"' },
  { name: "a port above 65535", text: mutated((s) => (s.tunnel.port = 70000)), path: "tunnel.port", given: "70000" },
  { name: "a domain with an empty label and capitals", text: mutated((s) => (s.site.domain = "Example..com")), path: "site.domain", given: '"Example..com"' },
  { name: "an unknown key at the top level", text: mutated((s) => (s.tennants = [])), path: "tennants", given: "[]" },
  { name: "a misspelt key in a nested mapping", text: mutated((s) => (s.edge.ips.maxretries = 5)), path: "edge.ips.maxretries", given: "5" },
  { name: "a missing required key", text: mutated((s) => delete s.tunnel.subnet), path: "tunnel.subnet", given: "(missing)" },
  { name: "two uplinks with the same id", text: mutated((s) => (s.cloud.uplinks[1].id = "fiber")), path: "cloud.uplinks[1].id", given: '"fiber"' },
  { name: "two tenants with the same id", text: mutated((s) => (s.tenants[1].id = "acme")), path: "tenants[1].id", given: '"acme"' },
  { name: "a dedicated tenant in a region without a server", text: mutated((s) => (s.tenants[1].region = "ap-south")), path: "tenants[1].region", given: '"ap-south"' },
  { name: "a tenant mode that does not exist", text: mutated((s) => (s.tenants[0].mode = "sharde")), path: "tenants[0].mode", given: '"sharde"' },
  { name: "a network pool too small for the derived networks", text: mutated((s) => (s.cloud.networkPool = "172.20.0.0/22")), path: "cloud.networkPool", given: '"172.20.0.0/22"' },
  { name: "a network pool overlapping the tunnel", text: mutated((s) => (s.cloud.networkPool = "10.77.0.0/16")), path: "cloud.networkPool", given: '"10.77.0.0/16"' },
  { name: "an admin CIDR of the whole IPv4 internet", text: mutated((s) => (s.site.adminCidrs = ["0.0.0.0/0"])), path: "site.adminCidrs[0]", given: '"0.0.0.0/0"' },
  { name: "an admin CIDR of the whole IPv6 internet", text: mutated((s) => s.site.adminCidrs.push("::/0")), path: "site.adminCidrs[2]", given: '"::/0"' },
  { name: "a service on a site that does not exist", text: twoSites((s) => (s.services.api.site = "asia")), path: "services.api.site", given: '"asia"' },
  { name: "two sites whose tunnels overlap", text: twoSites((s) => (s.sites[1].tunnel.subnet = "10.77.0.0/29")), path: "sites[1].tunnel.subnet", given: '"10.77.0.0/29"' },
  { name: "a key written twice in one mapping", text: edited("  port: 51820\n", "  port: 51820\n  port: 51821\n"), path: "tunnel.port", given: '"port" twice' },
  { name: "a key written twice inside a list item", text: edited("    name: Globex\n", "    name: Globex\n    name: Initech\n"), path: "tenants[1].name", given: '"Globex", then "Initech"' },
];

/**
 * Errors across references, on any site: the cases are built from the site's own services, flows,
 * routes, identities and must-never pairs (a name no site has is "no-such-svc").
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function crossReferenceCases(text: string): BadSite[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const fresh = () => parse(text) as Record<string, any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const bad = (name: string, change: (d: Record<string, any>) => string | void, path: string, given: string): BadSite[] => {
    const d = fresh();
    const p = change(d) ?? path;
    return [{ name, text: stringify(d), path: p, given }];
  };
  const d = fresh();
  const services = Object.keys(d.services ?? {});
  const first = services[0]!;
  const flows: { from: string; to: string; port: string }[] = d.flows ?? [];
  const toDeclared = flows.findIndex((f) => services.includes(f.to));
  const inner = flows.findIndex((f) => services.includes(f.from) && services.includes(f.to));
  const withIdentity = services.find((id) => d.services[id].openbao);
  const nevers = (d.mustNever ?? []).length;
  const routes = d.routes.length;
  return [
    ...bad("a flow to a service that does not exist", (x) => void x.flows.push({ from: flows[0]!.from, to: "no-such-svc", port: "tcp/6379", reason: "sessions" }), `flows[${flows.length}].to`, '"no-such-svc"'),
    ...bad("a flow from a service that does not exist", (x) => void (x.flows[0].from = "no-such-svc"), "flows[0].from", '"no-such-svc"'),
    ...(toDeclared >= 0 ? bad("a flow to a port the service does not listen on", (x) => void (x.flows[toDeclared].port = "tcp/9"), `flows[${toDeclared}].port`, '"tcp/9"') : []),
    ...bad("a route to a service that does not exist", (x) => void (x.routes[routes - 1].to = "no-such-svc"), `routes[${routes - 1}].to`, '"no-such-svc"'),
    ...bad("a route to a port the service does not listen on", (x) => void (x.routes[0].port = "tcp/9"), "routes[0].port", '"tcp/9"'),
    ...bad("a domain outside every zone", (x) => void (x.routes[0].host = "www.not-a-zone-of-this-site.test"), "routes[0].host", '"www.not-a-zone-of-this-site.test"'),
    ...(withIdentity ? bad("an OpenBao identity nobody declares", (x) => void (x.services[withIdentity].openbao = "no-such-identity"), `services.${withIdentity}.openbao`, '"no-such-identity"') : []),
    ...((d.openbao?.identities ?? []).length ? bad("an OpenBao identity for a service that does not exist", (x) => void (x.openbao.identities[0].service = "no-such-svc"), "openbao.identities[0].service", '"no-such-svc"') : []),
    ...bad("a must-never pair naming no service", (x) => void (x.mustNever = [...(x.mustNever ?? []), { from: first, to: ["no-such-svc"], reason: "typo" }]), `mustNever[${nevers}].to[0]`, '"no-such-svc"'),
    ...(inner >= 0 ? bad("a must-never pair a flow allows", (x) => void (x.mustNever = [...(x.mustNever ?? []), { from: flows[inner]!.from, to: [flows[inner]!.to], reason: "contradiction" }]), `mustNever[${nevers}].to[0]`, `"${flows[inner]!.to}"`) : []),
    ...bad("a service taking a platform id", (x) => void (x.services.openbao = x.services[first]), "services.openbao", '"openbao"'),
    ...bad("a root service without a reason", (x) => { x.services[first].user = "0:0"; delete x.services[first].rootReason; }, `services.${first}.rootReason`, "(missing)"),
    ...bad("a health check with neither http nor command", (x) => void (x.services[first].health = {}), `services.${first}.health`, "{}"),
  ];
}

describe.each(examples)("plan of the $name example with a cross-reference broken", ({ text }) => {
  const cases = crossReferenceCases(text);
  let out: string;
  let before: Record<string, string>;
  beforeAll(async () => {
    out = join(tempDir("bad-xref"), "out");
    seedOut(out, (await planOnce()).dir);
    before = hashTree(out);
  });

  it.each(cases.map((c) => [c.name, c] as const))("GIVEN %s WHEN planned THEN it exits 2 naming the path and the value, with no stack trace, and the previous output is untouched", async (_name, c) => {
    const file = join(tempDir("bad-xref-site"), "site.yaml");
    writeFileSync(file, c.text);
    const r = await runCli(["plan", "--site", file, "--out", out]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`  - ${c.path}: given `);
    expect(r.stderr).toContain(c.given);
    expect(stackTraceLines(r.stderr + r.stdout)).toEqual([]);
    expect(r.stderr).not.toMatch(/internal error|ZodError|at Object\./);
    expect(hashTree(out)).toEqual(before);
  });
});

describe("plan with a bad site file (faults of form and value, on the reference site)", () => {
  let work: string;
  let out: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    const previous = await planOnce();
    work = tempDir("bad");
    out = join(work, "out");
    seedOut(out, previous.dir);
    mkdirSync(join(work, "sites"));
    for (const [i, c] of BAD_SITES.entries()) writeFileSync(join(work, "sites", `${i}.yaml`), c.text);
    before = hashTree(out);
  });

  it("has at least twelve distinct cases, each a different file", () => {
    expect(BAD_SITES.length).toBeGreaterThanOrEqual(12);
    expect(new Set(BAD_SITES.map((c) => c.text)).size).toBe(BAD_SITES.length);
  });

  it.each(BAD_SITES.map((c, i) => [c.name, i, c] as const))(
    "GIVEN %s WHEN planned THEN it exits 2 naming the path and the value, with no stack trace, and the previous output is untouched",
    async (_name, i, c) => {
      const r = await runCli(["plan", "--site", join(work, "sites", `${i}.yaml`), "--out", out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`  - ${c.path}: given `);
      expect(r.stderr).toContain(c.given);
      expect(r.stderr).toContain("nothing was written; the previous output is unchanged.");
      expect(stackTraceLines(r.stderr + r.stdout)).toEqual([]);
      expect(r.stderr).not.toMatch(/internal error|ZodError|at Object\./);
      expect(hashTree(out)).toEqual(before);
    },
  );

  it("GIVEN a site path that does not exist WHEN planned THEN it exits 2 saying the file cannot be read", async () => {
    const r = await runCli(["plan", "--site", join(work, "no-such-site.yaml"), "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("(file): given a file that cannot be read (ENOENT)");
    expect(stackTraceLines(r.stderr)).toEqual([]);
    expect(hashTree(out)).toEqual(before);
  });

  it("GIVEN one file with three faults WHEN planned THEN every fault is listed, each with its own path", async () => {
    const file = join(work, "three.yaml");
    writeFileSync(file, mutated((s) => {
      s.edge.ipv4 = "1.2.3";
      s.tunnel.port = 0;
      s.site.colour = "blue";
    }));
    const r = await runCli(["plan", "--site", file, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("(3 problems)");
    for (const path of ["edge.ipv4", "tunnel.port", "site.colour"]) expect(r.stderr).toContain(`  - ${path}: given `);
  });

  it("GIVEN a typo'd key WHEN planned THEN the fix names the mapping whose keys the schema lists", async () => {
    const r = await runCli(["plan", "--site", join(work, "sites", `${BAD_SITES.findIndex((c) => c.path === "edge.ips.maxretries")}.yaml`), "--out", out]);
    expect(r.stderr).toContain('fix: remove or rename "maxretries"; see palisade.schema.json for the keys allowed at edge.ips');
  });

  describe("through the real program (a child process)", () => {
    it.each([
      ["an IPv4 address with an octet above 255", "edge.ipv4"],
      ["a scalar instead of a mapping", "(file)"],
    ])("GIVEN %s WHEN `npx tsx scripts/palisade.ts plan` runs THEN the process exits 2 and the output stays byte-for-byte", (name, path) => {
      const i = BAD_SITES.findIndex((c) => c.name === name);
      const r = runCliProcess(["plan", "--site", join(work, "sites", `${i}.yaml`), "--out", out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`  - ${path}: given ${BAD_SITES[i]!.given}`);
      expect(stackTraceLines(r.stderr + r.stdout)).toEqual([]);
      expect(r.stdout).toBe("");
      expect(hashTree(out)).toEqual(before);
    });
  });
});
