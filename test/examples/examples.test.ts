import { readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { deriveNetworks, derivedRoutes, networksOf, siteSchema } from "../../core/index.js";
import { engineParity, formatDifference } from "../../stacks/parity.js";
import { buildTopology } from "../../stacks/platform.js";
import { hashTree, REFERENCE_SITE, runCli, stackTraceLines } from "../helpers/cli.js";
import { examples } from "../helpers/examples.js";
import { tempDir } from "../helpers/paths.js";
import { planInto, planOnce } from "../helpers/plan-once.js";
import { copyOut, editJson, editText, problemLines, verifyDirInProcess } from "../policies/support.js";

/*
 * Every example platform of examples/, declared without TypeScript: it plans and verifies, twice
 * to the same bytes; its derived networks keep every pair without a flow apart; a broken
 * cross-reference in it is a clear exit 2; and the verifier notices, from the artifacts alone, a
 * declared route or OpenBao identity that is not rendered.
 */

const planned: { name: string; file: string; text: string; dir: string; code: number; output: string }[] = [];
for (const e of examples) {
  const p = await planOnce(e.file);
  planned.push({ name: e.name, file: e.file, text: e.text, dir: p.dir, code: p.result.code, output: p.result.stdout + p.result.stderr });
}

describe("the examples", () => {
  it("GIVEN examples/ WHEN listed THEN it holds at least the five platforms, and reference.yaml is the default palisade.yaml", () => {
    expect(examples.map((e) => e.name)).toEqual(expect.arrayContaining(["kubernetes", "minimal", "multi-domain", "reference", "sysmanage"]));
    expect(realpathSync(join(examples.find((e) => e.name === "reference")!.file))).toBe(realpathSync(REFERENCE_SITE));
  });

  it.each(examples.map((e) => [e.name, e] as const))("GIVEN the %s example WHEN read THEN its first comments say what it shows, in one line", (_n, e) => {
    const comments = e.text.split("\n").filter((l) => l.startsWith("#") && !l.startsWith("# yaml-language-server"));
    expect(comments[0]).toMatch(/^# \S.{20,}\.$/);
  });
});

describe.each(planned)("the $name example", ({ name, file, text, dir, code, output }) => {
  it("GIVEN its images without digests WHEN planned THEN each warning names a key of the schema where the digest goes", () => {
    const keys = [...output.matchAll(/pin it in (\S+)/g)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThan(0);
    const shape = siteSchema.shape;
    for (const key of keys) {
      const [section, id, field] = key.split(".");
      expect(field, key).toBe("digest");
      if (section === "images") expect(Object.keys(shape.images.shape), key).toContain(id);
      else {
        expect(section, key).toBe("services");
        expect(Object.keys(examples.find((e) => e.name === name)!.site.services), key).toContain(id);
      }
    }
  });

  it("GIVEN it WHEN planned THEN it exits 0 and the verifier passes", () => {
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "report/report.json"), "utf8"));
    expect(report.summary.verdict).toBe("pass");
    expect(report.summary.neversBlocked).toBeGreaterThan(0);
  });

  it("GIVEN it WHEN planned a second time THEN every file is byte-for-byte identical", async () => {
    const second = join(tempDir("ex-det"), "out");
    expect((await planInto(second, [], file)).code).toBe(code);
    expect(hashTree(second)).toEqual(hashTree(dir));
  });

  it("GIVEN both engines' output WHEN compared stack by stack THEN there is no difference, and both rendered the same stacks", () => {
    const stacks = readdirSync(join(dir, "cdktf/stacks")).sort();
    expect(readdirSync(join(dir, "pulumi")).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort()).toEqual(stacks);
    for (const stack of stacks) {
      const tf = JSON.parse(readFileSync(join(dir, `cdktf/stacks/${stack}/cdk.tf.json`), "utf8"));
      const pu = JSON.parse(readFileSync(join(dir, `pulumi/${stack}.json`), "utf8"));
      expect(engineParity(tf, pu).map(formatDifference), stack).toEqual([]);
    }
  });

  it("GIVEN its derived networks WHEN read THEN two containers share a network only where a flow joins them", () => {
    const site = examples.find((e) => e.name === name)!.site;
    const t = buildTopology(site);
    const flows = t.ledger.flows.map((f) => `${f.from.id}>${f.to.id}`);
    const joined = (a: string, b: string) => flows.includes(`${a}>${b}`) || flows.includes(`${b}>${a}`);
    for (const net of deriveNetworks(site)) {
      for (const a of net.members) for (const b of net.members) if (a < b) expect(joined(a, b), `${a} and ${b} share ${net.id}`).toBe(true);
    }
    // And every flow between two cloud containers has a network to run on.
    const onCloud = (id: string) => t.services.get(id)?.host.id === "cloud";
    for (const f of t.ledger.flows.filter((f) => onCloud(f.from.id) && onCloud(f.to.id))) {
      const shared = networksOf(deriveNetworks(site), f.from.id).filter((n) => n.members.includes(f.to.id));
      expect(shared.length, `${f.from.id} -> ${f.to.id}`).toBeGreaterThan(0);
    }
  });

  it.each(derivedRoutes(examples.find((e) => e.name === name)!.site).map((r) => [`${r.host}${r.path ?? ""}`, r] as const))(
    "GIVEN the edge's SNI route of %s removed WHEN verified THEN the declared route is a violation",
    (_n, r) => {
      const mutated = copyOut(dir);
      editText(mutated, "hosts/edge/haproxy/haproxy.cfg", (t) => t.split("\n").filter((l) => !l.includes(`req.ssl_sni -i ${r.host} }`)).join("\n"));
      const lines = problemLines(verifyDirInProcess(mutated));
      expect(lines.some((l) => l.startsWith(`declared-not-rendered route ${r.host}${r.path ?? ""} -> ${r.to}`)), lines.join("\n")).toBe(true);
    },
  );

  it.each(derivedRoutes(examples.find((e) => e.name === name)!.site).map((r) => [`${r.host}${r.path ?? ""}`, r] as const))(
    "GIVEN the ingress's rule of %s removed WHEN verified THEN the declared route is a violation",
    (_n, r) => {
      const mutated = copyOut(dir);
      const acl = (l: string) => l.includes(`-i ${r.host}`) && l.trim().startsWith("acl host_");
      editText(mutated, `hosts/${examples.find((e) => e.name === name)!.site.cloud.id}/ingress/haproxy.cfg`, (t) => t.split("\n").filter((l) => !acl(l)).join("\n"));
      const lines = problemLines(verifyDirInProcess(mutated));
      expect(lines.some((l) => l.startsWith(`declared-not-rendered route ${r.host}${r.path ?? ""} -> ${r.to}`)), lines.join("\n")).toBe(true);
    },
  );

  it.each(examples.find((e) => e.name === name)!.site.openbao.identities.map((i) => [i.name] as const))(
    "GIVEN the OpenBao role %s removed from the cdktf secrets stack WHEN verified THEN the identity is a violation",
    (identity) => {
      const mutated = copyOut(dir);
      editJson(mutated, "cdktf/stacks/secrets/cdk.tf.json", (j) => {
        delete j.resource.vault_approle_auth_backend_role[identity];
      });
      const lines = problemLines(verifyDirInProcess(mutated));
      expect(lines.some((l) => l.startsWith(`declared-not-rendered openbao identity ${identity} `)), lines.join("\n")).toBe(true);
    },
  );

  /** The example with one change, as site text (untyped: the point is to write what the references forbid). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const changed = (edit: (s: any) => unknown) => {
    const data = parse(text);
    edit(data);
    const path = join(tempDir("ex-bad"), "site.yaml");
    writeFileSync(path, stringify(data));
    return path;
  };
  const firstService = Object.keys(examples.find((e) => e.name === name)!.site.services)[0]!;
  type Edit = (s: any) => unknown;
  const cases: readonly (readonly [string, Edit, string, string])[] = [
    ["a flow to a service that does not exist", (s) => (s.flows = [...(s.flows ?? []), { from: firstService, to: "no-such-service", port: "tcp/1", reason: "a typo" }]), "flows[", '"no-such-service"'],
    ["a route to a domain outside every zone", (s) => (s.routes[0].host = "www.not-a-zone.test"), "routes[0].host", '"www.not-a-zone.test"'],
    ["a route to a port the service does not listen on", (s) => (s.routes[0].port = "tcp/1"), "routes[0].port", '"tcp/1"'],
    ["a service logging in as an OpenBao identity nobody declares", (s) => (s.services[firstService].openbao = "nobody"), `services.${firstService}.openbao`, '"nobody"'],
  ];
  it.each(cases)("GIVEN %s WHEN planned THEN it exits 2 naming the path and the value, with no stack trace", async (_n, edit, path, given) => {
    const out = join(tempDir("ex-bad-out"), "out");
    const r = await runCli(["plan", "--site", changed(edit), "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`  - ${path}`);
    expect(r.stderr).toContain(given);
    expect(r.stderr).toContain("fix: ");
    expect(stackTraceLines(r.stderr + r.stdout)).toEqual([]);
    expect(r.stderr).not.toMatch(/internal error|TypeError/);
  });
});
