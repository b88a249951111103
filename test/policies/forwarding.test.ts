import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crossSiteFlows, edgeForwardFamilies, FORWARDING_SYSCTL_FILE, loadSite, sysctlDir } from "../../core/index.js";
import type { Report } from "../../policies/verifier/index.js";
import { planSite, siteFiles } from "./planned-sites.js";
import { copyOut, editText, problemLines, verifyCli, verifyDirInProcess } from "./support.js";

/*
 * The edge's kernel forwarding, on every example: where the declared flows cross sites the edge
 * routes them (wg-edge to wg-edge), so its rendered sysctl drop-in must turn IPv4 forwarding on,
 * and the verifier reads it as sysctl does (files in lexical order, later assignments win, both
 * key spellings, comments, a leading '-'). Forwarding off, the file edited or gone: every flow
 * between sites is broken, with a finding naming the file (and the line that decides). Where no
 * flow crosses sites nothing is rendered. Expectations come from the model's derivation
 * (crossSiteFlows, edgeForwardFamilies), never from service names.
 */

const DIR = sysctlDir("edge");
const FILE = `${DIR}/${FORWARDING_SYSCTL_FILE}`;
const KEY_LINE = /^net\.ipv4\.ip_forward = 1$/m;

const sites = siteFiles().map((s) => ({ ...s, site: loadSite(s.file) }));
const forwarding = sites.filter((s) => edgeForwardFamilies(s.site).length > 0);
const routing = sites.filter((s) => edgeForwardFamilies(s.site).length === 0);

const lineOf = (text: string, re: RegExp) => text.split("\n").findIndex((l) => re.test(l)) + 1;

/** The broken-path findings of the flows between sites, by flow line. */
function brokenCrossSite(r: Report, site: (typeof sites)[number]["site"]) {
  const lines = crossSiteFlows(site).map((f) => `${f.from} => ${f.to} : ${f.port}`);
  return lines.map((l) => ({ line: l, finding: r.findings.find((f) => f.kind === "broken-path" && f.subject === l) }));
}

it("GIVEN the examples THEN at least one platform has flows between sites (else these tests prove nothing)", () => {
  expect(forwarding.length).toBeGreaterThan(0);
  expect(routing.length).toBeGreaterThan(0);
});

describe.each(forwarding.map((s) => [s.name, s] as const))("the edge's forwarding on %s (flows between sites)", (_name, s) => {
  const plan = () => planSite(s.file);

  it("GIVEN the plan THEN the edge's drop-in turns IPv4 forwarding on, it passes, and every flow between sites cites that line as a step of its path", async () => {
    const dir = await plan();
    expect(readdirSync(join(dir, DIR))).toEqual([FORWARDING_SYSCTL_FILE]);
    const text = readFileSync(join(dir, FILE), "utf8");
    expect(text).toMatch(KEY_LINE);
    // The cross-site flows are IPv4 only: IPv6 forwarding is left as the kernel has it.
    expect(text).not.toMatch(/^net\.ipv6/m);
    const r = verifyDirInProcess(copyOut(dir));
    expect(r.summary.verdict, problemLines(r).join("\n")).toBe("pass");
    for (const f of crossSiteFlows(s.site)) {
      const rec = r.flows.find((x) => x.line === `${f.from} => ${f.to} : ${f.port}`)!;
      expect(rec.verdict).toBe("allowed");
      expect(rec.layers).toContainEqual(expect.objectContaining({ layer: "sysctl:edge", verdict: "allow", artifact: FILE, line: lineOf(text, KEY_LINE) }));
    }
  });

  // The mutations of the brief, each through `palisade verify` (exit 1) with the finding it must give.
  const mutations: { name: string; mutate: (dir: string) => void; artifact: string; line?: (dir: string) => number; message: RegExp }[] = [
    { name: "forwarding set to 0", mutate: (d) => editText(d, FILE, (t) => t.replace(KEY_LINE, "net.ipv4.ip_forward = 0")), artifact: FILE, line: () => 0, message: /net\.ipv4\.ip_forward = 0: the kernel does not forward IPv4/ },
    { name: "the line removed", mutate: (d) => editText(d, FILE, (t) => t.replace(KEY_LINE, "")), artifact: FILE, message: /no file of hosts\/edge\/sysctl\.d\/ sets net\.ipv4\.ip_forward/ },
    { name: "the file deleted", mutate: (d) => rmSync(join(d, FILE)), artifact: FILE, message: /99-palisade-forwarding\.conf is not rendered/ },
    { name: "the slash form set to 0 after it", mutate: (d) => editText(d, FILE, (t) => `${t}net/ipv4/ip_forward = 0\n`), artifact: FILE, line: () => -1, message: /net\.ipv4\.ip_forward = 0/ },
    {
      name: "a later file turning net.ipv4.conf.all.forwarding off",
      mutate: (d) => writeFileSync(join(d, DIR, "zz-hardening.conf"), "# a hardening baseline\nnet.ipv4.conf.all.forwarding = 0\n"),
      artifact: `${DIR}/zz-hardening.conf`,
      line: () => 2,
      message: /net\.ipv4\.conf\.all\.forwarding = 0/,
    },
  ];
  it.each(mutations.map((m) => [m.name, m] as const))("GIVEN %s WHEN palisade verify runs THEN it exits 1 and every flow between sites is broken, naming the file", async (_n, m) => {
    const dir = copyOut(await plan());
    m.mutate(dir);
    const fileText = existsSync(join(dir, m.artifact)) ? readFileSync(join(dir, m.artifact), "utf8") : "";
    const r = await verifyCli(dir);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    for (const { line, finding } of brokenCrossSite(r.report, s.site)) {
      expect(finding, `${line}\n${problemLines(r.report).join("\n")}`).toBeDefined();
      expect(finding).toMatchObject({ layer: "sysctl:edge", artifact: m.artifact });
      expect(finding!.message).toMatch(m.message);
      if (m.line) {
        const n = m.line(dir);
        expect(finding!.line).toBe(n === 0 ? lineOf(fileText, /^net\.ipv4\.ip_forward = 0$/) : n === -1 ? fileText.trimEnd().split("\n").length : n);
      } else expect(finding!.line).toBeUndefined();
    }
    expect(r.report.summary.intendedBroken).toBeGreaterThanOrEqual(crossSiteFlows(s.site).length);
  });

  // Spellings sysctl reads the same: each must still pass.
  const same: [string, (t: string) => string][] = [
    ["the slash form", (t) => t.replace(KEY_LINE, "net/ipv4/ip_forward = 1")],
    ["net.ipv4.conf.all.forwarding", (t) => t.replace(KEY_LINE, "net.ipv4.conf.all.forwarding=1")],
    ["a leading '-' (errors ignored)", (t) => t.replace(KEY_LINE, "  -net.ipv4.ip_forward = 1  ")],
    ["a ';' comment turning it off", (t) => t.replace(KEY_LINE, "; net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward = 1")],
    ["off, then on again later in the file", (t) => t.replace(KEY_LINE, "net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward = 1")],
  ];
  it.each(same)("GIVEN %s WHEN verified THEN it still passes (sysctl reads it as forwarding on)", async (_n, edit) => {
    const dir = copyOut(await plan());
    editText(dir, FILE, edit);
    const r = verifyDirInProcess(dir);
    expect(r.summary.verdict, problemLines(r).join("\n")).toBe("pass");
  });

  it("GIVEN an earlier file turning forwarding off WHEN verified THEN it passes: the rendered file comes later and wins", async () => {
    const dir = copyOut(await plan());
    writeFileSync(join(dir, DIR, "10-distro.conf"), "net.ipv4.ip_forward = 0\n");
    const r = verifyDirInProcess(dir);
    expect(r.summary.verdict, problemLines(r).join("\n")).toBe("pass");
  });

  const iface: [string, (t: string) => string, RegExp][] = [
    ["the tunnel interface's own forwarding turned off after it", (t) => `${t}net.ipv4.conf.wg-edge.forwarding = 0\n`, /net\.ipv4\.conf\.wg-edge\.forwarding = 0: the kernel does not forward/],
    ["only the tunnel interface's forwarding (gone at boot, before wg-edge exists)", (t) => t.replace(KEY_LINE, "net.ipv4.conf.wg-edge.forwarding = 1"), /at boot wg-edge is created after sysctl runs/],
    ["conf.default turned off after it (wg-edge, created at boot after sysctl, takes it)", (t) => `${t}net.ipv4.conf.default.forwarding = 0\n`, /at boot wg-edge is created after sysctl runs and takes net\.ipv4\.conf\.default\.forwarding = 0/],
  ];
  it.each(iface)("GIVEN %s WHEN verified THEN every flow between sites is broken", async (_n, edit, message) => {
    const dir = copyOut(await plan());
    editText(dir, FILE, edit);
    const r = verifyDirInProcess(dir);
    expect(r.summary.verdict).toBe("fail");
    for (const { line, finding } of brokenCrossSite(r, s.site)) {
      expect(finding, line).toBeDefined();
      expect(finding!.message).toMatch(message);
    }
  });

  const unknown: [string, (t: string) => string, RegExp][] = [
    ["an inline comment after the value", (t) => t.replace(KEY_LINE, "net.ipv4.ip_forward = 1 # on"), /expected 0 or 1/],
    ["a glob key", (t) => `${t}net.ipv4.conf.*.forwarding = 0\n`, /is a pattern/],
    ["a key the verifier does not model", (t) => `${t}net.ipv4.conf.all.rp_filter = 1\n`, /is not modelled/],
    ["a line that is no assignment", (t) => `${t}net.ipv4.ip_forward\n`, /not an assignment/],
  ];
  it.each(unknown)("GIVEN %s WHEN verified THEN a bad-artifact finding names the file and line, and no flow between sites is taken as forwarded", async (_n, edit, message) => {
    const dir = copyOut(await plan());
    editText(dir, FILE, edit);
    const r = verifyDirInProcess(dir);
    const bad = r.findings.filter((f) => f.kind === "bad-artifact" && f.artifact === FILE);
    expect(bad.length, problemLines(r).join("\n")).toBe(1);
    expect(bad[0]!.message).toMatch(message);
    expect(bad[0]!.line).toBeGreaterThan(0);
    for (const { line, finding } of brokenCrossSite(r, s.site)) expect(finding?.message, line).toMatch(/cannot tell whether the kernel forwards IPv4/);
    expect(r.summary.verdict).toBe("fail");
  });
});

describe.each(routing.map((s) => [s.name, s] as const))("the edge's forwarding on %s (no flow between sites)", (_name, s) => {
  it("GIVEN the plan THEN no host has a sysctl drop-in (the edge proxies, it routes nothing)", async () => {
    const dir = await planSite(s.file);
    for (const host of readdirSync(join(dir, "hosts"))) expect(existsSync(join(dir, sysctlDir(host))), host).toBe(false);
  });

  it("GIVEN a drop-in added to the edge with a key the verifier does not model, and a file sysctl does not read WHEN verified THEN each is a bad-artifact finding", async () => {
    const dir = copyOut(await planSite(s.file));
    mkdirSync(join(dir, DIR), { recursive: true });
    writeFileSync(join(dir, DIR, "50-tuning.conf"), "# tuning\nnet.core.somaxconn = 4096\n");
    writeFileSync(join(dir, DIR, "forwarding.txt"), "net.ipv4.ip_forward = 1\n");
    const r = verifyDirInProcess(dir);
    const bad = r.findings.filter((f) => f.kind === "bad-artifact" && f.artifact?.startsWith(`${DIR}/`));
    expect(bad.map((f) => `${f.artifact}:${f.line}`).sort()).toEqual([`${DIR}/50-tuning.conf:2`, `${DIR}/forwarding.txt:1`]);
    expect(r.summary.verdict).toBe("fail");
  });
});
